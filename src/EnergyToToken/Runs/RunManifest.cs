using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;

namespace EnergyToToken.Runs;

/// <summary>
/// A run directory's <c>manifest.json</c> (<c>kind: e2t.manifest</c>, schema version 1, docs/runs.md): the size and
/// SHA-256 of every file, the result's kind and schema version, the tool's version, the configuration's hash and the
/// seeds. Written last, whenever a run directory is finished or rewritten, so it describes the files as they were left;
/// <see cref="Verify"/> checks a directory against it.
/// <para>A sub-run (a directory below that holds its own manifest: <c>points/*</c>, <c>calibration/*</c>) is listed by
/// its manifest alone, whose hash covers the sub-run's files in turn: the parent's manifest chains to it, and a sub-run
/// rewritten later (its own manifest rewritten) shows in the parent as a changed file.</para>
/// </summary>
public static class RunManifest
{
    public const string File = "manifest.json";
    public const string Kind = "e2t.manifest";
    public const int SchemaVersion = 1;

    /// <summary>The index <c>e2t runs</c> keeps in its root: never part of a run, even when the root is one.</summary>
    internal const string IndexFile = ".e2t-index.json";

    /// <summary>
    /// The sections of <c>run.json</c> hashed as the configuration, in ordinal order, each without the members named:
    /// what was asked for, not what was measured. The target's endpoint is left out (the embedded twin listens on a new
    /// port each run), and so are the analysis's saturation and calibration coefficients, which are measurements of
    /// other runs (the result records them).
    /// </summary>
    private static readonly (string Section, string[] Without)[] Hashed =
        [("analysis", ["calibration", "saturation"]), ("arrivals", []), ("deployment", []), ("slo", []), ("target", ["endpoint"]), ("validity", []), ("workload", [])];

    /// <summary>What the configuration hash covers, as the manifest lists it: <c>analysis (without calibration, saturation)</c>, <c>arrivals</c>, ….</summary>
    internal static IReadOnlyList<string> ConfigurationSections { get; } =
        [.. Hashed.Select(h => h.Without.Length == 0 ? h.Section : $"{h.Section} (without {string.Join(", ", h.Without)})")];

    /// <summary>
    /// Writes <c>manifest.json</c> for <paramref name="directory"/> as it is now, atomically. Call it after the last
    /// file of a run directory is written or rewritten.
    /// </summary>
    /// <param name="time">The clock for <c>createdUtc</c>. Default: the system's.</param>
    /// <exception cref="EnergyToTokenException">A file could not be read or the manifest written (the I/O error inside).</exception>
    public static void Write(string directory, TimeProvider? time = null)
    {
        string json;
        try
        {
            var files = Listed(directory).Select(f => (f.Path, Digest: Hash(f.Full))).ToList();
            var facts = ReadJson(Path.Combine(directory, RunFacts.File));
            var result = ReadJson(Path.Combine(directory, RunDirectory.Result));
            var created = (time ?? TimeProvider.System).GetUtcNow();
            json = Reporting.EnergyReport.Write(w =>
            {
                w.WriteStartObject();
                w.WriteString("kind", Kind);
                w.WriteNumber("schemaVersion", SchemaVersion);
                w.WriteString("toolVersion", Reporting.BenchReport.ToolVersion);
                w.WriteString("createdUtc", created.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
                if (result is { } r && RunFacts.OptionalString(r, "kind") is { } kind)
                {
                    w.WriteStartObject("result");
                    w.WriteString("kind", kind);
                    if (RunFacts.OptionalDouble(r, "schemaVersion") is { } version) w.WriteNumber("schemaVersion", version);
                    else w.WriteNull("schemaVersion");
                    w.WriteEndObject();
                }
                else
                {
                    w.WriteNull("result");
                }
                if (facts is { } f)
                {
                    w.WriteStartObject("configuration");
                    w.WriteString("sha256", ConfigurationHash(f));
                    w.WriteStartArray("sections");
                    foreach (var s in ConfigurationSections) w.WriteStringValue(s);
                    w.WriteEndArray();
                    w.WriteEndObject();
                }
                else
                {
                    w.WriteNull("configuration");
                }
                w.WriteStartObject("seeds");
                if (facts is { } g && g.TryGetProperty("workload", out var workload) && workload.TryGetProperty("seed", out var seed) && seed.ValueKind == JsonValueKind.Number)
                {
                    w.WritePropertyName("workload");
                    seed.WriteTo(w);
                    w.WriteNumber("bootstrap", Analysis.RunAnalysis.BootstrapSeed);
                }
                w.WriteEndObject();
                w.WriteStartArray("files");
                foreach (var (path, digest) in files)
                {
                    w.WriteStartObject();
                    w.WriteString("path", path);
                    w.WriteNumber("bytes", digest.Bytes);
                    w.WriteString("sha256", digest.Sha256);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }) + "\n";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new EnergyToTokenException($"Cannot write the manifest of '{directory}': {e.Message}", e);
        }
        RunDirectory.WriteFile(directory, File, json);
    }

    /// <summary>
    /// SHA-256 of the canonical bytes of the <see cref="ConfigurationSections"/> of <c>run.json</c>: one compact JSON
    /// object of those sections, keys in ordinal order at every level, numbers exactly as run.json writes them, strings
    /// as System.Text.Json writes them by default. A section run.json lacks is null.
    /// </summary>
    internal static string ConfigurationHash(JsonElement facts)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            foreach (var (section, without) in Hashed)
            {
                w.WritePropertyName(section);
                if (facts.TryGetProperty(section, out var value)) Canonical(w, value, without);
                else w.WriteNullValue();
            }
            w.WriteEndObject();
        }
        return Convert.ToHexStringLower(SHA256.HashData(buffer.ToArray()));
    }

    private static void Canonical(Utf8JsonWriter w, JsonElement e, string[]? without = null)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                w.WriteStartObject();
                foreach (var p in e.EnumerateObject().Where(p => without?.Contains(p.Name) != true).OrderBy(p => p.Name, StringComparer.Ordinal))
                {
                    w.WritePropertyName(p.Name);
                    Canonical(w, p.Value);
                }
                w.WriteEndObject();
                break;
            case JsonValueKind.Array:
                w.WriteStartArray();
                foreach (var item in e.EnumerateArray()) Canonical(w, item);
                w.WriteEndArray();
                break;
            case JsonValueKind.Number:
                w.WriteRawValue(e.GetRawText());
                break;
            default:
                e.WriteTo(w);
                break;
        }
    }

    /// <summary>
    /// Checks <paramref name="directory"/> against its manifest, re-hashing every file, and its sub-runs against theirs.
    /// </summary>
    /// <exception cref="EnergyToTokenException">The directory does not exist or has no manifest.</exception>
    public static VerifyResult Verify(string directory)
    {
        if (!Directory.Exists(directory))
            throw new EnergyToTokenException($"'{directory}' is not a directory. Give a run directory written by e2t bench (e2t-runs/…).");
        if (!System.IO.File.Exists(Path.Combine(directory, File)))
            throw new EnergyToTokenException($"'{directory}' has no {File}, so there is nothing to check its files against: the run was cut before it finished, it was written by an e2t from before manifests (issue 7), or it is not a run directory. 'e2t analyze {directory} --write' writes a manifest of the files as they are now (it cannot tell what changed before).");
        var problems = new List<ManifestProblem>();
        var (files, bytes, runs) = Check(directory, "", problems);
        return new VerifyResult(directory, files, bytes, runs, problems);
    }

    /// <summary><c>e2t verify --json</c>: the directory, whether it is intact, what was checked and every problem (docs/runs.md).</summary>
    public static string Json(VerifyResult r) => Reporting.EnergyReport.Write(w =>
    {
        w.WriteStartObject();
        w.WriteString("kind", "e2t.verify");
        w.WriteString("directory", r.Directory);
        w.WriteBoolean("intact", r.Intact);
        w.WriteNumber("files", r.Files);
        w.WriteNumber("bytes", r.Bytes);
        w.WriteNumber("runs", r.Runs);
        w.WriteStartArray("problems");
        foreach (var p in r.Problems)
        {
            w.WriteStartObject();
            w.WriteString("path", p.Path);
            w.WriteString("problem", Reporting.ModelReport.Camel(p.Kind));
            w.WriteString("message", p.Message);
            Reporting.EnergyReport.Number(w, "expectedBytes", p.ExpectedBytes);
            Reporting.EnergyReport.Number(w, "actualBytes", p.ActualBytes);
            w.WriteString("expectedSha256", p.ExpectedSha256);
            w.WriteString("actualSha256", p.ActualSha256);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }) + "\n";

    private static (int Files, long Bytes, int Runs) Check(string directory, string prefix, List<ManifestProblem> problems)
    {
        Dictionary<string, (long Bytes, string Sha256)> expected;
        try
        {
            expected = ReadEntries(Path.Combine(directory, File));
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or KeyNotFoundException or FormatException or IOException or UnauthorizedAccessException)
        {
            problems.Add(new ManifestProblem(prefix + File, ProblemKind.Unreadable, $"{prefix}{File} is not a readable manifest ({e.Message})", null, null, null, null));
            return (0, 0, 1);
        }

        var subRuns = expected.Keys.Where(IsSubRunManifest).Select(p => p[..^(File.Length + 1)]).ToHashSet(StringComparer.Ordinal);
        var actual = Listed(directory, subRuns).ToDictionary(f => f.Path, f => f.Full, StringComparer.Ordinal);
        var (files, bytes, runs) = (0, 0L, 1);
        foreach (var (path, want) in expected.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            var shown = prefix + path;
            if (!actual.TryGetValue(path, out var full))
            {
                problems.Add(new ManifestProblem(shown, ProblemKind.Missing, $"{shown} missing", want.Bytes, null, want.Sha256, null));
                continue;
            }
            var size = new FileInfo(full).Length;
            files++;
            bytes += size;
            if (size != want.Bytes)
            {
                problems.Add(new ManifestProblem(shown, ProblemKind.Resized, $"{shown} resized ({N(size)} bytes, expected {N(want.Bytes)})", want.Bytes, size, want.Sha256, null));
                continue;
            }
            var got = Hash(full);
            if (got.Sha256 != want.Sha256)
                problems.Add(new ManifestProblem(shown, ProblemKind.Changed, $"{shown} changed (SHA-256 {got.Sha256}, expected {want.Sha256})", want.Bytes, got.Bytes, want.Sha256, got.Sha256));
        }
        foreach (var path in actual.Keys.Where(p => !expected.ContainsKey(p)).Order(StringComparer.Ordinal))
        {
            var shown = prefix + path;
            var size = new FileInfo(actual[path]).Length;
            problems.Add(new ManifestProblem(shown, ProblemKind.Extra, $"{shown} extra (not in {prefix}{File})", null, size, null, null));
        }
        foreach (var sub in subRuns.Order(StringComparer.Ordinal))
        {
            var path = Path.Combine(directory, sub);
            if (!System.IO.File.Exists(Path.Combine(path, File))) continue; // named as missing above
            var (f, b, r) = Check(path, prefix + sub + "/", problems);
            (files, bytes, runs) = (files + f, bytes + b, runs + r);
        }
        return (files, bytes, runs);
    }

    private static string N(long bytes) => bytes.ToString("N0", CultureInfo.InvariantCulture);

    private static bool IsSubRunManifest(string path) => path.EndsWith("/" + File, StringComparison.Ordinal);

    private static Dictionary<string, (long Bytes, string Sha256)> ReadEntries(string path)
    {
        using var document = JsonDocument.Parse(System.IO.File.ReadAllBytes(path));
        var root = document.RootElement;
        if (RunFacts.OptionalString(root, "kind") != Kind) throw new FormatException($"its kind is not {Kind}");
        if (RunFacts.OptionalDouble(root, "schemaVersion") is not SchemaVersion) throw new FormatException($"schema version {RunFacts.OptionalDouble(root, "schemaVersion")}; this e2t reads version {SchemaVersion}");
        var entries = new Dictionary<string, (long, string)>(StringComparer.Ordinal);
        foreach (var f in root.GetProperty("files").EnumerateArray())
            entries[f.GetProperty("path").GetString()!] = (f.GetProperty("bytes").GetInt64(), f.GetProperty("sha256").GetString()!);
        return entries;
    }

    private static JsonElement? ReadJson(string path)
    {
        if (!System.IO.File.Exists(path)) return null;
        try
        {
            using var document = JsonDocument.Parse(System.IO.File.ReadAllBytes(path));
            return document.RootElement.ValueKind == JsonValueKind.Object ? document.RootElement.Clone() : null;
        }
        catch (JsonException)
        {
            // The manifest still lists the file with its hash; what it cannot say is its kind or configuration.
            return null;
        }
    }

    /// <summary>
    /// The files a manifest of <paramref name="directory"/> lists, by relative path with '/' in ordinal order: every
    /// file below it but the manifest itself, temporaries (<c>*.tmp</c>) and the runs index; a sub-run (a directory
    /// holding a manifest, or named in <paramref name="subRuns"/>) by its manifest alone. Links to directories are not
    /// followed.
    /// </summary>
    internal static List<(string Path, string Full)> Listed(string directory, IReadOnlySet<string>? subRuns = null)
    {
        var files = new List<(string, string)>();
        Walk(directory, "");
        files.Sort((a, b) => string.CompareOrdinal(a.Item1, b.Item1));
        return files;

        void Walk(string at, string prefix)
        {
            foreach (var file in Directory.EnumerateFiles(at))
            {
                var name = Path.GetFileName(file);
                if ((prefix.Length == 0 && name == File) || name == IndexFile || name.EndsWith(".tmp", StringComparison.Ordinal)) continue;
                files.Add((prefix + name, file));
            }
            foreach (var sub in Directory.EnumerateDirectories(at))
            {
                if (new DirectoryInfo(sub).LinkTarget is not null) continue;
                var relative = prefix + Path.GetFileName(sub);
                if (System.IO.File.Exists(Path.Combine(sub, File)) || subRuns?.Contains(relative) == true)
                {
                    if (System.IO.File.Exists(Path.Combine(sub, File))) files.Add((relative + "/" + File, Path.Combine(sub, File)));
                }
                else
                {
                    Walk(sub, relative + "/");
                }
            }
        }
    }

    /// <summary>A file's size and SHA-256 (lowercase hex), streamed in 1 MiB reads.</summary>
    internal static (long Bytes, string Sha256) Hash(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0, FileOptions.SequentialScan);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            long bytes = 0;
            int read;
            while ((read = stream.Read(buffer, 0, buffer.Length)) > 0)
            {
                hash.AppendData(buffer, 0, read);
                bytes += read;
            }
            return (bytes, Convert.ToHexStringLower(hash.GetHashAndReset()));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}

/// <summary>What is wrong with one file of a run directory.</summary>
public enum ProblemKind
{
    /// <summary>Listed in the manifest, not on disk.</summary>
    Missing,

    /// <summary>On disk, not listed in the manifest.</summary>
    Extra,

    /// <summary>Its size differs from the manifest's.</summary>
    Resized,

    /// <summary>Its size matches, its SHA-256 does not.</summary>
    Changed,

    /// <summary>A manifest that is not JSON, not a manifest, or of another schema version.</summary>
    Unreadable,
}

/// <summary>One problem <see cref="RunManifest.Verify"/> found, with the path relative to the verified directory.</summary>
/// <param name="Message">For people: the path and what is wrong, e.g. <c>chunks.parquet changed (SHA-256 …, expected …)</c>.</param>
public sealed record ManifestProblem(string Path, ProblemKind Kind, string Message, long? ExpectedBytes, long? ActualBytes, string? ExpectedSha256, string? ActualSha256);

/// <summary>The outcome of <see cref="RunManifest.Verify"/>.</summary>
/// <param name="Files">Files found and checked, sub-runs' included.</param>
/// <param name="Bytes">Their bytes.</param>
/// <param name="Runs">Run directories checked: this one and its sub-runs.</param>
public sealed record VerifyResult(string Directory, int Files, long Bytes, int Runs, IReadOnlyList<ManifestProblem> Problems)
{
    public bool Intact => Problems.Count == 0;
}
