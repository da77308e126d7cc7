using EnergyToToken.Production;

namespace EnergyToToken.Tests.Production;

public sealed class MechanismAndGainTests
{
    private static ProductionInputs PowerBound() => new()
    {
        KappaFlopPerToken = 1e11,
        EpsilonJoulesPerToken = 1,
        EffectiveComputeFlopPerSecond = Series.Constant(1e15),   // compute ceiling 10,000 tokens/s
        ItPowerWatts = Series.Constant(1000),                    // power ceiling 1,000 tokens/s
        HorizonSeconds = 100,
    };

    [Fact]
    public void Mechanisms_compose_by_multiplying_their_gains_per_phase()
    {
        EfficiencyMechanism[] stack =
        [
            new("mla", Prefill: new(1.5, 1.2), Decode: new(2, 3)),
            new("int4", Prefill: new(1, 2), Decode: new(1, 3)),
        ];
        Assert.Equal(new PhaseGains(1.5, 2.4), EfficiencyMechanisms.Compose(stack, Phase.Prefill));
        Assert.Equal(new PhaseGains(2, 9), EfficiencyMechanisms.Compose(stack, Phase.Decode));
    }

    [Fact]
    public void A_kappa_only_mechanism_does_not_move_Q_under_power_binding()
    {
        var effect = EfficiencyMechanisms.Apply(PowerBound(), [new("sparse-attention", new(2, 1), new(2, 1))]);
        Close.To(2, effect.KappaGain);
        Close.To(20_000, effect.After.Headline.ComputeCeilingTokensPerSecond);
        Close.To(1000, effect.After.Headline.PowerCeilingTokensPerSecond);
        Close.To(1, effect.TokensRatio);
    }

    [Fact]
    public void Halving_epsilon_doubles_the_power_ceiling_and_Q_when_power_binds()
    {
        // The paper's example: a memory-efficiency gain that cuts J/token by 50 % doubles the power ceiling.
        var effect = EfficiencyMechanisms.Apply(PowerBound(), [new("kv-compression", new(1, 2), new(1, 2))]);
        Close.To(2000, effect.After.Headline.PowerCeilingTokensPerSecond);
        Close.To(2, effect.TokensRatio);
        Close.To(0.5, effect.After.Inputs.EpsilonJoulesPerToken);
    }

    [Fact]
    public void Phases_are_blended_by_the_prefill_share()
    {
        // Decode-only gain of 4 on ε, prefill untouched, 20 % prefill tokens: ε' = ε·(0.2/1 + 0.8/4) = 0.4 ε.
        var effect = EfficiencyMechanisms.Apply(PowerBound(), [new("decode-only", PhaseGains.None, new(1, 4))], prefillShare: 0.2);
        Close.To(0.4, effect.After.Inputs.EpsilonJoulesPerToken);
        Close.To(2.5, effect.EpsilonGain);
        Close.To(1, effect.KappaGain);
    }

    [Fact]
    public void Bad_mechanisms_are_all_reported()
    {
        var ex = Assert.Throws<EnergyToTokenException>(() =>
            EfficiencyMechanisms.Apply(PowerBound(), [new("broken", new(0, 1), new(1, -2))], prefillShare: 2));
        Assert.Contains("prefill κ gain must be a positive factor (was 0)", ex.Message, StringComparison.Ordinal);
        Assert.Contains("decode ε gain must be a positive factor (was -2)", ex.Message, StringComparison.Ordinal);
        Assert.Contains("prefill share must be in [0, 1] (was 2)", ex.Message, StringComparison.Ordinal);
    }

    private static OperatingPointObservation Baseline() => new("fp16",
        new Dictionary<string, double> { ["mmlu"] = 68.9, ["ruler"] = 80 },
        new Dictionary<string, double> { ["ttft_p99"] = 400, ["tpot_p99"] = 90 },
        ErrorRate: 0.001, EpsilonJoulesPerToken: 0.5, TokensPerSecond: 1000);

    private static GainTolerances Tolerances() => new(
        new Dictionary<string, double> { ["mmlu"] = 1, ["ruler"] = 2 },
        new Dictionary<string, double> { ["ttft_p99"] = 500, ["tpot_p99"] = 100 });

    [Fact]
    public void A_change_inside_every_tolerance_counts()
    {
        var candidate = Baseline() with
        {
            Name = "int4",
            Quality = new Dictionary<string, double> { ["mmlu"] = 68.2, ["ruler"] = 78.5 },
            EpsilonJoulesPerToken = 0.25,
            TokensPerSecond = 1600,
        };
        var verdict = GainCheck.Evaluate(Baseline(), candidate, Tolerances());
        Assert.True(verdict.Counts);
        Assert.Empty(verdict.Reasons);
        Assert.Equal(5, verdict.Checks.Count);
        Close.To(0.5, verdict.EpsilonRatio!.Value);
        Close.To(1.6, verdict.ThroughputRatio!.Value);
    }

    [Fact]
    public void Every_broken_tolerance_is_listed_as_a_reason()
    {
        var candidate = Baseline() with
        {
            Name = "aggressive",
            Quality = new Dictionary<string, double> { ["mmlu"] = 66.0 },
            LatencyMilliseconds = new Dictionary<string, double> { ["ttft_p99"] = 650, ["tpot_p99"] = 80 },
            ErrorRate = 0.01,
        };
        var verdict = GainCheck.Evaluate(Baseline(), candidate, Tolerances());
        Assert.False(verdict.Counts);
        var reasons = verdict.Reasons.ToList();
        Assert.Equal(4, reasons.Count);
        Assert.Contains(reasons, r => r.Contains("'mmlu' fell 2.9 points", StringComparison.Ordinal));
        Assert.Contains(reasons, r => r.Contains("'ruler' was not reported", StringComparison.Ordinal));
        Assert.Contains(reasons, r => r.Contains("'ttft_p99' 650 ms misses the target of 500 ms", StringComparison.Ordinal));
        Assert.Contains(reasons, r => r.Contains("Error rate rose from 0.1 % to 1 %", StringComparison.Ordinal));
    }

    [Fact]
    public void A_measured_quality_without_a_disclosed_tolerance_does_not_count()
    {
        var tolerances = Tolerances() with { QualityDropPoints = new Dictionary<string, double> { ["mmlu"] = 1 } };
        var verdict = GainCheck.Evaluate(Baseline(), Baseline() with { Name = "same" }, tolerances);
        Assert.False(verdict.Counts);
        Assert.Contains(verdict.Reasons, r => r.Contains("'ruler' was measured but no tolerance", StringComparison.Ordinal));
    }

    [Fact]
    public void Without_quality_or_latency_targets_neither_is_shown_to_hold_and_the_change_does_not_count()
    {
        var bare = Baseline() with { Quality = new Dictionary<string, double>() };
        var verdict = GainCheck.Evaluate(bare, bare with { Name = "same" }, new GainTolerances(new Dictionary<string, double>(), new Dictionary<string, double>()));
        Assert.False(verdict.Counts);
        Assert.Equal(["quality", "latency", "error rate"], verdict.Checks.Select(c => c.Check));
        Assert.Contains(verdict.Reasons, r => r.Contains("quality is not shown to hold", StringComparison.Ordinal));
        Assert.Contains(verdict.Reasons, r => r.Contains("No latency target s* was disclosed", StringComparison.Ordinal));
    }
}
