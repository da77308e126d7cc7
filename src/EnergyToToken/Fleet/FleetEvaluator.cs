namespace EnergyToToken.Fleet;

/// <summary>The series a fleet evaluation reads, as the range queries returned them.</summary>
public sealed record FleetData(
    IReadOnlyList<RangeSeries> PromptTokens,
    IReadOnlyList<RangeSeries> GenerationTokens,
    IReadOnlyList<RangeSeries> Energy,
    IReadOnlyList<RangeSeries> Power,
    IReadOnlyList<RangeSeries> SmActive,
    IReadOnlyList<RangeSeries> Pue,
    IReadOnlyList<RangeSeries>? NodeEnergy = null,
    IReadOnlyList<RangeSeries>? NodePower = null);

/// <summary>Which constraint binds a group in a step (docs/fleet.md, "The binding rule").</summary>
public enum FleetConstraint
{
    /// <summary>Neither arm reaches the saturation threshold: the fleet serves what it is asked; demand binds.</summary>
    Demand,

    /// <summary>SM activity U is at the threshold and above the power load: compute binds.</summary>
    Compute,

    /// <summary>Facility power over budget is at the threshold and above U: power binds.</summary>
    Power,

    /// <summary>Both arms saturated within the tie tolerance of each other.</summary>
    Balanced,

    /// <summary>The step has no samples to judge by.</summary>
    NoData,
}

/// <summary>
/// The fleet's production figures from its Prometheus series: per group and over time, tokens, energy, J/token, U, IT
/// and facility power and the binding constraint. Pure: the series come in, the report goes out. The work is done by
/// <see cref="FleetAccumulator"/>, which folds series in as they arrive; this is its one-call form.
/// </summary>
public static class FleetEvaluator
{
    public static FleetReport Evaluate(FleetOptions options, FleetData data)
    {
        var fleet = new FleetAccumulator(options);
        foreach (var s in data.PromptTokens) fleet.AddPromptTokens(s);
        foreach (var s in data.GenerationTokens) fleet.AddGenerationTokens(s);
        foreach (var s in data.Energy) fleet.AddEnergy(s);
        foreach (var s in data.Power) fleet.AddPower(s);
        foreach (var s in data.SmActive) fleet.AddSmActive(s);
        foreach (var s in data.NodeEnergy ?? []) fleet.AddNodeEnergy(s);
        foreach (var s in data.NodePower ?? []) fleet.AddNodePower(s);
        foreach (var s in data.Pue) fleet.AddPue(s);
        return fleet.Finish();
    }

    /// <summary>
    /// The binding rule: an arm's load is U (compute) or facility power over the budget (power); below the saturation
    /// threshold on both, demand binds; otherwise the higher load binds, and loads within the tie tolerance are balanced.
    /// </summary>
    public static FleetConstraint Classify(double u, double powerLoad, double saturation, double tieTolerance)
    {
        var hasU = !double.IsNaN(u);
        var hasPower = !double.IsNaN(powerLoad);
        if (!hasU && !hasPower) return FleetConstraint.NoData;
        var uSaturated = hasU && u >= saturation;
        var powerSaturated = hasPower && powerLoad >= saturation;
        if (!uSaturated && !powerSaturated) return FleetConstraint.Demand;
        if (uSaturated && powerSaturated && Math.Abs(u - powerLoad) <= tieTolerance) return FleetConstraint.Balanced;
        if (uSaturated && (!powerSaturated || u > powerLoad)) return FleetConstraint.Compute;
        return FleetConstraint.Power;
    }
}
