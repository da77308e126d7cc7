using EnergyToToken.Load;
using EnergyToToken.Tests.Metering;
using EnergyToToken.Tests.Twin;

namespace EnergyToToken.Tests.Load;

/// <summary>Scraping a server's vLLM-named metrics beside a run, against the twin's real /metrics.</summary>
public class ServerMetricsTests
{
    [Fact]
    public async Task Scrapes_during_a_run_see_the_batch_and_end_at_the_tokens_the_client_counted()
    {
        await using var server = await TwinHttp.StartAsync();
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        var scraper = new ServerMetricsScraper(http, new Uri(server.BaseAddress, "metrics"), TimeSpan.FromMilliseconds(20), TimeProvider.System);
        scraper.Start();
        var runner = new LoadRunner(new StreamingClient(http, new StreamingClientOptions(), TimeProvider.System), server.ModelName, TimeProvider.System);
        var run = await runner.RunAsync(
            new WorkloadOptions { InputTokens = LengthDistribution.Parse("fixed:200"), OutputTokens = LengthDistribution.Parse("fixed:40") },
            new ArrivalOptions { Kind = ArrivalKind.Closed, Concurrency = 8, Count = 24 }, CancellationToken.None);
        await Task.Delay(100);
        await scraper.DisposeAsync();

        var samples = scraper.Samples;
        Assert.True(samples.Count > 5, $"{samples.Count} scrapes");
        Assert.Equal(0, scraper.Failures);
        Assert.Contains(samples, s => s.Running >= 2); // the batch was seen in flight
        Assert.Equal(run.Sum(r => r.Record.OutputTokens), samples[^1].GenerationTokens);
        Assert.Equal(run.Sum(r => r.Record.PromptTokens ?? 0), samples[^1].PromptTokens);
        Assert.All(samples.Zip(samples.Skip(1)), p => Assert.True(p.Second.GenerationTokens >= p.First.GenerationTokens && p.Second.Timestamp > p.First.Timestamp));
    }

    [Fact]
    public async Task An_endpoint_without_vllm_metrics_or_that_is_down_is_said_so_and_is_not_fatal()
    {
        using var other = new LoopbackServer(_ => new LoopbackServer.Answer(200, "# TYPE up gauge\nup 1\n", "text/plain"));
        using var http = new HttpClient();
        await using var scraper = new ServerMetricsScraper(http, other.At("metrics"), TimeSpan.FromSeconds(1), TimeProvider.System);
        var (sample, reason) = await scraper.ScrapeAsync(CancellationToken.None);
        Assert.Null(sample);
        Assert.Contains("no vLLM metrics", reason);
        await using var down = new ServerMetricsScraper(http, new Uri("http://127.0.0.1:1/metrics"), TimeSpan.FromSeconds(1), TimeProvider.System);
        var (none, why) = await down.ScrapeAsync(CancellationToken.None);
        Assert.Null(none);
        Assert.Contains("did not answer", why);
    }

    [Fact]
    public void Several_engines_are_summed_and_their_cache_usage_averaged()
    {
        var text = "vllm:num_requests_running{engine=\"0\"} 3\nvllm:num_requests_running{engine=\"1\"} 5\n" +
            "vllm:gpu_cache_usage_perc{engine=\"0\"} 0.2\nvllm:gpu_cache_usage_perc{engine=\"1\"} 0.6\n" +
            "vllm:generation_tokens_total{engine=\"0\"} 100\nvllm:generation_tokens_total{engine=\"1\"} 50\n";
        var sample = ServerMetricsSample.Parse(text, 7)!;
        Assert.Equal(8, sample.Running);
        Assert.Equal(0.4, sample.KvCacheUsage, 9);
        Assert.Equal(150, sample.GenerationTokens);
        Assert.True(double.IsNaN(sample.Waiting));
    }
}
