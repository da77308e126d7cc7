using System.CommandLine;
using System.Text.Json.Nodes;
using EnergyToToken.Fleet;
using EnergyToToken.Tests.Twin;
using EnergyToToken.Twin;

namespace EnergyToToken.Tests.Fleet;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class FleetPrometheusGroup
{
    public const string Name = "fleet prometheus";
}

/// <summary>
/// <c>e2t fleet</c> against a real Prometheus scraping two embedded twins every second: the fleet's tokens and energy
/// must match what the twins themselves counted, within what the scrape interval allows.
/// </summary>
[Collection(FleetPrometheusGroup.Name)]
public sealed class FleetPrometheusTests
{
    internal static async Task<(int Code, string Out, string Err)> RunAsync(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await EnergyToToken.Cli.Cli.CreateRoot().Parse(args).InvokeAsync(new InvocationConfiguration { Output = stdout, Error = stderr });
        return (code, stdout.ToString(), stderr.ToString());
    }

    private static double Now() => TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0;

    /// <summary>What a twin's own endpoints say now: its token counters and its devices' energy counters summed, J.</summary>
    private static async Task<(double Prompt, double Output, double Joules, double Watts)> TotalsAsync(TwinServer twin)
    {
        using var client = TwinHttp.Client(twin);
        var vllm = await TwinHttp.ScrapeAsync(client, "metrics");
        var dcgm = await TwinHttp.ScrapeAsync(client, "dcgm/metrics");
        return (
            vllm.Single(s => s.Name == "vllm:prompt_tokens_total").Value,
            vllm.Single(s => s.Name == "vllm:generation_tokens_total").Value,
            dcgm.Where(s => s.Name == "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION").Sum(s => s.Value) / 1000,
            dcgm.Where(s => s.Name == "DCGM_FI_DEV_POWER_USAGE").Sum(s => s.Value));
    }

    private static async Task DriveAsync(TwinServer twin, int requests, int tokens)
    {
        using var client = TwinHttp.Client(twin);
        await Task.WhenAll(Enumerable.Range(0, requests).Select(i =>
            TwinHttp.PostAsync(client, "v1/completions", new { model = twin.ModelName, prompt = $"Request {i}: count slowly to a hundred", max_tokens = tokens, ignore_eos = true })));
    }

    [Fact]
    public async Task Fleet_tokens_and_energy_match_the_twins_own_totals_within_the_scrape_bound()
    {
        await using var a = await TwinHttp.StartAsync();
        await using var b = await TwinHttp.StartAsync(new TwinServerOptions { Seed = 7 });
        await using var prometheus = await PrometheusProcess.StartAsync([a.BaseAddress, b.BaseAddress]);
        await prometheus.WaitForScrapesAsync(targets: 4);

        var from = Math.Floor(Now());
        var before = (A: await TotalsAsync(a), B: await TotalsAsync(b));
        await Task.WhenAll(DriveAsync(a, requests: 8, tokens: 64), DriveAsync(b, requests: 4, tokens: 32));
        // Quiet for more than a scrape interval plus a step, so the last scrape before --to has seen every token.
        await Task.Delay(TimeSpan.FromSeconds(3.5));
        var to = Math.Floor(Now());
        var after = (A: await TotalsAsync(a), B: await TotalsAsync(b));
        await Task.Delay(TimeSpan.FromSeconds(2 * PrometheusProcess.ScrapeIntervalSeconds));

        var (code, output, error) = await RunAsync("fleet", "--prometheus", prometheus.Url.ToString(), "--from", from.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
            "--to", to.ToString("R", System.Globalization.CultureInfo.InvariantCulture), "--step", "1s", "--json");
        Assert.True(code == 0, error + "\n" + prometheus.Log);
        var fleet = JsonNode.Parse(output)!["fleet"]!;
        EnergyToToken.Tests.Reporting.Schemas.AssertValid(output, "e2t.fleet.v1.schema.json");

        // Tokens: the load starts after --from's scrape and ends well before --to's, so both ends see quiet counters: exact.
        var outputTokens = after.A.Output - before.A.Output + after.B.Output - before.B.Output;
        var promptTokens = after.A.Prompt - before.A.Prompt + after.B.Prompt - before.B.Prompt;
        Assert.Equal(8 * 64 + 4 * 32, outputTokens);
        Assert.Equal(outputTokens, (double)fleet["outputTokens"]!);
        Assert.Equal(promptTokens, (double)fleet["promptTokens"]!);

        // Energy: each end of the range reads the last scrape at or before it, up to one scrape interval (plus scrape
        // jitter, 0.5 s allowed) early, the grid's last point is up to one step before --to, and the twins were read up
        // to a second after --from and --to. The edges are quiet, so the twins draw idle power there: each end may be
        // off by the power the twins read at that end (10 % over it, for the readings' 1 % noise) over that time.
        var edge = PrometheusProcess.ScrapeIntervalSeconds + 0.5 + 1 + 1;
        var bound = 1.1 * (before.A.Watts + before.B.Watts + after.A.Watts + after.B.Watts) * edge;
        var truth = after.A.Joules - before.A.Joules + after.B.Joules - before.B.Joules;
        var measured = (double)fleet["energyJoules"]!;
        Assert.True(Math.Abs(measured - truth) <= bound, $"Fleet energy {measured} J vs the twins' {truth} J: off by more than the bound {bound} J.");
        Assert.True(measured > 0);

        var groups = JsonNode.Parse(output)!["groups"]!.AsArray();
        Assert.Equal(2, groups.Count);
        Assert.All(groups, g => Assert.Equal(1, (int)g!["gpus"]!));
        Assert.Equal(8 * 64, groups.Sum(g => (double)g!["outputTokens"]!) - 4 * 32);
        Assert.NotNull(fleet["joulesPerOutputToken"]);
        Assert.Empty(JsonNode.Parse(output)!["warnings"]!.AsArray());

        // Chunked queries join into the same series: three points per chunk (two series, six points an answer) gives what one chunk gives.
        using var http = new HttpClient();
        var whole = await new PrometheusRangeClient(http, prometheus.Url).QueryRangeAsync("vllm:generation_tokens_total", from, to, 1);
        var chunked = await new PrometheusRangeClient(http, prometheus.Url) { AnswerPoints = 6, FirstPoints = 3 }.QueryRangeAsync("vllm:generation_tokens_total", from, to, 1);
        Assert.Equal(2, chunked.Count);
        foreach (var series in whole)
        {
            var match = chunked.Single(c => c.Label("instance") == series.Label("instance"));
            Assert.Equal(series.Points, match.Points);
        }

        // The whole evaluation folded from answers of two points each gives the report one answer per query gives.
        var options = new FleetOptions { Prometheus = prometheus.Url, From = from, To = to, Step = 1 };
        var one = await FleetQuery.RunAsync(options, http);
        var tiny = await FleetQuery.RunAsync(options, new PrometheusRangeClient(http, prometheus.Url) { AnswerPoints = 2, FirstPoints = 1 });
        Assert.Equal(one.ToJson(), tiny.ToJson());
        Assert.Equal(outputTokens, one.Fleet.OutputTokens);

        // The table renders the same run, and --out writes the JSON and the documents beside it.
        var directory = Directory.CreateTempSubdirectory("e2t-fleet-out-").FullName;
        var (tableCode, table, written) = await RunAsync("fleet", "--prometheus", prometheus.Url.ToString(), "--from", from.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
            "--to", to.ToString("R", System.Globalization.CultureInfo.InvariantCulture), "--step", "1s", "--out", directory);
        Assert.Equal(0, tableCode);
        Assert.Equal(["fleet.html", "fleet.json", "fleet.md"], Directory.GetFiles(directory).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Contains(Path.Combine(directory, "fleet.md"), written, StringComparison.Ordinal);
        Assert.Contains("| fleet | 2 | 2 |", File.ReadAllText(Path.Combine(directory, "fleet.md")), StringComparison.Ordinal);
        Assert.Equal((double)fleet["outputTokens"]!, (double)JsonNode.Parse(File.ReadAllText(Path.Combine(directory, "fleet.json")))!["fleet"]!["outputTokens"]!);
        Directory.Delete(directory, recursive: true);
        Assert.Contains("fleet", table, StringComparison.Ordinal);
        Assert.Contains("Share of time each constraint binds", table, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_target_whose_GPUs_are_not_scraped_and_a_dead_target_are_named_and_an_empty_range_is_explained()
    {
        await using var a = await TwinHttp.StartAsync();
        await using var b = await TwinHttp.StartAsync(new TwinServerOptions { Seed = 7 });
        var dead = new Uri($"http://127.0.0.1:{PrometheusProcess.FreePort()}/");
        // b's DCGM endpoint is not scraped; the dead port is a DCGM target that never answers.
        await using var prometheus = await PrometheusProcess.StartAsync([a.BaseAddress, b.BaseAddress], [a.BaseAddress, dead]);
        await prometheus.WaitForScrapesAsync(targets: 3);
        var from = Math.Floor(Now());
        await DriveAsync(b, requests: 2, tokens: 8);
        await Task.Delay(TimeSpan.FromSeconds(3));
        var to = Math.Floor(Now());

        var (code, output, error) = await RunAsync("fleet", "--prometheus", prometheus.Url.ToString(), "--from", from.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
            "--to", to.ToString("R", System.Globalization.CultureInfo.InvariantCulture), "--step", "1s", "--json");
        Assert.True(code == 0, error);
        Assert.Contains($"instance=\"{b.BaseAddress.Authority}\" has token series but no GPU", error, StringComparison.Ordinal);
        Assert.Contains($"instance=\"{dead.Authority}\" was down", error, StringComparison.Ordinal);
        Assert.Equal(16, (double)JsonNode.Parse(output)!["fleet"]!["outputTokens"]!);

        // A range from before Prometheus started has no samples: one explained error, exit 1.
        var (emptyCode, _, emptyError) = await RunAsync("fleet", "--prometheus", prometheus.Url.ToString(), "--from", "now-3h", "--to", "now-2h", "--step", "1m");
        Assert.Equal(1, emptyCode);
        Assert.Contains("no token series", emptyError, StringComparison.Ordinal);
    }
}
