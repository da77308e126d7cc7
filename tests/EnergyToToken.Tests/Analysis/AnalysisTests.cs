using EnergyToToken.Analysis;
using EnergyToToken.Load;
using Xunit;

namespace EnergyToToken.Tests.Analysis;

/// <summary>The pure parts of analysis with hand arithmetic: windows, tokens in a window, the fit, attribution, the ITL histogram.</summary>
public sealed class AnalysisTests
{
    /// <summary>A timeline from (sent, chunk times, prompt tokens) per request; output tokens = chunks.</summary>
    internal static RequestTimeline Timeline(params (double Sent, double[] Chunks, int Prompt)[] requests)
    {
        var n = requests.Length;
        var start = new int[n + 1];
        for (var r = 0; r < n; r++) start[r + 1] = start[r] + requests[r].Chunks.Length;
        return new RequestTimeline
        {
            Index = [.. Enumerable.Range(0, n)],
            Warmup = new bool[n],
            State = [.. requests.Select(_ => TerminalState.Ok)],
            HttpStatus = new int[n],
            Scheduled = [.. requests.Select(r => r.Sent)],
            Sent = [.. requests.Select(r => r.Sent)],
            End = [.. requests.Select(r => r.Chunks.Length > 0 ? r.Chunks[^1] : r.Sent)],
            DrawnInputTokens = [.. requests.Select(r => r.Prompt)],
            DrawnOutputTokens = [.. requests.Select(r => r.Chunks.Length)],
            PromptTokens = [.. requests.Select(r => r.Prompt)],
            OutputTokens = [.. requests.Select(r => r.Chunks.Length)],
            ReasoningTokens = new int[n],
            UsageFromServer = [.. requests.Select(_ => true)],
            FinishReason = [.. requests.Select(_ => "length")],
            ResponseId = [.. requests.Select((_, i) => $"cmpl-{i:x8}")],
            Detail = [.. requests.Select(_ => "")],
            ChunkStart = start,
            ChunkTimes = [.. requests.SelectMany(r => r.Chunks)],
        };
    }

    private static double[] Ticks(double from, double step, int count) => [.. Enumerable.Range(1, count).Select(k => from + k * step)];

    [Fact]
    public void The_steady_window_runs_from_a_full_batch_to_the_last_send()
    {
        // A closed loop of 2 streams: stream A sends at 0, 1, 2, 3; stream B joins at 0.5 and sends at 0.5, 1.5, 2.5.
        var t = Timeline(
            (0, Ticks(0, 0.25, 4), 10), (1, Ticks(1, 0.25, 4), 10), (2, Ticks(2, 0.25, 4), 10), (3, Ticks(3, 0.25, 4), 10),
            (0.5, Ticks(0.5, 0.25, 4), 10), (1.5, Ticks(1.5, 0.25, 4), 10), (2.5, Ticks(2.5, 0.25, 4), 10));
        var steady = RunAnalysis.SteadyWindow(t, 0, 4);
        Assert.Equal((0.5, 3.0), steady);
    }

    [Fact]
    public void A_closed_loop_that_sends_everything_at_once_has_no_steady_state()
    {
        var t = Timeline((0, Ticks(0, 0.1, 20), 10), (0.001, Ticks(0, 0.1, 20), 10), (0.002, Ticks(0, 0.1, 20), 10));
        Assert.Null(RunAnalysis.SteadyWindow(t, 0, 2));
    }

    [Fact]
    public void Tokens_in_a_window_count_chunks_that_arrived_in_it_and_prompts_whose_first_chunk_did()
    {
        var t = Timeline((0, [0.5, 1.5, 2.5], 100), (1.2, [1.4, 3.5], 40));
        var (output, input) = RunAnalysis.TokensIn(t, 1, 3);
        Assert.Equal(3, output); // 1.5 and 2.5 of the first, 1.4 of the second
        Assert.Equal(40, input); // only the second request's first chunk (1.4) is inside
    }

    [Fact]
    public void The_fit_recovers_exact_coefficients_and_keeps_them_non_negative()
    {
        var prefill = new[] { 100.0, 0, 50, 200, 0, 10 };
        var decode = new[] { 4.0, 10, 6, 1, 8, 9 };
        var exact = prefill.Zip(decode, (p, d) => 0.01 * p + 0.3 * d).ToArray();
        var fit = Attribution.Fit(new EnergyIntervals([.. Enumerable.Range(0, 7).Select(i => (double)i)], exact, idleWatts: 0), prefill, decode);
        Assert.Equal(0.01, fit.PrefillJoulesPerToken, 12);
        Assert.Equal(0.3, fit.DecodeJoulesPerToken, 12);
        Assert.Equal(1, fit.RSquared, 12);

        // Energy that falls as prefill rises would need a negative prefill cost: it is held at 0 and decode refitted.
        var odd = prefill.Zip(decode, (p, d) => Math.Max(0, 0.3 * d - 0.01 * p)).ToArray();
        var clamped = Attribution.Fit(new EnergyIntervals([.. Enumerable.Range(0, 7).Select(i => (double)i)], odd, idleWatts: 0), prefill, decode);
        Assert.True(clamped.PrefillJoulesPerToken >= 0 && clamped.DecodeJoulesPerToken >= 0);
    }

    [Fact]
    public void Attribution_splits_each_interval_by_work_and_conserves_the_total()
    {
        // Two 1 s intervals, idle 10 W, gross 30 J and 14 J: dynamic 20 J and 4 J.
        var intervals = new EnergyIntervals([0, 1, 2], [30, 14], idleWatts: 10);
        // Request 0: sent at 0, prompt of 100 tokens prefilled just before its first chunk at 0.5, then 3 chunks at 0.75, 1.25, 1.75.
        // Request 1: sent at 0.5, prompt of 50 tokens, first chunk at 0.9, then 1 chunk at 1.9.
        var t = Timeline((0, [0.5, 0.75, 1.25, 1.75], 100), (0.5, [0.9, 1.9], 50));
        var coefficients = new PhaseCoefficients(0.05, 1, "calibration", double.NaN, double.NaN, 0, double.NaN);
        var a = Attribution.Run(t, intervals, coefficients);

        Assert.Equal(0, a.UnattributedDynamicJoules);
        Assert.Equal(44, a.Requests.Sum(e => e.Gross) + a.UnattributedStaticJoules, 9);
        Assert.True(a.ConservationError <= Attribution.ConservationTolerance);
        // Static: 10 J per interval, by time in flight. Interval 0: request 0 for 1 s, request 1 for 0.5 s → 2/3 and 1/3.
        // Interval 1: request 0 until 1.75 (0.75 s), request 1 until 1.9 (0.9 s).
        Assert.Equal(10 * 2.0 / 3 + 10 * 0.75 / 1.65, a.Requests[0].Static, 9);
        Assert.Equal(10 * 1.0 / 3 + 10 * 0.9 / 1.65, a.Requests[1].Static, 9);
        // Dynamic in interval 1 (4 J): only decode works there. Request 0 decodes 1 token over [1.25, 1.75] and half of
        // the one over [0.75, 1.25] → 1.5 tokens; request 1 decodes its one token over [0.9, 1.9], 0.9 of it in
        // interval 1. Shares 1.5 / 2.4 and 0.9 / 2.4.
        var interval1Request0 = 4 * 1.5 / 2.4;
        var interval1Request1 = 4 * 0.9 / 2.4;
        // Interval 0 (20 J): both prompts (prefilled just before their first chunks, at 0.5 and 0.9), 100 + 50 tokens ×
        // 0.05; decode 1.5 tokens of request 0 (all of [0.5, 0.75] and half of [0.75, 1.25]) and 0.1 of request 1, × 1.
        var work0 = 0.05 * 150 + 1 * 1.6;
        Assert.Equal(20 * (0.05 * 100 + 1.5) / work0 + interval1Request0, a.Requests[0].Dynamic, 9);
        Assert.Equal(20 * (0.05 * 50 + 0.1) / work0 + interval1Request1, a.Requests[1].Dynamic, 9);
        Assert.Equal(20 * 0.05 * 100 / work0, a.Requests[0].PrefillDynamic, 9);
    }

    [Fact]
    public void Attribution_throws_nothing_and_conserves_with_negative_dynamic_energy_and_idle_gaps()
    {
        // Idle 20 W: the first interval measured less than idle (−2 J dynamic), the last has no request at all.
        var intervals = new EnergyIntervals([0, 1, 2, 3], [18, 40, 21], idleWatts: 20);
        var t = Timeline((0.2, [0.6, 1.2, 1.8], 20));
        var a = Attribution.Run(t, intervals, null);
        var total = a.Requests.Sum(e => e.Gross) + a.UnattributedDynamicJoules + a.UnattributedStaticJoules;
        Assert.Equal(79, total, 9);
        Assert.Equal(20, a.UnattributedStaticJoules, 9); // the third second, and nobody in flight
    }

    [Fact]
    public void The_itl_histogram_is_within_a_tenth_of_a_percent_of_the_exact_percentiles()
    {
        var random = new Random(7);
        var gaps = Enumerable.Range(0, 200_000).Select(_ => Math.Exp(-4 + random.NextDouble() * 3 + random.NextDouble())).ToList();
        var exact = new ItlSample(gaps.Count);
        var histogram = new ItlSample(gaps.Count, exactLimit: 0);
        foreach (var g in gaps)
        {
            exact.Add(g);
            histogram.Add(g);
        }
        var (e, h) = (exact.Stats()!, histogram.Stats()!);
        foreach (var (x, y) in new[] { (e.P50, h.P50), (e.P90, h.P90), (e.P95, h.P95), (e.P99, h.P99), (e.P999, h.P999) })
            Assert.True(Math.Abs(y - x) / x <= 0.001, $"{y} vs exact {x}");
        Assert.Equal(e.Mean, h.Mean, 9);
        Assert.Equal(e.Min, h.Min);
        Assert.Equal(e.Max, h.Max);
        Assert.Equal(e.Std, h.Std, 6);
    }

    [Fact]
    public void Options_list_every_problem_at_once()
    {
        var options = new AnalysisOptions { Steady = (5, 1), Kappa = -1, Devices = 0, ItPowerWatts = 0, FacilityPowerWatts = 10, Pue = 0.5 };
        var errors = options.Validate();
        Assert.Equal(6, errors.Count);
        Assert.Contains(errors, e => e.Contains("--pue must be at least 1", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("not both", StringComparison.Ordinal));
    }

    [Fact]
    public void A_pue_series_file_is_read_and_its_every_problem_listed()
    {
        var dir = Directory.CreateTempSubdirectory("e2t-pue-").FullName;
        try
        {
            var good = Path.Combine(dir, "good.csv");
            File.WriteAllText(good, "t_s,pue\n0,1.2\n10,1.4\n");
            var series = AnalysisInputs.ReadPueSeries(good);
            Assert.Equal(1.3, series.Mean(5, 15), 12);
            var bad = Path.Combine(dir, "bad.csv");
            File.WriteAllText(bad, "t_s,pue\n0,0.9\nx,1\n");
            var e = Assert.Throws<EnergyToTokenException>(() => AnalysisInputs.ReadPueSeries(bad));
            Assert.Contains("line 2: PUE 0.9 is below 1", e.Message, StringComparison.Ordinal);
            Assert.Contains("line 3: 'x,1' is not t_s,pue", e.Message, StringComparison.Ordinal);
            Assert.Contains("no such file", Assert.Throws<EnergyToTokenException>(() => AnalysisInputs.ReadPueSeries(Path.Combine(dir, "none.csv"))).Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void A_missing_or_damaged_run_directory_is_named_with_what_to_do()
    {
        var dir = Directory.CreateTempSubdirectory("e2t-run-").FullName;
        try
        {
            Assert.Contains("is not a directory", Assert.Throws<EnergyToTokenException>(() => RunData.Load(Path.Combine(dir, "nope"))).Message, StringComparison.Ordinal);
            Assert.Contains("has no run.json", Assert.Throws<EnergyToTokenException>(() => RunData.Load(dir)).Message, StringComparison.Ordinal);
            File.WriteAllText(Path.Combine(dir, "run.json"), "{ not json");
            Assert.Contains("is not valid JSON", Assert.Throws<EnergyToTokenException>(() => RunData.Load(dir)).Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
