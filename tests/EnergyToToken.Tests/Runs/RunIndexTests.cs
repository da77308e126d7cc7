using System.Globalization;
using System.Text.Json;
using EnergyToToken.Runs;
using EnergyToToken.Tests.Cli;
using static EnergyToToken.Tests.Cli.ModelCommandTests;

namespace EnergyToToken.Tests.Runs;

/// <summary>
/// <c>e2t runs</c> and its index: every filter on hand-made results and on a real twin run; the index reused for an
/// unchanged run, refreshed when a run changes or goes, rebuilt when it is corrupt; a cut or damaged run listed, not a crash.
/// </summary>
public sealed class RunIndexTests(TwinRunFixture fixture) : IClassFixture<TwinRunFixture>, IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("e2t-runs-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    /// <summary>A result.json with the fields e2t runs reads, as e2t bench writes them.</summary>
    private string Stored(string path, string started, string model, string accelerator, string binding, double? joules,
        bool valid = true, bool complete = true, bool manifest = true)
    {
        var dir = Path.Combine(_root, path);
        Directory.CreateDirectory(dir);
        var j = joules?.ToString(CultureInfo.InvariantCulture) ?? "null";
        File.WriteAllText(Path.Combine(dir, "result.json"), $$$"""
            {"schemaVersion": 2, "kind": "e2t.bench", "name": "{{{Path.GetFileName(path)}}}", "startedUtc": "{{{started}}}", "complete": {{{(complete ? "true" : "false")}}},
             "valid": {{{(valid ? "true" : "false")}}}, "simulated": false, "target": {"model": "{{{model}}}"},
             "deployment": {"modelArchitecture": "{{{model}}}", "accelerator": "{{{accelerator}}}"},
             "metrics": {"joulesPerOutputToken": {"gross": {{{j}}} }, "throughput": {"outputTokensPerSecond": 1200.5}},
             "production": {"headlineConvention": "peak", "bindingConstraint": {"realized": "not disclosed", "peak": "{{{binding}}}"} } }
            """);
        if (manifest) RunManifest.Write(dir);
        return dir;
    }

    private void Store()
    {
        Stored("a-llama-h100", "2026-01-01T10:00:00.000Z", "llama-3.1-8b", "h100-sxm", "power", 0.30);
        Stored("b-llama-a100", "2026-02-15T12:00:00.000Z", "llama-3.1-70b", "a100-sxm", "compute", 1.20);
        Stored("c-mistral-h100", "2026-03-31T23:00:00.000Z", "mistral-7b", "h100-pcie", "compute", 0.25, valid: false);
    }

    private IReadOnlyList<string> Names(RunQuery query) => [.. RunIndex.Load(_root).Runs.Where(query.Matches).Select(r => r.Path)];

    private static RunQuery Query(string? model = null, string? accelerator = null, string? binding = null, string? since = null, string? until = null, string? min = null, string? max = null)
    {
        var errors = new List<string>();
        var query = RunQuery.Parse(model, accelerator, binding, since, until, min, max, errors);
        Assert.Empty(errors);
        return query;
    }

    [Fact]
    public void Every_filter_selects_on_its_field_and_runs_come_sorted_by_start()
    {
        Store();
        Assert.Equal(["a-llama-h100", "b-llama-a100", "c-mistral-h100"], Names(new RunQuery()));
        Assert.Equal(["a-llama-h100", "b-llama-a100"], Names(Query(model: "LLAMA")));
        Assert.Equal(["b-llama-a100"], Names(Query(model: "70b")));
        Assert.Equal(["a-llama-h100", "c-mistral-h100"], Names(Query(accelerator: "h100")));
        Assert.Equal(["b-llama-a100", "c-mistral-h100"], Names(Query(binding: "compute")));
        Assert.Equal(["a-llama-h100"], Names(Query(binding: "Power")));
        Assert.Equal(["b-llama-a100", "c-mistral-h100"], Names(Query(since: "2026-02-15")));
        Assert.Equal(["a-llama-h100", "b-llama-a100"], Names(Query(until: "2026-02-15"))); // the whole day
        Assert.Equal(["c-mistral-h100"], Names(Query(since: "2026-03-31T22:30Z")));
        Assert.Equal(["a-llama-h100", "b-llama-a100"], Names(Query(until: "2026-03-31T23:30+02:00")));
        Assert.Equal(["a-llama-h100", "c-mistral-h100"], Names(Query(max: "0.5")));
        Assert.Equal(["a-llama-h100", "b-llama-a100"], Names(Query(min: "0.3")));
        Assert.Equal(["a-llama-h100"], Names(Query(model: "llama", accelerator: "h100", binding: "power", since: "2026-01-01", until: "2026-01-01", min: "0.1", max: "0.4")));
    }

    [Fact]
    public void Bad_filter_values_are_all_named_at_once()
    {
        Store();
        var (code, output, error) = Run("runs", _root, "--binding", "sideways", "--since", "yesterday", "--until", "2026-13-01", "--max-j-per-token", "-1", "--min-j-per-token", "abc");
        Assert.Equal(1, code);
        Assert.Equal("", output);
        var lines = error.ReplaceLineEndings("\n").TrimEnd('\n').Split('\n');
        Assert.Equal([
            "error: --binding sideways: write compute, power, balanced, mixed or degenerate (the binding constraint under the result's headline convention).",
            "error: --since yesterday: write a UTC date (2026-05-01) or a time (2026-05-01T14:30Z, 2026-05-01T16:30+02:00).",
            "error: --until 2026-13-01: write a UTC date (2026-05-01) or a time (2026-05-01T14:30Z, 2026-05-01T16:30+02:00).",
            "error: --min-j-per-token abc: write a positive number of joules per output token, e.g. 0.35.",
            "error: --max-j-per-token -1: write a positive number of joules per output token, e.g. 0.35.",
        ], lines);

        (code, _, error) = Run("runs", _root, "--since", "2026-03-01", "--until", "2026-02-01", "--min-j-per-token", "2", "--max-j-per-token", "1");
        Assert.Equal(1, code);
        Assert.Contains("--since 2026-03-01 is after --until 2026-02-01", error, StringComparison.Ordinal);
        Assert.Contains("--min-j-per-token 2 is above --max-j-per-token 1", error, StringComparison.Ordinal);

        (code, _, error) = Run("runs", Path.Combine(_root, "nowhere"));
        Assert.Equal(1, code);
        Assert.Contains("is not a directory", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Sweep_points_and_the_series_are_marked_and_a_cut_or_damaged_run_is_listed_not_fatal()
    {
        Stored("sweep/points/00-concurrency-1", "2026-01-02T00:00:00.000Z", "m", "h100-sxm", "power", 0.5);
        Stored("sweep/points/01-concurrency-4", "2026-01-02T00:01:00.000Z", "m", "h100-sxm", "compute", 0.2);
        File.WriteAllText(Path.Combine(_root, "sweep", "result.json"), """{"schemaVersion": 1, "kind": "e2t.bench.series", "name": "sweep", "complete": true}""");
        Stored("early", "2026-01-01T00:00:00.000Z", "m", "h100-sxm", "power", 0.4);
        var cut = Path.Combine(_root, "cut");
        Directory.CreateDirectory(cut);
        File.WriteAllText(Path.Combine(cut, "run.json"), """{"kind": "e2t.run", "name": "cut", "startedUtc": "2026-01-03T00:00:00.000Z", "target": {"model": "m"}, "deployment": {"accelerator": "h100-sxm"}}""");
        var damaged = Stored("damaged", "2026-01-04T00:00:00.000Z", "m", "h100-sxm", "power", 0.4);
        File.WriteAllText(Path.Combine(damaged, "result.json"), "{\"kind\": \"e2t.bench\", ");

        var (runs, _) = RunIndex.Load(_root);
        Assert.Equal(["early", "sweep", "sweep/points/00-concurrency-1", "sweep/points/01-concurrency-4", "cut", "damaged"], runs.Select(r => r.Path));
        Assert.Equal([StoredRunRole.Run, StoredRunRole.Series, StoredRunRole.Point, StoredRunRole.Point, StoredRunRole.Run, StoredRunRole.Run], runs.Select(r => r.Role));
        Assert.Equal(runs[2].StartedUtc, runs[1].StartedUtc); // a series starts with its first point
        var c = runs[4];
        Assert.Equal(("cut", "m", "h100-sxm", false), (c.Name, c.Model, c.Accelerator, c.Complete));
        Assert.Equal("no result.json: the run was cut before it finished", c.Problem);
        Assert.StartsWith("result.json is unreadable (", runs[5].Problem, StringComparison.Ordinal);
        Assert.Equal(false, runs[5].Complete);

        var (code, output, error) = Run("runs", _root);
        Assert.True(code == 0, error);
        Assert.Contains("point", output, StringComparison.Ordinal);
        Assert.Contains("series", output, StringComparison.Ordinal);
        Assert.Contains("6 of 6 runs under", output, StringComparison.Ordinal);
        Assert.Contains("cut: no result.json: the run was cut before it finished", output, StringComparison.Ordinal);
        Assert.Contains("incomplete", output, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unchanged_run_is_not_read_again_a_changed_one_is_and_a_removed_one_is_dropped()
    {
        Store();
        var first = RunIndex.Load(_root).Update;
        Assert.Equal((3, 0, 0, true), (first.Read, first.Reused, first.Dropped, first.Rebuilt));
        Assert.True(File.Exists(Path.Combine(_root, RunIndex.File)));

        // The result is damaged behind its manifest's back: the index, keyed by the manifest, still serves what was read.
        // (e2t verify is what finds such damage.)
        var a = Path.Combine(_root, "a-llama-h100");
        File.WriteAllText(Path.Combine(a, "result.json"), "not json");
        var (runs, second) = RunIndex.Load(_root);
        Assert.Equal((0, 3, 0, false), (second.Read, second.Reused, second.Dropped, second.Rebuilt));
        Assert.Equal(0.30, runs.Single(r => r.Path == "a-llama-h100").JoulesPerOutputToken);

        // Rewriting the run (its manifest too) makes it read again.
        RunManifest.Write(a);
        (runs, var third) = RunIndex.Load(_root);
        Assert.Equal((1, 2, 0), (third.Read, third.Reused, third.Dropped));
        Assert.NotNull(runs.Single(r => r.Path == "a-llama-h100").Problem);

        Directory.Delete(Path.Combine(_root, "b-llama-a100"), recursive: true);
        (runs, var fourth) = RunIndex.Load(_root);
        Assert.Equal((0, 2, 1), (fourth.Read, fourth.Reused, fourth.Dropped));
        Assert.DoesNotContain(runs, r => r.Path == "b-llama-a100");
    }

    [Fact]
    public void A_run_without_a_manifest_is_read_again_when_its_result_changes()
    {
        var dir = Stored("old", "2026-01-01T00:00:00.000Z", "m", "h100-sxm", "power", 0.4, manifest: false);
        Assert.Equal(1, RunIndex.Load(_root).Update.Read);
        Assert.Equal(0, RunIndex.Load(_root).Update.Read);
        Stored("old", "2026-01-01T00:00:00.000Z", "m", "h100-sxm", "power", 0.45, manifest: false);
        File.SetLastWriteTimeUtc(Path.Combine(dir, "result.json"), new DateTime(2030, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        var (runs, update) = RunIndex.Load(_root);
        Assert.Equal(1, update.Read);
        Assert.Equal(0.45, Assert.Single(runs).JoulesPerOutputToken);
        Assert.False(runs[0].HasManifest);
    }

    [Theory]
    [InlineData("{ not json")]
    [InlineData("""{"kind": "something.else", "entries": []}""")]
    [InlineData("""{"kind": "e2t.runs.index", "schemaVersion": 1, "toolVersion": "0.0.0-other", "entries": []}""")]
    [InlineData("""[1, 2, 3]""")]
    public void A_corrupt_or_foreign_index_is_rebuilt_never_trusted(string index)
    {
        Store();
        RunIndex.Load(_root);
        File.WriteAllText(Path.Combine(_root, RunIndex.File), index);
        var (runs, update) = RunIndex.Load(_root);
        Assert.True(update.Rebuilt);
        Assert.Equal(3, update.Read);
        Assert.Equal(3, runs.Count);
        Assert.Equal(0, RunIndex.Load(_root).Update.Read); // and the rebuilt one is good
    }

    [Fact]
    public void A_real_twin_run_is_listed_with_its_facts_and_filtered_on_them()
    {
        var store = Path.Combine(_root, "store");
        var copy = Path.Combine(store, "20260101T000000Z-twin");
        foreach (var file in Directory.EnumerateFiles(fixture.Run))
        {
            Directory.CreateDirectory(copy);
            File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
        }
        using var result = JsonDocument.Parse(File.ReadAllText(Path.Combine(copy, "result.json")));
        var r = result.RootElement;
        var convention = r.GetProperty("production").GetProperty("headlineConvention").GetString()!;
        var binding = r.GetProperty("production").GetProperty("bindingConstraint").GetProperty(convention).GetString()!;
        var joules = r.GetProperty("metrics").GetProperty("joulesPerOutputToken").GetProperty("gross").GetDouble();
        var started = DateTimeOffset.Parse(r.GetProperty("startedUtc").GetString()!, CultureInfo.InvariantCulture);

        var (code, json, error) = Run("runs", store, "--json", "--model", "llama", "--accelerator", "h100", "--binding", binding,
            "--since", started.AddMinutes(-1).ToString("yyyy-MM-dd'T'HH:mm'Z'", CultureInfo.InvariantCulture),
            "--max-j-per-token", (joules * 1.01).ToString(CultureInfo.InvariantCulture), "--min-j-per-token", (joules * 0.99).ToString(CultureInfo.InvariantCulture));
        Assert.True(code == 0, error);
        using var doc = JsonDocument.Parse(json);
        var run = Assert.Single(doc.RootElement.GetProperty("runs").EnumerateArray());
        Assert.Equal("20260101T000000Z-twin", run.GetProperty("path").GetString());
        Assert.Equal("run", run.GetProperty("role").GetString());
        Assert.Equal(r.GetProperty("target").GetProperty("model").GetString(), run.GetProperty("model").GetString());
        Assert.Equal(r.GetProperty("deployment").GetProperty("accelerator").GetString(), run.GetProperty("accelerator").GetString());
        Assert.Equal(joules, run.GetProperty("joulesPerOutputToken").GetDouble());
        Assert.Equal(r.GetProperty("metrics").GetProperty("throughput").GetProperty("outputTokensPerSecond").GetDouble(), run.GetProperty("outputTokensPerSecond").GetDouble());
        Assert.True(run.GetProperty("simulated").GetBoolean());
        Assert.True(run.GetProperty("valid").GetBoolean());
        Assert.True(run.GetProperty("complete").GetBoolean());
        Assert.True(run.GetProperty("hasManifest").GetBoolean());

        var other = binding == "power" ? "compute" : "power";
        (code, json, _) = Run("runs", store, "--json", "--binding", other);
        Assert.Equal(0, code);
        using var none = JsonDocument.Parse(json);
        Assert.Equal(0, none.RootElement.GetProperty("runs").GetArrayLength());
        (code, json, _) = Run("runs", store, "--model", "mistral");
        Assert.Equal(0, code);
        Assert.Contains("None of the 1 runs under", json, StringComparison.Ordinal);
    }

    [Fact]
    public void Help_matches_its_golden_file()
    {
        var (code, output, _) = Run("runs", "--help");
        Assert.Equal(0, code);
        Golden.Match(output, "runs-help.txt");
    }
}
