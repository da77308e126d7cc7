namespace EnergyToToken.Production;

/// <summary>An inference phase: prefill processes input tokens, decode emits output tokens.</summary>
public enum Phase
{
    Prefill,
    Decode,
}

/// <summary>
/// A mechanism's gains in one phase: <c>ηκ</c> divides κ and <c>ηε</c> divides ε (Eq. 2). 1 leaves the phase alone;
/// above 1 is a gain; below 1 a loss (some mechanisms trade one for the other).
/// </summary>
public readonly record struct PhaseGains(double KappaGain, double EpsilonGain)
{
    public static readonly PhaseGains None = new(1, 1);

    public PhaseGains Compose(PhaseGains other) => new(KappaGain * other.KappaGain, EpsilonGain * other.EpsilonGain);
}

/// <summary>
/// One efficiency mechanism (KV-cache compression, sparse attention, quantization, routing, adaptive reasoning,
/// scheduling) as per-phase multipliers against the dense multi-head-attention FP16 reference (spec section 4).
/// </summary>
/// <param name="Name">What it is, e.g. "int4-weights".</param>
/// <param name="Prefill">Gains on prefill tokens.</param>
/// <param name="Decode">Gains on decode tokens.</param>
/// <param name="Source">Where the factors come from (a measurement, a paper); shown in the report.</param>
public sealed record EfficiencyMechanism(string Name, PhaseGains Prefill, PhaseGains Decode, string? Source = null)
{
    public PhaseGains For(Phase phase) => phase == Phase.Prefill ? Prefill : Decode;

    /// <summary>Returns every problem with this mechanism (non-positive or non-finite gains, no name).</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(Name)) errors.Add("A mechanism has no name; name it, e.g. 'int4-weights'.");
        foreach (var phase in Enum.GetValues<Phase>())
        {
            var g = For(phase);
            foreach (var (value, symbol) in new[] { (g.KappaGain, "κ"), (g.EpsilonGain, "ε") })
            {
                if (!(value > 0) || !double.IsFinite(value))
                    errors.Add($"Mechanism '{Name}': its {phase.ToString().ToLowerInvariant()} {symbol} gain must be a positive factor (was {ProductionInputs.Format(value)}); 1 means no change, 2 halves {symbol}.");
            }
        }
        return errors;
    }
}

/// <summary>What a set of mechanisms does to κ, ε, both ceilings and Q, composed (Eq. 2).</summary>
/// <param name="Mechanisms">The mechanisms, composed by multiplying their gains per phase.</param>
/// <param name="PrefillShare">The share of counted tokens that are prefill tokens, used to blend the phases.</param>
/// <param name="Prefill">The composed prefill gains.</param>
/// <param name="Decode">The composed decode gains.</param>
/// <param name="KappaGain">The blended gain on κ: <c>κ_before / κ_after</c>; it multiplies the compute ceiling.</param>
/// <param name="EpsilonGain">The blended gain on ε: <c>ε_before / ε_after</c>; it multiplies the power ceiling.</param>
/// <param name="Before">The result without the mechanisms.</param>
/// <param name="After">The result with them.</param>
public sealed record MechanismEffect(
    IReadOnlyList<EfficiencyMechanism> Mechanisms,
    double PrefillShare,
    PhaseGains Prefill,
    PhaseGains Decode,
    double KappaGain,
    double EpsilonGain,
    ProductionResult Before,
    ProductionResult After)
{
    /// <summary>Gets Q after over Q before, under the headline convention.</summary>
    public double TokensRatio => After.Headline.Tokens / Before.Headline.Tokens;
}

/// <summary>Applies efficiency mechanisms to an operating point.</summary>
public static class EfficiencyMechanisms
{
    /// <summary>
    /// Composes the mechanisms per phase and applies them to the operating point. Per phase
    /// <c>κ_phase = κ / Π ηκ</c> and <c>ε_phase = ε / Π ηε</c>; the point's κ and ε are then the token-weighted blend
    /// <c>κ' = f_p · κ_prefill + (1 − f_p) · κ_decode</c> with <c>f_p</c> = <paramref name="prefillShare"/>
    /// (the project's convention: the inputs' κ and ε stand for both phases before the mechanisms).
    /// </summary>
    public static MechanismEffect Apply(ProductionInputs inputs, IReadOnlyList<EfficiencyMechanism> mechanisms,
        double prefillShare = 0)
    {
        var errors = new List<string>(inputs.Validate());
        foreach (var m in mechanisms) errors.AddRange(m.Validate());
        if (!(prefillShare >= 0 && prefillShare <= 1))
            errors.Add($"The prefill share must be in [0, 1] (was {ProductionInputs.Format(prefillShare)}): it is the fraction of counted tokens that are prefill (input) tokens; 0 counts decode tokens only.");
        if (errors.Count > 0) throw new EnergyToTokenException(string.Join(Environment.NewLine, errors));

        var prefill = Compose(mechanisms, Phase.Prefill);
        var decode = Compose(mechanisms, Phase.Decode);
        var (kappaFactor, epsilonFactor) = Factors(mechanisms, prefillShare);
        var after = inputs with
        {
            KappaFlopPerToken = inputs.KappaFlopPerToken * kappaFactor,
            EpsilonJoulesPerToken = inputs.EpsilonJoulesPerToken * epsilonFactor,
            // Realized C_eff = κ·R_sat is a FLOP rate: the hardware's realized FLOP/s stays, so R_sat moves with κ.
        };
        return new MechanismEffect(mechanisms, prefillShare, prefill, decode, 1 / kappaFactor, 1 / epsilonFactor,
            ProductionModel.Evaluate(inputs), ProductionModel.Evaluate(after));
    }

    /// <summary>
    /// What the mechanisms multiply κ and ε by once the phases are blended:
    /// <c>f_p / Πηκ_prefill + (1 − f_p) / Πηκ_decode</c>, and the same for ε.
    /// </summary>
    public static (double Kappa, double Epsilon) Factors(IReadOnlyList<EfficiencyMechanism> mechanisms, double prefillShare)
    {
        var prefill = Compose(mechanisms, Phase.Prefill);
        var decode = Compose(mechanisms, Phase.Decode);
        return (prefillShare / prefill.KappaGain + (1 - prefillShare) / decode.KappaGain,
                prefillShare / prefill.EpsilonGain + (1 - prefillShare) / decode.EpsilonGain);
    }

    /// <summary>The product of every mechanism's gains in one phase.</summary>
    public static PhaseGains Compose(IEnumerable<EfficiencyMechanism> mechanisms, Phase phase) =>
        mechanisms.Aggregate(PhaseGains.None, (acc, m) => acc.Compose(m.For(phase)));
}
