using System.Globalization;
using System.Reflection;
using System.Text.Json;
using EnergyToToken.Analysis;
using EnergyToToken.Load;
using static EnergyToToken.Reporting.EnergyReport;
using static EnergyToToken.Reporting.ModelReport;

namespace EnergyToToken.Reporting;

/// <summary>One run of a bench, ready to report: what was planned, what was measured, and its analysis.</summary>
/// <param name="Point">The sweep or search parameter and its value for this run; null for a single run.</param>
public sealed record BenchRun(BenchPlan Plan, BenchResult Result, RunData Data, RunAnalysisResult Analysis, DateTimeOffset StartedUtc, (string Parameter, double Value)? Point = null)
{
    public RunMetrics Metrics => Analysis.Metrics;

    public BenchVerdict Verdict => Analysis.Verdict;

    /// <summary>Gross J per output token over the headline window when it may be reported; null otherwise.</summary>
    public double? JoulesPerOutputToken => Verdict.JoulesPerTokenReported ? Analysis.Headline.GrossJoulesPerOutputToken : null;

    public double? DynamicJoulesPerOutputToken => Verdict.JoulesPerTokenReported ? Analysis.Headline.DynamicJoulesPerOutputToken : null;
}

/// <summary>
/// A bench's <c>result.json</c> (<c>kind: e2t.bench</c>, schema version 1, documented in docs/load.md): camelCase;
/// times in s unless the name says ms; energies in J; unknown numbers null.
/// </summary>
public static class BenchReport
{
    public static string ToolVersion { get; } =
        typeof(BenchReport).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    /// <summary>The result of one run: <c>result.json</c>, from the run's data and its analysis (schema in docs/analysis.md).</summary>
    public static string Json(BenchRun run) => ResultReport.Json(run.Data, run.Analysis);

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
            Number(w, "smActivity", s.SmActivity);
            w.WriteEndObject();
        }
        else
        {
            w.WriteNull("saturation");
        }
        w.WriteEndObject();
    });

    internal static void Latency(Utf8JsonWriter w, string name, Stats? s)
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
