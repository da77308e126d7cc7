using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using EnergyToToken.Runs;
using EnergyToToken.Tests.Cli;
using static EnergyToToken.Tests.Cli.ModelCommandTests;

namespace EnergyToToken.Tests.Runs;

/// <summary>
/// manifest.json and <c>e2t verify</c>: a fresh twin run verifies; a flipped byte, a missing, an extra or a resized
/// file is named, in the run and in its sub-runs; the configuration hash covers what was asked for, not what happened.
/// </summary>
public sealed class ManifestTests(TwinRunFixture fixture) : IClassFixture<TwinRunFixture>, IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("e2t-manifest-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    /// <summary>A copy of the fixture's run to damage, so every test starts from the intact run.</summary>
    private string Copy(string name)
    {
        var target = Path.Combine(_root, name);
        foreach (var file in Directory.EnumerateFiles(fixture.Run, "*", SearchOption.AllDirectories))
        {
            var to = Path.Combine(target, Path.GetRelativePath(fixture.Run, file));
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(file, to);
        }
        return target;
    }

    private static void Flip(string file)
    {
        var bytes = File.ReadAllBytes(file);
        bytes[bytes.Length / 2] ^= 0x01;
        File.WriteAllBytes(file, bytes);
    }

    [Fact]
    public void A_fresh_twin_run_has_a_manifest_of_every_file_and_verifies()
    {
        using var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(fixture.Run, RunManifest.File)));
        var root = manifest.RootElement;
        Assert.Equal("e2t.manifest", root.GetProperty("kind").GetString());
        Assert.Equal(1, root.GetProperty("schemaVersion").GetInt32());
        Assert.Equal("e2t.bench", root.GetProperty("result").GetProperty("kind").GetString());
        Assert.Equal(2, root.GetProperty("result").GetProperty("schemaVersion").GetInt32());
        Assert.Equal(EnergyToToken.Reporting.BenchReport.ToolVersion, root.GetProperty("toolVersion").GetString());
        Assert.Matches("^[0-9a-f]{64}$", root.GetProperty("configuration").GetProperty("sha256").GetString()!);
        Assert.Equal(1UL, root.GetProperty("seeds").GetProperty("workload").GetUInt64());
        Assert.Equal(EnergyToToken.Analysis.RunAnalysis.BootstrapSeed, root.GetProperty("seeds").GetProperty("bootstrap").GetInt32());
        Assert.True(DateTimeOffset.TryParse(root.GetProperty("createdUtc").GetString(), out _));

        // Every file but the manifest, sorted, each with its size and SHA-256 as they are on disk.
        var files = root.GetProperty("files").EnumerateArray().ToList();
        var paths = files.Select(f => f.GetProperty("path").GetString()!).ToList();
        Assert.Equal(["chunks.parquet", "events.jsonl", "power.parquet", "report.html", "report.md", "requests.parquet", "result.json", "run.json", "server-metrics.parquet", "telemetry.parquet"], paths);
        foreach (var f in files)
        {
            var bytes = File.ReadAllBytes(Path.Combine(fixture.Run, f.GetProperty("path").GetString()!));
            Assert.Equal(bytes.Length, f.GetProperty("bytes").GetInt64());
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), f.GetProperty("sha256").GetString());
        }

        var (code, output, error) = Run("verify", fixture.Run);
        Assert.True(code == 0, error);
        var total = files.Sum(f => f.GetProperty("bytes").GetInt64());
        Assert.Equal($"{fixture.Run} is intact: 10 files, {total.ToString("N0", CultureInfo.InvariantCulture)} bytes match the manifest.\n", output.ReplaceLineEndings("\n"));
    }

    [Theory]
    [InlineData("chunks.parquet")]
    [InlineData("requests.parquet")]
    [InlineData("result.json")]
    [InlineData("run.json")]
    [InlineData("events.jsonl")]
    public void A_flipped_byte_is_named_with_both_hashes(string file)
    {
        var run = Copy("flipped");
        var expected = RunManifest.Hash(Path.Combine(run, file)).Sha256;
        Flip(Path.Combine(run, file));
        var actual = RunManifest.Hash(Path.Combine(run, file)).Sha256;

        var (code, output, error) = Run("verify", run);
        Assert.Equal(1, code);
        Assert.Equal("", output);
        Assert.Equal($"error: {run} is damaged: {file} changed (SHA-256 {actual}, expected {expected})\n", error.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void A_missing_an_extra_and_a_resized_file_are_all_named_and_listed_in_json()
    {
        var run = Copy("several");
        File.Delete(Path.Combine(run, "power.parquet"));
        File.WriteAllText(Path.Combine(run, "notes.txt"), "added later");
        File.AppendAllText(Path.Combine(run, "run.json"), " ");
        File.WriteAllText(Path.Combine(run, "result.json.tmp"), "a temporary is never part of a run");

        var (code, _, error) = Run("verify", run);
        Assert.Equal(1, code);
        var lines = error.ReplaceLineEndings("\n").TrimEnd('\n').Split('\n');
        Assert.Equal($"error: {run} is damaged: 3 problems", lines[0]);
        Assert.Equal("error:   power.parquet missing", lines[1]);
        Assert.StartsWith("error:   run.json resized (", lines[2], StringComparison.Ordinal);
        Assert.Equal("error:   notes.txt extra (not in manifest.json)", lines[3]);

        var (jsonCode, json, _) = Run("verify", run, "--json");
        Assert.Equal(1, jsonCode);
        using var doc = JsonDocument.Parse(json);
        Assert.False(doc.RootElement.GetProperty("intact").GetBoolean());
        var problems = doc.RootElement.GetProperty("problems").EnumerateArray().Select(p => (p.GetProperty("path").GetString(), p.GetProperty("problem").GetString())).ToList();
        Assert.Equal([("power.parquet", "missing"), ("run.json", "resized"), ("notes.txt", "extra")], problems);
    }

    [Fact]
    public void Verify_json_of_an_intact_run_says_so()
    {
        var (code, json, error) = Run("verify", fixture.Run, "--json");
        Assert.True(code == 0, error);
        using var doc = JsonDocument.Parse(json);
        Assert.True(doc.RootElement.GetProperty("intact").GetBoolean());
        Assert.Equal(10, doc.RootElement.GetProperty("files").GetInt32());
        Assert.Equal(1, doc.RootElement.GetProperty("runs").GetInt32());
        Assert.Equal(0, doc.RootElement.GetProperty("problems").GetArrayLength());
    }

    [Fact]
    public void A_directory_without_a_manifest_or_that_is_not_one_is_explained()
    {
        var bare = Path.Combine(_root, "bare");
        Directory.CreateDirectory(bare);
        var (code, _, error) = Run("verify", bare);
        Assert.Equal(1, code);
        Assert.Contains($"'{bare}' has no manifest.json, so there is nothing to check its files against", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);

        (code, _, error) = Run("verify", Path.Combine(_root, "nowhere"));
        Assert.Equal(1, code);
        Assert.Contains("is not a directory", error, StringComparison.Ordinal);

        File.WriteAllText(Path.Combine(bare, RunManifest.File), "{\"kind\": \"something else\"}");
        (code, _, error) = Run("verify", bare);
        Assert.Equal(1, code);
        Assert.Contains($"{bare} is damaged: manifest.json is not a readable manifest (its kind is not e2t.manifest)", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Analyze_write_rewrites_the_manifest_so_the_run_verifies_again()
    {
        var run = Copy("reanalysed");
        var (code, _, error) = Run("analyze", run, "--window", "whole", "--write", "--json");
        Assert.True(code == 0, error);
        Assert.Equal(0, Run("verify", run).Code);
        Assert.NotEqual(File.ReadAllText(Path.Combine(fixture.Run, RunManifest.File)), File.ReadAllText(Path.Combine(run, RunManifest.File)));
    }

    /// <summary>A parent with two sub-runs, as a sweep lays them out (points/*, each with its own manifest).</summary>
    private string Series()
    {
        var top = Path.Combine(_root, "series");
        foreach (var point in new[] { "00-concurrency-1", "01-concurrency-4" })
        {
            var dir = Path.Combine(top, "points", point);
            Directory.CreateDirectory(Path.Combine(dir, "calibration", "prefill"));
            File.WriteAllText(Path.Combine(dir, "result.json"), "{\"kind\": \"e2t.bench\", \"schemaVersion\": 2}");
            File.WriteAllBytes(Path.Combine(dir, "data.bin"), [1, 2, 3, 4]);
            File.WriteAllText(Path.Combine(dir, "calibration", "prefill", "result.json"), "{}");
            RunManifest.Write(Path.Combine(dir, "calibration", "prefill"));
            RunManifest.Write(dir);
        }
        File.WriteAllText(Path.Combine(top, "result.json"), "{\"kind\": \"e2t.bench.series\", \"schemaVersion\": 1}");
        RunManifest.Write(top);
        return top;
    }

    [Fact]
    public void A_parent_lists_each_sub_run_by_its_manifest_and_verify_checks_them_all()
    {
        var top = Series();
        using (var manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(top, RunManifest.File))))
        {
            var root = manifest.RootElement;
            Assert.Equal(["points/00-concurrency-1/manifest.json", "points/01-concurrency-4/manifest.json", "result.json"],
                root.GetProperty("files").EnumerateArray().Select(f => f.GetProperty("path").GetString()));
            Assert.Equal("e2t.bench.series", root.GetProperty("result").GetProperty("kind").GetString());
            Assert.Equal(JsonValueKind.Null, root.GetProperty("configuration").ValueKind); // a series has no run.json: its points' manifests hold theirs
        }
        var intact = RunManifest.Verify(top);
        Assert.True(intact.Intact);
        Assert.Equal(5, intact.Runs); // the series, two points, a calibration probe in each
        Assert.Equal(3 + 2 * 3 + 2 * 1, intact.Files);

        Flip(Path.Combine(top, "points", "01-concurrency-4", "data.bin"));
        File.Delete(Path.Combine(top, "points", "00-concurrency-1", "calibration", "prefill", "result.json"));
        var damaged = RunManifest.Verify(top);
        Assert.Equal(["points/00-concurrency-1/calibration/prefill/result.json missing", "points/01-concurrency-4/data.bin changed"],
            damaged.Problems.Select(p => p.Message.Split(" (")[0]));

        // A sub-run rewritten on its own (its manifest too) shows in the parent as a changed file: the series was written before it.
        RunManifest.Write(Path.Combine(top, "points", "01-concurrency-4"));
        Assert.Contains(RunManifest.Verify(top).Problems, p => p.Path == "points/01-concurrency-4/manifest.json" && p.Kind == ProblemKind.Changed);
    }

    [Fact]
    public void The_manifest_leaves_out_temporaries_and_the_runs_index()
    {
        var dir = Path.Combine(_root, "plain");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "result.json"), "{}");
        File.WriteAllText(Path.Combine(dir, "result.json.tmp"), "half");
        File.WriteAllText(Path.Combine(dir, RunIndex.File), "{}");
        RunManifest.Write(dir);
        Assert.Equal(["result.json"], RunManifest.Listed(dir).Select(f => f.Path));
        Assert.True(RunManifest.Verify(dir).Intact);
    }

    [Fact]
    public void The_configuration_hash_covers_what_was_asked_for_in_any_key_order()
    {
        static string Hash(string json)
        {
            using var doc = JsonDocument.Parse(json);
            return RunManifest.ConfigurationHash(doc.RootElement);
        }
        const string Plan = """
            {"name": "a", "startedUtc": "2026-01-01T00:00:00.000Z", "target": {"endpoint": "http://127.0.0.1:1234/", "model": "m"},
             "workload": {"seed": 1, "outputTokens": "fixed:64"}, "arrivals": {"kind": "closed", "concurrency": 8}, "slo": null,
             "analysis": {"window": "steady", "saturation": null, "calibration": null}, "marks": {"window": [1, 2]}}
            """;
        var hash = Hash(Plan);
        // The twin's port, the name, the start, the marks, measured saturation and calibration: not configuration.
        Assert.Equal(hash, Hash(Plan.Replace("1234", "5678", StringComparison.Ordinal).Replace("\"a\"", "\"b\"", StringComparison.Ordinal)
            .Replace("[1, 2]", "[3, 4]", StringComparison.Ordinal).Replace("\"saturation\": null", "\"saturation\": {\"value\": 4}", StringComparison.Ordinal)));
        Assert.Equal(hash, Hash("""
            {"analysis": {"calibration": {"a": 1}, "window": "steady"}, "arrivals": {"concurrency": 8, "kind": "closed"},
             "target": {"model": "m"}, "workload": {"outputTokens": "fixed:64", "seed": 1}, "slo": null}
            """));
        Assert.NotEqual(hash, Hash(Plan.Replace("\"concurrency\": 8", "\"concurrency\": 16", StringComparison.Ordinal)));
        Assert.NotEqual(hash, Hash(Plan.Replace("\"seed\": 1", "\"seed\": 2", StringComparison.Ordinal)));
        Assert.NotEqual(hash, Hash(Plan.Replace("\"window\": \"steady\"", "\"window\": \"whole\"", StringComparison.Ordinal)));
    }

    [Fact]
    public void Help_matches_its_golden_file()
    {
        var (code, output, _) = Run("verify", "--help");
        Assert.Equal(0, code);
        Golden.Match(output, "verify-help.txt");
    }
}
