using System.Globalization;
using EnergyToToken.Analysis;
using EnergyToToken.Catalog;
using EnergyToToken.Load;
using EnergyToToken.Reporting;
using EnergyToToken.Runs;
using EnergyToToken.Tests.Twin;
using EnergyToToken.Twin;
using FsCheck;
using FsCheck.Xunit;
using Xunit.Abstractions;

namespace EnergyToToken.Tests.Analysis;

/// <summary>
/// Attribution against what is known exactly: hand-built runs whose interval energies follow known coefficients and
/// whose bursts are known steps, random runs for conservation, and one short twin run against the twin's ground truth (issue 6's targets, as
/// docs/validation/attribution.md measures them over longer runs with <c>validate-attribution</c>).
/// </summary>
[Collection(TwinTiming.Name)]
public sealed class AttributionValidationTests(ITestOutputHelper output)
{
    [Fact]
    public void The_step_fit_recovers_known_coefficients_and_splits_each_step_exactly()
    {
        // Four 1 s intervals, idle 0. Request A: sent at 0, 100 prompt tokens, a chunk every 0.5 s from 0.5 to 3.5 (six
        // decode tokens). Request B: sent at 1.2, 40 prompt tokens, chunks at 1.5, 2 and 2.5 (two decode tokens). The
        // bursts are seven steps ending at 0.5, 1, …, 3.5; each begins when the previous ended, or, after an idle gap, when
        // the prompt it finishes was sent (step 0 at 0, step 2 at 1.2). A decode token reads its prompt and the tokens so far.
        var t = AnalysisTests.Timeline((0, [0.5, 1, 1.5, 2, 2.5, 3, 3.5], 100), (1.2, [1.5, 2, 2.5], 40));
        double[] stepTokens = [100, 1, 41, 2, 2, 1, 1];
        double[] stepContext = [0, 101, 102, 103 + 41, 104 + 42, 105, 106];
        const double w = 0.5, c = 0.01, k = 0.002;
        double Step(int s) => w + c * stepTokens[s] + k * stepContext[s];
        // Steps 0–1 in [0, 1), 2–3 in [1, 2), 4–5 in [2, 3), 6 in [3, 4).
        var intervals = new EnergyIntervals([0, 1, 2, 3, 4], [Step(0) + Step(1), Step(2) + Step(3), Step(4) + Step(5), Step(6)], idleWatts: 0);

        var result = Attribution.Run(t, intervals, calibrated: null);

        // The record's per-token figures: a prompt token costs c, a decode token c + k × the mean context read ((101 + … + 106 + 41 + 42) ÷ 8 = 88).
        Assert.Equal("regression", result.Coefficients.Source);
        Assert.Equal(c, result.Coefficients.PrefillJoulesPerToken, 12);
        Assert.Equal(c + k * 88, result.Coefficients.DecodeJoulesPerToken, 12);
        Assert.Equal(1, result.Coefficients.RSquared, 12);
        // With exact energies every request gets exactly its modelled share: w split over each step's tokens, c per token, k × context.
        double Decode(int s, double context) => w / stepTokens[s] + c + k * context;
        Close.To(w + c * 100, result.Requests[0].PrefillDynamic);
        Close.To(Decode(1, 101) + Decode(2, 102) + Decode(3, 103) + Decode(4, 104) + Decode(5, 105) + Decode(6, 106), result.Requests[0].DecodeDynamic);
        Close.To(40 * (w / 41 + c), result.Requests[1].PrefillDynamic);
        Close.To(Decode(3, 41) + Decode(4, 42), result.Requests[1].DecodeDynamic);
        Assert.Equal(0, result.UnattributedDynamicJoules);
        Assert.True(result.ConservationError <= Attribution.ConservationTolerance);
    }

    [Fact]
    public void A_burst_a_slow_reader_split_is_one_step_and_consecutive_steps_stay_apart()
    {
        // Two streams decoding one token every 100 ms; the reader gets B's token 3 ms after A's (more than the 1 ms that
        // joins a burst, less than a quarter step). Neither stream has a chunk in both halves, so they are one step.
        var a = Enumerable.Range(1, 20).Select(i => i * 0.1).ToArray();
        var t = AnalysisTests.Timeline((0, a, 10), (0, [.. a.Select(x => x + 0.003)], 10));

        var steps = EngineSteps.Build(t)!;

        Assert.Equal(20, steps.Count);
        Assert.Equal(a, steps.To);
        Assert.All(Enumerable.Range(1, 19), s => Assert.Equal(2, steps.Tokens[s], 12));
        Assert.Equal(20, steps.Tokens[0], 12); // both prompts finish in the first step
    }

    /// <summary>Random requests over random intervals (some below idle, some empty): what is handed out is what was measured, either way the coefficients come.</summary>
    [Property(MaxTest = 200)]
    public bool Attribution_conserves_the_measured_energy(NonEmptyArray<PositiveInt> prompts, PositiveInt seed, bool calibrated)
    {
        var random = new Random(seed.Get);
        var n = Math.Min(prompts.Get.Length, 12);
        var requests = new (double Sent, double[] Chunks, int Prompt)[n];
        for (var r = 0; r < n; r++)
        {
            var sent = random.NextDouble() * 5;
            var chunks = new double[random.Next(0, 6)];
            var at = sent;
            for (var k = 0; k < chunks.Length; k++) chunks[k] = at += random.NextDouble() * 0.7;
            requests[r] = (sent, chunks, 1 + prompts.Get[r].Get % 4000);
        }
        var edges = new double[random.Next(2, 12)];
        for (var i = 1; i < edges.Length; i++) edges[i] = edges[i - 1] + 0.05 + random.NextDouble();
        var idle = 50.0;
        var gross = new double[edges.Length - 1];
        for (var i = 0; i < gross.Length; i++) gross[i] = (edges[i + 1] - edges[i]) * idle * (0.8 + random.NextDouble() * 4);
        var intervals = new EnergyIntervals(edges, gross, idle);
        var coefficients = calibrated ? new PhaseCoefficients(0.01, 0.2, "calibration", double.NaN, double.NaN, 0, double.NaN) : null;

        var a = Attribution.Run(AnalysisTests.Timeline(requests), intervals, coefficients);

        var handedOut = a.Requests.Sum(e => e.Gross) + a.UnattributedDynamicJoules + a.UnattributedStaticJoules;
        return a.ConservationError <= Attribution.ConservationTolerance && Math.Abs(handedOut - gross.Sum()) <= 1e-9 * gross.Sum();
    }

    /// <summary>
    /// Short prompts and long outputs, about 8 s of load through <see cref="BenchDriver"/> against the twin, then every
    /// measured request's attributed dynamic energy against what the twin charged it: issue 6's targets (phase
    /// coefficients within 5 %, per-request median within 10 %) hold here with the roofline attribution
    /// (docs/validation/attribution.md has every workload, including those where the prefill coefficient misses).
    /// </summary>
    [Fact]
    public async Task On_the_twin_the_attribution_conserves_and_meets_the_phase_and_per_request_targets()
    {
        var c = await MeasureAsync("fixed:1024", "fixed:128", concurrency: 32, TimeSpan.FromSeconds(8));
        output.WriteLine(c.ToString());

        Assert.True(c.ConservationError <= Attribution.ConservationTolerance, $"conservation error {c.ConservationError:E2}");
        Assert.True(c.Steady >= 20, $"only {c.Steady} requests in the steady state");
        Assert.InRange(c.PrefillError, -0.05, 0.05);
        Assert.InRange(c.DecodeError, -0.05, 0.05);
        Assert.InRange(c.MedianRequestError, 0, 0.10);
    }

    /// <param name="PrefillError">e2t's prefill J per input token ÷ the twin's (Σ prefill J ÷ Σ prompt tokens) − 1.</param>
    /// <param name="DecodeError">e2t's decode J per output token ÷ the twin's (Σ decode J ÷ Σ (output − 1)) − 1.</param>
    /// <param name="MedianRequestError">Median over steady-state requests of |attributed dynamic − truth| ÷ truth.</param>
    private sealed record Comparison(int Matched, int Steady, double PrefillError, double DecodeError, double MedianRequestError, double ConservationError)
    {
        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $"{Matched} requests, {Steady} steady: prefill {PrefillError:+0.0%;-0.0%}, decode {DecodeError:+0.0%;-0.0%}, median per request {MedianRequestError:0.0%}, conservation {ConservationError:E1}");
    }

    private static async Task<Comparison> MeasureAsync(string input, string outputTokens, int concurrency, TimeSpan seconds)
    {
        var profile = TwinProfiles.Default;
        profile = profile with { Engine = profile.Engine with { MaxWaiting = Math.Max(profile.Engine.MaxWaiting, concurrency) } };
        var directory = Path.Combine(Path.GetTempPath(), $"e2t-attribution-{Guid.NewGuid():N}");
        var twin = await TwinServer.StartAsync(new TwinServerOptions { Profile = profile, KeepGroundTruth = true }, Catalogs.Load([]));
        try
        {
            await using (twin)
            {
                using var meter = twin.CreateMeter();
                using var http = new HttpClient { BaseAddress = twin.BaseAddress, Timeout = Timeout.InfiniteTimeSpan };
                // The deployment names the model's architecture, so the attribution uses the roofline, as e2t bench does for the twin.
                var driver = new BenchDriver(http, [meter], serverMetrics: null, TimeProvider.System)
                {
                    Deployment = new Deployment(profile.Model, profile.Accelerator, profile.Devices, profile.Precision, null, "twin"),
                };
                var plan = new BenchPlan(
                    "attribution",
                    new BenchTarget(twin.BaseAddress, twin.ModelName, ApiKind.Completions, profile.Name),
                    new WorkloadOptions { InputTokens = LengthDistribution.Parse(input), OutputTokens = LengthDistribution.Parse(outputTokens) },
                    new ArrivalOptions { Kind = ArrivalKind.Closed, Concurrency = concurrency, Count = null, Duration = seconds },
                    // 15 counter periods of idle each side: enough for the idle baseline, shorter than the default.
                    new BenchOptions { IdleBefore = TimeSpan.FromMilliseconds(1500), IdleAfter = TimeSpan.FromMilliseconds(1500) },
                    new StreamingClientOptions(),
                    new ValidityOptions(),
                    null);
                var run = await driver.RunAsync(plan, directory, progress: null, CancellationToken.None);
                // A request's truth is committed on the thread pool just after its stream ends.
                var ok = run.Result.Requests.Count(r => r.Record.State == TerminalState.Ok);
                await TwinHttp.WaitUntilAsync(() => twin.GroundTruth.Requests.Count >= ok + 1, "every request's ground truth"); // + the preflight
                return Compare(run, twin.GroundTruth.Requests);
            }
        }
        finally
        {
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>Matches measured ok requests to the twin's truth by response id (<c>cmpl-</c> + the twin's ordinal in hex).</summary>
    private static Comparison Compare(BenchRun run, IReadOnlyList<RequestTruth> truths)
    {
        var t = run.Data.Requests;
        var attribution = run.Analysis.Attribution!;
        var phases = run.Analysis.Phases!;
        var steady = run.Analysis.Steady!;
        var byId = truths.ToDictionary(r => r.Id);
        double prefill = 0, decode = 0;
        long prompt = 0, decoded = 0;
        var matched = 0;
        var errors = new List<double>();
        for (var r = 0; r < t.Count; r++)
        {
            if (t.Warmup[r] || t.State[r] != TerminalState.Ok || t.ChunkCount(r) == 0) continue;
            var id = long.Parse(t.ResponseId[r].AsSpan(t.ResponseId[r].IndexOf('-') + 1), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
            var truth = byId[id];
            Assert.Equal(truth.PromptTokens, t.InputTokens(r));
            Assert.Equal(truth.OutputTokens, t.OutputTokens[r]);
            matched++;
            prefill += truth.PrefillJoules;
            decode += truth.DecodeJoules;
            prompt += truth.PromptTokens;
            decoded += truth.OutputTokens - 1;
            if (t.Sent[r] >= steady.From && t.End[r] <= steady.To)
                errors.Add(Math.Abs(attribution.Requests[r].Dynamic - truth.Joules) / truth.Joules);
        }
        errors.Sort();
        var median = errors.Count == 0 ? double.NaN : errors.Count % 2 == 1 ? errors[errors.Count / 2] : (errors[errors.Count / 2 - 1] + errors[errors.Count / 2]) / 2;
        return new Comparison(matched, errors.Count, phases.PrefillDynamic / (prefill / prompt) - 1, phases.DecodeDynamic / (decode / decoded) - 1, median,
            attribution.ConservationError);
    }
}
