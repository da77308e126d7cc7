using System.Globalization;
using System.Text.Json;
using EnergyToToken.Runs;
using Xunit;
using static EnergyToToken.Tests.Cli.ModelCommandTests;

namespace EnergyToToken.Tests.Cli;

/// <summary>One short twin run, measured once and analysed again many ways.</summary>
public sealed class TwinRunFixture : IDisposable
{
    public TwinRunFixture()
    {
        Root = Directory.CreateTempSubdirectory("e2t-analyze-").FullName;
        Run = Path.Combine(Root, "run");
        var quality = Path.Combine(Root, "set.jsonl");
        File.WriteAllText(quality, """
            {"prompt": "2 + 2 =", "answer": "4"}
            {"prompt": "Capital of France?", "answer": "B", "choices": ["Berlin", "Paris", "Rome"]}
            """);
        var (code, _, error) = ModelCommandTests.Run(["bench", "--idle", "1s", "--settle", "200ms", "--input", "fixed:256", "--output", "fixed:64",
            "--duration", "4s", "--concurrency", "8", "--quality-set", quality, "--out", Run]);
        Assert.True(code == 0, error);
    }

    public string Root { get; }

    public string Run { get; }

    public void Dispose() => Directory.Delete(Root, recursive: true);
}

public sealed class AnalyzeCommandTests(TwinRunFixture fixture) : IClassFixture<TwinRunFixture>
{
    private JsonElement Analyze(params string[] flags)
    {
        var (code, output, error) = ModelCommandTests.Run(["analyze", fixture.Run, "--json", .. flags]);
        Assert.True(code == 0, error);
        using var doc = JsonDocument.Parse(output);
        return doc.RootElement.Clone();
    }

    [Fact]
    public void Re_analysis_gives_the_same_bytes_in_any_culture()
    {
        var written = File.ReadAllText(Path.Combine(fixture.Run, RunDirectory.Result));
        foreach (var culture in new[] { "", "de-DE" })
        {
            var saved = CultureInfo.CurrentCulture;
            CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo(culture);
            try
            {
                var (code, output, _) = ModelCommandTests.Run("analyze", fixture.Run, "--json");
                Assert.Equal(0, code);
                Assert.Equal(written, output);
            }
            finally
            {
                CultureInfo.CurrentCulture = saved;
            }
        }
    }

    [Fact]
    public void The_quality_set_ran_against_the_twin_and_its_accuracy_is_the_operating_point_quality()
    {
        var root = Analyze();
        var quality = Assert.Single(root.GetProperty("operatingPoint").GetProperty("quality").EnumerateArray());
        Assert.Equal("set", quality.GetProperty("name").GetString());
        Assert.StartsWith("quality set set.jsonl (2 items)", quality.GetProperty("source").GetString(), StringComparison.Ordinal);
        Assert.InRange(quality.GetProperty("value").GetDouble(), 0, 1);
        Assert.True(root.GetProperty("operatingPoint").GetProperty("qualityDeclared").GetBoolean());
    }

    [Theory]
    [InlineData("set=0.5±0.5", true)] // any accuracy is within 0.5 ± 0.5
    [InlineData("set=2±0.1", false)]
    public void A_declared_quality_target_is_met_or_missed_by_the_quality_measured_under_its_name(string target, bool met)
    {
        var point = Analyze("--quality", target).GetProperty("operatingPoint");
        Assert.Equal(met, point.GetProperty("qualityMet").GetBoolean());
        var check = Assert.Single(point.GetProperty("qualityChecks").EnumerateArray());
        Assert.Equal(target, check.GetProperty("target").GetString());
    }

    [Fact]
    public void A_declared_pue_gives_facility_energy_and_is_named_as_the_pue_source()
    {
        var root = Analyze("--pue", "1.5", "--window", "whole");
        var whole = root.GetProperty("windows").GetProperty("whole");
        Assert.Equal(whole.GetProperty("grossJoules").GetDouble() * 1.5, whole.GetProperty("facilityJoules").GetDouble(), 9);
        Assert.Equal("whole", root.GetProperty("metrics").GetProperty("window").GetString());
        Assert.Equal("declared PUE 1.5", root.GetProperty("disclosure").GetProperty("hardwareAndBoundary").GetProperty("pueSource").GetString());
        Assert.Equal(whole.GetProperty("grossJoulesPerOutputToken").GetDouble() * 1.5,
            root.GetProperty("metrics").GetProperty("joulesPerOutputToken").GetProperty("facility").GetDouble(), 9);
    }

    [Fact]
    public void A_saturation_adds_the_realized_convention_and_utilization_from_it()
    {
        var series = Path.Combine(fixture.Root, "series");
        Directory.CreateDirectory(series);
        File.WriteAllText(Path.Combine(series, "result.json"), """
            {"kind": "e2t.bench.series", "saturation": {"parameter": "concurrency", "value": 64, "outputTokensPerSecond": 20000, "goodputRequestsPerSecond": 70}}
            """);
        var root = Analyze("--saturation", series, "--p-it", "650");
        var production = root.GetProperty("production");
        var headline = root.GetProperty("metrics").GetProperty("throughput").GetProperty("outputTokensPerSecond").GetDouble();
        Assert.Equal(headline / 20000, production.GetProperty("utilization").GetProperty("fromSaturation").GetDouble(), 12);
        Assert.Equal("R_actual / R_sat", production.GetProperty("utilization").GetProperty("source").GetString());
        Assert.Equal(production.GetProperty("kappaFlopPerToken").GetDouble() * 20000, production.GetProperty("effectiveComputeFlopPerSecond").GetDouble(), 0);
        Assert.Equal("realized", production.GetProperty("headlineConvention").GetString());
        Assert.NotEqual("not disclosed", production.GetProperty("bindingConstraint").GetProperty("realized").GetString());
        Assert.Equal(650, production.GetProperty("pItWatts").GetDouble());
        Assert.Equal("--p-it (declared budget)", production.GetProperty("pItSource").GetString());
        var realized = production.GetProperty("conventions")[0];
        Assert.Equal(20000, realized.GetProperty("computeCeilingTokensPerSecond").GetDouble(), 6); // C_eff / κ = R_sat
        Assert.Equal(650 / production.GetProperty("epsilonJoulesPerToken").GetDouble(), realized.GetProperty("powerCeilingTokensPerSecond").GetDouble(), 6);
    }

    [Fact]
    public void The_disclosure_has_six_dimensions_each_item_filled_or_not_disclosed()
    {
        var disclosure = Analyze().GetProperty("disclosure");
        Assert.Equal(["operatingPoint", "workload", "modelAndSoftware", "hardwareAndBoundary", "ceilings", "utilizationAndOutput"],
            disclosure.EnumerateObject().Select(p => p.Name));
        foreach (var item in disclosure.EnumerateObject().SelectMany(d => d.Value.EnumerateObject()))
            Assert.False(string.IsNullOrWhiteSpace(item.Value.GetString()), item.Name);
        Assert.Equal("not disclosed", disclosure.GetProperty("modelAndSoftware").GetProperty("weightsHash").GetString());
        Assert.Equal("llama-3.1-8b", disclosure.GetProperty("modelAndSoftware").GetProperty("architecture").GetString());
        Assert.Equal("closed loop, concurrency 8, 4 s", disclosure.GetProperty("workload").GetProperty("arrivalProcess").GetString());
    }

    [Fact]
    public void Phase_figures_and_the_attribution_add_up()
    {
        var root = Analyze();
        var attribution = root.GetProperty("attribution");
        Assert.True(attribution.GetProperty("conservationError").GetDouble() <= 1e-9);
        var measured = attribution.GetProperty("measuredDynamicJoules").GetDouble() + attribution.GetProperty("measuredStaticJoules").GetDouble();
        Assert.Equal(root.GetProperty("windows").GetProperty("whole").GetProperty("grossJoules").GetDouble(), measured, 6);
        var metrics = root.GetProperty("metrics");
        Assert.True(metrics.GetProperty("prefillJoulesPerInputToken").GetProperty("dynamic").GetDouble() > 0);
        Assert.True(metrics.GetProperty("decodeJoulesPerOutputToken").GetProperty("gross").GetDouble()
            > metrics.GetProperty("decodeJoulesPerOutputToken").GetProperty("dynamic").GetDouble());
        Assert.Equal("regression", attribution.GetProperty("coefficientsSource").GetString());
    }

    [Fact]
    public void Bad_options_are_all_listed_and_nothing_is_written()
    {
        var before = File.ReadAllText(Path.Combine(fixture.Run, RunDirectory.Result));
        var (code, _, error) = ModelCommandTests.Run("analyze", fixture.Run, "--window", "middle", "--pue", "0.5", "--steady", "abc", "--write");
        Assert.Equal(1, code);
        Assert.Contains("--window middle: write steady or whole.", error, StringComparison.Ordinal);
        Assert.Contains("--pue must be at least 1 (was 0.5).", error, StringComparison.Ordinal);
        Assert.Contains("--steady abc: write FROM:TO", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllText(Path.Combine(fixture.Run, RunDirectory.Result)));
    }

    [Fact]
    public void A_directory_that_is_not_a_run_is_refused_with_what_to_do()
    {
        var (code, _, error) = ModelCommandTests.Run("analyze", fixture.Root);
        Assert.Equal(1, code);
        Assert.Contains("has no run.json", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }
}
