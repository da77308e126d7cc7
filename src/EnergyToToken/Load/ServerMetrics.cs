using EnergyToToken.Metering.Prometheus;

namespace EnergyToToken.Load;

/// <summary>
/// One scrape of a server's vLLM-named metrics, summed over every engine and model the endpoint reports, on the run's
/// monotonic clock. NaN where the server does not report the series.
/// </summary>
public sealed record ServerMetricsSample(
    long Timestamp, double Running, double Waiting, double KvCacheUsage, double PromptTokens, double GenerationTokens, double Preemptions)
{
    /// <summary>Reads vLLM's V1 names from Prometheus text (<c>kv_cache_usage_perc</c>, or the older <c>gpu_cache_usage_perc</c>); null when it has none of them.</summary>
    public static ServerMetricsSample? Parse(string text, long timestamp)
    {
        var samples = PrometheusText.Parse(text);
        double Sum(string name)
        {
            var values = samples.Where(s => s.Name == name).Select(s => s.Value).ToList();
            return values.Count > 0 ? values.Sum() : double.NaN;
        }
        // Usage is a share per engine: averaged, not summed.
        double Mean(string name)
        {
            var values = samples.Where(s => s.Name == name).Select(s => s.Value).ToList();
            return values.Count > 0 ? values.Average() : double.NaN;
        }
        var kv = Mean("vllm:kv_cache_usage_perc");
        if (double.IsNaN(kv)) kv = Mean("vllm:gpu_cache_usage_perc");
        var sample = new ServerMetricsSample(timestamp, Sum("vllm:num_requests_running"), Sum("vllm:num_requests_waiting"), kv,
            Sum("vllm:prompt_tokens_total"), Sum("vllm:generation_tokens_total"), Sum("vllm:num_preemptions_total"));
        return double.IsNaN(sample.Running) && double.IsNaN(sample.GenerationTokens) ? null : sample;
    }
}

/// <summary>
/// Scrapes a server's <c>/metrics</c> in vLLM's names at an interval while a run goes on, on the run's clock. A failed
/// scrape is counted and skipped, never fatal: the server's own figures are context, the client's are the measurement.
/// </summary>
public sealed class ServerMetricsScraper(HttpClient http, Uri metricsUrl, TimeSpan interval, TimeProvider time) : IAsyncDisposable
{
    private readonly List<ServerMetricsSample> _samples = [];
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    /// <summary>The scrapes so far, in time order (a copy).</summary>
    public IReadOnlyList<ServerMetricsSample> Samples
    {
        get
        {
            lock (_samples) return [.. _samples];
        }
    }

    /// <summary>Scrapes that failed or found no vLLM metrics.</summary>
    public int Failures { get; private set; }

    /// <summary>Scrapes once now: the sample, or null with the reason when the endpoint does not serve vLLM's metrics.</summary>
    public async Task<(ServerMetricsSample? Sample, string Reason)> ScrapeAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var response = await http.GetAsync(metricsUrl, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode) return (null, $"{metricsUrl} answered HTTP {(int)response.StatusCode}");
            var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            var sample = ServerMetricsSample.Parse(text, time.GetTimestamp());
            return sample is null ? (null, $"{metricsUrl} serves no vLLM metrics (vllm:num_requests_running, vllm:generation_tokens_total)") : (sample, "");
        }
        catch (Exception e) when (e is HttpRequestException or IOException || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            // A timeout of the HTTP client, not our stop: a failed scrape.
            return (null, $"{metricsUrl} did not answer: {e.Message}");
        }
    }

    private int _disposed;

    public void Start() => _loop = Task.Run(Loop);

    /// <summary>Stops scraping; safe to call more than once (the session stops it when the load ends, its owner at the end).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            try
            {
                await _loop.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }
        _stop.Dispose();
    }

    private async Task Loop()
    {
        using var timer = new PeriodicTimer(interval, time);
        do
        {
            var (sample, _) = await ScrapeAsync(_stop.Token).ConfigureAwait(false);
            if (sample is null) Failures++;
            else lock (_samples) _samples.Add(sample);
        }
        while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false));
    }
}
