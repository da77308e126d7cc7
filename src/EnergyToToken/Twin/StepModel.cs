using EnergyToToken.Catalog;

namespace EnergyToToken.Twin;

/// <summary>
/// What one engine step processes: prompt tokens being prefilled and sequences each emitting one token.
/// </summary>
/// <param name="PrefillTokens">Prompt tokens processed in this step (whole prompts, or chunks of them).</param>
/// <param name="PrefillAttended">Σ over those tokens of the tokens each attends to (itself and everything before it): attention FLOP.</param>
/// <param name="PrefillContext">Σ over the prefilled chunks of their full context (cached prefix + chunk): KV read once per chunk.</param>
/// <param name="DecodeSequences">Sequences that emit one token in this step.</param>
/// <param name="DecodeAttended">Σ over those sequences of their context: attention FLOP, and the KV each reads.</param>
public readonly record struct StepWork(int PrefillTokens, double PrefillAttended, double PrefillContext, int DecodeSequences, double DecodeAttended)
{
    /// <summary>A prompt chunk of <paramref name="tokens"/> tokens after <paramref name="cached"/> tokens already in the cache.</summary>
    public static StepWork Prefill(int tokens, int cached = 0) =>
        new(tokens, tokens * (double)cached + tokens * (tokens + 1.0) / 2, cached + (double)tokens, 0, 0);

    /// <summary>One decode step for sequences whose contexts add up to <paramref name="contextTokens"/>.</summary>
    public static StepWork Decode(int sequences, double contextTokens) => new(0, 0, 0, sequences, contextTokens);

    public static StepWork operator +(StepWork a, StepWork b) => new(
        a.PrefillTokens + b.PrefillTokens, a.PrefillAttended + b.PrefillAttended, a.PrefillContext + b.PrefillContext,
        a.DecodeSequences + b.DecodeSequences, a.DecodeAttended + b.DecodeAttended);

    public int Tokens => PrefillTokens + DecodeSequences;
}

/// <summary>
/// Coefficients of the twin's physical model. The defaults are the calibrated values: fitted so the bundled Llama-3.1
/// profiles land near ML.ENERGY's published H100 measurements (docs/twin.md has the table and the sources).
/// </summary>
public sealed record StepModelOptions
{
    /// <summary>Share of peak dense FLOP/s a step achieves. Default: 0.68 (calibrated).</summary>
    public double ComputeEfficiency { get; init; } = 0.68;

    /// <summary>Share of peak memory bandwidth a step achieves. Default: 0.90 (calibrated).</summary>
    public double MemoryEfficiency { get; init; } = 0.90;

    /// <summary>Fixed time per step (scheduling, kernel launches, sampling), s; drawn at idle power. Default: 1.26 ms (calibrated).</summary>
    public double OverheadSeconds { get; init; } = 1.26e-3;

    /// <summary>
    /// Latency of one all-reduce across the devices of a tensor-parallel replica, s; two per layer per step, drawn at idle
    /// power, and zero on one device. An effective figure that also absorbs other losses of splitting a model. Default: 31 µs (calibrated).
    /// </summary>
    public double CollectiveSeconds { get; init; } = 31e-6;

    /// <summary>Dynamic power at full compute use, as a share of (power limit − idle). Default: 0.62 (calibrated).</summary>
    public double ComputePowerShare { get; init; } = 0.62;

    /// <summary>Dynamic power at full memory-bandwidth use, as a share of (power limit − idle). Default: 0.83 (calibrated).</summary>
    public double MemoryPowerShare { get; init; } = 0.83;

    /// <summary>Power limit per device, W; null uses the accelerator's. Below the demand, clocks drop and steps stretch.</summary>
    public double? PowerLimitWatts { get; init; }

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (!(ComputeEfficiency is > 0 and <= 1)) errors.Add($"Compute efficiency must be in (0, 1] (was {ComputeEfficiency}).");
        if (!(MemoryEfficiency is > 0 and <= 1)) errors.Add($"Memory efficiency must be in (0, 1] (was {MemoryEfficiency}).");
        if (!(OverheadSeconds >= 0)) errors.Add($"Step overhead must be at least 0 s (was {OverheadSeconds}).");
        if (!(CollectiveSeconds >= 0)) errors.Add($"Collective latency must be at least 0 s (was {CollectiveSeconds}).");
        if (!(ComputePowerShare >= 0) || !(MemoryPowerShare >= 0)) errors.Add("Power shares must be at least 0.");
        if (PowerLimitWatts is { } limit && !(limit > 0)) errors.Add($"The power limit must be above 0 W (was {limit}).");
        return errors;
    }
}

/// <summary>Time, power and energy of one step, for all devices together.</summary>
/// <param name="Seconds">Wall time of the step, stretched when the power limit binds.</param>
/// <param name="ComputeSeconds">FLOP ÷ (peak × efficiency × devices).</param>
/// <param name="MemorySeconds">Bytes moved ÷ (bandwidth × efficiency × devices).</param>
/// <param name="Watts">Mean power over the step: idle plus dynamic, at most the limit.</param>
/// <param name="DynamicJoules">Energy above idle: what the step's sequences are charged.</param>
/// <param name="PowerCapped">True when demand exceeded the limit and the step was stretched.</param>
public readonly record struct StepCost(
    double Seconds, double ComputeSeconds, double MemorySeconds, double Flop, double Bytes, double Watts, double DynamicJoules, bool PowerCapped)
{
    public double Joules => Watts * Seconds;
}

/// <summary>
/// The roofline of one engine step and the power it draws, for a model on a number of identical accelerators
/// (split evenly: tensor parallelism with perfect scaling, a stated simplification).
/// </summary>
/// <remarks>
/// <para>Work: FLOP = Σ tokens 2·N_active + the attention FLOP of what each token attends to (the catalog's κ terms);
/// bytes = the weights once per step + the KV cache read (each prefill chunk's context once, each decoding
/// sequence's context once) + the KV written for every new token. Time = max(FLOP ÷ (peak·ρ_c·n), bytes ÷ (bandwidth·ρ_m·n))
/// + overhead + (n &gt; 1: 2·layers·collective latency).</para>
/// <para>Power: P = n·P_idle + n·(P_limit,spec − P_idle)·min(1, s_c·u_c + s_m·u_m), with u_c and u_m the shares of
/// the step spent at the compute and memory roofs. When that exceeds the enforced limit, clocks drop: the step's
/// dynamic energy is kept and it is stretched until power equals the limit (first order: DVFS also lowers the energy
/// a little, which this ignores).</para>
/// </remarks>
public sealed class StepModel
{
    private readonly ModelArchitecture _model;
    private readonly StepModelOptions _options;
    private readonly double _peakFlop;
    private readonly double _bandwidth;
    private readonly double _weightBytes;
    private readonly double _kvBytesPerToken;
    private readonly double _idleWatts;
    private readonly double _dynamicRangeWatts;
    private readonly double _limitWatts;
    private readonly double _fixedSeconds;

    public StepModel(ModelArchitecture model, Accelerator accelerator, int devices, string precision, StepModelOptions options)
    {
        var errors = options.Validate().ToList();
        if (devices < 1) errors.Add($"Device count must be at least 1 (was {devices}).");
        if (!Precisions.IsKnown(precision)) errors.Add($"Precision '{precision}' is unknown; use one of {string.Join(", ", Precisions.Names)}.");
        if (accelerator.TypicalIdleWatts is null) errors.Add($"Accelerator '{accelerator.Name}' has no idle power; the twin needs one.");
        else if (options.PowerLimitWatts is { } cap && cap <= accelerator.TypicalIdleWatts)
            errors.Add($"A power limit of {cap} W per device is at or below the {accelerator.DisplayName ?? accelerator.Name}'s idle power ({accelerator.TypicalIdleWatts} W): no step could run. Set --power-limit above it.");
        if (errors.Count > 0) throw new EnergyToTokenException(string.Join(Environment.NewLine, errors));
        _model = model;
        _options = options;
        var bytes = Precisions.Bytes(precision);
        _peakFlop = accelerator.PeakFlopPerSecond(precision) * options.ComputeEfficiency * devices;
        _bandwidth = accelerator.MemoryBandwidthBytesPerSecond * options.MemoryEfficiency * devices;
        _weightBytes = model.WeightBytes(bytes);
        _kvBytesPerToken = model.KvCacheBytesPerToken(bytes);
        _idleWatts = accelerator.TypicalIdleWatts!.Value * devices;
        _dynamicRangeWatts = (accelerator.PowerLimitWatts - accelerator.TypicalIdleWatts.Value) * devices;
        _limitWatts = (options.PowerLimitWatts ?? accelerator.PowerLimitWatts) * devices;
        // Tensor parallelism adds two all-reduces per layer (after attention and after the MLP) to every step.
        _fixedSeconds = options.OverheadSeconds + (devices > 1 ? 2 * model.Layers * options.CollectiveSeconds : 0);
    }

    public StepCost Cost(in StepWork work)
    {
        var tokens = work.Tokens;
        if (tokens == 0) return new StepCost(0, 0, 0, 0, 0, _idleWatts, 0, false);
        var flop = Flop(work);
        var bytes = _weightBytes + KvBytes(work);
        var compute = flop / _peakFlop;
        var memory = bytes / _bandwidth;
        var seconds = Math.Max(compute, memory) + _fixedSeconds;
        var demand = _dynamicRangeWatts * Math.Min(1, _options.ComputePowerShare * compute / seconds + _options.MemoryPowerShare * memory / seconds);
        var dynamicJoules = demand * seconds;
        var available = Math.Max(0, _limitWatts - _idleWatts);
        if (demand > available)
        {
            // Clocks drop until the draw meets the limit: same dynamic energy, spread over a longer step.
            var stretched = available > 0 ? dynamicJoules / available : double.PositiveInfinity;
            return new StepCost(stretched, compute, memory, flop, bytes, _limitWatts, dynamicJoules, true);
        }
        return new StepCost(seconds, compute, memory, flop, bytes, _idleWatts + demand, dynamicJoules, false);
    }

    /// <summary>Idle power of all devices together, W: what the deployment draws between steps.</summary>
    public double IdleWatts => _idleWatts;

    /// <summary>
    /// The share of a step's dynamic energy that belongs to <paramref name="part"/>, one sequence's work inside
    /// <paramref name="step"/>: its share of the FLOP weighted by the compute side of the energy, plus its share of the
    /// bytes (the weights split by tokens, its own KV) weighted by the memory side. Shares of all parts sum to 1.
    /// </summary>
    public double Share(in StepCost cost, in StepWork step, in StepWork part)
    {
        if (part.Tokens == 0 || step.Tokens == 0) return 0;
        var computeSide = _options.ComputePowerShare * cost.ComputeSeconds;
        var memorySide = _options.MemoryPowerShare * cost.MemorySeconds;
        var partBytes = _weightBytes * part.Tokens / step.Tokens + KvBytes(part);
        var flopShare = cost.Flop > 0 ? Flop(part) / cost.Flop : 0;
        var byteShare = partBytes / cost.Bytes;
        var sides = computeSide + memorySide;
        // With both shares set to zero there is no dynamic energy to split; fall back to tokens so shares still sum to 1.
        return sides > 0 ? (computeSide * flopShare + memorySide * byteShare) / sides : part.Tokens / (double)step.Tokens;
    }

    /// <summary>The fraction of a step spent at the compute roof: the twin's stand-in for SM activity.</summary>
    public static double ComputeActivity(in StepCost cost) => cost.Seconds > 0 ? Math.Min(1, cost.ComputeSeconds / cost.Seconds) : 0;

    private double Flop(in StepWork work) =>
        work.Tokens * _model.WeightFlopPerToken + AttentionFlop(work.PrefillAttended) + AttentionFlop(work.DecodeAttended);

    /// <summary>KV bytes moved: prefill reads a chunk's context once (flash attention keeps tiles on chip), decode reads each context once, every new token is written.</summary>
    private double KvBytes(in StepWork work) => (work.PrefillContext + work.DecodeAttended + work.Tokens) * _kvBytesPerToken;

    /// <summary>Attention FLOP for a total of <paramref name="attended"/> (token, attended token) pairs: the per-pair term of κ.</summary>
    private double AttentionFlop(double attended) => attended * _model.AttentionFlopPerToken(1);
}
