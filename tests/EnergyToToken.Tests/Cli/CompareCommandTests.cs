using System.Globalization;
using System.Text.Json;
using EnergyToToken.Tests.Reporting;
using static EnergyToToken.Tests.Cli.ModelCommandTests;

namespace EnergyToToken.Tests.Cli;

/// <summary>Two short embedded-twin runs of one workload on two twin profiles: an H100 and an A100.</summary>
public sealed class TwinPairFixture : IDisposable
{
    public TwinPairFixture()
    {
        Root = Directory.CreateTempSubdirectory("e2t-compare-").FullName;
        foreach (var (profile, directory) in new[] { ("llama-3.1-8b-h100", H100), ("llama-3.1-8b-a100", A100) })
        {
            var (code, _, error) = Run(["bench", "--profile", profile, "--idle", "1s", "--settle", "200ms", "--input", "fixed:256", "--output", "fixed:64",
                "--duration", "3s", "--concurrency", "8", "--slo", "ttft-p99=2s,tpot-p99=200ms", "--quality", "mmlu=0.712±0.01", "--out", directory]);
            Assert.True(code == 0, error);
        }
    }

    public string Root { get; }

    public string H100 => Path.Combine(Root, "h100");

    public string A100 => Path.Combine(Root, "a100");

    public void Dispose() => Directory.Delete(Root, recursive: true);
}

/// <summary><c>e2t compare</c> end to end: real twin runs, the committed fixtures' goldens, its refusals and <c>--out</c>.</summary>
public sealed class CompareCommandTests(TwinPairFixture twins) : IClassFixture<TwinPairFixture>, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("e2t-compare-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly string[] Four = [.. new[] { "h100-c16", "h100-300w-c16", "h100-c8", "drifted" }.Select(ComparisonTests.Fixture)];

    /// <summary>Fixture paths as the reader of a golden file sees them, not this machine's build directory.</summary>
    private static string Relative(string output) =>
        output.Replace(ComparisonTests.Fixtures + Path.DirectorySeparatorChar, "Fixtures/compare/", StringComparison.Ordinal);


    [Theory]
    [InlineData("")]
    [InlineData("de-DE")]
    public void The_markdown_of_the_fixtures_matches_its_golden_file_in_any_culture(string culture)
    {
        var (code, output, error) = Cultures.In(culture, () => Run(["compare", .. Four]));
        Assert.Equal("", error);
        Assert.Equal(0, code);
        Golden.Match(Relative(output), "compare.md");
    }

    [Theory]
    [InlineData("")]
    [InlineData("de-DE")]
    public void The_json_of_the_fixtures_matches_its_golden_file_in_any_culture(string culture)
    {
        var (code, output, error) = Cultures.In(culture, () => Run(["compare", .. Four, "--json"]));
        Assert.Equal("", error);
        Assert.Equal(0, code);
        Golden.Match(Relative(output), "compare.json");
    }

    [Fact]
    public void The_compare_help_matches_its_golden_file()
    {
        var (code, output, _) = Run("compare", "--help");
        Assert.Equal(0, code);
        Golden.Match(output, "compare-help.txt");
    }

    [Fact]
    public void Every_json_field_is_documented_in_docs_compare()
    {
        var docs = File.ReadAllText(Path.Combine(RepositoryRoot(), "docs", "compare.md"));
        var (_, output, _) = Run(["compare", .. Four, "--json"]);
        using var json = JsonDocument.Parse(output);
        var names = new SortedSet<string>(StringComparer.Ordinal);
        Collect(json.RootElement);
        // A field is documented as `name`, or `name[]` for an array.
        Assert.All(names, n => Assert.True(docs.Contains($"`{n}`", StringComparison.Ordinal) || docs.Contains($"`{n}[]`", StringComparison.Ordinal), $"`{n}` is not in docs/compare.md"));

        void Collect(JsonElement e)
        {
            if (e.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in e.EnumerateArray()) Collect(item);
            }
            else if (e.ValueKind == JsonValueKind.Object)
            {
                foreach (var p in e.EnumerateObject())
                {
                    names.Add(p.Name);
                    Collect(p.Value);
                }
            }
        }
    }

    [Fact]
    public void Out_writes_the_markdown_and_the_json_that_stdout_shows()
    {
        var directory = Path.Combine(_dir, "cmp");
        var markdown = Run(["compare", .. Four, "--out", directory]);
        var json = Run(["compare", .. Four, "--json", "--out", directory]);
        Assert.Equal(0, markdown.Code);
        Assert.Equal(markdown.Out, File.ReadAllText(Path.Combine(directory, "comparison.md")));
        Assert.Equal(json.Out, File.ReadAllText(Path.Combine(directory, "comparison.json")));
        Assert.Empty(Directory.GetFiles(directory, "*.tmp"));
    }

    [Fact]
    public void A_hardware_change_at_the_same_operating_point_counts_and_moves_the_peak_compute_ceiling_by_the_peaks_ratio()
    {
        var (code, output, error) = Run("compare", twins.H100, twins.A100, "--json");
        Assert.True(code == 0, error);
        using var json = JsonDocument.Parse(output);
        var root = json.RootElement;
        Assert.Equal("e2t.compare", root.GetProperty("kind").GetString());
        var candidate = Assert.Single(root.GetProperty("candidates").EnumerateArray());
        Assert.True(candidate.GetProperty("counts").GetBoolean(), string.Join(Environment.NewLine, candidate.GetProperty("reasons").EnumerateArray().Select(r => r.GetString())));

        // C_peak / κ with one κ (same model and lengths): the ceiling moves exactly as the two accelerators' peaks.
        var peaks = root.GetProperty("metrics").EnumerateArray().Single(m => m.GetProperty("key").GetString() == "peakComputeFlopPerSecond").GetProperty("values");
        var ceiling = candidate.GetProperty("ceilings").EnumerateArray().Single(c => c.GetProperty("convention").GetString() == "peak" && c.GetProperty("ceiling").GetString() == "compute");
        Close.To(peaks[1].GetDouble() / peaks[0].GetDouble() - 1, ceiling.GetProperty("relativeChange").GetDouble(), 1e-9);
        Assert.Equal("down", ceiling.GetProperty("direction").GetString());

        // The A100's 400 W limit against the H100's 700 W: P_IT / ε moves by both ratios.
        var power = candidate.GetProperty("ceilings").EnumerateArray().Single(c => c.GetProperty("convention").GetString() == "peak" && c.GetProperty("ceiling").GetString() == "power");
        var pIt = root.GetProperty("metrics").EnumerateArray().Single(m => m.GetProperty("key").GetString() == "pItWatts").GetProperty("values");
        Close.To(pIt[1].GetDouble() / pIt[0].GetDouble() / candidate.GetProperty("epsilonRatio").GetDouble() - 1, power.GetProperty("relativeChange").GetDouble(), 1e-9);
    }

    [Fact]
    public void Markdown_is_the_default_and_names_every_run_and_verdict()
    {
        var (code, output, _) = Run("compare", twins.H100, twins.A100);
        Assert.Equal(0, code);
        Assert.StartsWith("# Comparison: B against A", output, StringComparison.Ordinal);
        Assert.Contains("| source | " + twins.H100 + " | " + twins.A100 + " |", output, StringComparison.Ordinal);
        Assert.Contains("### B against A: counts: the operating point held", output, StringComparison.Ordinal);
    }

    [Fact]
    public void A_series_is_refused_with_its_points_suggested()
    {
        var series = ComparisonTests.Fixture("series");
        var (code, _, error) = Run("compare", series, ComparisonTests.Fixture("h100-c16"));
        Assert.Equal(1, code);
        Assert.Contains($"'{series}' is a series (kind e2t.bench.series: one run per concurrency value), not a single run.", error, StringComparison.Ordinal);
        Assert.Contains($"e2t compare {Path.Combine(series, "points/00-concurrency-8")} {Path.Combine(series, "points/01-concurrency-16")}", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_bad_run_and_option_is_named_at_once_and_nothing_is_printed()
    {
        var missing = Path.Combine(_dir, "missing");
        var empty = Directory.CreateDirectory(Path.Combine(_dir, "empty")).FullName;
        var unanalysed = Directory.CreateDirectory(Path.Combine(_dir, "unanalysed")).FullName;
        File.WriteAllText(Path.Combine(unanalysed, "run.json"), "{}");
        var notJson = Path.Combine(_dir, "notes.txt");
        File.WriteAllText(notJson, "J/token went down");
        var foreign = Path.Combine(_dir, "model.json");
        File.WriteAllText(foreign, """{"schemaVersion": 1, "kind": "e2t.model"}""");
        var old = Path.Combine(_dir, "old.json");
        File.WriteAllText(old, """{"schemaVersion": 1, "kind": "e2t.bench"}""");
        var partial = Path.Combine(_dir, "partial.json");
        File.WriteAllText(partial, """{"schemaVersion": 2, "kind": "e2t.bench", "requests": {}}""");

        var (code, output, error) = Run("compare", missing, empty, unanalysed, notJson, foreign, old, partial,
            "--slo", "ttft-p42=1s", "--quality-tolerance", "mmlu", "--error-rate-tolerance", "5", "--same-within", "1");
        Assert.Equal(1, code);
        Assert.Equal("", output);
        foreach (var expected in new[]
        {
            $"'{missing}': no such file or directory. Give a run directory written by e2t bench, or its result.json.",
            $"'{empty}' holds no result.json.",
            $"'{unanalysed}' has run.json but no result.json: the run was not analysed. Write it with e2t analyze {unanalysed} --write, then compare.",
            $"'{notJson}' is not JSON",
            $"'{foreign}' is kind e2t.model, not a run's result (kind e2t.bench).",
            $"'{old}' has result schema version 1; compare reads version 2. Write it again at this version with e2t analyze RUN_DIR --write.",
            $"'{partial}' lacks name, requests.errorRate: it is not a complete e2t bench result.",
            "SLO statistic 'p42' in 'ttft-p42=1s' is not one of",
            "--quality-tolerance mmlu: write NAME=POINTS",
            "--error-rate-tolerance must be a fraction in [0, 1] (was 5)",
            "--same-within must be a fraction in [0, 1) (was 1)",
        })
        {
            Assert.Contains(expected, error, StringComparison.Ordinal);
        }
        Assert.All(error.Split('\n', StringSplitOptions.RemoveEmptyEntries), line => Assert.StartsWith("error: ", line, StringComparison.Ordinal));
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    [Fact]
    public void One_run_is_refused_by_the_parser()
    {
        var (code, _, error) = Run("compare", ComparisonTests.Fixture("h100-c16"));
        Assert.Equal(1, code);
        Assert.NotEqual("", error);
    }

    [Fact]
    public void A_result_json_path_is_read_like_its_directory()
    {
        var byFile = Run("compare", Path.Combine(Four[0], "result.json"), Path.Combine(Four[1], "result.json"), "--json");
        var byDirectory = Run("compare", Four[0], Four[1], "--json");
        Assert.Equal(0, byFile.Code);
        Assert.Equal(
            byDirectory.Out.Replace(Four[0], "A", StringComparison.Ordinal).Replace(Four[1], "B", StringComparison.Ordinal),
            byFile.Out.Replace(Path.Combine(Four[0], "result.json"), "A", StringComparison.Ordinal).Replace(Path.Combine(Four[1], "result.json"), "B", StringComparison.Ordinal));
    }
}
