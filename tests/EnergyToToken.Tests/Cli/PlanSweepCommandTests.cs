using System.Text.Json;

namespace EnergyToToken.Tests.Cli;

/// <summary><c>e2t plan sweep</c> through System.CommandLine's seam: tables, JSON, files and every refusal.</summary>
public sealed class PlanSweepCommandTests
{
    private static readonly string Scenario = Path.Combine(ModelCommandTests.RepositoryRoot(), "tests", "EnergyToToken.Tests", "Fixtures", "plan-sweep", "small.yaml");

    private static (int Code, string Out, string Err) Sweep(params string[] args) => ModelCommandTests.Run(["plan", "sweep", Scenario, .. args]);

    [Theory]
    [InlineData("")]
    [InlineData("de-DE")]
    public void Sweep_grid_table_matches_its_golden_file_in_any_culture(string culture)
    {
        var (code, output, error) = Cultures.In(culture, () => Sweep("--axis", "grid", "--it-power", "400:40k:9", "--compute", "5e13:5e15:9"));
        Assert.Equal("", error);
        Assert.Equal(0, code);
        Golden.Match(output, "plan-sweep-grid.txt");
    }

    [Theory]
    [InlineData("")]
    [InlineData("de-DE")]
    public void Sweep_context_table_matches_its_golden_file_in_any_culture(string culture)
    {
        // The mix's model comes from the scenario's own catalog file: a 1M-context model whose longest context does not fit.
        var (code, output, error) = Cultures.In(culture, () => Sweep("--axis", "context", "--mix", "long", "--contexts", "4k,64k,256k,1M"));
        Assert.Equal("", error);
        Assert.Equal(0, code);
        Golden.Match(output, "plan-sweep-context.txt");
    }

    [Theory]
    [InlineData("")]
    [InlineData("de-DE")]
    public void Sweep_ladder_table_matches_its_golden_file_in_any_culture(string culture)
    {
        var (code, output, error) = Cultures.In(culture, () => Sweep("--axis", "ladder"));
        Assert.Equal("", error);
        Assert.Equal(0, code);
        Golden.Match(output, "plan-sweep-ladder.txt");
    }

    [Fact]
    public void Sweep_json_says_its_kind_and_carries_every_cell()
    {
        var (code, output, _) = Sweep("--axis", "grid", "--it-power", "1k:10k:3", "--compute", "1e14:1e15:4", "--json");
        Assert.Equal(0, code);
        using var json = JsonDocument.Parse(output);
        var root = json.RootElement;
        Assert.Equal("e2t.plan.sweep", root.GetProperty("kind").GetString());
        Assert.Equal(1, root.GetProperty("schemaVersion").GetInt32());
        Assert.Equal("grid", root.GetProperty("axis").GetString());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("context").ValueKind);
        var grid = root.GetProperty("grid");
        Assert.Equal(12, grid.GetProperty("cells").GetArrayLength());
        Assert.Equal(3, grid.GetProperty("map").GetArrayLength());
        Assert.Equal(4, grid.GetProperty("map")[0].GetString()!.Length);
        var phi = grid.GetProperty("crossover").GetProperty("phiJoulesPerFlop").GetDouble();
        Close.To(grid.GetProperty("epsilonJoulesPerToken").GetDouble() / grid.GetProperty("kappaFlopPerToken").GetDouble(), phi);
        Close.To(phi * 1e15, grid.GetProperty("crossover").GetProperty("itPowerWattsAtCompute")[3].GetDouble());
    }

    [Fact]
    public void Sweep_context_json_labels_the_figures_modeled_and_leaves_what_does_not_fit_empty()
    {
        var (code, output, _) = Sweep("--axis", "context", "--mix", "long", "--contexts", "64k,1M", "--json");
        Assert.Equal(0, code);
        using var json = JsonDocument.Parse(output);
        Assert.True(json.RootElement.GetProperty("simulated").GetBoolean());
        var context = json.RootElement.GetProperty("context");
        Assert.True(context.GetProperty("modeled").GetBoolean());
        var outside = context.GetProperty("points")[1];
        Assert.False(outside.GetProperty("fits").GetBoolean());
        Assert.Equal("doesNotFit", outside.GetProperty("binding").GetString());
        Assert.Equal(JsonValueKind.Null, outside.GetProperty("epsilonJoulesPerToken").ValueKind);
    }

    [Fact]
    public void Sweep_out_writes_json_markdown_and_html_the_same_bytes_every_time_and_the_json_meets_its_schema()
    {
        var first = Directory.CreateTempSubdirectory("e2t-sweep-");
        var second = Directory.CreateTempSubdirectory("e2t-sweep-");
        try
        {
            foreach (var axis in new[] { "grid", "context", "ladder" })
            {
                Assert.Equal(0, Sweep("--axis", axis, "--out", Path.Combine(first.FullName, axis)).Code);
                Assert.Equal(0, Cultures.In("de-DE", () => Sweep("--axis", axis, "--out", Path.Combine(second.FullName, axis))).Code);
                foreach (var file in new[] { "sweep.json", "sweep.md", "sweep.html" })
                    Assert.Equal(File.ReadAllText(Path.Combine(first.FullName, axis, file)), File.ReadAllText(Path.Combine(second.FullName, axis, file)));
                Assert.Contains("<svg", File.ReadAllText(Path.Combine(first.FullName, axis, "sweep.html")), StringComparison.Ordinal);
                Reporting.Schemas.AssertValid(File.ReadAllText(Path.Combine(first.FullName, axis, "sweep.json")), "e2t.plan.sweep.v1.schema.json");
            }
        }
        finally
        {
            first.Delete(recursive: true);
            second.Delete(recursive: true);
        }
    }

    [Fact]
    public void Sweep_with_a_bad_axis_says_which_axes_exist()
    {
        var (code, output, error) = Sweep("--axis", "diagonal");
        Assert.Equal(1, code);
        Assert.Equal("", output);
        Assert.Equal("error: --axis: 'diagonal' is not an axis; give grid, context, ladder.\n", error.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void Sweep_of_an_unknown_site_lists_the_sites()
    {
        var (code, _, error) = Sweep("--axis", "ladder", "--site", "campus-z");
        Assert.Equal(1, code);
        Assert.Equal("error: --site: the scenario has no site 'campus-z'. Its sites: node, annex.\n", error.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void Sweep_lists_every_problem_with_its_flags_at_once_without_a_stack_trace()
    {
        var (code, output, error) = Sweep("--axis", "grid", "--it-power", "1M", "--compute", "1e18:1e16:x", "--contexts", "4k", "--site", "nowhere");
        Assert.Equal(1, code);
        Assert.Equal("", output);
        var lines = error.ReplaceLineEndings("\n").TrimEnd('\n').Split('\n');
        Assert.All(lines, l => Assert.StartsWith("error: ", l, StringComparison.Ordinal));
        Assert.Equal(
        [
            "error: --contexts applies to --axis context only, not --axis grid.",
            "error: --it-power: '1M' is not a range; write FROM:TO or FROM:TO:N, e.g. 1M:100M:25.",
            "error: --compute '1e18:1e16:x': the number of points 'x' is not a whole number; write e.g. 1M:100M:25.",
            "error: --compute '1e18:1e16:x': the end (1e+16) must be above the start (1e+18).",
            "error: --site: the scenario has no site 'nowhere'. Its sites: node, annex.",
        ], lines);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Sweep_range_values_are_checked_after_they_parse()
    {
        var (code, _, error) = Sweep("--axis", "grid", "--it-power", "10M:1M", "--compute", "0:1e18:1");
        Assert.Equal(1, code);
        var text = error.ReplaceLineEndings("\n");
        Assert.Contains("error: --it-power '10M:1M': the end (1e+06) must be above the start (1e+07).\n", text, StringComparison.Ordinal);
        Assert.Contains("error: --compute '0:1e18:1': the start must be a positive number (was 0).\n", text, StringComparison.Ordinal);
        Assert.Contains("error: --compute '0:1e18:1': the number of points must be from 2 to 200 (was 1).\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Sweep_context_flags_are_parsed_as_people_write_them()
    {
        var errors = new List<string>();
        Assert.Equal([4096, 65_536, 1_048_576, 3000], EnergyToToken.Cli.Commands.PlanSweepCommand.ParseContexts("4k, 64K,1M,3000", errors));
        Assert.Empty(errors);
        EnergyToToken.Cli.Commands.PlanSweepCommand.ParseContexts("4k,,0.3k,-1,big", errors);
        Assert.Equal(4, errors.Count);
        var (code, _, error) = Sweep("--axis", "context", "--batch", "many", "--epsilon-model", "measured");
        Assert.Equal(1, code);
        Assert.Contains("error: --batch: 'many' is not a whole number.", error, StringComparison.Ordinal);
        Assert.Contains("error: --epsilon-model: 'measured' is not a model", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Sweep_ladder_at_a_site_without_mechanisms_is_refused_plainly()
    {
        var (code, _, error) = Sweep("--axis", "ladder", "--site", "annex");
        Assert.Equal(1, code);
        Assert.StartsWith("error: Site 'annex' has no efficiency mechanisms", error, StringComparison.Ordinal);
    }
}
