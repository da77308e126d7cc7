using System.Globalization;
using System.Text;

namespace EnergyToToken.Metering.Prometheus;

/// <summary>One sample of the Prometheus text exposition format: a metric name, its labels, a value and the exporter's optional timestamp.</summary>
/// <param name="TimestampUnixMilliseconds">The exporter's timestamp, milliseconds since the Unix epoch; null when the line has none.</param>
public sealed record PrometheusSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value, long? TimestampUnixMilliseconds)
{
    /// <summary>The label's value, or "" when the sample does not carry it (Prometheus treats a missing label as empty).</summary>
    public string Label(string name) => Labels.TryGetValue(name, out var v) ? v : "";
}

/// <summary>
/// A parser of the Prometheus text exposition format (version 0.0.4): <c># HELP</c>/<c># TYPE</c> and other comments,
/// blank lines, <c>name{label="value",...} value [timestamp]</c> with <c>\\</c>, <c>\"</c> and <c>\n</c> escapes in label
/// values, and <c>NaN</c>, <c>+Inf</c>, <c>-Inf</c> values. Pure: no I/O.
/// </summary>
public static class PrometheusText
{
    /// <summary>Parses a whole exposition.</summary>
    /// <exception cref="EnergyToTokenException">A sample line is malformed; the message gives its line number and text.</exception>
    public static IReadOnlyList<PrometheusSample> Parse(string text)
    {
        var samples = new List<PrometheusSample>();
        var number = 0;
        foreach (var raw in text.AsSpan().EnumerateLines())
        {
            number++;
            var line = raw.Trim();
            if (line.IsEmpty || line[0] == '#') continue;
            samples.Add(ParseLine(line.ToString(), number));
        }
        return samples;
    }

    /// <summary>
    /// Parses a label selector of exact matches, <c>instance="node1",job="dcgm"</c> (quotes optional when the value has
    /// no comma); "" selects everything.
    /// </summary>
    public static IReadOnlyDictionary<string, string> ParseSelector(string selector)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var text = selector.Trim().TrimStart('{').TrimEnd('}').Trim();
        if (text.Length == 0) return result;
        var i = 0;
        while (i < text.Length)
        {
            var eq = text.IndexOf('=', i);
            if (eq < 0) throw SelectorError(selector);
            var name = text[i..eq].Trim();
            if (name.Length == 0 || name.EndsWith('!') || name.EndsWith('~')) throw SelectorError(selector);
            i = eq + 1;
            while (i < text.Length && text[i] == ' ') i++;
            string value;
            if (i < text.Length && text[i] == '"')
            {
                (value, i) = ReadQuoted(text, i, 0);
            }
            else
            {
                var comma = text.IndexOf(',', i);
                var end = comma < 0 ? text.Length : comma;
                value = text[i..end].Trim();
                i = end;
            }
            if (value.StartsWith('~')) throw SelectorError(selector);
            result[name] = value;
            while (i < text.Length && (text[i] == ' ' || text[i] == ',')) i++;
        }
        return result;
    }

    private static EnergyToTokenException SelectorError(string selector) => new(
        $"Label selector '{selector}' is not a list of exact matches. Write it like instance=\"node1:9400\",job=\"dcgm\" (only = is supported, no !=, =~ or !~).");

    private static PrometheusSample ParseLine(string line, int number)
    {
        var i = 0;
        while (i < line.Length && line[i] != '{' && line[i] != ' ' && line[i] != '\t') i++;
        var name = line[..i];
        if (name.Length == 0) throw LineError(number, line, "no metric name");
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (i < line.Length && line[i] == '{')
        {
            i++;
            while (true)
            {
                while (i < line.Length && (line[i] == ' ' || line[i] == ',')) i++;
                if (i >= line.Length) throw LineError(number, line, "unterminated label set");
                if (line[i] == '}')
                {
                    i++;
                    break;
                }
                var eq = line.IndexOf('=', i);
                if (eq < 0) throw LineError(number, line, "a label without '='");
                var label = line[i..eq].Trim();
                i = eq + 1;
                if (i >= line.Length || line[i] != '"') throw LineError(number, line, $"the value of label '{label}' is not quoted");
                (labels[label], i) = ReadQuoted(line, i, number);
            }
        }
        var rest = line[i..].Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        if (rest.Length is 0 or > 2) throw LineError(number, line, "expected a value and an optional timestamp after the name");
        if (!TryParseValue(rest[0], out var value)) throw LineError(number, line, $"'{rest[0]}' is not a number");
        long? timestamp = null;
        if (rest.Length == 2)
        {
            if (!long.TryParse(rest[1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var ms))
                throw LineError(number, line, $"timestamp '{rest[1]}' is not an integer number of milliseconds");
            timestamp = ms;
        }
        return new PrometheusSample(name, labels, value, timestamp);
    }

    /// <summary>Reads a double-quoted string starting at <paramref name="start"/> (the quote); returns it unescaped and the index after the closing quote.</summary>
    private static (string Value, int Next) ReadQuoted(string text, int start, int number)
    {
        var sb = new StringBuilder();
        var i = start + 1;
        while (i < text.Length)
        {
            var c = text[i];
            if (c == '"') return (sb.ToString(), i + 1);
            if (c == '\\' && i + 1 < text.Length)
            {
                var e = text[i + 1];
                sb.Append(e switch { 'n' => '\n', '\\' => '\\', '"' => '"', _ => e });
                i += 2;
                continue;
            }
            sb.Append(c);
            i++;
        }
        throw number == 0
            ? new EnergyToTokenException($"Unterminated quoted value in '{text}'. Close every value with a double quote.")
            : LineError(number, text, "unterminated quoted label value");
    }

    internal static bool TryParseValue(string text, out double value)
    {
        switch (text)
        {
            case "NaN":
                value = double.NaN;
                return true;
            case "+Inf" or "Inf":
                value = double.PositiveInfinity;
                return true;
            case "-Inf":
                value = double.NegativeInfinity;
                return true;
            default:
                return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
        }
    }

    /// <summary>
    /// Writes one metric family in the text format: <c># HELP</c>, <c># TYPE</c>, then a line per sample (labels already
    /// written as <c>name="value",...</c>, "" for none). The one writer of e2t's expositions (the twin's, the live figures).
    /// </summary>
    internal static void AppendFamily(StringBuilder text, string name, string type, string help, IEnumerable<(string Labels, double Value)> samples)
    {
        text.Append("# HELP ").Append(name).Append(' ').Append(help.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal)).Append('\n');
        text.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
        foreach (var (labels, value) in samples)
        {
            text.Append(name);
            if (labels.Length > 0) text.Append('{').Append(labels).Append('}');
            text.Append(' ').Append(FormatValue(value)).Append('\n');
        }
    }

    /// <summary>A sample value as the format spells it: shortest round-trip digits, <c>NaN</c>, <c>+Inf</c>, <c>-Inf</c>.</summary>
    internal static string FormatValue(double value) => value switch
    {
        double.PositiveInfinity => "+Inf",
        double.NegativeInfinity => "-Inf",
        _ => value.ToString("R", CultureInfo.InvariantCulture),
    };

    /// <summary>A label value escaped for the format: backslash, double quote and newline.</summary>
    internal static string EscapeLabelValue(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    private static EnergyToTokenException LineError(int number, string line, string what) => new(
        $"Prometheus text line {number} is malformed ({what}): '{(line.Length > 200 ? line[..200] + "…" : line)}'. Expected name{{label=\"value\"}} value [timestamp_ms]; check that the URL serves the Prometheus text format (/metrics).");
}
