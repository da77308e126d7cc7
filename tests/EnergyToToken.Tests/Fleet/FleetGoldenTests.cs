using System.Globalization;
using System.Text.Json.Nodes;
using static EnergyToToken.Tests.Cli.ModelCommandTests;

namespace EnergyToToken.Tests.Fleet;

/// <summary>The default <see cref="SyntheticFleet"/> backfilled into one real Prometheus, shared by the tests of a class.</summary>
public sealed class BackfilledFleetFixture : IAsyncLifetime
{
    internal SyntheticFleet Fleet { get; } = new();

    internal PrometheusProcess Prometheus { get; private set; } = null!;

    public async Task InitializeAsync() => Prometheus = await BackfilledPrometheus.StartAsync(Fleet);

    public async Task DisposeAsync()
    {
        if (Prometheus is not null) await Prometheus.DisposeAsync();
    }
}

/// <summary>
/// <c>e2t fleet</c> over a real Prometheus holding a backfilled synthetic fleet: the same samples every run, so the table
/// and the JSON are golden files, and the totals are checked against what the generator put in.
/// </summary>
[Collection(FleetPrometheusGroup.Name)]
public sealed class FleetGoldenTests(BackfilledFleetFixture fixture) : IClassFixture<BackfilledFleetFixture>
{
    // The range is written out, not taken from the fleet, so that the command line is the one the docs show.
    private const string From = "2026-01-05T00:00:00Z";
    private const string To = "2026-01-05T00:30:00Z";
    private const double BudgetWatts = 5000;

    // The de-DE cases found that System.CommandLine parsed --pue 1.2 as 12 under a German LANG; Cli now reads every
    // number flag invariantly, and they keep it so.

    private string[] Fleet(params string[] more) =>
        ["fleet", "--prometheus", fixture.Prometheus.Url.ToString(), "--from", From, "--to", To, "--step", "15s", .. more];

    private string[] Pools(params string[] more) =>
        Fleet(["--group-by", "pool", "--pue", "1.2", "--p-facility", BudgetWatts.ToString(CultureInfo.InvariantCulture), .. more]);

    [Theory]
    [InlineData("")]
    [InlineData("de-DE")]
    public void The_fleet_table_over_the_backfilled_fleet_matches_its_golden_file_in_any_culture(string culture)
    {
        var (code, output, error) = Cultures.In(culture, () => Run(Pools()));
        Assert.True(code == 0, error + "\n" + fixture.Prometheus.Log);
        Assert.Equal("", error);
        Golden.Match(output, "fleet-synthetic.txt");
    }

    [Theory]
    [InlineData("")]
    [InlineData("de-DE")]
    public void The_fleet_json_over_the_backfilled_fleet_matches_its_golden_file_in_any_culture(string culture)
    {
        var (code, output, error) = Cultures.In(culture, () => Run(Pools("--json")));
        Assert.True(code == 0, error + "\n" + fixture.Prometheus.Log);
        // The server's port is the one thing that differs between runs.
        Assert.Contains(fixture.Prometheus.Url.ToString(), output, StringComparison.Ordinal);
        Golden.Match(output.Replace(fixture.Prometheus.Url.ToString(), "http://127.0.0.1:PORT/", StringComparison.Ordinal), "fleet-synthetic.json");
    }

    [Fact]
    public void The_range_is_the_generated_one()
    {
        Assert.Equal(fixture.Fleet.StartSeconds, DateTimeOffset.Parse(From, CultureInfo.InvariantCulture).ToUnixTimeSeconds());
        Assert.Equal(fixture.Fleet.EndSeconds, DateTimeOffset.Parse(To, CultureInfo.InvariantCulture).ToUnixTimeSeconds());
        Assert.Equal(120, fixture.Fleet.Steps);
    }

    [Fact]
    public void Each_pools_tokens_are_exactly_and_its_energy_within_rounding_what_the_generator_wrote()
    {
        var (code, output, error) = Run(Pools("--json"));
        Assert.True(code == 0, error);
        var report = JsonNode.Parse(output)!;
        var instances = fixture.Fleet.ExpectedInstances();
        var gpus = fixture.Fleet.ExpectedGpus();

        var fleet = report["fleet"]!;
        Assert.Equal(instances.Sum(i => i.OutputTokens), Number(fleet, "output_tokens"));
        Assert.Equal(instances.Sum(i => i.PromptTokens), Number(fleet, "prompt_tokens"));
        Close.To(gpus.Sum(g => g.Joules), Number(fleet, "energy_joules"));
        Assert.Equal(6, Number(fleet, "gpus"));
        Assert.Empty(report["warnings"]!.AsArray());

        var groups = report["groups"]!.AsArray();
        Assert.Equal(["batch", "chat"], groups.Select(g => (string)g!["name"]!));
        foreach (var group in groups)
        {
            var pool = (string)group!["name"]!;
            var members = instances.Where(i => i.Pool == pool).Select(i => i.Instance).ToHashSet();
            Assert.Equal(instances.Where(i => i.Pool == pool).Sum(i => i.OutputTokens), Number(group, "output_tokens"));
            Assert.Equal(instances.Where(i => i.Pool == pool).Sum(i => i.PromptTokens), Number(group, "prompt_tokens"));
            Close.To(gpus.Where(g => members.Contains(g.Instance)).Sum(g => g.Joules), Number(group, "energy_joules"));
            Assert.Equal(gpus.Count(g => members.Contains(g.Instance)), Number(group, "gpus"));
            // The quiet stretches have no tokens and every GPU at idle: the idle estimate is exactly their sum.
            Close.To(SyntheticFleet.IdleWatts * gpus.Count(g => members.Contains(g.Instance)), Number(group, "idle_watts"));
        }

        // The busy stretch brings facility power within 10 % of the budget (power binds), and batch's prefill-heavy
        // stretch saturates SM activity while power is far below it (compute binds): both arms are exercised.
        Assert.True(Number(Field(fleet, "binding_shares"), "power") > 0, output);
        Assert.True(Number(Field(groups.Single(g => (string)g!["name"]! == "batch")!, "binding_shares"), "compute") > 0, output);
    }

    [Fact]
    public async Task Each_instance_including_the_restarted_one_and_the_one_without_an_energy_counter_matches_the_generator()
    {
        // The fixture holds what it claims: one token counter reset, and one GPU with power but no energy counter.
        var end = fixture.Fleet.EndSeconds;
        var resets = (await fixture.Prometheus.QueryAsync("resets(vllm:generation_tokens_total[30m]) > 0", end))["data"]!["result"]!.AsArray();
        Assert.Equal(["serve-1:8000"], resets.Select(r => (string)r!["metric"]!["instance"]!));
        var energy = (await fixture.Prometheus.QueryAsync("count(DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION)", end))["data"]!["result"]![0]!["value"]![1]!;
        var power = (await fixture.Prometheus.QueryAsync("count(DCGM_FI_DEV_POWER_USAGE)", end))["data"]!["result"]![0]!["value"]![1]!;
        Assert.Equal(("5", "6"), ((string)energy!, (string)power!));

        var (code, output, error) = Run(Fleet("--json"));
        Assert.True(code == 0, error);
        var groups = JsonNode.Parse(output)!["groups"]!.AsArray();
        var instances = fixture.Fleet.ExpectedInstances();
        var gpus = fixture.Fleet.ExpectedGpus();
        Assert.Equal(instances.Select(i => i.Instance), groups.Select(g => (string)g!["name"]!));
        foreach (var expected in instances)
        {
            var group = groups.Single(g => (string)g!["name"]! == expected.Instance)!;
            Assert.Equal(expected.OutputTokens, Number(group, "output_tokens"));
            Assert.Equal(expected.PromptTokens, Number(group, "prompt_tokens"));
            Close.To(gpus.Where(g => g.Instance == expected.Instance).Sum(g => g.Joules), Number(group, "energy_joules"));
        }
    }

    private static double Number(JsonNode node, string snake) => (double)Field(node, snake);

    /// <summary>
    /// A field of the fleet JSON by its snake_case name, or by its camelCase one: the field names are about to turn
    /// camelCase, and these figures are checked whichever they are.
    /// </summary>
    private static JsonNode Field(JsonNode node, string snake)
    {
        var camel = string.Concat(snake.Split('_').Select((w, i) => i == 0 ? w : char.ToUpperInvariant(w[0]) + w[1..]));
        var value = node[snake] ?? node[camel];
        Assert.True(value is not null, $"The fleet JSON has neither '{snake}' nor '{camel}' here: {node.ToJsonString()}");
        return value;
    }
}
