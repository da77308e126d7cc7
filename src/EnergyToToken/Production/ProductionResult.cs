namespace EnergyToToken.Production;

/// <summary>The production function evaluated under every convention the inputs allow.</summary>
/// <param name="Inputs">What was evaluated.</param>
/// <param name="Conventions">Realized first (the headline) when C_eff was given, then peak (the upper bound).</param>
/// <param name="ItPowerWatts">The time-mean delivered IT power before any cooling cap, in W.</param>
/// <param name="FacilityPowerWatts">The time-mean facility power, given or implied by P_IT · PUE; null without a PUE.</param>
/// <param name="KernelEfficiency">ρ_kernel = C_eff / C_peak (an MFU), when both are known.</param>
public sealed record ProductionResult(
    ProductionInputs Inputs,
    IReadOnlyList<ConventionResult> Conventions,
    double ItPowerWatts,
    double? FacilityPowerWatts,
    double? KernelEfficiency)
{
    /// <summary>Gets the headline: realized when available, else peak (flagged as an upper bound).</summary>
    public ConventionResult Headline => Conventions[0];
}

/// <summary>Eq. 1 and Eq. 3 under one convention. Ceilings and powers are time-means over the horizon.</summary>
public sealed record ConventionResult(
    Convention Convention,
    double ComputeFlopPerSecond,
    double ItPowerWatts,
    double ComputeCeilingTokensPerSecond,
    double PowerCeilingTokensPerSecond,
    BindingConstraint BindingConstraint,
    double Headroom,
    double PhiJoulesPerFlop,
    double SigmaJoulesPerFlop,
    double UtilizationAdjustedTokensPerSecond,
    double Tokens,
    double ComputeBoundShare,
    double PowerBoundShare,
    double CoolingLimitedShare,
    string Explanation,
    IReadOnlyList<InputElasticity> Elasticities,
    IReadOnlyList<ProductionSegment> Segments);
