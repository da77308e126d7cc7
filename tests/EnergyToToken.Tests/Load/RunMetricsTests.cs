using EnergyToToken.Load;

namespace EnergyToToken.Tests.Load;

/// <summary>Statistics, SLO parsing and run metrics by measurement.md §1's formulas, on hand-built requests whose answers are worked out by hand.</summary>
public class RunMetricsTests
{
    private const int Precision = 9;

    // One tick is one millisecond.
    private static readonly RunClock Clock = new(0, 1000);

    private static RunRequest Request(int index, long scheduled, long sent, long[] chunks, int outputTokens,
        TerminalState state = TerminalState.Ok, bool warmup = false, int? promptTokens = 100, int drawnInput = 100, bool usage = true)
    {
        var record = new RequestRecord
        {
            State = state,
            SentTimestamp = sent,
            EndTimestamp = chunks.Length > 0 ? chunks[^1] : sent,
            PromptTokens = promptTokens,
            OutputTokens = outputTokens,
            UsageFromServer = usage,
        };
        record.OutputChunkTimestamps.AddRange(chunks);
        return new RunRequest(index, drawnInput, outputTokens, scheduled, warmup, record);
    }

    /// <summary>A warm-up, three that end ok, one HTTP error before any output and one reset after two chunks.</summary>
    private static List<RunRequest> Run() =>
    [
        Request(0, scheduled: 0, sent: 0, [50, 60], 2, warmup: true, promptTokens: 999),
        // TTFT 0.2, E2E 0.3, TPOT 0.1/6, ITL 0.02 0.03 0.05, lag 0.002
        Request(1, scheduled: 100, sent: 102, [300, 320, 350, 400], 7),
        // TTFT 0.05, E2E 0.09, TPOT 0.04/2, ITL 0.04, lag 0
        Request(2, scheduled: 200, sent: 200, [250, 290], 3),
        // TTFT 1, E2E 1, one token: no TPOT and no gap, lag 0.01
        Request(3, scheduled: 300, sent: 310, [1300], 1),
        // failed before output: the drawn input length stands in for the server's count, lag 0.001
        Request(4, scheduled: 400, sent: 401, [], 0, TerminalState.HttpError, promptTokens: null, drawnInput: 50),
        // failed mid-stream: its tokens count, its times do not; no usage, so a fallback count
        Request(5, scheduled: 500, sent: 500, [600, 700], 2, TerminalState.ResetMidstream, usage: false),
    ];

    [Fact]
    public void Stats_of_four_values_interpolate_linearly_between_order_statistics()
    {
        var stats = Stats.Of([4, 1, 3, 2])!;
        Assert.Equal(4, stats.Count);
        Assert.Equal(2.5, stats.Mean, Precision);
        Assert.Equal(Math.Sqrt(1.25), stats.Std, Precision); // population: Σ(x−x̄)²/n = 5/4
        Assert.Equal(1, stats.Min);
        Assert.Equal(2.5, stats.P50, Precision); // midpoint of an even count
        Assert.Equal(3.7, stats.P90, Precision); // numpy.percentile([1,2,3,4], 90)
        Assert.Equal(3.85, stats.P95, Precision);
        Assert.Equal(3.97, stats.P99, Precision);
        Assert.Equal(3.997, stats.P999, Precision);
        Assert.Equal(4, stats.Max);
    }

    [Fact]
    public void Stats_of_five_values_match_numpy()
    {
        var stats = Stats.Of([10, 0, 7, 3, 5])!;
        Assert.Equal(5, stats.Mean, Precision);
        Assert.Equal(Math.Sqrt(58.0 / 5), stats.Std, Precision); // numpy.std: 25+4+0+4+25 over 5
        Assert.Equal(5, stats.P50, Precision);
        Assert.Equal(8.8, stats.P90, Precision); // position 3.6: 7 + 0.6·3
        Assert.Equal(9.4, stats.P95, Precision);
        Assert.Equal(9.88, stats.P99, Precision);
        Assert.Equal(9.988, stats.P999, Precision);
        Assert.Equal(9.88, stats.Get("p99"), Precision);
        Assert.Equal(10, stats.Get("max"));
        Assert.Equal(5, stats.Get("mean"), Precision);
    }

    [Fact]
    public void Stats_of_one_value_are_that_value_and_of_none_are_null()
    {
        var one = Stats.Of([0.25])!;
        Assert.All(new[] { one.Mean, one.Min, one.P50, one.P90, one.P95, one.P99, one.P999, one.Max }, v => Assert.Equal(0.25, v));
        Assert.Equal(0, one.Std);
        Assert.Null(Stats.Of([]));
    }

    [Fact]
    public void Slo_parses_every_metric_and_statistic_with_ms_s_and_us_limits()
    {
        var slo = Slo.Parse("ttft-p99=500ms, tpot-p99=50ms,e2e-p90=2s,itl-p99.9=800us,ttft-mean=250µs,e2e-max=1.5s");
        Assert.Equal(
            [("ttft", "p99", 0.5), ("tpot", "p99", 0.05), ("e2e", "p90", 2.0), ("itl", "p99.9", 0.0008), ("ttft", "mean", 0.00025), ("e2e", "max", 1.5)],
            slo.Targets.Select(t => (t.Metric, t.Statistic, Math.Round(t.LimitSeconds, 12))));
        Assert.Equal("ttft-p99=500ms,tpot-p99=50ms,e2e-p90=2000ms,itl-p99.9=0.8ms,ttft-mean=0.25ms,e2e-max=1500ms", slo.ToString());
    }

    [Fact]
    public void A_bad_slo_lists_every_problem_at_once()
    {
        var e = Assert.Throws<EnergyToTokenException>(() => Slo.Parse("ttft-p98=500ms,power-p99=1s,tpot-p99=fast,e2e-max=5,itl-p50=-3ms,nonsense,ttft-p50=0s"));
        Assert.Contains("'p98'", e.Message);
        Assert.Contains("'power'", e.Message);
        Assert.Contains("'fast'", e.Message);
        Assert.Contains("'5'", e.Message); // a limit needs its unit
        Assert.Contains("'-3ms'", e.Message);
        Assert.Contains("'nonsense'", e.Message);
        Assert.Contains("'0s'", e.Message);
        Assert.Equal(7, e.Message.Split(Environment.NewLine).Length);
        Assert.Contains("empty", Assert.Throws<EnergyToTokenException>(() => Slo.Parse(" , ")).Message);
    }

    [Fact]
    public void Counts_and_throughput_take_every_measured_request_and_leave_out_the_warmup()
    {
        var metrics = RunMetrics.Compute(Run(), Clock, windowSeconds: 2);
        Assert.Equal(6, metrics.Issued);
        Assert.Equal(1, metrics.WarmupRequests);
        Assert.Equal(5, metrics.MeasuredRequests);
        Assert.Equal(3, metrics.States[TerminalState.Ok]);
        Assert.Equal(1, metrics.States[TerminalState.HttpError]);
        Assert.Equal(1, metrics.States[TerminalState.ResetMidstream]);
        Assert.Equal(5, metrics.States.Values.Sum()); // measured = Σ states
        Assert.Equal(0.4, metrics.ErrorRate, Precision);
        Assert.Equal(450, metrics.InputTokens); // 4 × 100 from the server, 50 drawn for the one that never got usage
        Assert.Equal(13, metrics.OutputTokens); // 7 + 3 + 1 + 0 + 2: the reset request's tokens were produced
        Assert.Equal(1, metrics.UsageFallbackRequests);
        Assert.Equal(6.5, metrics.OutputTokensPerSecond, Precision);
        Assert.Equal(225, metrics.InputTokensPerSecond, Precision);
        Assert.Equal(2.5, metrics.RequestsPerSecond, Precision);
    }

    [Fact]
    public void Latency_counts_from_the_scheduled_time_over_ok_requests_only()
    {
        var metrics = RunMetrics.Compute(Run(), Clock, windowSeconds: 2);
        var ttft = metrics.Ttft!;
        Assert.Equal(3, ttft.Count);
        Assert.Equal(0.05, ttft.Min, Precision);
        Assert.Equal(0.2, ttft.P50, Precision);
        Assert.Equal(1.0, ttft.Max, Precision);
        Assert.Equal(1.25 / 3, ttft.Mean, Precision);
        var e2e = metrics.E2e!;
        Assert.Equal(3, e2e.Count);
        Assert.Equal(0.09, e2e.Min, Precision);
        Assert.Equal(0.3, e2e.P50, Precision);
        Assert.Equal(1.0, e2e.Max, Precision);
        // (E2E − TTFT)/(output − 1): 0.1/6 and 0.04/2; the one-token request has none.
        var tpot = metrics.Tpot!;
        Assert.Equal(2, tpot.Count);
        Assert.Equal(0.1 / 6, tpot.Min, Precision);
        Assert.Equal(0.02, tpot.Max, Precision);
        // Gaps pooled over requests: 0.02, 0.03, 0.05 and 0.04; none from the reset request's chunks.
        var itl = metrics.Itl!;
        Assert.Equal(4, itl.Count);
        Assert.Equal(0.035, itl.Mean, Precision);
        Assert.Equal(0.035, itl.P50, Precision);
        Assert.Equal(0.02, itl.Min, Precision);
        Assert.Equal(0.05, itl.Max, Precision);
        // Schedule lag is the sent time's, recorded for every measured request.
        var lag = metrics.ScheduleLag!;
        Assert.Equal(5, lag.Count);
        Assert.Equal(0.013 / 5, lag.Mean, Precision);
        Assert.Equal(0.01, lag.Max, Precision);
    }

    [Fact]
    public void Goodput_counts_requests_within_their_own_limits_and_checks_report_each_target()
    {
        var slo = Slo.Parse("ttft-p50=500ms,tpot-p99=18ms,e2e-max=2s,itl-p50=30ms");
        var metrics = RunMetrics.Compute(Run(), Clock, windowSeconds: 2, slo);
        // Request 1 meets TTFT, TPOT and E2E (ITL targets are the run's, not a request's); request 2's TPOT is 20 ms,
        // request 3's TTFT 1 s; the failed ones never count.
        Assert.Equal(0.5, metrics.GoodputRequestsPerSecond!.Value, Precision);
        Assert.Equal(4, metrics.SloChecks.Count);
        Assert.Equal([true, false, true, false], metrics.SloChecks.Select(c => c.Met));
        Assert.Equal(0.2, metrics.SloChecks[0].Value, Precision);
        Assert.Equal(0.1 / 6 + 0.99 * (0.02 - 0.1 / 6), metrics.SloChecks[1].Value, Precision);
        Assert.Equal(1.0, metrics.SloChecks[2].Value, Precision);
        Assert.Equal(0.035, metrics.SloChecks[3].Value, Precision);
        Assert.False(metrics.SloMet);

        var loose = RunMetrics.Compute(Run(), Clock, windowSeconds: 2, Slo.Parse("ttft-max=2s,tpot-max=1s,e2e-p99=5s"));
        Assert.Equal(1.5, loose.GoodputRequestsPerSecond!.Value, Precision);
        Assert.True(loose.SloMet);
    }

    [Fact]
    public void Without_an_slo_there_is_no_goodput_and_the_run_meets_it_vacuously()
    {
        var metrics = RunMetrics.Compute(Run(), Clock, windowSeconds: 2);
        Assert.Null(metrics.GoodputRequestsPerSecond);
        Assert.Empty(metrics.SloChecks);
        Assert.True(metrics.SloMet);
    }

    [Fact]
    public void A_run_where_every_request_failed_has_no_latency_and_misses_its_slo()
    {
        var metrics = RunMetrics.Compute([Request(0, 0, 1, [], 0, TerminalState.ConnectError), Request(1, 10, 11, [], 0, TerminalState.TimeoutTtft)], Clock, 1, Slo.Parse("ttft-p99=1s"));
        Assert.Null(metrics.Ttft);
        Assert.Null(metrics.Tpot);
        Assert.Null(metrics.Itl);
        Assert.Null(metrics.E2e);
        Assert.Equal(1, metrics.ErrorRate);
        Assert.Equal(0, metrics.GoodputRequestsPerSecond);
        var check = Assert.Single(metrics.SloChecks);
        Assert.False(check.Met);
        Assert.True(double.IsNaN(check.Value));
    }

    [Theory]
    [InlineData(long.MaxValue)]
    [InlineData(0)]
    public void Gaps_added_a_request_at_a_time_give_the_same_statistics_as_gap_by_gap(long exactLimit)
    {
        var random = new Random(5);
        var requests = Enumerable.Range(0, 50).Select(_ =>
        {
            var t = random.NextDouble();
            return Enumerable.Range(0, random.Next(0, 400)).Select(_ => t += Math.Exp(-5 + 3 * random.NextDouble())).ToArray();
        }).ToList();
        var gaps = requests.Sum(c => Math.Max(0, c.Length - 1));
        var one = new ItlSample(gaps, exactLimit);
        var many = new ItlSample(gaps, exactLimit);
        foreach (var chunks in requests)
        {
            for (var k = 1; k < chunks.Length; k++) one.Add(chunks[k] - chunks[k - 1]);
            many.AddGaps(chunks);
        }

        Assert.Equal(one.Stats(), many.Stats());
    }
}
