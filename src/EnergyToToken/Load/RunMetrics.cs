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

    public static RunMetrics Compute(IReadOnlyList<RunRequest> requests, RunClock clock, double windowSeconds, Slo? slo = null) =>
        Compute(RequestTimeline.From(requests, clock), windowSeconds, slo);

    public static RunMetrics Compute(RequestTimeline t, double windowSeconds, Slo? slo = null)
    {
        var states = Enum.GetValues<TerminalState>().ToDictionary(s => s, _ => 0);
        List<double> ttft = [], tpot = [], e2e = [], lag = [];
        var gaps = 0L;
        for (var r = 0; r < t.Count; r++) gaps += Math.Max(0, t.ChunkCount(r) - 1);
        var itl = new ItlSample(gaps);
        long input = 0, output = 0, reasoning = 0;
        int measured = 0, fallback = 0, good = 0;
        for (var r = 0; r < t.Count; r++)
        {
            if (t.Warmup[r]) continue;
            measured++;
            states[t.State[r]]++;
            input += t.InputTokens(r);
            output += t.OutputTokens[r];
            reasoning += t.ReasoningTokens[r];
            var chunks = t.Chunks(r);
            if (!t.UsageFromServer[r] && chunks.Length > 0) fallback++;
            lag.Add(t.Sent[r] - t.Scheduled[r]);
            if (Latency(t, r) is not var (first, last, perToken)) continue;
            ttft.Add(first);
            e2e.Add(last);
            if (perToken is { } pt) tpot.Add(pt);
            itl.AddGaps(chunks);
            if (slo is not null && Within(slo, "ttft", first) && Within(slo, "e2e", last) && (perToken is null || Within(slo, "tpot", perToken.Value))) good++;
        }
        var window = windowSeconds > 0 ? windowSeconds : double.NaN;
        var metrics = new RunMetrics(t.Count, t.Count - measured, measured, states, windowSeconds, input, output, reasoning, fallback,
            output / window, input / window, measured / window, Stats.Of(ttft), Stats.Of(tpot), itl.Stats(), Stats.Of(e2e), Stats.Of(lag),
            slo is null ? null : good / window, []);
        if (slo is null) return metrics;
        var checks = slo.Targets.Select(target => metrics.Get(target.Metric) is { } s
            ? new SloCheck(target, s.Get(target.Statistic), s.Get(target.Statistic) <= target.LimitSeconds)
            : new SloCheck(target, double.NaN, false)).ToList();
        return metrics with { SloChecks = checks };
    }

    /// <summary>
    /// One request's TTFT (scheduled send → first chunk), E2E (scheduled send → last chunk) and TPOT ((E2E − TTFT) ÷
    /// (output tokens − 1), null for a single token), in s; null for a request that failed or streamed nothing.
    /// </summary>
    internal static (double Ttft, double E2e, double? Tpot)? Latency(RequestTimeline t, int r)
    {
        var chunks = t.Chunks(r);
        if (t.State[r] != TerminalState.Ok || chunks.Length == 0) return null;
        var first = chunks[0] - t.Scheduled[r];
        var last = chunks[^1] - t.Scheduled[r];
        return (first, last, t.OutputTokens[r] > 1 ? (last - first) / (t.OutputTokens[r] - 1) : null);
    }

    private static bool Within(Slo slo, string metric, double seconds) =>
        slo.Targets.Where(t => t.Metric == metric).All(t => seconds <= t.LimitSeconds);
}

/// <summary>
/// Inter-token gaps pooled over a run's requests. Up to <see cref="ExactLimit"/> gaps are kept and their statistics are
/// exact; beyond that (a long trace's hundreds of millions of gaps would cost gigabytes to keep and sort) they go into
/// a log-spaced histogram whose buckets are 0.2 % wide, so each percentile is within 0.1 % of the exact one
/// (measurement.md §1); mean, std, min and max stay exact from running sums. Gaps under 100 ns count as 0.
/// </summary>
internal sealed class ItlSample
{
    public const long ExactLimit = 16_000_000;
    private const double Floor = 1e-7;
    private const double Ratio = 1.002;
    private static readonly double LogRatio = Math.Log(Ratio);
    private static readonly int Buckets = (int)Math.Ceiling(Math.Log(1e5 / Floor) / LogRatio) + 2;

    private readonly List<double>? _values;
    private readonly long[]? _histogram;
    private long _count;
    private double _sum;
    private double _sumSquares;
    private double _min = double.PositiveInfinity;
    private double _max = double.NegativeInfinity;

    /// <param name="exactLimit">Gaps kept exactly at most (tests lower it to exercise the histogram).</param>
    public ItlSample(long expected, long exactLimit = ExactLimit)
    {
        if (expected <= exactLimit) _values = new List<double>((int)expected);
        else _histogram = new long[Buckets];
    }

    public void Add(double gap)
    {
        if (_values is not null)
        {
            _values.Add(gap);
            return;
        }
        _count++;
        _sum += gap;
        _sumSquares += gap * gap;
        _min = Math.Min(_min, gap);
        _max = Math.Max(_max, gap);
        _histogram![Bucket(gap)]++;
    }

    /// <summary>
    /// <see cref="Add"/> for every gap between consecutive <paramref name="chunks"/>, with the running sums held in locals
    /// over the request rather than read and written back in the object per gap: the same additions in the same order.
    /// </summary>
    public void AddGaps(ReadOnlySpan<double> chunks)
    {
        if (_values is not null)
        {
            for (var k = 1; k < chunks.Length; k++) _values.Add(chunks[k] - chunks[k - 1]);
            return;
        }
        var (count, sum, sumSquares, min, max) = (_count, _sum, _sumSquares, _min, _max);
        var histogram = _histogram!;
        for (var k = 1; k < chunks.Length; k++)
        {
            var gap = chunks[k] - chunks[k - 1];
            count++;
            sum += gap;
            sumSquares += gap * gap;
            min = Math.Min(min, gap);
            max = Math.Max(max, gap);
            histogram[Bucket(gap)]++;
        }
        (_count, _sum, _sumSquares, _min, _max) = (count, sum, sumSquares, min, max);
    }

    public Stats? Stats()
    {
        if (_values is not null) return Load.Stats.Of(_values);
        if (_count == 0) return null;
        var mean = _sum / _count;
        var std = Math.Sqrt(Math.Max(0, _sumSquares / _count - mean * mean));
        return new Stats((int)Math.Min(int.MaxValue, _count), mean, std, _min, Percentile(0.5), Percentile(0.9), Percentile(0.95), Percentile(0.99), Percentile(0.999), _max);
    }

    private static int Bucket(double gap) => gap < Floor ? 0 : Math.Min(Buckets - 1, 1 + (int)(Math.Log(gap / Floor) / LogRatio));

    /// <summary>The bucket's geometric middle, clamped to what was seen.</summary>
    private double Value(int bucket) => bucket == 0 ? Math.Max(0, Math.Min(_min, Floor)) : Math.Clamp(Floor * Math.Pow(Ratio, bucket - 0.5), _min, _max);

    /// <summary>Linear interpolation between order statistics, as <see cref="Load.Stats.Percentile"/>, on bucket values.</summary>
    private double Percentile(double q)
    {
        var position = q * (_count - 1);
        var lo = (long)Math.Floor(position);
        var hi = Math.Min(_count - 1, lo + 1);
        double a = double.NaN, b = double.NaN;
        long seen = 0;
        for (var k = 0; k < _histogram!.Length && double.IsNaN(b); k++)
        {
            seen += _histogram[k];
            if (double.IsNaN(a) && seen > lo) a = Value(k);
            if (seen > hi) b = Value(k);
        }
        return a + (b - a) * (position - lo);
    }
}
