using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using EnergyToToken.Catalog;
using EnergyToToken.Live;
using EnergyToToken.Metering.Prometheus;
using EnergyToToken.Production;
using EnergyToToken.Twin;
using static EnergyToToken.Tests.Cli.ModelCommandTests;

namespace EnergyToToken.Tests.Live;

/// <summary>The live figures' arithmetic and exposition text: pure, values by hand.</summary>
public sealed class LiveMetricsTests
{
    // 10 s into the load: 1,000 output tokens, 5,000 J. 5 s earlier: 400 tokens, 2,600 J.
    private static readonly LiveReading Now = new(10, 1000, 4000, 5000, 520, 600);
    private static readonly LiveReading Start = new(5, 400, 1600, 2600, 510, 580);
    private static readonly LiveProductionInputs Inputs = new() { KappaFlopPerToken = 2e10, PeakComputeFlopPerSecond = 1e15, ItPowerWatts = 700 };
    private static readonly LiveSource Bench = new("bench", Simulated: false, "llama-3.1-8b");

    [Fact]
    public void LiveMetrics_figures_are_the_hand_arithmetic()
    {
        var f = LiveMetrics.Compute(Now, Start, Inputs);
        Close.To(5, f.JoulesPerOutputToken);               // 5,000 J / 1,000 tokens
        Close.To(4, f.RecentJoulesPerOutputToken);         // (5,000 − 2,600) J / (1,000 − 400) tokens
        Close.To(500, f.MeanWatts);                        // 5,000 J / 10 s
        Close.To(100, f.OutputTokensPerSecond);            // 1,000 / 10 s
        Close.To(120, f.RecentOutputTokensPerSecond);      // 600 / 5 s
        Close.To(5, f.RecentSeconds);
        Close.To(50_000, f.ComputeCeiling!.Value);         // 1e15 FLOP/s / 2e10 FLOP/token
        Close.To(140, f.PowerCeiling!.Value);              // 700 W / 5 J/token
        Assert.Equal(BindingConstraint.Power, f.Binding);
        Close.To(120.0 / 140, f.Utilization!.Value);       // recent rate over the lower ceiling
        Assert.Equal("peak", f.ComputeConvention);
    }

    [Fact]
    public void LiveMetrics_equal_ceilings_are_balanced_and_saturation_makes_compute_realized()
    {
        var balanced = LiveMetrics.Compute(Now, Start, new LiveProductionInputs { KappaFlopPerToken = 1e10, PeakComputeFlopPerSecond = 1e12, ItPowerWatts = 500 });
        Close.To(100, balanced.ComputeCeiling!.Value);
        Close.To(100, balanced.PowerCeiling!.Value);
        Assert.Equal(BindingConstraint.Balanced, balanced.Binding);

        var realized = LiveMetrics.Compute(Now, Start, Inputs with { SaturationOutputTokensPerSecond = 80 });
        Assert.Equal("realized", realized.ComputeConvention);
        Close.To(2e10 * 80, realized.ComputeFlopPerSecond!.Value);
        Close.To(80, realized.ComputeCeiling!.Value);      // C_eff/κ = R_sat
        Assert.Equal(BindingConstraint.Compute, realized.Binding);
        Close.To(1, realized.Utilization!.Value);          // 120 tokens/s over an 80 tokens/s ceiling is capped at 1
    }

    [Fact]
    public void LiveMetrics_kappa_comes_from_the_catalog_model_at_the_mean_context()
    {
        var model = Catalogs.Load([]).Model("llama-3.1-8b");
        var f = LiveMetrics.Compute(Now, Start, Inputs with { KappaFlopPerToken = null, Model = model });
        Close.To(model.KappaFlopPerToken(600), f.KappaFlopPerToken!.Value);
    }

    [Fact]
    public void LiveMetrics_exposition_matches_its_golden_file()
    {
        var text = LiveMetrics.Render(LiveMetrics.Compute(Now, Start, Inputs), Bench, "load");
        Golden.Match(text, "Live/live-metrics-full.prom");
    }

    [Fact]
    public void LiveMetrics_exposition_parses_back_with_the_project_parser_to_the_same_values()
    {
        var samples = PrometheusText.Parse(LiveMetrics.Render(LiveMetrics.Compute(Now, Start, Inputs), Bench, "load"));
        double Value(string name, string label = "", string value = "") =>
            Assert.Single(samples, s => s.Name == name && (label.Length == 0 || s.Label(label) == value)).Value;
        Assert.Equal(1000, Value("e2t_output_tokens_total"));
        Assert.Equal(4000, Value("e2t_input_tokens_total"));
        Assert.Equal(5000, Value("e2t_energy_joules_total"));
        Close.To(5, Value("e2t_joules_per_output_token", "window", "run"));
        Close.To(4, Value("e2t_joules_per_output_token", "window", "recent"));
        Close.To(520, Value("e2t_power_watts", "window", "instant"));
        Close.To(50_000, Value("e2t_compute_ceiling_tokens_per_second", "convention", "peak"));
        Close.To(140, Value("e2t_power_ceiling_tokens_per_second"));
        Assert.Equal(1, Value("e2t_binding_constraint", "constraint", "power"));
        Assert.Equal(0, Value("e2t_binding_constraint", "constraint", "compute"));
        Assert.Equal(0, Value("e2t_binding_constraint", "constraint", "balanced"));
        Assert.Equal(0, Value("e2t_binding_constraint", "constraint", "degenerate"));
        Close.To(120.0 / 140, Value("e2t_utilization_ratio"));
        Assert.Equal("false", Assert.Single(samples, s => s.Name == "e2t_info").Label("simulated"));
    }

    [Fact]
    public void LiveMetrics_leave_out_what_is_not_known_instead_of_writing_NaN()
    {
        // No meter, no κ, no budget: tokens and rates only.
        var reading = new LiveReading(4, 200, 800, double.NaN, double.NaN);
        var text = LiveMetrics.Render(LiveMetrics.Compute(reading, null, LiveProductionInputs.None), new LiveSource("twin", true, "m"));
        Golden.Match(text, "Live/live-metrics-bare.prom");
        Assert.DoesNotContain("NaN", text, StringComparison.Ordinal);
        var names = PrometheusText.Parse(text).Select(s => s.Name).ToHashSet();
        Assert.Contains("e2t_output_tokens_total", names);
        Assert.DoesNotContain("e2t_energy_joules_total", names);
        Assert.DoesNotContain("e2t_binding_constraint", names);
        Assert.DoesNotContain("e2t_utilization_ratio", names);
    }

    [Fact]
    public void LiveMetrics_recent_window_keeps_only_its_span()
    {
        var live = new LiveMetrics(Bench, Inputs with { RecentWindow = TimeSpan.FromSeconds(10) });
        for (var t = 0; t <= 30; t++) live.Update(new LiveReading(t, t * 100, 0, t * 400.0, 400));
        var f = live.Figures();
        Close.To(10, f.RecentSeconds);
        Close.To(100, f.RecentOutputTokensPerSecond);
        Close.To(4, f.RecentJoulesPerOutputToken);
    }

    [Theory]
    [InlineData("nonsense")]
    [InlineData("127.0.0.1")]
    [InlineData(":9464")]
    [InlineData("127.0.0.1:70000")]
    [InlineData("127.0.0.1:port")]
    [InlineData("example.com:9464")]
    public void LiveMetrics_bad_addresses_are_explained(string address)
    {
        var e = Assert.Throws<EnergyToTokenException>(() => LiveMetricsListener.ParseAddress(address));
        Assert.Contains("HOST:PORT", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("127.0.0.1:9464", "127.0.0.1", 9464)]
    [InlineData("localhost:0", "127.0.0.1", 0)]
    [InlineData("0.0.0.0:9464", "0.0.0.0", 9464)]
    [InlineData("[::1]:9464", "::1", 9464)]
    public void LiveMetrics_good_addresses_parse(string address, string ip, int port)
    {
        var endpoint = LiveMetricsListener.ParseAddress(address);
        Assert.Equal(IPAddress.Parse(ip), endpoint.Address);
        Assert.Equal(port, endpoint.Port);
    }

    [Fact]
    public void LiveMetrics_dashboard_is_valid_json_and_queries_only_emitted_metrics()
    {
        var path = Path.Combine(RepositoryRoot(), "docs", "grafana", "e2t-live.json");
        using var dashboard = JsonDocument.Parse(File.ReadAllText(path));
        var exprs = new List<string>();
        void Walk(JsonElement e)
        {
            if (e.ValueKind == JsonValueKind.Object)
            {
                foreach (var p in e.EnumerateObject())
                {
                    if (p.Name == "expr" && p.Value.ValueKind == JsonValueKind.String) exprs.Add(p.Value.GetString()!);
                    else Walk(p.Value);
                }
            }
            else if (e.ValueKind == JsonValueKind.Array)
            {
                foreach (var i in e.EnumerateArray()) Walk(i);
            }
        }
        Walk(dashboard.RootElement);
        Assert.NotEmpty(exprs);
        var emitted = PrometheusText.Parse(LiveMetrics.Render(LiveMetrics.Compute(Now, Start, Inputs), Bench, "load")).Select(s => s.Name).ToHashSet();
        var queried = exprs.SelectMany(x => Regex.Matches(x, @"\be2t_[a-z_]+").Select(m => m.Value)).ToHashSet();
        foreach (var name in new[] { "e2t_joules_per_output_token", "e2t_compute_ceiling_tokens_per_second", "e2t_power_ceiling_tokens_per_second", "e2t_binding_constraint", "e2t_power_watts", "e2t_output_tokens_per_second", "e2t_utilization_ratio" })
            Assert.Contains(name, queried);
        Assert.All(queried, name => Assert.Contains(name, emitted));
    }
}

/// <summary>Live metrics over real HTTP: tests that run a bench or the twin, kept apart so a busy machine does not starve them.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LiveMetricsHttp
{
    public const string Name = "LiveMetrics HTTP";
}

[Collection(LiveMetricsHttp.Name)]
public sealed class LiveMetricsHttpTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("e2t-live-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private static async Task<IReadOnlyList<PrometheusSample>?> TryScrapeAsync(HttpClient http, string url)
    {
        try
        {
            return PrometheusText.Parse(await http.GetStringAsync(new Uri(url)));
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    private static double Sample(IReadOnlyList<PrometheusSample> samples, string name, string window = "") =>
        samples.FirstOrDefault(s => s.Name == name && (window.Length == 0 || s.Label("window") == window))?.Value ?? double.NaN;

    [Fact]
    public async Task LiveMetrics_a_bench_scraped_over_loopback_shows_counters_rising_and_J_per_token()
    {
        var port = FreePort();
        var url = $"http://127.0.0.1:{port}/metrics";
        var bench = Task.Run(() => Run(["bench", "--idle", "1s", "--settle", "200ms", "--input", "fixed:64", "--output", "fixed:32", "--concurrency", "8",
            "--duration", "8s", "--out", Path.Combine(_dir, "run"), "--metrics-listen", $"127.0.0.1:{port}"]));
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };

        // The first scrape once tokens are flowing, the second 1.5 s later, both during the load.
        IReadOnlyList<PrometheusSample>? first = null;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < deadline && !bench.IsCompleted)
        {
            first = await TryScrapeAsync(http, url);
            if (first is not null && Sample(first, "e2t_output_tokens_total") > 0) break;
            await Task.Delay(200);
        }
        Assert.True(first is not null && Sample(first, "e2t_output_tokens_total") > 0, "no scrape saw output tokens during the run");
        await Task.Delay(1500);
        var second = await TryScrapeAsync(http, url);
        Assert.NotNull(second);
        Assert.True(Sample(second, "e2t_output_tokens_total") > Sample(first, "e2t_output_tokens_total"));
        Assert.True(Sample(second, "e2t_energy_joules_total") > Sample(first, "e2t_energy_joules_total"));
        Assert.True(Sample(second, "e2t_joules_per_output_token", "run") > 0);
        Assert.Equal("true", second.First(s => s.Name == "e2t_info").Label("simulated"));
        Assert.Contains(second, s => s.Name == "e2t_binding_constraint" && s.Value == 1);

        var (code, _, error) = await bench;
        Assert.True(code == 0, error);
        Assert.Contains($"live metrics at {url}", error, StringComparison.Ordinal);
        // The listener closes with the run.
        Assert.Null(await TryScrapeAsync(http, url));
    }

    [Fact]
    public void LiveMetrics_a_bad_or_taken_address_is_one_error_line_and_exit_1()
    {
        var (code, _, error) = Run(["bench", "--idle", "0s", "--duration", "1s", "--out", Path.Combine(_dir, "bad"), "--metrics-listen", "127.0.0.1"]);
        Assert.Equal(1, code);
        Assert.StartsWith("error: --metrics-listen '127.0.0.1' is not HOST:PORT", error.Split('\n').Single(l => l.StartsWith("error:", StringComparison.Ordinal)), StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);

        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        (code, _, error) = Run(["bench", "--idle", "0s", "--duration", "1s", "--out", Path.Combine(_dir, "taken"), "--metrics-listen", $"127.0.0.1:{port}"]);
        Assert.Equal(1, code);
        Assert.Contains($"error: --metrics-listen 127.0.0.1:{port}: cannot listen there", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LiveMetrics_the_twin_serves_its_own_figures_at_e2t_metrics()
    {
        await using var twin = await TwinServer.StartAsync(new TwinServerOptions { Profile = TwinProfiles.Default, Port = 0 }, Catalogs.Load([]));
        using var http = new HttpClient { BaseAddress = twin.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        var before = PrometheusText.Parse(await http.GetStringAsync(new Uri("e2t/metrics", UriKind.Relative)));
        Assert.Equal(0, Sample(before, "e2t_output_tokens_total"));
        var body = $$"""{"model":"{{twin.ModelName}}","prompt":"hello there","max_tokens":16,"ignore_eos":true}""";
        using (var response = await http.PostAsync(new Uri("v1/completions", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json")))
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        var after = PrometheusText.Parse(await http.GetStringAsync(new Uri("e2t/metrics", UriKind.Relative)));
        Assert.Equal(16, Sample(after, "e2t_output_tokens_total"));
        Assert.True(Sample(after, "e2t_energy_joules_total") > 0);
        Assert.True(Sample(after, "e2t_joules_per_output_token", "run") > 0);
        var info = after.Single(s => s.Name == "e2t_info");
        Assert.Equal(("twin", "true"), (info.Label("source"), info.Label("simulated")));
        Assert.Single(after, s => s.Name == "e2t_binding_constraint" && s.Value == 1);
    }
}
