using EnergyToToken.Tests.Scenarios;
using static EnergyToToken.Tests.Cli.ModelCommandTests;

namespace EnergyToToken.Tests.Cli;

public sealed class PlanCommandTests
{
    private static readonly string Example = Path.Combine(RepositoryRoot(), "examples", "plan-two-sites.yaml");

    [Theory]
    [InlineData("")]
    [InlineData("de-DE")]
    public void The_two_site_table_matches_its_golden_file_in_any_culture(string culture)
    {
        var (code, output, error) = Cultures.In(culture, () => Run("plan", Example));
        Assert.Equal("", error);
        Assert.Equal(0, code);
        Golden.Match(output, "plan-two-sites.txt");
    }

    [Theory]
    [InlineData("")]
    [InlineData("de-DE")]
    public void The_two_site_json_matches_its_golden_file_in_any_culture(string culture)
    {
        var (code, output, error) = Cultures.In(culture, () => Run("plan", Example, "--json"));
        Assert.Equal("", error);
        Assert.Equal(0, code);
        Golden.Match(output, "plan-two-sites.json");
    }

    [Fact]
    public void The_two_site_json_carries_the_figures_of_the_example()
    {
        var (_, output, _) = Run("plan", Example, "--json");
        using var json = System.Text.Json.JsonDocument.Parse(output);
        var sites = json.RootElement.GetProperty("sites");
        // campus-a: ⌊min(20 MW / 1.25, 130 × 120 kW, 15 MW cooling) / 1,275 W⌋ = ⌊15 MW / 1,275 W⌋ = 11,764 accelerators.
        Assert.Equal(11_764, sites[0].GetProperty("acceleratorCount").GetDouble());
        Assert.True(sites[0].GetProperty("countFromBudget").GetBoolean());
        // κ blend 0.8 κ(8k) + 0.2 κ(64k); ε blend 0.8 · 0.6 + 0.2 · 1.4 = 0.76 J/token.
        Assert.Equal(0.76, sites[0].GetProperty("blend").GetProperty("epsilonJoulesPerToken").GetDouble(), 12);
        // Cost per M tokens = 1e6 · price · PUE · ε / U / 3.6e6 = 1e6 · 0.08 · 1.25 · 0.76 / 0.6 / 3.6e6.
        Assert.Equal(1e6 * 0.08 * 1.25 * 0.76 / 0.6 / 3.6e6, sites[0].GetProperty("costPerMillionTokens").GetDouble(), 12);
        // region-b: 4 MW at ε 0.35 / 1.6 (int4) is 18,285,714 tokens/s, under its compute ceiling: power-bound.
        var realized = sites[1].GetProperty("conventions")[0];
        Assert.Equal("power", realized.GetProperty("bindingConstraint").GetString());
        Assert.Equal(4e6 / (0.35 / 1.6), realized.GetProperty("powerCeilingTokensPerSecond").GetDouble(), 6);
        Assert.Equal(1.6, sites[1].GetProperty("mechanismTokensRatio").GetDouble(), 12);
        var total = json.RootElement.GetProperty("total");
        Assert.Equal(sites[0].GetProperty("tokens").GetDouble() + sites[1].GetProperty("tokens").GetDouble(), total.GetProperty("tokens").GetDouble(), 0);
    }

    [Fact]
    public void The_plan_help_matches_its_golden_file()
    {
        var (code, output, _) = Run("plan", "--help");
        Assert.Equal(0, code);
        Golden.Match(output, "plan-help.txt");
    }

    [Fact]
    public void A_bad_scenario_exits_1_with_error_lines_only_on_stderr()
    {
        using var dir = new ScenarioDirectory();
        var path = dir.Write("bad.yaml", """
            horizon: soon
            sites:
              - { name: a, itPower: 1M, pue: 0.8, mixes: [ { name: m, kappa: 1e11 } ] }
            """);
        foreach (var args in new[] { new[] { "plan", path }, ["plan", path, "--json"] })
        {
            var (code, output, error) = Run(args);
            Assert.Equal(1, code);
            Assert.Equal("", output);
            var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.All(lines, l => Assert.StartsWith("error: ", l, StringComparison.Ordinal));
            Assert.Equal([
                $"error: The scenario '{path}' has 4 problems:",
                "error: horizon: must be a duration such as 90s, 15m, 24h, 365d or 1d12h (was 'soon').",
                "error: sites[0].pue: must be at least 1 at every step: it is facility power over IT power (typically 1.1 to 1.6) (was 0.8).",
                "error: sites[0].accelerator: is missing: name a catalog accelerator (e2t catalog lists them), e.g. accelerator: h100-sxm.",
                "error: sites[0].mixes[0].epsilon: is missing: give epsilon in J per token (measured at the operating point), or from: {run: RUN_DIR} or from: {twin: {...}}.",
                "error: See docs/plan.md for the format and examples/plan-*.yaml for examples.",
            ], lines.Select(l => l.TrimEnd('\r')));
        }
    }

    [Fact]
    public void A_missing_scenario_file_is_an_explained_error()
    {
        var (code, output, error) = Run("plan", "no-such-plan.yaml");
        Assert.Equal(1, code);
        Assert.Equal("", output);
        Assert.StartsWith("error: Cannot read the scenario 'no-such-plan.yaml': ", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Out_writes_the_json_beside_the_table()
    {
        using var dir = new ScenarioDirectory();
        var outDir = Path.Combine(dir.Root, "out");
        var (code, output, _) = Run("plan", Example, "--out", outDir);
        Assert.Equal(0, code);
        Assert.StartsWith("e2t plan: two sites, one year over 365d", output, StringComparison.Ordinal);
        var (_, json, _) = Run("plan", Example, "--json");
        Assert.Equal(json.ReplaceLineEndings("\n"), File.ReadAllText(Path.Combine(outDir, "plan.json")).ReplaceLineEndings("\n"));
    }
}
