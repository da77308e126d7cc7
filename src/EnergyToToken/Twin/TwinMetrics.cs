using System.Globalization;
using System.Text;

namespace EnergyToToken.Twin;

/// <summary>A Prometheus histogram with fixed buckets; observations and scrapes are serialized so a scrape is consistent.</summary>
internal sealed class Histogram(string name, string help, double[] bounds)
{
    private readonly long[] _counts = new long[bounds.Length + 1];
    private readonly object _gate = new();
    private double _sum;

    public void Observe(double value)
    {
        var i = Array.BinarySearch(bounds, value);
        if (i < 0) i = ~i; // first bound ≥ value: buckets are "less than or equal"
        lock (_gate)
        {
            _counts[i]++;
            _sum += value;
        }
    }

    public void Write(StringBuilder text, string labels)
    {
        text.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n');
        text.Append("# TYPE ").Append(name).Append(" histogram\n");
        lock (_gate)
        {
            long cumulative = 0;
            for (var i = 0; i <= bounds.Length; i++)
            {
                cumulative += _counts[i];
                var le = i < bounds.Length ? bounds[i].ToString("R", CultureInfo.InvariantCulture) : "+Inf";
                text.Append(name).Append("_bucket{").Append(labels).Append(labels.Length > 0 ? "," : "").Append("le=\"").Append(le).Append("\"} ").Append(cumulative).Append('\n');
            }
            var braces = labels.Length > 0 ? "{" + labels + "}" : "";
            text.Append(name).Append("_sum").Append(braces).Append(' ').Append(_sum.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
            text.Append(name).Append("_count").Append(braces).Append(' ').Append(cumulative).Append('\n');
        }
    }
}

/// <summary>
/// The twin's serving metrics under vLLM's V1 names (labels <c>model_name</c> and <c>engine</c>, vLLM's buckets), so a
/// tool that scrapes vLLM scrapes the twin unchanged. Latencies are the engine's: arrival to first token produced,
/// between tokens produced, arrival to finish.
/// </summary>
internal sealed class TwinMetrics
{
    private static readonly double[] TtftBuckets = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0];
    private static readonly double[] ItlBuckets = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0];
    private static readonly double[] E2eBuckets = [0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0];

    private readonly long[] _finished = new long[3];
    private readonly long[] _faults = new long[Enum.GetValues<TwinFault>().Length];
    private long _promptTokens;
    private long _generationTokens;
    private long _rejected;
    private long _contextTokens;

    public Histogram TimeToFirstToken { get; } = new("vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.", TtftBuckets);

    public Histogram InterTokenLatency { get; } = new("vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.", ItlBuckets);

    public Histogram EndToEndLatency { get; } = new("vllm:e2e_request_latency_seconds", "Histogram of e2e request latency in seconds.", E2eBuckets);

    public long PromptTokens => Interlocked.Read(ref _promptTokens);

    public long GenerationTokens => Interlocked.Read(ref _generationTokens);

    public long Finished(FinishReason reason) => Interlocked.Read(ref _finished[(int)reason]);

    public long Faults(TwinFault fault) => Interlocked.Read(ref _faults[(int)fault]);

    public long Rejected => Interlocked.Read(ref _rejected);

    public void AddPromptTokens(int tokens) => Interlocked.Add(ref _promptTokens, tokens);

    public void AddGenerationToken() => Interlocked.Increment(ref _generationTokens);

    /// <summary>The context each generated token saw, summed (prompt plus the tokens before it), for κ at the mean context of e2t's live figures.</summary>
    public long ContextTokens => Interlocked.Read(ref _contextTokens);

    public void AddContext(int tokens) => Interlocked.Add(ref _contextTokens, tokens);

    public void AddFinished(FinishReason reason) => Interlocked.Increment(ref _finished[(int)reason]);

    public void AddFault(TwinFault fault) => Interlocked.Increment(ref _faults[(int)fault]);

    public void AddRejected() => Interlocked.Increment(ref _rejected);

    public string Render(TwinRuntime runtime, string modelName)
    {
        var labels = $"engine=\"0\",model_name=\"{modelName}\"";
        var text = new StringBuilder(8192);
        Gauge(text, "vllm:num_requests_running", "Number of requests in model execution batches.", labels, runtime.Running);
        Gauge(text, "vllm:num_requests_waiting", "Number of requests waiting to be processed.", labels, runtime.Waiting);
        Gauge(text, "vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", labels, runtime.KvUsage);
        Gauge(text, "vllm:gpu_cache_usage_perc", "GPU KV-cache usage. 1 means 100 percent usage (deprecated name, kept for older clients).", labels, runtime.KvUsage);
        Counter(text, "vllm:prompt_tokens_total", "Number of prefill tokens processed.", labels, PromptTokens);
        Counter(text, "vllm:generation_tokens_total", "Number of generation tokens processed.", labels, GenerationTokens);
        Counter(text, "vllm:num_preemptions_total", "Cumulative number of preemption from the engine.", labels, runtime.Preemptions);
        Counter(text, "vllm:prefix_cache_queries_total", "Prefix cache queries, in terms of number of queried tokens.", labels, runtime.PrefixQueryTokens);
        Counter(text, "vllm:prefix_cache_hits_total", "Prefix cache hits, in terms of number of cached tokens.", labels, runtime.PrefixHitTokens);
        text.Append("# HELP vllm:request_success_total Count of successfully processed requests.\n# TYPE vllm:request_success_total counter\n");
        foreach (var reason in Enum.GetValues<FinishReason>())
        {
            text.Append("vllm:request_success_total{").Append(labels).Append(",finished_reason=\"").Append(reason.ToString().ToLowerInvariant())
                .Append("\"} ").Append(Finished(reason)).Append('\n');
        }
        TimeToFirstToken.Write(text, labels);
        InterTokenLatency.Write(text, labels);
        EndToEndLatency.Write(text, labels);
        text.Append("# HELP e2t_twin_faults_injected_total Faults the twin injected, by kind.\n# TYPE e2t_twin_faults_injected_total counter\n");
        foreach (var fault in Enum.GetValues<TwinFault>())
            text.Append("e2t_twin_faults_injected_total{fault=\"").Append(FaultName(fault)).Append("\"} ").Append(Faults(fault)).Append('\n');
        Counter(text, "e2t_twin_rejected_requests_total", "Requests refused with 429 because the waiting queue was full.", "", Rejected);
        Counter(text, "e2t_twin_steps_total", "Engine steps run.", "", runtime.Steps);
        runtime.Lateness.Write(text, "");
        Gauge(text, "e2t_twin_simulated", "1: this server is the e2t twin; its figures are simulated.", "", 1);
        return text.ToString();
    }

    /// <summary>The device sensors in the DCGM exporter's format and names (energy in mJ since "boot", power in W, SM activity as a ratio).</summary>
    public static string RenderDcgm(TwinSensors sensors, double now)
    {
        var text = new StringBuilder(2048);
        var joules = sensors.CounterJoules(now);
        var active = sensors.SmActive(now);
        text.Append("# HELP DCGM_FI_DEV_POWER_USAGE Power draw (in W).\n# TYPE DCGM_FI_DEV_POWER_USAGE gauge\n");
        for (var d = 0; d < sensors.Devices; d++)
            text.Append("DCGM_FI_DEV_POWER_USAGE{").Append(DcgmLabels(sensors, d)).Append("} ").Append(sensors.Watts(now).ToString("0.000000", CultureInfo.InvariantCulture)).Append('\n');
        text.Append("# HELP DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION Total energy consumption since boot (in mJ).\n# TYPE DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION counter\n");
        for (var d = 0; d < sensors.Devices; d++)
            text.Append("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{").Append(DcgmLabels(sensors, d)).Append("} ").Append(Math.Round(joules * 1000).ToString("0", CultureInfo.InvariantCulture)).Append('\n');
        text.Append("# HELP DCGM_FI_PROF_SM_ACTIVE The ratio of cycles an SM has at least 1 warp assigned.\n# TYPE DCGM_FI_PROF_SM_ACTIVE gauge\n");
        for (var d = 0; d < sensors.Devices; d++)
            text.Append("DCGM_FI_PROF_SM_ACTIVE{").Append(DcgmLabels(sensors, d)).Append("} ").Append(active.ToString("0.000000", CultureInfo.InvariantCulture)).Append('\n');
        return text.ToString();
    }

    public static string FaultName(TwinFault fault) => fault switch
    {
        TwinFault.NoDone => "no-done",
        _ => fault.ToString().ToLowerInvariant(),
    };

    private static string DcgmLabels(TwinSensors sensors, int device) =>
        $"gpu=\"{device}\",UUID=\"{sensors.Uuids[device]}\",pci_bus_id=\"00000000:{0x18 + device * 0x10:X2}:00.0\",device=\"nvidia{device}\",modelName=\"{sensors.ModelName}\",Hostname=\"e2t-twin\",e2t_simulated=\"true\"";

    private static void Gauge(StringBuilder text, string name, string help, string labels, double value) =>
        Metering.Prometheus.PrometheusText.AppendFamily(text, name, "gauge", help, [(labels, value)]);

    private static void Counter(StringBuilder text, string name, string help, string labels, long value) =>
        Metering.Prometheus.PrometheusText.AppendFamily(text, name, "counter", help, [(labels, value)]);
}
