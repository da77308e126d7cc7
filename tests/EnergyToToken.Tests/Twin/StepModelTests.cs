using EnergyToToken.Catalog;
using EnergyToToken.Twin;

namespace EnergyToToken.Tests.Twin;

/// <summary>Step times and power against rooflines computed by hand for Llama-3.1-8B on one H100 SXM in bf16.</summary>
public class StepModelTests
{
    // Llama-3.1-8B: 8.03e9 parameters, 32 layers, 32 query heads, 8 KV heads, head dim 128. H100 SXM: 989.4 TFLOP/s
    // bf16, 3.35 TB/s, 700 W limit, 70 W idle (catalog figures).
    private const double Weights = 8.03e9 * 2;              // bytes
    private const double KvPerToken = 2.0 * 32 * 8 * 128 * 2; // 131,072 bytes
    private const double AttentionPerPair = 2.0 * 32 * 32 * (128 + 128); // 524,288 FLOP
    private const double Flops = 989.4e12 * 0.6;
    private const double Bandwidth = 3.35e12 * 0.8;

    /// <summary>Round coefficients, so the expected values below can be written by hand (the calibrated defaults are not round).</summary>
    private static readonly StepModelOptions Plain = new()
    {
        ComputeEfficiency = 0.6, MemoryEfficiency = 0.8, OverheadSeconds = 0, CollectiveSeconds = 0, ComputePowerShare = 1, MemoryPowerShare = 0.5,
    };

    private static StepModel Model(StepModelOptions? options = null)
    {
        var catalogs = Catalogs.Load([]);
        return new StepModel(catalogs.Model("llama-3.1-8b"), catalogs.Accelerator("h100-sxm"), 1, "bf16", options ?? Plain);
    }

    [Fact]
    public void Decode_at_batch_one_is_memory_bound_by_the_weights()
    {
        var cost = Model().Cost(StepWork.Decode(1, 1000));
        var flop = 2 * 8.03e9 + 1000 * AttentionPerPair;
        var bytes = Weights + (1000 + 1) * KvPerToken;
        Close.To(flop, cost.Flop);
        Close.To(bytes, cost.Bytes);
        Close.To(flop / Flops, cost.ComputeSeconds);
        Close.To(bytes / Bandwidth, cost.Seconds); // ≈ 6.04 ms: the ~16 GB of weights read once
        Close.To(70 + 630 * (flop / Flops / (bytes / Bandwidth) + 0.5), cost.Watts);
        Assert.False(cost.PowerCapped);
    }

    [Fact]
    public void A_long_prefill_is_compute_bound_at_full_dynamic_power()
    {
        var cost = Model().Cost(StepWork.Prefill(4096));
        var flop = 4096 * 2 * 8.03e9 + 4096 * 4097 / 2.0 * AttentionPerPair;
        Close.To(flop, cost.Flop);
        Close.To(Weights + (4096 + 4096) * KvPerToken, cost.Bytes);
        Close.To(flop / Flops, cost.Seconds); // ≈ 118 ms
        Close.To(700, cost.Watts);
        Close.To(630 * flop / Flops, cost.DynamicJoules);
    }

    [Fact]
    public void A_power_limit_below_the_demand_stretches_the_step_and_keeps_its_dynamic_energy()
    {
        var free = Model().Cost(StepWork.Prefill(4096));
        var capped = Model(Plain with { PowerLimitWatts = 400 }).Cost(StepWork.Prefill(4096));
        Assert.True(capped.PowerCapped);
        Close.To(400, capped.Watts);
        Close.To(free.DynamicJoules, capped.DynamicJoules);
        Close.To(free.DynamicJoules / (400 - 70), capped.Seconds); // 630/330 ≈ 1.91 × longer
        // A memory-bound decode step draws less than 400 W and is not slowed.
        var decode = Model(Plain with { PowerLimitWatts = 400 }).Cost(StepWork.Decode(1, 1000));
        Assert.False(decode.PowerCapped);
    }

    [Fact]
    public void Chunks_and_batches_add_their_work()
    {
        var chunk = StepWork.Prefill(512, cached: 1024);
        Assert.Equal(512 * 1024 + 512 * 513 / 2.0, chunk.PrefillAttended);
        Assert.Equal(1536, chunk.PrefillContext);
        var mixed = chunk + StepWork.Decode(8, 8 * 2000);
        var cost = Model().Cost(mixed);
        Close.To(520 * 2 * 8.03e9 + (chunk.PrefillAttended + 16000) * AttentionPerPair, cost.Flop);
        Close.To(Weights + (1536 + 16000 + 520) * KvPerToken, cost.Bytes);
    }

    [Fact]
    public void Bad_coefficients_are_all_reported_at_once()
    {
        var e = Assert.Throws<EnergyToTokenException>(() => Model(new StepModelOptions { ComputeEfficiency = 0, MemoryEfficiency = 2, PowerLimitWatts = -1 }));
        Assert.Contains("Compute efficiency", e.Message, StringComparison.Ordinal);
        Assert.Contains("Memory efficiency", e.Message, StringComparison.Ordinal);
        Assert.Contains("power limit", e.Message, StringComparison.Ordinal);
    }
}
