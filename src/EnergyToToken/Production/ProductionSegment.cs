namespace EnergyToToken.Production;

/// <summary>
/// One interval of the horizon over which every input is constant, with its two ceilings (tokens/s).
/// <see cref="ItPowerWatts"/> is the usable IT budget: the delivered IT power, capped by cooling capacity.
/// </summary>
public readonly record struct ProductionSegment(
    double StartSeconds,
    double EndSeconds,
    double Utilization,
    double ComputeFlopPerSecond,
    double DeliveredItPowerWatts,
    double ItPowerWatts,
    ItBudgetLimit ItBudgetLimit,
    double ComputeCeilingTokensPerSecond,
    double PowerCeilingTokensPerSecond)
{
    /// <summary>Gets the utilization-adjusted token rate <c>U · min(...)</c> in tokens/s.</summary>
    public double TokensPerSecond => Utilization * Math.Min(ComputeCeilingTokensPerSecond, PowerCeilingTokensPerSecond);

    /// <summary>Gets the tokens produced in this segment.</summary>
    public double Tokens => TokensPerSecond * (EndSeconds - StartSeconds);

    /// <summary>Gets the segment's duration in seconds.</summary>
    public double DurationSeconds => EndSeconds - StartSeconds;
}
