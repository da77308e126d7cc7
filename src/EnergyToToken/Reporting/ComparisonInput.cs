using System.Globalization;
using System.Text.Json;
using EnergyToToken.Runs;

namespace EnergyToToken.Reporting;

/// <summary>One run's <c>result.json</c> as <c>e2t compare</c> reads it.</summary>
/// <param name="Source">The run as it was named: a run directory or a result.json path.</param>
/// <param name="File">The result.json read.</param>
/// <param name="Result">Its root object (<c>kind: e2t.bench</c>, schema version <see cref="ResultReport.SchemaVersion"/>).</param>
public sealed record ComparisonInput(string Source, string File, JsonElement Result)
{
    /// <summary>Fields a comparison cannot do without (every other one may be unknown); a result without them is not one e2t wrote.</summary>
    private static readonly string[][] Required = [["name"], ["requests", "errorRate"]];

    /// <summary>Reads every run; every missing, unreadable or foreign file is named in one exception.</summary>
    /// <param name="sources">Run directories (holding result.json) or result.json paths.</param>
    public static IReadOnlyList<ComparisonInput> Load(IReadOnlyList<string> sources)
    {
        ArgumentNullException.ThrowIfNull(sources);
        var inputs = new List<ComparisonInput>();
        var errors = new List<string>();
        foreach (var source in sources)
        {
            try
            {
                inputs.Add(Read(source));
            }
            catch (EnergyToTokenException e)
            {
                errors.Add(e.Message);
            }
        }
        if (errors.Count > 0) throw new EnergyToTokenException(string.Join(Environment.NewLine, errors));
        return inputs;
    }

    /// <summary>Parses one result from its text, refusing anything but a single run's result.</summary>
    /// <param name="source">The run as named, for messages.</param>
    /// <param name="file">The file the text came from, for messages.</param>
    public static ComparisonInput Parse(string source, string file, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        JsonElement root;
        try
        {
            using var doc = JsonDocument.Parse(text);
            root = doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new EnergyToTokenException($"'{file}' is not JSON ({e.Message}). Give a run directory written by e2t bench, or its result.json.");
        }
        var kind = root.ValueKind == JsonValueKind.Object ? RunFacts.OptionalString(root, "kind") : null;
        if (kind == "e2t.bench.series") throw new EnergyToTokenException(Series(source, file, root));
        if (kind != "e2t.bench")
        {
            var what = kind is null ? "has no kind" : $"is kind {kind}";
            throw new EnergyToTokenException($"'{file}' {what}, not a run's result (kind e2t.bench). Give a run directory written by e2t bench, or its result.json.");
        }
        var version = RunFacts.OptionalDouble(root, "schemaVersion");
        if (version != ResultReport.SchemaVersion)
        {
            var shown = version?.ToString(CultureInfo.InvariantCulture) ?? "missing";
            var todo = version > ResultReport.SchemaVersion
                ? "It was written by a newer e2t: compare it with that version."
                : "Write it again at this version with e2t analyze RUN_DIR --write.";
            throw new EnergyToTokenException($"'{file}' has result schema version {shown}; compare reads version {ResultReport.SchemaVersion}. {todo}");
        }
        var missing = Required.Where(path => Comparison.At(root, path) is null).Select(path => string.Join('.', path)).ToList();
        if (missing.Count > 0)
            throw new EnergyToTokenException($"'{file}' lacks {string.Join(", ", missing)}: it is not a complete e2t bench result. Write it again with e2t analyze RUN_DIR --write.");
        return new ComparisonInput(source, file, root);
    }

    private static ComparisonInput Read(string source)
    {
        string file;
        if (Directory.Exists(source))
        {
            file = Path.Combine(source, RunDirectory.Result);
            if (!System.IO.File.Exists(file))
            {
                throw new EnergyToTokenException(System.IO.File.Exists(Path.Combine(source, "run.json"))
                    ? $"'{source}' has run.json but no result.json: the run was not analysed. Write it with e2t analyze {source} --write, then compare."
                    : $"'{source}' holds no result.json. Give a run directory written by e2t bench, or its result.json.");
            }
        }
        else if (System.IO.File.Exists(source))
        {
            file = source;
        }
        else
        {
            throw new EnergyToTokenException($"'{source}': no such file or directory. Give a run directory written by e2t bench, or its result.json.");
        }
        string text;
        try
        {
            text = System.IO.File.ReadAllText(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new EnergyToTokenException($"'{file}' could not be read: {e.Message}");
        }
        return Parse(source, file, text);
    }

    /// <summary>A sweep's or search's top-level result is a table of runs: name its points, which are runs.</summary>
    private static string Series(string source, string file, JsonElement root)
    {
        var directory = Directory.Exists(source) ? source : Path.GetDirectoryName(file) ?? ".";
        var points = Comparison.At(root, "points") is { ValueKind: JsonValueKind.Array } array
            ? array.EnumerateArray().Select(p => RunFacts.OptionalString(p, "directory")).OfType<string>().Select(d => Path.Combine(directory, d)).ToList()
            : [];
        var parameter = RunFacts.OptionalString(root, "parameter") ?? "load";
        var suggestion = points.Count >= 2 ? $" Compare its points instead, e.g. e2t compare {points[0]} {points[^1]}"
            : $" Compare a point directory under {Path.Combine(directory, "points")} instead";
        return $"'{source}' is a series (kind e2t.bench.series: one run per {parameter} value), not a single run.{suggestion}"
            + (points.Count > 0 ? $" (its points: {string.Join(", ", points)})." : ".");
    }
}
