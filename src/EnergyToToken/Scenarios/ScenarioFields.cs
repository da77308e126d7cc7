using System.Text.Json;
using System.Text.Json.Nodes;
using EnergyToToken.Production;

namespace EnergyToToken.Scenarios;

/// <summary>
/// Reads fields out of a scenario's JSON tree (YAML already turned into JSON) and keeps every problem with the path of
/// its field (<c>sites[0].mixes[1].epsilon</c>), so a bad scenario is reported whole rather than one error per try.
/// A field with a problem reads as absent; <see cref="Failed"/> tells a later check not to call it missing as well.
/// </summary>
internal sealed class ScenarioFields(string baseDirectory)
{
    private readonly List<string> _errors = [];
    private readonly HashSet<string> _failed = new(StringComparer.Ordinal);

    public IReadOnlyList<string> Errors => _errors;

    /// <summary>Gets the twin runs made while reading, by what they simulated (a scenario may ask for one twice).</summary>
    public Dictionary<(Twin.TwinProfile Profile, int Concurrency, int Prompt, int Output, int Requests), Twin.TwinSteadyState> TwinRuns { get; } = [];

    /// <summary>Gets the directory relative paths in the scenario are taken from: the scenario file's.</summary>
    public string BaseDirectory { get; } = baseDirectory;

    public void Error(string path, string message)
    {
        _failed.Add(path);
        _errors.Add($"{path}: {message}");
    }

    public bool Failed(string path) => _failed.Contains(path);

    /// <summary>Whether the field at <paramref name="path"/> or any field below it had a problem.</summary>
    public bool FailedUnder(string path) => _failed.Any(p => p == path || p.StartsWith(path + ".", StringComparison.Ordinal) || p.StartsWith(path + "[", StringComparison.Ordinal));

    public static string Join(string path, string field) => path.Length == 0 ? field : $"{path}.{field}";

    /// <summary>An object with only <paramref name="known"/> fields; every other field is an error that names it.</summary>
    public JsonObject? Object(JsonNode? node, string path, params string[] known)
    {
        if (node is not JsonObject o)
        {
            if (node is not null) Error(path, $"must be a mapping of fields ({string.Join(", ", known)}), not {Describe(node)}.");
            return null;
        }
        foreach (var (name, _) in o)
        {
            if (!known.Contains(name, StringComparer.Ordinal))
                Error(Join(path, name), $"is not a field here; the fields are: {string.Join(", ", known)}.");
        }
        return o;
    }

    /// <summary>A list; a missing list reads as empty.</summary>
    public IReadOnlyList<(JsonNode? Node, string Path)> List(JsonObject? o, string path, string field)
    {
        var at = Join(path, field);
        switch (o?[field])
        {
            case null: return [];
            case JsonArray array: return array.Select((n, i) => (n, $"{at}[{i}]")).ToList();
            case var other:
                Error(at, $"must be a list, not {Describe(other)}.");
                return [];
        }
    }

    public string? Text(JsonObject? o, string path, string field)
    {
        var at = Join(path, field);
        switch (o?[field])
        {
            case null: return null;
            case JsonValue v when v.GetValueKind() == JsonValueKind.String: return v.GetValue<string>();
            case JsonValue v when v.GetValueKind() == JsonValueKind.Number: return v.ToJsonString();
            case var other:
                Error(at, $"must be text, not {Describe(other)}.");
                return null;
        }
    }

    /// <summary>A number: plain, with an exponent, or with an SI prefix letter (<c>20M</c>, <c>989.4T</c>).</summary>
    public double? Number(JsonObject? o, string path, string field, string unit)
    {
        var at = Join(path, field);
        var node = o?[field];
        if (node is null) return null;
        if (node is JsonValue v && v.GetValueKind() == JsonValueKind.Number) return v.GetValue<double>();
        if (node is JsonValue s && s.GetValueKind() == JsonValueKind.String
            && TryNumber(s.GetValue<string>(), out var parsed)) return parsed;
        Error(at, $"must be a number{Unit(unit)} (was {Describe(node)}); write it with a dot for decimals, optionally with an exponent or an SI prefix: 0.5, 1.2e3, 20M.");
        return null;
    }

    public int? Integer(JsonObject? o, string path, string field)
    {
        var at = Join(path, field);
        var value = Number(o, path, field, "");
        if (value is null) return null;
        if (value != Math.Floor(value.Value))
        {
            Error(at, $"must be a whole number (was {Format(value.Value)}).");
            return null;
        }
        if (value is > int.MaxValue or < int.MinValue)
        {
            Error(at, $"is out of range (was {Format(value.Value)}; at most {int.MaxValue:N0}).");
            return null;
        }
        return (int)value.Value;
    }

    public TimeSpan? Duration(JsonObject? o, string path, string field)
    {
        var at = Join(path, field);
        var node = o?[field];
        if (node is null) return null;
        var text = node is JsonValue v && v.GetValueKind() is JsonValueKind.String or JsonValueKind.Number ? v.ToString() : null;
        if (text is not null)
        {
            try { return Quantities.ParseDuration(text, at); }
            catch (EnergyToTokenException) { }
        }
        Error(at, $"must be a duration such as 90s, 15m, 24h, 365d or 1d12h (was {Describe(node)}).");
        return null;
    }

    /// <summary>
    /// A series over the horizon: a number (constant); steps <c>[{at: 0h, value: 1.2}, …]</c>; a repeating pattern
    /// <c>{repeat: 24h, steps: […]}</c>; or a CSV file <c>{file: power.csv, column: watts}</c> of time and value.
    /// </summary>
    public Series? Series(JsonObject? o, string path, string field, string unit, double horizonSeconds)
    {
        var at = Join(path, field);
        var before = _errors.Count;
        var series = ReadSeries(o, path, field, unit, horizonSeconds);
        // A problem inside the series (a step, the repeat period, a CSV row) fails the whole field, so no later check
        // calls it missing as well.
        if (series is null && _errors.Count > before) _failed.Add(at);
        return series;
    }

    /// <summary>Marks <paramref name="path"/> as failed when a problem was reported under it (at a field inside it).</summary>
    public void Failing(string path) => _failed.Add(path);

    private Series? ReadSeries(JsonObject? o, string path, string field, string unit, double horizonSeconds)
    {
        var at = Join(path, field);
        var node = o?[field];
        if (node is null) return null;
        switch (node)
        {
            case JsonValue:
                return Number(o, path, field, unit) is { } constant ? Production.Series.Constant(constant) : null;
            case JsonArray:
                return Steps(node, at, unit);
            case JsonObject obj when obj.ContainsKey("repeat"):
            {
                var spec = Object(obj, at, "repeat", "steps");
                var period = Duration(spec, at, "repeat");
                var steps = Steps(spec?["steps"], Join(at, "steps"), unit);
                if (period is null || steps is null) return null;
                if (!(period.Value.TotalSeconds > 0))
                {
                    Error(Join(at, "repeat"), $"must be a positive period such as 24h or 7d (was {Format(period.Value.TotalSeconds)} s).");
                    return null;
                }
                var expanded = Math.Ceiling(horizonSeconds / period.Value.TotalSeconds) * steps.Points.Count;
                if (expanded > MaxSteps)
                {
                    Error(Join(at, "repeat"), $"repeats {steps.Points.Count} steps every {Format(period.Value.TotalSeconds)} s over the horizon: {Format(expanded)} steps, more than the {MaxSteps:N0} a series may have. Use a longer period, or a CSV file at the resolution the data has.");
                    return null;
                }
                if (steps.Points[^1].AtSeconds >= period.Value.TotalSeconds)
                {
                    Error(Join(at, "steps"), $"has a step at {Format(steps.Points[^1].AtSeconds)} s, not inside the repeat period of {Format(period.Value.TotalSeconds)} s.");
                    return null;
                }
                return Production.Series.Repeat(steps, period.Value.TotalSeconds, horizonSeconds);
            }
            case JsonObject obj:
            {
                var spec = Object(obj, at, "file", "column");
                var file = Text(spec, at, "file");
                if (file is null)
                {
                    if (!Failed(Join(at, "file"))) Error(at, "must be a number, a list of steps {at, value}, {repeat: 24h, steps: [...]}, or {file: FILE.csv}.");
                    return null;
                }
                return Csv(Path.Combine(BaseDirectory, file), Join(at, "file"), Text(spec, at, "column"));
            }
            default:
                Error(at, $"must be a number or a series, not {Describe(node)}.");
                return null;
        }
    }

    /// <summary>Checks every value of a series: <paramref name="valid"/> false names the first offending step.</summary>
    public void Check(Series? series, string path, Func<double, bool> valid, string rule)
    {
        if (series is null) return;
        var points = series.Points;
        for (var i = 0; i < points.Count; i++)
        {
            if (valid(points[i].Value)) continue;
            var where = series.IsConstant ? "" : $" at {Format(points[i].AtSeconds)} s";
            Error(path, $"{rule} (was {Format(points[i].Value)}{where}).");
            return;
        }
    }

    /// <summary>The most steps a series may expand to (a year of 10 s steps), so a typo cannot exhaust memory.</summary>
    public const int MaxSteps = 3_153_600;

    public static string Format(double value) => ProductionInputs.Format(value);

    private Series? Steps(JsonNode? node, string path, string unit)
    {
        if (node is not JsonArray array)
        {
            Error(path, $"must be a list of steps {{at, value}}, not {Describe(node)}.");
            return null;
        }
        var points = new List<SeriesPoint>();
        var ok = true;
        for (var i = 0; i < array.Count; i++)
        {
            var step = Object(array[i], $"{path}[{i}]", "at", "value");
            if (step is null)
            {
                if (!Failed($"{path}[{i}]")) Error($"{path}[{i}]", "must be a step {at: 0h, value: …}.");
                ok = false;
                continue;
            }
            var time = Duration(step, $"{path}[{i}]", "at");
            var value = Number(step, $"{path}[{i}]", "value", unit);
            if (time is null && !Failed($"{path}[{i}].at")) Error($"{path}[{i}].at", "is missing: each step needs the time it starts, e.g. at: 18h.");
            if (value is null && !Failed($"{path}[{i}].value")) Error($"{path}[{i}].value", "is missing: each step needs a value.");
            if (time is null || value is null) { ok = false; continue; }
            points.Add(new SeriesPoint(time.Value.TotalSeconds, value.Value));
        }
        if (!ok) return null;
        return Validated(points, path);
    }

    private Series? Csv(string file, string path, string? column)
    {
        string[] lines;
        try { lines = File.ReadAllLines(file); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Error(path, $"cannot read '{file}': {e.Message}");
            return null;
        }
        var rows = lines.Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).Select(l => l.Split(',')).ToList();
        if (rows.Count == 0)
        {
            Error(path, $"'{file}' has no rows; give a header such as 'at,value' and one row per step.");
            return null;
        }
        var header = rows[0];
        var hasHeader = !TryNumber(header[0], out _) && !TrySeconds(header[0], out _);
        var index = 1;
        if (column is not null)
        {
            index = hasHeader ? Array.FindIndex(header, h => string.Equals(h.Trim(), column, StringComparison.OrdinalIgnoreCase)) : -1;
            if (index < 1)
            {
                Error(path, $"'{file}' has no column '{column}'{(hasHeader ? $"; its columns are {string.Join(", ", header.Skip(1).Select(h => h.Trim()))}" : " (it has no header row)")}.");
                return null;
            }
        }
        var points = new List<SeriesPoint>();
        foreach (var (row, i) in rows.Skip(hasHeader ? 1 : 0).Select((r, i) => (r, i + (hasHeader ? 2 : 1))))
        {
            if (row.Length <= index || !TrySeconds(row[0], out var seconds) || !TryNumber(row[index], out var value))
            {
                Error(path, $"'{file}' row {i} ('{string.Join(",", row)}') is not a time (seconds or a duration like 1h) and a number in column {index + 1}.");
                return null;
            }
            points.Add(new SeriesPoint(seconds, value));
        }
        return Validated(points, path);
    }

    private Series? Validated(List<SeriesPoint> points, string path)
    {
        var problems = Production.Series.Validate(points, "the series");
        foreach (var problem in problems) Error(path, problem);
        return problems.Count == 0 ? Production.Series.Steps(points) : null;
    }

    private static bool TryNumber(string text, out double value)
    {
        try
        {
            value = Quantities.ParseNumber(text, "");
            return true;
        }
        catch (EnergyToTokenException)
        {
            value = 0;
            return false;
        }
    }

    private static bool TrySeconds(string text, out double seconds)
    {
        try
        {
            seconds = Quantities.ParseDuration(text, "").TotalSeconds;
            return true;
        }
        catch (EnergyToTokenException)
        {
            seconds = 0;
            return false;
        }
    }

    private static string Unit(string unit) => unit.Length > 0 ? $" ({unit})" : "";

    private static string Describe(JsonNode? node) => node switch
    {
        null => "nothing",
        JsonObject => "a mapping",
        JsonArray => "a list",
        JsonValue v when v.GetValueKind() == JsonValueKind.String => $"'{v.GetValue<string>()}'",
        JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => v.ToJsonString(),
        JsonValue v => v.ToJsonString(),
        _ => node.ToJsonString(),
    };
}
