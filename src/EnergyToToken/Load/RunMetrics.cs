using System.Globalization;

namespace EnergyToToken.Load;

/// <summary>
/// Exact statistics of a sample: mean, standard deviation (population), min, max and percentiles by linear
/// interpolation between order statistics (numpy's default), so p50 of an even count is the midpoint.
/// </summary>
public sealed record Stats(int Count, double Mean, double Std, double Min, double P50, double P90, double P95, double P99, double P999, double Max)
{
    /// <summary>The statistics of <paramref name="values"/> (sorted in place); null for an empty sample.</summary>
    public static Stats? Of(List<double> values)
    {
        if (values.Count == 0) return null;
        values.Sort();
        var mean = values.Average();
        var std = Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / values.Count);
        return new Stats(values.Count, mean, std, values[0], Percentile(values, 0.5), Percentile(values, 0.9), Percentile(values, 0.95),
            Percentile(values, 0.99), Percentile(values, 0.999), values[^1]);
    }

    public static double Percentile(IReadOnlyList<double> sorted, double q)
    {
        var position = q * (sorted.Count - 1);
        var lo = (int)Math.Floor(position);
        var hi = Math.Min(sorted.Count - 1, lo + 1);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (position - lo);
    }

    /// <summary>One statistic by its SLO name: mean, p50, p90, p95, p99, p99.9 or max.</summary>
    public double Get(string statistic) => statistic switch
    {
        "mean" => Mean,
        "p50" => P50,
        "p90" => P90,
        "p95" => P95,
        "p99" => P99,
        "p99.9" => P999,
        "max" => Max,
        _ => throw new ArgumentOutOfRangeException(nameof(statistic), statistic, null),
    };
}

/// <summary>One target of a latency SLO, e.g. <c>ttft-p99=500ms</c>: the metric's statistic must not exceed the limit.</summary>
public sealed record SloTarget(string Metric, string Statistic, double LimitSeconds)
{
    public override string ToString() => $"{Metric}-{Statistic}={LimitSeconds * 1000:0.###}ms";
}

/// <summary>
/// The latency part of the operating point s*: targets on TTFT, TPOT, ITL or E2E statistics. A run meets it when every
/// target holds; a request counts toward goodput when its own TTFT, TPOT and E2E are within every limit named for them
/// (DistServe's definition; ITL targets apply to the run, not to single requests).
/// </summary>
public sealed record Slo(IReadOnlyList<SloTarget> Targets)
{
    public static readonly string[] Metrics = ["ttft", "tpot", "itl", "e2e"];
    public static readonly string[] Statistics = ["mean", "p50", "p90", "p95", "p99", "p99.9", "max"];

    public override string ToString() => string.Join(',', Targets);

    /// <summary>Parses <c>ttft-p99=500ms,tpot-p99=50ms,e2e-p90=20s</c>; every problem is listed at once.</summary>
    public static Slo Parse(string text)
    {
        var targets = new List<SloTarget>();
        var errors = new List<string>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            var dash = eq < 0 ? -1 : part.IndexOf('-', StringComparison.Ordinal);
            if (eq < 0 || dash < 0 || dash > eq)
            {
                errors.Add($"SLO target '{part}' is not METRIC-STATISTIC=LIMIT, e.g. ttft-p99=500ms.");
                continue;
            }
            var metric = part[..dash];
            var statistic = part[(dash + 1)..eq];
            var limit = part[(eq + 1)..];
            if (!Metrics.Contains(metric)) errors.Add($"SLO metric '{metric}' in '{part}' is not one of {string.Join(", ", Metrics)}.");
            if (!Statistics.Contains(statistic)) errors.Add($"SLO statistic '{statistic}' in '{part}' is not one of {string.Join(", ", Statistics)}.");
            if (Seconds(limit) is not { } seconds) errors.Add($"SLO limit '{limit}' in '{part}' is not a positive time such as 500ms, 0.5s or 2s.");
            else targets.Add(new SloTarget(metric, statistic, seconds));
        }
        if (targets.Count == 0 && errors.Count == 0) errors.Add("The SLO is empty: write targets such as ttft-p99=500ms,tpot-p99=50ms.");
        if (errors.Count > 0) throw new EnergyToTokenException(string.Join(Environment.NewLine, errors));
        return new Slo(targets);
    }

    private static double? Seconds(string text)
    {
        var (number, scale) = text.EndsWith("ms", StringComparison.Ordinal) ? (text[..^2], 1e-3)
            : text.EndsWith("us", StringComparison.Ordinal) || text.EndsWith("µs", StringComparison.Ordinal) ? (text[..^2], 1e-6)
            : text.EndsWith('s') ? (text[..^1], 1.0)
            : (text, double.NaN);
        return double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && n > 0 && double.IsFinite(n * scale) ? n * scale : null;
    }
}

/// <summary>Whether a run met each SLO target: the statistic it reached against the limit.</summary>
public sealed record SloCheck(SloTarget Target, double Value, bool Met);

/// <summary>
/// A run's counts, throughput and latency, each by measurement.md §1's one formula, from the raw per-chunk times on the
/// run's clock. Latency counts from each request's scheduled send time; only measured (not warm-up) requests that ended
/// <see cref="TerminalState.Ok"/> enter latency statistics; every measured request's tokens enter throughput.
/// </summary>
public sealed record RunMetrics(
    int Issued,
    int WarmupRequests,
    int MeasuredRequests,
    IReadOnlyDictionary<TerminalState, int> States,
    double WindowSeconds,
    long InputTokens,
    long OutputTokens,
    long ReasoningTokens,
    int UsageFallbackRequests,
    double OutputTokensPerSecond,
    double InputTokensPerSecond,
    double RequestsPerSecond,
    Stats? Ttft,
    Stats? Tpot,
    Stats? Itl,
    Stats? E2e,
    Stats? ScheduleLag,
    double? GoodputRequestsPerSecond,
    IReadOnlyList<SloCheck> SloChecks)
{
    /// <summary>Failed measured requests (any state but ok) ÷ measured requests.</summary>
    public double ErrorRate => MeasuredRequests == 0 ? 0 : (MeasuredRequests - States.GetValueOrDefault(TerminalState.Ok)) / (double)MeasuredRequests;

    /// <summary>True when every SLO target held (vacuously with no SLO).</summary>
    public bool SloMet => SloChecks.All(c => c.Met);

    public Stats? Get(string metric) => metric switch
    {
        "ttft" => Ttft,
        "tpot" => Tpot,
        "itl" => Itl,
        "e2e" => E2e,
        _ => null,
    };

    public static RunMetrics Compute(IReadOnlyList<RunRequest> requests, RunClock clock, double windowSeconds, Slo? slo = null)
    {
        var states = Enum.GetValues<TerminalState>().ToDictionary(s => s, _ => 0);
        List<double> ttft = [], tpot = [], itl = [], e2e = [], lag = [];
        long input = 0, output = 0, reasoning = 0;
        int measured = 0, fallback = 0, good = 0;
        foreach (var r in requests)
        {
            if (r.Warmup) continue;
            measured++;
            var record = r.Record;
            states[record.State]++;
            input += record.PromptTokens ?? r.InputTokens;
            output += record.OutputTokens;
            reasoning += record.ReasoningTokens;
            if (!record.UsageFromServer && record.OutputChunkTimestamps.Count > 0) fallback++;
            lag.Add(clock.Seconds(record.SentTimestamp) - clock.Seconds(r.ScheduledTimestamp));
            var chunks = record.OutputChunkTimestamps;
            if (record.State != TerminalState.Ok || chunks.Count == 0) continue;
            var scheduled = clock.Seconds(r.ScheduledTimestamp);
            var first = clock.Seconds(chunks[0]) - scheduled;
            var last = clock.Seconds(chunks[^1]) - scheduled;
            ttft.Add(first);
            e2e.Add(last);
            double? perToken = record.OutputTokens > 1 ? (last - first) / (record.OutputTokens - 1) : null;
            if (perToken is { } t) tpot.Add(t);
            for (var k = 1; k < chunks.Count; k++) itl.Add((double)(chunks[k] - chunks[k - 1]) / clock.Frequency);
            if (slo is not null && Within(slo, "ttft", first) && Within(slo, "e2e", last) && (perToken is null || Within(slo, "tpot", perToken.Value))) good++;
        }
        var window = windowSeconds > 0 ? windowSeconds : double.NaN;
        var metrics = new RunMetrics(requests.Count, requests.Count - measured, measured, states, windowSeconds, input, output, reasoning, fallback,
            output / window, input / window, measured / window, Stats.Of(ttft), Stats.Of(tpot), Stats.Of(itl), Stats.Of(e2e), Stats.Of(lag),
            slo is null ? null : good / window, []);
        if (slo is null) return metrics;
        var checks = slo.Targets.Select(t => metrics.Get(t.Metric) is { } s
            ? new SloCheck(t, s.Get(t.Statistic), s.Get(t.Statistic) <= t.LimitSeconds)
            : new SloCheck(t, double.NaN, false)).ToList();
        return metrics with { SloChecks = checks };
    }

    private static bool Within(Slo slo, string metric, double seconds) =>
        slo.Targets.Where(t => t.Metric == metric).All(t => seconds <= t.LimitSeconds);
}
