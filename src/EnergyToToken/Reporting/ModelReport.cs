using System.Text.Json;
using System.Text.Json.Serialization;
using EnergyToToken.Production;
using EnergyToToken.Scenarios;

namespace EnergyToToken.Reporting;

/// <summary>
/// What <c>e2t model --json</c> prints: schema <see cref="CurrentSchemaVersion"/>, documented field by field in
/// docs/model.md. Enumerations are camelCase strings; powers in W, compute in FLOP/s, rates in tokens/s.
/// </summary>
public sealed record ModelReport
{
    public const int CurrentSchemaVersion = 1;

    public int SchemaVersion { get; init; } = CurrentSchemaVersion;

    public string Kind { get; init; } = "e2t.model";

    public string? Name { get; init; }

    /// <summary>Gets which convention is the headline: "realized", or "peak" when only the peak was given.</summary>
    public required string Headline { get; init; }

    public required ModelReportInputs Inputs { get; init; }

    public required IReadOnlyList<Derivation> Derivations { get; init; }

    public required IReadOnlyList<ModelReportConvention> Conventions { get; init; }

    /// <summary>Gets ρ_kernel = C_eff / C_peak when both are known.</summary>
    public double? KernelEfficiency { get; init; }

    public ModelReportMechanisms? Mechanisms { get; init; }

    public required IReadOnlyList<string> Notes { get; init; }

    public static ModelReport From(ModelPlan plan, ProductionResult result, MechanismEffect? effect)
    {
        var inputs = plan.Inputs;
        var horizon = inputs.HorizonSeconds;
        return new ModelReport
        {
            Name = plan.Name,
            Headline = Camel(result.Headline.Convention),
            Inputs = new ModelReportInputs
            {
                KappaFlopPerToken = inputs.KappaFlopPerToken,
                EpsilonJoulesPerToken = inputs.EpsilonJoulesPerToken,
                EffectiveComputeFlopPerSecond = inputs.EffectiveComputeFlopPerSecond?.Mean(0, horizon),
                PeakComputeFlopPerSecond = inputs.PeakComputeFlopPerSecond,
                ItPowerWatts = result.ItPowerWatts,
                ItPowerSource = Camel(inputs.ItPowerSource),
                FacilityPowerWatts = result.FacilityPowerWatts,
                Pue = inputs.Pue?.Mean(0, horizon),
                CoolingCapacityWatts = inputs.CoolingCapacityWatts,
                Utilization = inputs.Utilization.Mean(0, horizon),
                DrawnPowerWatts = inputs.DrawnPowerWatts,
                HorizonSeconds = horizon,
                TieTolerance = inputs.TieTolerance,
                Model = plan.Model?.Name,
                Context = plan.Context,
                Accelerator = plan.Accelerator?.Name,
                Count = plan.Accelerator is null ? null : plan.Count,
                Precision = plan.Accelerator is null && plan.Model is null ? null : plan.Precision,
            },
            Derivations = plan.Derivations,
            Conventions = result.Conventions.Select((c, i) => Convention(c, i == 0)).ToList(),
            KernelEfficiency = result.KernelEfficiency,
            Mechanisms = effect is null ? null : new ModelReportMechanisms
            {
                Applied = effect.Mechanisms.Select(m => new ModelReportMechanism(m.Name, m.Prefill.KappaGain, m.Prefill.EpsilonGain, m.Decode.KappaGain, m.Decode.EpsilonGain, m.Source)).ToList(),
                PrefillShare = effect.PrefillShare,
                KappaGain = effect.KappaGain,
                EpsilonGain = effect.EpsilonGain,
                KappaFlopPerToken = effect.After.Inputs.KappaFlopPerToken,
                EpsilonJoulesPerToken = effect.After.Inputs.EpsilonJoulesPerToken,
                TokensRatio = effect.TokensRatio,
                Conventions = effect.After.Conventions.Select((c, i) => Convention(c, i == 0)).ToList(),
            },
            Notes = plan.Notes,
        };
    }

    public string ToJson() => JsonSerializer.Serialize(this, ReportJsonContext.Relaxed.ModelReport);

    private static ModelReportConvention Convention(ConventionResult c, bool headline) => new()
    {
        Convention = Camel(c.Convention),
        IsHeadline = headline,
        ComputeFlopPerSecond = c.ComputeFlopPerSecond,
        ItPowerWatts = c.ItPowerWatts,
        ComputeCeilingTokensPerSecond = c.ComputeCeilingTokensPerSecond,
        PowerCeilingTokensPerSecond = c.PowerCeilingTokensPerSecond,
        BindingConstraint = Camel(c.BindingConstraint),
        Headroom = c.Headroom,
        PhiJoulesPerFlop = c.PhiJoulesPerFlop,
        SigmaJoulesPerFlop = c.SigmaJoulesPerFlop,
        UtilizationAdjustedTokensPerSecond = c.UtilizationAdjustedTokensPerSecond,
        TokensOverHorizon = c.Tokens,
        ComputeBoundShare = c.ComputeBoundShare,
        PowerBoundShare = c.PowerBoundShare,
        CoolingLimitedShare = c.CoolingLimitedShare,
        Explanation = c.Explanation,
        Elasticities = c.Elasticities.Select(e => new ModelReportElasticity(Camel(e.Input), e.Elasticity.Up, e.Elasticity.Down)).ToList(),
        Segments = c.Segments.Count == 1 ? [] : c.Segments.Select(s => new ModelReportSegment(
            s.StartSeconds, s.EndSeconds, s.Utilization, s.ComputeFlopPerSecond, s.ItPowerWatts, Camel(s.ItBudgetLimit),
            s.ComputeCeilingTokensPerSecond, s.PowerCeilingTokensPerSecond, s.TokensPerSecond, s.Tokens)).ToList(),
    };

    /// <summary>An enum member as the report spells it: camelCase.</summary>
    public static string Camel<T>(T value) where T : struct, Enum
    {
        var name = value.ToString();
        return char.ToLowerInvariant(name[0]) + name[1..];
    }
}

/// <summary>The inputs as evaluated; series are reported as their time-means over the horizon.</summary>
public sealed record ModelReportInputs
{
    public double KappaFlopPerToken { get; init; }
    public double EpsilonJoulesPerToken { get; init; }
    public double? EffectiveComputeFlopPerSecond { get; init; }
    public double? PeakComputeFlopPerSecond { get; init; }
    public double ItPowerWatts { get; init; }
    public required string ItPowerSource { get; init; }
    public double? FacilityPowerWatts { get; init; }
    public double? Pue { get; init; }
    public double? CoolingCapacityWatts { get; init; }
    public double Utilization { get; init; }
    public double? DrawnPowerWatts { get; init; }
    public double HorizonSeconds { get; init; }
    public double TieTolerance { get; init; }
    public string? Model { get; init; }
    public int? Context { get; init; }
    public string? Accelerator { get; init; }
    public int? Count { get; init; }
    public string? Precision { get; init; }
}

public sealed record ModelReportConvention
{
    public required string Convention { get; init; }
    public bool IsHeadline { get; init; }
    public double ComputeFlopPerSecond { get; init; }
    public double ItPowerWatts { get; init; }
    public double ComputeCeilingTokensPerSecond { get; init; }
    public double PowerCeilingTokensPerSecond { get; init; }
    public required string BindingConstraint { get; init; }
    public double Headroom { get; init; }
    public double PhiJoulesPerFlop { get; init; }
    public double SigmaJoulesPerFlop { get; init; }
    public double UtilizationAdjustedTokensPerSecond { get; init; }
    public double TokensOverHorizon { get; init; }
    public double ComputeBoundShare { get; init; }
    public double PowerBoundShare { get; init; }
    public double CoolingLimitedShare { get; init; }
    public required string Explanation { get; init; }
    public required IReadOnlyList<ModelReportElasticity> Elasticities { get; init; }
    public required IReadOnlyList<ModelReportSegment> Segments { get; init; }
}

public sealed record ModelReportElasticity(string Input, double Up, double Down);

public sealed record ModelReportSegment(double StartSeconds, double EndSeconds, double Utilization,
    double ComputeFlopPerSecond, double ItPowerWatts, string ItBudgetLimit, double ComputeCeilingTokensPerSecond,
    double PowerCeilingTokensPerSecond, double UtilizationAdjustedTokensPerSecond, double Tokens);

public sealed record ModelReportMechanisms
{
    public required IReadOnlyList<ModelReportMechanism> Applied { get; init; }
    public double PrefillShare { get; init; }
    public double KappaGain { get; init; }
    public double EpsilonGain { get; init; }
    public double KappaFlopPerToken { get; init; }
    public double EpsilonJoulesPerToken { get; init; }
    public double TokensRatio { get; init; }
    public required IReadOnlyList<ModelReportConvention> Conventions { get; init; }
}

public sealed record ModelReportMechanism(string Name, double PrefillKappaGain, double PrefillEpsilonGain,
    double DecodeKappaGain, double DecodeEpsilonGain, string? Source);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    WriteIndented = true,
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(ModelReport))]
[JsonSerializable(typeof(PlanReport))]
[JsonSerializable(typeof(PlanSweepReport))]
internal sealed partial class ReportJsonContext : JsonSerializerContext
{
    /// <summary>Writes κ, ε, φ and σ as themselves rather than \u escapes, so the JSON reads as the table does (model, plan and plan sweep).</summary>
    public static readonly ReportJsonContext Relaxed = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
