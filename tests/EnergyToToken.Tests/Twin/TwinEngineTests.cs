using EnergyToToken.Catalog;
using EnergyToToken.Twin;

namespace EnergyToToken.Tests.Twin;

/// <summary>The scheduler and the physical model together, in virtual time (the offline simulator runs the server's engine).</summary>
public class TwinEngineTests
{
    private static readonly Catalogs Catalogs = Catalogs.Load([]);

    private static TwinDeployment Deployment(Func<EngineOptions, EngineOptions>? engine = null, StepModelOptions? step = null)
    {
        var profile = TwinProfiles.Default;
        profile = profile with { Engine = engine?.Invoke(profile.Engine) ?? profile.Engine, Step = step ?? profile.Step };
        return TwinDeployment.Create(profile, Catalogs);
    }

    private static void AssertConserved(SimulationResult result)
    {
        // The counter's total is idle power over the whole span plus every request's dynamic energy: nothing lost or invented.
        var expected = result.Ledger.IdleWatts * result.Seconds + result.Requests.Sum(r => r.Joules);
        Assert.Equal(expected, result.Joules, expected * 1e-9);
    }

    [Fact]
    public void A_lone_request_takes_one_prefill_step_then_one_decode_step_per_token()
    {
        var d = Deployment();
        var result = TwinSimulator.Run(d, [new SimulatedRequest(0, 1000, 5)]);
        var truth = Assert.Single(result.Requests);
        var expected = new List<double>();
        var t = d.Step.Cost(StepWork.Prefill(1000)).Seconds;
        expected.Add(t);
        for (var k = 1; k < 5; k++)
        {
            t += d.Step.Cost(StepWork.Decode(1, 1000 + k)).Seconds; // the k-th decode attends to the prompt and k outputs
            expected.Add(t);
        }
        Assert.Equal(expected.Count, truth.SampledSeconds.Count);
        for (var k = 0; k < expected.Count; k++) Assert.Equal(expected[k], truth.SampledSeconds[k], 12);
        Assert.Equal(d.Step.Cost(StepWork.Prefill(1000)).DynamicJoules, truth.PrefillJoules, 9);
        Assert.Equal(FinishReason.Length, truth.Finish);
        Assert.Equal(5, result.Steps);
        AssertConserved(result);
    }

    [Fact]
    public void Chunked_prefill_splits_a_long_prompt_by_the_token_budget_and_v0_runs_it_whole()
    {
        var chunked = TwinSimulator.Run(Deployment(), [new SimulatedRequest(0, 20_000, 2)]);
        Assert.Equal(3 + 1, chunked.Steps); // 8192 + 8192 + 3616, then one decode
        var whole = TwinSimulator.Run(Deployment(e => e with { ChunkedPrefill = false }), [new SimulatedRequest(0, 20_000, 2)]);
        Assert.Equal(1 + 1, whole.Steps);
        // The same FLOP either way (chunk k attends to everything before it); chunks also re-read the cached context,
        // so chunked prefill costs a little more energy, never less.
        var ratio = chunked.Requests[0].PrefillJoules / whole.Requests[0].PrefillJoules;
        Assert.InRange(ratio, 1, 1.1);
    }

    [Fact]
    public void Decodes_keep_flowing_while_another_prompt_is_prefilled_in_chunks()
    {
        var result = TwinSimulator.Run(Deployment(), [new SimulatedRequest(0, 100, 20), new SimulatedRequest(0.02, 60_000, 1)]);
        var first = result.Requests[0];
        var second = result.Requests[1];
        var prefillEnd = second.SampledSeconds[0];
        // While the long prompt is prefilled (8 chunks), the short request emits a token in every one of those steps.
        Assert.True(first.SampledSeconds.Count(s => s > 0.02 && s < prefillEnd) >= 7);
        AssertConserved(result);
    }

    [Fact]
    public void Without_chunking_prefill_steps_and_decode_steps_are_separate()
    {
        var result = TwinSimulator.Run(Deployment(e => e with { ChunkedPrefill = false }), [new SimulatedRequest(0, 100, 20), new SimulatedRequest(0.02, 60_000, 1)]);
        var first = result.Requests[0];
        var second = result.Requests[1];
        // The whole 60k prompt runs in one step, with no decode beside it: the short request emits nothing meanwhile.
        var start = second.SampledSeconds[0] - TwinDeployment.Create(TwinProfiles.Default, Catalogs).Step.Cost(StepWork.Prefill(60_000)).Seconds;
        Assert.DoesNotContain(first.SampledSeconds, s => s > start + 1e-9 && s < second.SampledSeconds[0] - 1e-9);
        Assert.Equal(0, second.DecodeJoules);
        AssertConserved(result);
    }

    [Fact]
    public void A_full_cache_preempts_the_newest_sequence_which_recomputes_and_still_finishes()
    {
        // 16 blocks of 16 tokens: four requests of 64 + 64 tokens need twice that.
        var d = Deployment(e => e with { KvCacheTokens = 256, MaxModelLength = 200 });
        var requests = Enumerable.Range(0, 4).Select(_ => new SimulatedRequest(0, 64, 64)).ToList();
        var result = TwinSimulator.Run(d, requests);
        Assert.True(result.Preemptions > 0);
        Assert.All(result.Requests, r => Assert.Equal(64, r.OutputTokens));
        Assert.All(result.Requests, r => Assert.Equal(FinishReason.Length, r.Finish));
        Assert.Contains(result.Requests, r => r.Preemptions > 0);
        // The oldest request is never the victim.
        Assert.Equal(0, result.Requests[0].Preemptions);
        AssertConserved(result);
    }

    [Fact]
    public void Max_sequences_caps_the_batch_and_the_rest_wait()
    {
        var d = Deployment(e => e with { MaxSequences = 2 });
        var result = TwinSimulator.Run(d, Enumerable.Range(0, 4).Select(_ => new SimulatedRequest(0, 32, 8)).ToList());
        // The third request's first token comes after the first two finished.
        Assert.True(result.Requests[2].SampledSeconds[0] > result.Requests[0].SampledSeconds[^1]);
        AssertConserved(result);
    }

    [Fact]
    public void The_prefix_cache_serves_whole_shared_blocks_and_saves_their_prefill_energy()
    {
        var requests = new[] { new SimulatedRequest(0, 1000, 4, SharedPrefixTokens: 900), new SimulatedRequest(1, 1000, 4, SharedPrefixTokens: 900) };
        var cached = TwinSimulator.Run(Deployment(), requests);
        Assert.Equal(0, cached.Requests[0].CachedPromptTokens);
        Assert.Equal(896, cached.Requests[1].CachedPromptTokens); // 56 full blocks of 16
        Assert.True(cached.Requests[1].PrefillJoules < cached.Requests[0].PrefillJoules / 3);
        var uncached = TwinSimulator.Run(Deployment(e => e with { PrefixCache = false }), requests);
        Assert.Equal(0, uncached.Requests[1].CachedPromptTokens);
        AssertConserved(cached);
    }

    [Fact]
    public void A_power_limit_stretches_steps_and_lowers_throughput_as_the_model_says()
    {
        var requests = Enumerable.Range(0, 64).Select(_ => new SimulatedRequest(0, 2000, 64)).ToList();
        var free = TwinSimulator.Run(Deployment(), requests);
        var limited = Deployment(step: TwinProfiles.Default.Step with { PowerLimitWatts = 300 });
        var capped = TwinSimulator.Run(limited, requests);
        Assert.True(capped.OutputTokensPerSecond < free.OutputTokensPerSecond * 0.9);
        // Dynamic energy is the same work at either limit; only idle power over the longer span is added.
        Assert.Equal(free.Requests.Sum(r => r.Joules), capped.Requests.Sum(r => r.Joules), free.Requests.Sum(r => r.Joules) * 1e-9);
        for (var t = 0.0; t < capped.Seconds; t += 0.001) Assert.True(capped.Ledger.WattsAt(t) <= 300 + 1e-9);
        // The whole run stretches by the capped steps' dynamic energy ÷ (limit − idle) over what they would have taken.
        var stretch = capped.Seconds - free.Seconds;
        Assert.True(stretch > 0);
        AssertConserved(capped);
    }

    [Fact]
    public void Power_follows_the_load_idle_between_requests_and_higher_in_steps()
    {
        var d = Deployment();
        var result = TwinSimulator.Run(d, [new SimulatedRequest(0, 4096, 2), new SimulatedRequest(5, 16, 2)]);
        Assert.Equal(d.Step.Cost(StepWork.Prefill(4096)).Watts, result.Ledger.WattsAt(0.001), 9);
        Assert.Equal(d.Step.IdleWatts, result.Ledger.WattsAt(3), 9);
        Assert.Equal(d.Step.IdleWatts * (5 - result.Requests[0].SampledSeconds[^1]),
            result.Ledger.EnergyAt(5) - result.Ledger.EnergyAt(result.Requests[0].SampledSeconds[^1]), 6);
        AssertConserved(result);
    }

    [Fact]
    public void Requests_that_do_not_fit_the_context_are_refused_with_the_limit_named()
    {
        var d = Deployment(e => e with { MaxModelLength = 100 });
        var e = Assert.Throws<EnergyToTokenException>(() => TwinSimulator.Run(d, [new SimulatedRequest(0, 90, 20)]));
        Assert.Contains("100", e.Message);
    }

    [Fact]
    public void A_model_that_leaves_no_room_for_the_cache_is_refused_with_what_to_do()
    {
        var profile = TwinProfiles.Default with { Model = "llama-3.1-70b", Name = "too-big" };
        var e = Assert.Throws<EnergyToTokenException>(() => TwinDeployment.Create(profile, Catalogs));
        Assert.Contains("--count", e.Message);
    }

    [Fact]
    public void The_kv_cache_reuses_freed_blocks_oldest_first_and_revives_cached_prefixes()
    {
        var cache = new KvCache(3, prefixCache: true);
        var a = cache.Allocate();
        var b = cache.Allocate();
        cache.Register(a, 11);
        cache.Register(b, 22);
        cache.Release(a);
        cache.Release(b);
        Assert.Equal(3, cache.FreeBlocks);
        // A hit on a freed block takes it back without allocating.
        Assert.Equal(b, cache.Hit(22));
        Assert.Equal(2, cache.FreeBlocks);
        // Allocation takes the never-used block, then the oldest freed one (a), evicting its prefix.
        var c = cache.Allocate();
        Assert.NotEqual(a, c);
        Assert.Equal(a, cache.Allocate());
        Assert.False(cache.Contains(11));
        Assert.True(cache.Contains(22));
        Assert.Equal(-1, cache.Allocate());
    }
}

/// <summary>The calibration holds: the bundled profiles stay near the published measurements they were fitted to.</summary>
public class TwinCalibrationTests
{
    [Fact]
    public void Every_calibration_point_is_within_ten_percent_on_energy_and_power()
    {
        var catalogs = Catalogs.Load([]);
        foreach (var point in TwinCalibration.Points)
        {
            var result = TwinCalibration.Evaluate(point, catalogs);
            Assert.True(Math.Abs(result.EnergyError) < 0.10, $"{point.Profile} at {point.Concurrency}: J/token off by {result.EnergyError:P1}");
            Assert.True(Math.Abs(result.PowerError) < 0.10, $"{point.Profile} at {point.Concurrency}: power off by {result.PowerError:P1}");
        }
    }

    [Fact]
    public void Tensor_parallel_steps_pay_two_collectives_per_layer_at_idle_power_and_one_device_pays_none()
    {
        var catalogs = Catalogs.Load([]);
        var model = catalogs.Model("llama-3.1-70b");
        var h100 = catalogs.Accelerator("h100-sxm");
        var options = new StepModelOptions { OverheadSeconds = 0, CollectiveSeconds = 10e-6 };
        var without = new StepModel(model, h100, 4, "bf16", options with { CollectiveSeconds = 0 }).Cost(StepWork.Decode(8, 8000));
        var with = new StepModel(model, h100, 4, "bf16", options).Cost(StepWork.Decode(8, 8000));
        Assert.Equal(without.Seconds + 2 * 80 * 10e-6, with.Seconds, 12);
        Assert.Equal(without.DynamicJoules, with.DynamicJoules, 9); // the added time draws idle power only
        var single = new StepModel(catalogs.Model("llama-3.1-8b"), h100, 1, "bf16", options);
        var plain = new StepModel(catalogs.Model("llama-3.1-8b"), h100, 1, "bf16", options with { CollectiveSeconds = 0 });
        Assert.Equal(plain.Cost(StepWork.Decode(8, 8000)).Seconds, single.Cost(StepWork.Decode(8, 8000)).Seconds, 15);
    }
}

/// <summary>Settings that would hang or mislead the twin are refused, and its bookkeeping stays bounded.</summary>
public class TwinGuardTests
{
    private static readonly Catalogs Catalogs = Catalogs.Load([]);

    [Fact]
    public void Without_chunked_prefill_a_budget_below_the_model_length_is_refused()
    {
        var profile = TwinProfiles.Default with { Engine = new EngineOptions { ChunkedPrefill = false, MaxBatchedTokens = 4096, MaxModelLength = 8192 } };
        var e = Assert.Throws<EnergyToTokenException>(() => TwinDeployment.Create(profile, Catalogs));
        Assert.Contains("--max-batched-tokens", e.Message);
    }

    [Fact]
    public void A_power_limit_at_or_below_idle_is_refused()
    {
        var profile = TwinProfiles.Default with { Step = TwinProfiles.Default.Step with { PowerLimitWatts = 70 } };
        var e = Assert.Throws<EnergyToTokenException>(() => TwinDeployment.Create(profile, Catalogs));
        Assert.Contains("idle power", e.Message);
    }

    [Fact]
    public void A_bounded_ledger_refuses_reads_older_than_its_history_and_an_unbounded_one_keeps_everything()
    {
        var bounded = new PowerLedger(10, bounded: true);
        var unbounded = new PowerLedger(10, bounded: false);
        for (var k = 0; k < PowerLedger.Capacity; k++)
        {
            bounded.Step(k, 0.5, 20, 0);
            unbounded.Step(k, 0.5, 20, 0);
        }
        Assert.Throws<InvalidOperationException>(() => bounded.EnergyAt(1));
        Assert.Equal(15, unbounded.EnergyAt(1), 9); // 20 W for 0.5 s, then 10 W for 0.5 s
        Assert.Equal(unbounded.EnergyAt(PowerLedger.Capacity - 0.25), bounded.EnergyAt(PowerLedger.Capacity - 0.25), 6);
    }

    [Fact]
    public void Prefix_hits_on_freed_blocks_do_not_grow_the_free_queue_without_bound()
    {
        var cache = new KvCache(8, prefixCache: true);
        var block = cache.Allocate();
        cache.Register(block, 99);
        for (var k = 0; k < 1000; k++)
        {
            cache.Release(cache.Hit(99)); // each revival leaves a stale entry behind
        }
        cache.Release(block);
        Assert.True(cache.QueueLength <= 2 * 8 + 1, $"free queue holds {cache.QueueLength} entries for 8 blocks");
        Assert.Equal(8, cache.FreeBlocks);
        Assert.True(cache.Contains(99));
    }

    [Fact]
    public void A_preempted_sequence_recomputes_as_prefill_even_one_token_at_a_time()
    {
        // Small caches of four-token blocks and two sequences that outgrow them: the newer is preempted, its freed blocks
        // stay cached, and on readmission prefix hits leave only the tail to recompute, in some of these cases one token.
        var recomputed = new List<ScheduledChunk>();
        var preemptions = 0L;
        for (var blocks = 5; blocks <= 10; blocks++)
        {
            for (var firstTarget = 4; firstTarget <= 16; firstTarget++)
            {
                var profile = TwinProfiles.Default with { Engine = new EngineOptions { KvCacheTokens = 4 * blocks, MaxModelLength = 20, BlockTokens = 4 } };
                var engine = new TwinEngine(TwinDeployment.Create(profile, Catalogs), [7, 8, 9]);
                var truths = new List<RequestTruth>();
                foreach (var (id, target) in new[] { (0, firstTarget), (1, 15) })
                {
                    var truth = new RequestTruth { Id = id, ArrivalSeconds = 0, PromptTokens = 5 };
                    truths.Add(truth);
                    engine.Add(new TwinSequence(truth, [1, 2, 3, 4, id + 5], target, false, (ulong)id + 1, new CountingSink()));
                }
                var t = 0.0;
                while (engine.TryPlan(out var cost))
                {
                    recomputed.AddRange(engine.Plan.Where(c => c.Sequence.Recomputing));
                    t += cost.Seconds;
                    engine.Complete(t);
                }
                preemptions += engine.Preemptions;
                Assert.Equal(firstTarget, truths[0].OutputTokens);
                Assert.Equal(15, truths[1].OutputTokens);
            }
        }
        Assert.True(preemptions > 0);
        Assert.Contains(recomputed, c => c.Tokens == 1);
        Assert.All(recomputed, c => Assert.True(c.Prefill, $"a recomputed chunk of {c.Tokens} token(s) was charged as decode"));
    }

    private sealed class CountingSink : ITokenSink
    {
        public void OnToken(int tokenId, double engineSeconds)
        {
        }

        public void OnFinish(FinishReason reason, double engineSeconds)
        {
        }
    }
}
