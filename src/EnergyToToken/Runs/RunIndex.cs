using System.Globalization;
using System.IO.Enumeration;
using System.Text.Json;

namespace EnergyToToken.Runs;

/// <summary>What a stored run directory is.</summary>
public enum StoredRunRole
{
    /// <summary>A run of its own (<c>e2t bench</c>).</summary>
    Run,

    /// <summary>One point of a sweep or an SLO search (<c>points/*</c>).</summary>
    Point,

    /// <summary>A calibration probe (<c>calibration/prefill</c>, <c>calibration/decode</c>).</summary>
    Calibration,

    /// <summary>The top of a sweep or search: its <c>result.json</c> is the series (<c>kind: e2t.bench.series</c>).</summary>
    Series,
}

/// <summary>
/// One run directory as <c>e2t runs</c> lists it, read from its <c>result.json</c> (or <c>run.json</c> when there is no
/// result). Null where the run does not say.
/// </summary>
/// <param name="Path">Relative to the root, with '/'; "." for the root itself.</param>
public sealed record StoredRun(string Path, StoredRunRole Role)
{
    public string? Name { get; init; }

    public DateTimeOffset? StartedUtc { get; init; }

    /// <summary><c>target.model</c>: the model name the endpoint served.</summary>
    public string? Model { get; init; }

    /// <summary><c>deployment.modelArchitecture</c>: the catalog model, when declared.</summary>
    public string? ModelArchitecture { get; init; }

    public string? Accelerator { get; init; }

    public bool? Simulated { get; init; }

    public bool? Valid { get; init; }

    public bool? Complete { get; init; }

    /// <summary><c>production.headlineConvention</c>: realized or peak.</summary>
    public string? HeadlineConvention { get; init; }

    /// <summary>The binding constraint under the headline convention: compute, power, balanced, degenerate or mixed.</summary>
    public string? Binding { get; init; }

    /// <summary>Gross J per output token over the headline window (<c>metrics.joulesPerOutputToken.gross</c>).</summary>
    public double? JoulesPerOutputToken { get; init; }

    /// <summary>Output tokens per second over the headline window (<c>metrics.throughput.outputTokensPerSecond</c>).</summary>
    public double? OutputTokensPerSecond { get; init; }

    public bool HasManifest { get; init; }

    /// <summary>Why the run could not be read in full (no result.json, a damaged one); null when it was.</summary>
    public string? Problem { get; init; }
}

/// <summary>What one refresh of the index did: runs read from their directories, reused from the index, dropped.</summary>
/// <param name="Rebuilt">The index was missing, unreadable or foreign, so every run was read.</param>
/// <param name="WriteProblem">Why the index could not be saved (a read-only root); the listing is still right.</param>
public sealed record RunIndexUpdate(int Read, int Reused, int Dropped, bool Rebuilt, string? WriteProblem);

/// <summary>
/// The runs stored under a root directory, served from an index the tool keeps in the root (<c>.e2t-index.json</c>).
/// The run directories stay the source of truth: each entry is keyed by its directory and the SHA-256 of its
/// <c>manifest.json</c> (size and time of <c>result.json</c> and <c>run.json</c> without a manifest) and read again only
/// when that key changes; a directory gone is dropped; an index that is not this tool's is rebuilt, never trusted.
/// </summary>
public static class RunIndex
{
    internal const string File = RunManifest.IndexFile;
    private const string Kind = "e2t.runs.index";
    private const int SchemaVersion = 1;

    /// <summary>Every run under <paramref name="root"/> (the root itself too, when it is one), sorted by start time.</summary>
    /// <exception cref="EnergyToTokenException">The root is not a directory.</exception>
    public static (IReadOnlyList<StoredRun> Runs, RunIndexUpdate Update) Load(string root)
    {
        if (!Directory.Exists(root))
            throw new EnergyToTokenException($"'{root}' is not a directory. Give the directory runs are stored in (default ./e2t-runs, where e2t bench writes them).");
        var indexPath = Path.Combine(root, File);
        var (known, rebuilt) = ReadIndex(indexPath);
        var entries = new List<(string Path, string Key, StoredRun Run)>();
        var (read, reused) = (0, 0);
        foreach (var (relative, full, files) in RunDirectories(root))
        {
            var key = Key(full, files);
            if (known.TryGetValue(relative, out var entry) && entry.Key == key)
            {
                entries.Add((relative, key, entry.Run));
                reused++;
            }
            else
            {
                entries.Add((relative, key, ReadRun(full, relative)));
                read++;
            }
        }
        var found = entries.Select(e => e.Path).ToHashSet(StringComparer.Ordinal);
        var dropped = known.Keys.Count(k => !found.Contains(k));
        string? problem = null;
        if (rebuilt || read > 0 || dropped > 0) problem = WriteIndex(indexPath, entries);
        return (Sort([.. entries.Select(e => e.Run)]), new RunIndexUpdate(read, reused, dropped, rebuilt, problem));
    }

    /// <summary>
    /// By start time, then path. A series has no start of its own: it takes its earliest point's, and sorts before
    /// its points (its path is a prefix of theirs).
    /// </summary>
    private static List<StoredRun> Sort(List<StoredRun> runs)
    {
        DateTimeOffset? Started(StoredRun r) => r.StartedUtc ?? (r.Role == StoredRunRole.Series
            ? runs.Where(p => p.Path.StartsWith(r.Path == "." ? "" : r.Path + "/", StringComparison.Ordinal) && p.StartedUtc is not null).Min(p => p.StartedUtc)
            : null);
        return [.. runs.Select(r => r.Role == StoredRunRole.Series && r.StartedUtc is null ? r with { StartedUtc = Started(r) } : r)
            .OrderBy(r => r.StartedUtc ?? DateTimeOffset.MaxValue).ThenBy(r => r.Path, StringComparer.Ordinal)];
    }

    /// <summary>
    /// Every directory below the root (and the root) that holds a run's file, with the names of its files; hidden
    /// directories and links skipped. One listing per directory: the names tell a run and its manifest without a stat each.
    /// </summary>
    private static IEnumerable<(string Relative, string Full, HashSet<string> Files)> RunDirectories(string root)
    {
        var pending = new Stack<(string Relative, string Full)>();
        pending.Push((".", root));
        while (pending.TryPop(out var at))
        {
            var files = new HashSet<string>(StringComparer.Ordinal);
            var entries = new FileSystemEnumerable<(string Name, bool Directory)>(at.Full,
                (ref FileSystemEntry e) => (e.FileName.ToString(), e.IsDirectory),
                new EnumerationOptions { AttributesToSkip = FileAttributes.ReparsePoint, IgnoreInaccessible = true });
            foreach (var (name, directory) in entries)
            {
                if (!directory) files.Add(name);
                else if (!name.StartsWith('.')) pending.Push((at.Relative == "." ? name : at.Relative + "/" + name, Path.Combine(at.Full, name)));
            }
            if (files.Contains(RunManifest.File) || files.Contains(RunDirectory.Result) || files.Contains(RunFacts.File) || files.Contains(RunDirectory.EventLog))
                yield return (at.Relative, at.Full, files);
        }
    }

    /// <summary>What must change for a run to be read again: its manifest's hash, else its result's and facts' size and time.</summary>
    private static string Key(string directory, HashSet<string> files)
    {
        if (files.Contains(RunManifest.File)) return "sha256:" + RunManifest.Hash(Path.Combine(directory, RunManifest.File)).Sha256;
        string Stat(string name) => files.Contains(name) && new FileInfo(Path.Combine(directory, name)) is { Exists: true } f
            ? f.Length.ToString(CultureInfo.InvariantCulture) + "@" + f.LastWriteTimeUtc.Ticks.ToString(CultureInfo.InvariantCulture)
            : "-";
        return $"stat:{Stat(RunDirectory.Result)};{Stat(RunFacts.File)}";
    }

    /// <summary>A run's entry from its files; a missing or damaged result is an entry with a problem, never an exception.</summary>
    internal static StoredRun ReadRun(string directory, string relative)
    {
        var parent = relative.Split('/') is { Length: >= 2 } parts ? parts[^2] : null;
        var role = parent switch { "points" => StoredRunRole.Point, "calibration" => StoredRunRole.Calibration, _ => StoredRunRole.Run };
        var hasManifest = System.IO.File.Exists(Path.Combine(directory, RunManifest.File));
        var fallback = new StoredRun(relative, role) { Name = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory))), HasManifest = hasManifest, Complete = false };
        var (result, resultProblem) = Parse(Path.Combine(directory, RunDirectory.Result));
        if (result is { } r)
        {
            switch (RunFacts.OptionalString(r, "kind"))
            {
                case "e2t.bench":
                    var convention = Text(r, "production", "headlineConvention");
                    return new StoredRun(relative, role)
                    {
                        Name = Text(r, "name"),
                        StartedUtc = Time(Text(r, "startedUtc")),
                        Model = Text(r, "target", "model"),
                        ModelArchitecture = Text(r, "deployment", "modelArchitecture"),
                        Accelerator = Text(r, "deployment", "accelerator"),
                        Simulated = Flag(r, "simulated"),
                        Valid = Flag(r, "valid"),
                        Complete = Flag(r, "complete"),
                        HeadlineConvention = convention,
                        Binding = convention is null ? null : Text(r, "production", "bindingConstraint", convention),
                        JoulesPerOutputToken = Number(r, "metrics", "joulesPerOutputToken", "gross"),
                        OutputTokensPerSecond = Number(r, "metrics", "throughput", "outputTokensPerSecond"),
                        HasManifest = hasManifest,
                    };
                case "e2t.bench.series":
                    return new StoredRun(relative, StoredRunRole.Series) { Name = Text(r, "name"), Complete = Flag(r, "complete"), HasManifest = hasManifest };
                case var other:
                    return fallback with { Problem = $"{RunDirectory.Result} is not an e2t result (kind {other ?? "missing"})" };
            }
        }
        // No result to read: what run.json says, marked incomplete.
        var (facts, _) = Parse(Path.Combine(directory, RunFacts.File));
        var problem = resultProblem ?? $"no {RunDirectory.Result}: the run was cut before it finished";
        if (facts is not { } f) return fallback with { Problem = problem };
        return fallback with
        {
            Name = Text(f, "name") ?? fallback.Name,
            StartedUtc = Time(Text(f, "startedUtc")),
            Model = Text(f, "target", "model"),
            ModelArchitecture = Text(f, "deployment", "modelArchitecture"),
            Accelerator = Text(f, "deployment", "accelerator"),
            Simulated = Flag(f, "simulated"),
            Problem = problem,
        };
    }

    private static (JsonElement?, string?) Parse(string path)
    {
        if (!System.IO.File.Exists(path)) return (null, null);
        try
        {
            using var document = JsonDocument.Parse(System.IO.File.ReadAllBytes(path));
            return document.RootElement.ValueKind == JsonValueKind.Object
                ? (document.RootElement.Clone(), null)
                : (null, $"{Path.GetFileName(path)} is damaged (not a JSON object)");
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            return (null, $"{Path.GetFileName(path)} is unreadable ({e.Message})");
        }
    }

    private static JsonElement? At(JsonElement e, params string[] path)
    {
        foreach (var name in path)
        {
            if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty(name, out e)) return null;
        }
        return e;
    }

    private static string? Text(JsonElement e, params string[] path) => At(e, path) is { ValueKind: JsonValueKind.String } v ? v.GetString() : null;

    private static double? Number(JsonElement e, params string[] path) => At(e, path) is { ValueKind: JsonValueKind.Number } v ? v.GetDouble() : null;

    private static bool? Flag(JsonElement e, params string[] path) => At(e, path) is { ValueKind: JsonValueKind.True or JsonValueKind.False } v ? v.GetBoolean() : null;

    private static DateTimeOffset? Time(string? text) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t) ? t : null;

    /// <summary>The index's entries by path; empty and marked rebuilt when it is missing, unreadable or not this tool's.</summary>
    private static (Dictionary<string, (string Key, StoredRun Run)> Entries, bool Rebuilt) ReadIndex(string path)
    {
        var entries = new Dictionary<string, (string, StoredRun)>(StringComparer.Ordinal);
        if (!System.IO.File.Exists(path)) return (entries, true);
        try
        {
            using var document = JsonDocument.Parse(System.IO.File.ReadAllBytes(path));
            var root = document.RootElement;
            if (RunFacts.OptionalString(root, "kind") != Kind || RunFacts.OptionalDouble(root, "schemaVersion") is not SchemaVersion
                || RunFacts.OptionalString(root, "toolVersion") != Reporting.BenchReport.ToolVersion)
                return (entries, true);
            foreach (var e in root.GetProperty("entries").EnumerateArray())
            {
                var run = e.GetProperty("run");
                var relative = e.GetProperty("path").GetString()!;
                entries[relative] = (e.GetProperty("key").GetString()!, new StoredRun(relative, Enum.Parse<StoredRunRole>(run.GetProperty("role").GetString()!, ignoreCase: true))
                {
                    Name = Text(run, "name"),
                    StartedUtc = Time(Text(run, "startedUtc")),
                    Model = Text(run, "model"),
                    ModelArchitecture = Text(run, "modelArchitecture"),
                    Accelerator = Text(run, "accelerator"),
                    Simulated = Flag(run, "simulated"),
                    Valid = Flag(run, "valid"),
                    Complete = Flag(run, "complete"),
                    HeadlineConvention = Text(run, "headlineConvention"),
                    Binding = Text(run, "binding"),
                    JoulesPerOutputToken = Number(run, "joulesPerOutputToken"),
                    OutputTokensPerSecond = Number(run, "outputTokensPerSecond"),
                    HasManifest = run.GetProperty("hasManifest").GetBoolean(),
                    Problem = Text(run, "problem"),
                });
            }
            return (entries, false);
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException or InvalidOperationException or KeyNotFoundException or ArgumentException)
        {
            // Corrupt or foreign: start again from the run directories, which are the truth.
            entries.Clear();
            return (entries, true);
        }
    }

    /// <summary><c>e2t runs --json</c>: the root and the runs listed, each as the index keeps it (docs/runs.md).</summary>
    public static string Json(string root, IReadOnlyList<StoredRun> runs) => Reporting.EnergyReport.Write(w =>
    {
        w.WriteStartObject();
        w.WriteString("kind", "e2t.runs");
        w.WriteString("root", root);
        w.WriteStartArray("runs");
        foreach (var run in runs)
        {
            w.WriteStartObject();
            w.WriteString("path", run.Path);
            WriteRunFields(w, run);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }) + "\n";

    private static void WriteRun(Utf8JsonWriter w, StoredRun run)
    {
        w.WriteStartObject();
        WriteRunFields(w, run);
        w.WriteEndObject();
    }

    private static void WriteRunFields(Utf8JsonWriter w, StoredRun run)
    {
        w.WriteString("role", Reporting.ModelReport.Camel(run.Role));
        w.WriteString("name", run.Name);
        w.WriteString("startedUtc", run.StartedUtc?.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
        w.WriteString("model", run.Model);
        w.WriteString("modelArchitecture", run.ModelArchitecture);
        w.WriteString("accelerator", run.Accelerator);
        Bool("simulated", run.Simulated);
        Bool("valid", run.Valid);
        Bool("complete", run.Complete);
        w.WriteString("headlineConvention", run.HeadlineConvention);
        w.WriteString("binding", run.Binding);
        Reporting.EnergyReport.Number(w, "joulesPerOutputToken", run.JoulesPerOutputToken);
        Reporting.EnergyReport.Number(w, "outputTokensPerSecond", run.OutputTokensPerSecond);
        w.WriteBoolean("hasManifest", run.HasManifest);
        w.WriteString("problem", run.Problem);

        void Bool(string name, bool? value)
        {
            if (value is { } b) w.WriteBoolean(name, b);
            else w.WriteNull(name);
        }
    }

    private static string? WriteIndex(string path, List<(string Path, string Key, StoredRun Run)> entries)
    {
        var json = Reporting.EnergyReport.Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("kind", Kind);
            w.WriteNumber("schemaVersion", SchemaVersion);
            // Another version of the tool may read results differently: its index is rebuilt, not reused.
            w.WriteString("toolVersion", Reporting.BenchReport.ToolVersion);
            w.WriteStartArray("entries");
            foreach (var (relative, key, run) in entries.OrderBy(e => e.Path, StringComparer.Ordinal))
            {
                w.WriteStartObject();
                w.WriteString("path", relative);
                w.WriteString("key", key);
                w.WritePropertyName("run");
                WriteRun(w, run);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        });
        // A name of this process's own, so two listings at once never write into one temporary.
        var temporary = $"{path}.{Environment.ProcessId}.tmp";
        try
        {
            System.IO.File.WriteAllText(temporary, json);
            System.IO.File.Move(temporary, path, overwrite: true);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try
            {
                System.IO.File.Delete(temporary);
            }
            catch (Exception again) when (again is IOException or UnauthorizedAccessException)
            {
                // Nothing was written, or nothing can be: the next listing tries again.
            }
            return $"The run index '{path}' could not be saved ({e.Message}); this listing is right, the next one reads the changed runs again.";
        }
    }
}
