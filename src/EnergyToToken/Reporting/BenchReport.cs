using System.Globalization;
using System.Reflection;
using System.Text.Json;
using EnergyToToken.Load;
using static EnergyToToken.Reporting.EnergyReport;
using static EnergyToToken.Reporting.ModelReport;

namespace EnergyToToken.Reporting;

/// <summary>One run of a bench, ready to report: what was planned, what was measured, and the judgement.</summary>
/// <param name="Point">The sweep or search parameter and its value for this run; null for a single run.</param>
public sealed record BenchRun(BenchPlan Plan, BenchResult Result, RunMetrics Metrics, BenchVerdict Verdict, DateTimeOffset StartedUtc, (string Parameter, double Value)? Point = null)
{
    /// <summary>Gross J per output token when it may be reported; null otherwise.</summary>
    public double? JoulesPerOutputToken => Verdict.JoulesPerTokenReported && Metrics.OutputTokens > 0 ? Result.Energy!.Total.Joules / Metrics.OutputTokens : null;

    public double? DynamicJoulesPerOutputToken => Verdict.JoulesPerTokenReported && Metrics.OutputTokens > 0 ? Result.Energy!.DynamicJoules / Metrics.OutputTokens : null;
}

/// <summary>The highest load that met the SLO, from a search or a sweep: the saturated throughput R_sat at s*.</summary>
public sealed record Saturation(string Parameter, double Value, double OutputTokensPerSecond, double GoodputRequestsPerSecond);

/// <summary>
/// A bench's <c>result.json</c> (<c>kind: e2t.bench</c>, schema version 1, documented in docs/load.md): camelCase;
/// times in s unless the name says ms; energies in J; unknown numbers null.
/// </summary>
public static class BenchReport
{
    public static string ToolVersion { get; } =
        typeof(BenchReport).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    /// <summary>The result of one run.</summary>
    public static string Json(BenchRun run) => Write(w =>
    {
        Header(w, "e2t.bench");
        w.WriteString("toolVersion", ToolVersion);
        RunBody(w, run);
        w.WriteEndObject();
    });

    /// <summary>The result of a sweep or an SLO search: each point, the series, and the saturation point when an SLO was given.</summary>
    public static string SeriesJson(string name, string parameter, IReadOnlyList<(BenchRun Run, string Directory)> points, Saturation? saturation, bool complete) => Write(w =>
    {
        Header(w, "e2t.bench.series");
        w.WriteString("toolVersion", ToolVersion);
        w.WriteString("name", name);
        w.WriteString("parameter", parameter);
        w.WriteBoolean("complete", complete);
        w.WriteStartArray("points");
        foreach (var (run, directory) in points)
        {
            w.WriteStartObject();
            Number(w, "value", run.Point?.Value);
            w.WriteString("directory", directory);
            w.WriteBoolean("valid", run.Verdict.Valid);
            w.WriteBoolean("sloMet", run.Metrics.SloMet);
            Number(w, "outputTokensPerSecond", run.Metrics.OutputTokensPerSecond);
            Number(w, "goodputRequestsPerSecond", run.Metrics.GoodputRequestsPerSecond);
            Number(w, "joulesPerOutputToken", run.JoulesPerOutputToken);
            Number(w, "ttftP99Ms", run.Metrics.Ttft?.P99 * 1000);
            Number(w, "tpotP99Ms", run.Metrics.Tpot?.P99 * 1000);
            Number(w, "errorRate", run.Metrics.ErrorRate);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        if (saturation is { } s)
        {
            w.WriteStartObject("saturation");
            w.WriteString("parameter", s.Parameter);
            Number(w, "value", s.Value);
            Number(w, "outputTokensPerSecond", s.OutputTokensPerSecond);
            Number(w, "goodputRequestsPerSecond", s.GoodputRequestsPerSecond);
            w.WriteEndObject();
        }
        else
        {
            w.WriteNull("saturation");
        }
        w.WriteEndObject();
    });

    private static void RunBody(Utf8JsonWriter w, BenchRun run)
    {
        var (plan, result, m, verdict) = (run.Plan, run.Result, run.Metrics, run.Verdict);
        w.WriteString("name", plan.Name);
        w.WriteString("startedUtc", run.StartedUtc.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
        w.WriteBoolean("complete", result.Complete);
        w.WriteBoolean("valid", verdict.Valid);
        Strings(w, "problems", verdict.Problems);
        Strings(w, "notes", verdict.Notes);
        w.WriteBoolean("simulated", plan.Target.Simulated);
        if (run.Point is { } point)
        {
            w.WriteStartObject("point");
            w.WriteString("parameter", point.Parameter);
            w.WriteNumber("value", point.Value);
            w.WriteEndObject();
        }

        w.WriteStartObject("target");
        w.WriteString("endpoint", plan.Target.Endpoint.ToString());
        w.WriteString("model", plan.Target.Model);
        w.WriteString("api", Camel(plan.Target.Api));
        if (plan.Target.TwinProfile is { } profile) w.WriteString("twinProfile", profile);
        else w.WriteNull("twinProfile");
        w.WriteEndObject();

        var workload = plan.Workload;
        w.WriteStartObject("workload");
        w.WriteString("inputTokens", workload.Dataset is null ? workload.InputTokens.Text : null);
        w.WriteString("outputTokens", workload.OutputTokens.Text);
        w.WriteBoolean("fixedOutput", workload.FixedOutput);
        w.WriteNumber("sharedPrefixTokens", workload.SharedPrefixTokens);
        w.WriteNumber("warmupRequests", workload.WarmupRequests);
        w.WriteNumber("seed", workload.Seed);
        w.WriteString("dataset", workload.Dataset?.Path);
        w.WriteString("datasetFormat", workload.Dataset is { } d ? Camel(d.Format) : null);
        Number(w, "drainSeconds", workload.Drain.TotalSeconds);
        w.WriteEndObject();

        var arrivals = plan.Arrivals;
        w.WriteStartObject("arrivals");
        w.WriteString("kind", Camel(arrivals.Kind));
        if (arrivals.Kind == ArrivalKind.Closed) w.WriteNumber("concurrency", arrivals.Concurrency);
        else if (arrivals.Kind != ArrivalKind.Trace) w.WriteNumber("rate", arrivals.Rate);
        Number(w, "rampTo", arrivals.RampTo);
        if (arrivals.Kind == ArrivalKind.Gamma) w.WriteNumber("burstiness", arrivals.Burstiness);
        if (arrivals.Kind == ArrivalKind.Trace) w.WriteNumber("traceSpeed", arrivals.TraceSpeed);
        Number(w, "count", arrivals.Count);
        Number(w, "durationSeconds", arrivals.Duration?.TotalSeconds);
        w.WriteEndObject();

        w.WriteStartObject("window");
        w.WriteNumber("fromSeconds", result.WindowFromSeconds);
        w.WriteNumber("toSeconds", result.WindowToSeconds);
        w.WriteNumber("seconds", m.WindowSeconds);
        w.WriteEndObject();

        w.WriteStartObject("requests");
        w.WriteNumber("issued", m.Issued);
        w.WriteNumber("warmup", m.WarmupRequests);
        w.WriteNumber("measured", m.MeasuredRequests);
        w.WriteStartObject("states");
        foreach (var (state, count) in m.States) w.WriteNumber(Camel(state), count);
        w.WriteEndObject();
        Number(w, "errorRate", m.ErrorRate);
        w.WriteNumber("usageFallback", m.UsageFallbackRequests);
        w.WriteEndObject();

        w.WriteStartObject("metrics");
        w.WriteStartObject("joulesPerOutputToken");
        Number(w, "gross", run.JoulesPerOutputToken);
        Number(w, "dynamic", run.DynamicJoulesPerOutputToken);
        w.WriteEndObject();
        var total = m.InputTokens + m.OutputTokens;
        w.WriteStartObject("joulesPerTotalToken");
        Number(w, "gross", run.JoulesPerOutputToken is not null && total > 0 ? result.Energy!.Total.Joules / total : null);
        Number(w, "dynamic", run.JoulesPerOutputToken is not null && total > 0 ? result.Energy!.DynamicJoules / total : null);
        w.WriteEndObject();
        w.WriteNumber("inputTokens", m.InputTokens);
        w.WriteNumber("outputTokens", m.OutputTokens);
        w.WriteNumber("reasoningTokens", m.ReasoningTokens);
        Number(w, "outputTokensPerSecond", m.OutputTokensPerSecond);
        Number(w, "inputTokensPerSecond", m.InputTokensPerSecond);
        Number(w, "requestsPerSecond", m.RequestsPerSecond);
        Number(w, "goodputRequestsPerSecond", m.GoodputRequestsPerSecond);
        w.WriteStartObject("latency");
        Latency(w, "ttftMs", m.Ttft);
        Latency(w, "tpotMs", m.Tpot);
        Latency(w, "itlMs", m.Itl);
        Latency(w, "e2eMs", m.E2e);
        Latency(w, "scheduleLagMs", m.ScheduleLag);
        w.WriteEndObject();
        w.WriteEndObject();

        if (plan.Slo is { } slo)
        {
            w.WriteStartObject("slo");
            w.WriteString("spec", slo.ToString());
            w.WriteBoolean("met", m.SloMet);
            w.WriteStartArray("targets");
            foreach (var c in m.SloChecks)
            {
                w.WriteStartObject();
                w.WriteString("metric", c.Target.Metric);
                w.WriteString("statistic", c.Target.Statistic);
                w.WriteNumber("limitMs", c.Target.LimitSeconds * 1000);
                Number(w, "valueMs", c.Value * 1000);
                w.WriteBoolean("met", c.Met);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        else
        {
            w.WriteNull("slo");
        }

        w.WriteStartObject("client");
        Number(w, "cpuShare", result.ClientCpuShare);
        w.WriteBoolean("clientLimited", result.ClientLimited);
        w.WriteNumber("logicalCores", Environment.ProcessorCount);
        w.WriteEndObject();

        w.WriteStartObject("serverMetrics");
        var samples = result.ServerMetrics;
        w.WriteNumber("samples", samples.Count);
        Number(w, "meanRunning", samples.Count > 0 ? samples.Average(s => s.Running) : null);
        Number(w, "maxWaiting", samples.Count > 0 ? samples.Max(s => s.Waiting) : null);
        Number(w, "maxKvCacheUsage", samples.Count > 0 ? samples.Max(s => s.KvCacheUsage) : null);
        Number(w, "preemptions", samples.Count > 1 ? samples[^1].Preemptions - samples[0].Preemptions : null);
        w.WriteEndObject();

        if (result.Energy is { } energy)
        {
            w.WriteStartObject("energy");
            Energy(w, energy, verdict.JoulesPerTokenReported ? m.OutputTokens : null);
            w.WriteEndObject();
        }
        else
        {
            w.WriteNull("energy");
        }
    }

    private static void Latency(Utf8JsonWriter w, string name, Stats? s)
    {
        if (s is null)
        {
            w.WriteNull(name);
            return;
        }
        w.WriteStartObject(name);
        w.WriteNumber("count", s.Count);
        foreach (var (key, value) in new[] { ("mean", s.Mean), ("std", s.Std), ("min", s.Min), ("p50", s.P50), ("p90", s.P90), ("p95", s.P95), ("p99", s.P99), ("p99_9", s.P999), ("max", s.Max) })
            Number(w, key, value * 1000);
        w.WriteEndObject();
    }
}
