using System.CommandLine;
using System.Globalization;

namespace EnergyToToken.Tests.Cli;

public sealed class ModelCommandTests
{
    private static readonly string Example = Path.Combine(RepositoryRoot(), "examples", "65b-h100.yaml");

    internal static string RepositoryRoot([System.Runtime.CompilerServices.CallerFilePath] string caller = "")
    {
        var dir = Path.GetDirectoryName(caller)!;
        while (!File.Exists(Path.Combine(dir, "EnergyToToken.slnx"))) dir = Path.GetDirectoryName(dir)!;
        return dir;
    }

    internal static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = EnergyToToken.Cli.Cli.CreateRoot().Parse(args).Invoke(new InvocationConfiguration { Output = stdout, Error = stderr });
        return (code, stdout.ToString(), stderr.ToString());
    }


    [Theory]
    [InlineData("")]
    [InlineData("de-DE")]
    public void The_worked_example_table_matches_its_golden_file_in_any_culture(string culture)
    {
        var (code, output, error) = Cultures.In(culture, () => Run("model", Example));
        Assert.Equal("", error);
        Assert.Equal(0, code);
        Golden.Match(output, "model-65b-h100.txt");
    }

    [Theory]
    [InlineData("")]
    [InlineData("de-DE")]
    public void The_worked_example_json_matches_its_golden_file_in_any_culture(string culture)
    {
        var (code, output, _) = Cultures.In(culture, () => Run("model", Example, "--json"));
        Assert.Equal(0, code);
        Golden.Match(output, "model-65b-h100.json");
    }

    [Fact]
    public void The_json_carries_the_documented_fields_for_each_convention()
    {
        var (_, output, _) = Run("model", Example, "--json");
        using var json = System.Text.Json.JsonDocument.Parse(output);
        var conventions = json.RootElement.GetProperty("conventions").EnumerateArray().ToList();
        Assert.Equal(["realized", "peak"], conventions.Select(c => c.GetProperty("convention").GetString()));
        Assert.Equal("compute", conventions[0].GetProperty("bindingConstraint").GetString());
        Assert.Equal("power", conventions[1].GetProperty("bindingConstraint").GetString());
        Assert.Equal(1200, conventions[0].GetProperty("computeCeilingTokensPerSecond").GetDouble(), 9);
        Assert.Equal(1400, conventions[0].GetProperty("powerCeilingTokensPerSecond").GetDouble(), 9);
        Assert.Equal(720, conventions[0].GetProperty("utilizationAdjustedTokensPerSecond").GetDouble(), 9);
    }

    [Fact]
    public void Flags_alone_describe_a_deployment()
    {
        var (code, output, error) = Run("model", "--kappa", "1.4e11", "--epsilon", "0.5", "--c-eff", "140T", "--p-facility", "1.3k",
            "--pue", "1.3", "--utilization", "0.5", "--horizon", "1h", "--json");
        Assert.Equal("", error);
        Assert.Equal(0, code);
        using var json = System.Text.Json.JsonDocument.Parse(output);
        var realized = json.RootElement.GetProperty("conventions")[0];
        Assert.Equal(1000, realized.GetProperty("computeCeilingTokensPerSecond").GetDouble(), 9);   // 140e12 / 1.4e11
        Assert.Equal(2000, realized.GetProperty("powerCeilingTokensPerSecond").GetDouble(), 9);     // (1300/1.3) / 0.5
        Assert.Equal(500 * 3600, realized.GetProperty("tokensOverHorizon").GetDouble(), 6);
        Assert.Single(json.RootElement.GetProperty("conventions").EnumerateArray());
    }

    [Fact]
    public void Flags_override_the_scenario_file()
    {
        var (_, output, _) = Run("model", Example, "--p-it", "500", "--json");
        using var json = System.Text.Json.JsonDocument.Parse(output);
        Assert.Equal("power", json.RootElement.GetProperty("conventions")[0].GetProperty("bindingConstraint").GetString());
    }

    [Fact]
    public void Drawn_power_makes_the_realized_verdict_degenerate()
    {
        var (code, output, _) = Run("model", Example, "--p-it", "600", "--p-it-source", "Drawn");
        Assert.Equal(0, code);
        Assert.Contains("degenerate", output, StringComparison.Ordinal);
        Assert.Contains("Degenerate, no verdict", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Mechanisms_from_flags_show_their_effect()
    {
        var (code, output, _) = Run("model", Example, "--mechanism", "int4-weights:1:2:decode", "--json");
        Assert.Equal(0, code);
        using var json = System.Text.Json.JsonDocument.Parse(output);
        var m = json.RootElement.GetProperty("mechanisms");
        Assert.Equal(2, m.GetProperty("epsilonGain").GetDouble(), 12);
        // Realized is compute-bound: halving ε leaves Q where it was.
        Assert.Equal(1, m.GetProperty("tokensRatio").GetDouble(), 12);
    }

    [Theory]
    [InlineData(new[] { "model", "--kappa", "1e11", "--epsilon", "0.5", "--c-eff", "1e14", "--p-it", "700", "--pue", "0.8" }, "PUE must be at least 1 (was 0.8)")]
    [InlineData(new[] { "model", "--kappa", "1e11", "--epsilon", "0.5", "--c-eff", "1e14", "--p-it", "700", "--utilization", "60" }, "Utilization U must be in (0, 1] (was 60)")]
    [InlineData(new[] { "model", "--kappa", "-5", "--epsilon", "0.5", "--c-eff", "1e14", "--p-it", "700" }, "must be a positive number (was -5)")]
    [InlineData(new[] { "model", "--model", "gpt-9", "--epsilon", "0.5", "--c-eff", "1e14", "--p-it", "700" }, "Unknown model 'gpt-9'")]
    [InlineData(new[] { "model", "--kappa", "1e11", "--epsilon", "0.5", "--accelerator", "h900" }, "Unknown accelerator 'h900'")]
    [InlineData(new[] { "model", "--kappa", "1e11", "--epsilon", "abc", "--c-eff", "1e14", "--p-it", "700" }, "--epsilon: 'abc' is not a number")]
    [InlineData(new[] { "model", "--kappa", "1e11", "--epsilon", "0.5", "--c-eff", "1e14", "--p-it", "700", "--horizon", "soon" }, "--horizon: 'soon' is not a duration")]
    [InlineData(new[] { "model", "--kappa", "1e11", "--c-eff", "1e14", "--p-it", "700" }, "No energy intensity")]
    [InlineData(new[] { "model", "--kappa", "1e11", "--epsilon", "0.5", "--p-it", "700" }, "No compute throughput")]
    [InlineData(new[] { "model", "--kappa", "1e11", "--epsilon", "0.5", "--c-eff", "1e14", "--p-facility", "700" }, "needs its PUE")]
    [InlineData(new[] { "model", "--kappa", "1e11", "--epsilon", "0.5", "--c-eff", "1e14", "--p-it", "700", "--mechanism", "bad:1" }, "--mechanism: 'bad:1' has 2 part(s)")]
    [InlineData(new[] { "model", "--model", "llama-3.1-8b", "--context", "999999", "--epsilon", "0.5", "--c-eff", "1e14", "--p-it", "700" }, "outside 1..131072")]
    [InlineData(new[] { "model", "does-not-exist.yaml" }, "Cannot read 'does-not-exist.yaml'")]
    public void Bad_input_gets_a_clear_message_on_stderr_and_exit_code_1(string[] args, string expected)
    {
        var (code, output, error) = Run(args);
        Assert.Equal(1, code);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.StartsWith("error: ", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
        Assert.Equal("", output);
    }

    [Fact]
    public void Several_bad_values_are_reported_together()
    {
        var (code, _, error) = Run("model", "--kappa", "0", "--epsilon", "-1", "--c-eff", "1e14", "--p-it", "700", "--pue", "0.5", "--utilization", "2");
        Assert.Equal(1, code);
        Assert.Equal(4, error.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public void A_scenario_file_with_an_unknown_field_names_it()
    {
        var path = Path.Combine(Path.GetTempPath(), $"e2t-scenario-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, "kappa: 1e11\nepsilon: 0.5\nefective_compute: 1e14\n");
        try
        {
            var (code, _, error) = Run("model", path);
            Assert.Equal(1, code);
            Assert.Contains("efective_compute", error, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_scenario_file_takes_series()
    {
        var path = Path.Combine(Path.GetTempPath(), $"e2t-scenario-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, """
            { "kappa": 1e11, "epsilon": 1, "effectiveCompute": 1e14,
              "facilityPower": [ { "at": "0h", "value": 1300 }, { "at": "12h", "value": 650 } ],
              "pue": 1.3, "horizon": "24h" }
            """);
        try
        {
            var (code, output, error) = Run("model", path, "--json");
            Assert.Equal("", error);
            Assert.Equal(0, code);
            using var json = System.Text.Json.JsonDocument.Parse(output);
            var realized = json.RootElement.GetProperty("conventions")[0];
            // 0–12 h: min(1000, 1000/1) = 1000 (tie); 12–24 h: min(1000, 500) = 500.
            Assert.Equal((1000.0 + 500.0) * 12 * 3600, realized.GetProperty("tokensOverHorizon").GetDouble(), 3);
            Assert.Equal(2, realized.GetProperty("segments").GetArrayLength());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void The_catalog_command_lists_every_bundled_entry()
    {
        var (code, output, _) = Run("catalog");
        Assert.Equal(0, code);
        foreach (var name in new[] { "llama-65b", "deepseek-v3", "h100-sxm", "mi300x", "l40s" })
            Assert.Contains(name, output, StringComparison.Ordinal);
    }

    [Fact]
    public void The_model_help_matches_its_golden_file()
    {
        var (code, output, _) = Run("model", "--help");
        Assert.Equal(0, code);
        Golden.Match(output, "model-help.txt");
    }
}
