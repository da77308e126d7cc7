using System.Globalization;

namespace EnergyToToken.Production;

/// <summary>
/// A deployment and workload at one operating point <c>(q*, s*)</c>: everything Eq. 1 and Eq. 3 need. Series inputs
/// may be constants or step series over the horizon.
/// </summary>
public sealed record ProductionInputs
{
    /// <summary>Gets the compute intensity κ in FLOP per token at the operating point.</summary>
    public required double KappaFlopPerToken { get; init; }

    /// <summary>Gets the energy intensity ε in J per token at the operating point, inside the stated boundary.</summary>
    public required double EpsilonJoulesPerToken { get; init; }

    /// <summary>Gets the realized effective compute <c>C_eff = κ · R_sat</c> in FLOP/s. Null: realized convention not computed.</summary>
    public Series? EffectiveComputeFlopPerSecond { get; init; }

    /// <summary>Gets the spec-sheet peak compute in FLOP/s. Null: peak convention not computed.</summary>
    public double? PeakComputeFlopPerSecond { get; init; }

    /// <summary>Gets the delivered IT power budget in W. Exactly one of this and <see cref="FacilityPowerWatts"/>.</summary>
    public Series? ItPowerWatts { get; init; }

    /// <summary>Gets where <see cref="ItPowerWatts"/> comes from. Default: <see cref="ItPowerSource.Declared"/>.</summary>
    public ItPowerSource ItPowerSource { get; init; } = ItPowerSource.Declared;

    /// <summary>Gets the delivered facility power in W; needs <see cref="Pue"/>.</summary>
    public Series? FacilityPowerWatts { get; init; }

    /// <summary>Gets the PUE (≥ 1). With an IT budget it only serves to report the implied facility power. Default: none.</summary>
    public Series? Pue { get; init; }

    /// <summary>Gets the heat the cooling plant can remove, as an IT power cap in W. Default: none (not binding).</summary>
    public double? CoolingCapacityWatts { get; init; }

    /// <summary>Gets the effective utilization U in (0, 1], applied after the ceilings. Default: 1.</summary>
    public Series Utilization { get; init; } = Series.Constant(1);

    /// <summary>Gets the power drawn during the run that measured ε and C_eff, in W, if known. Default: none.</summary>
    public double? DrawnPowerWatts { get; init; }

    /// <summary>Gets the horizon T over which tokens are counted, in seconds. Default: 86 400 (24 h).</summary>
    public double HorizonSeconds { get; init; } = 86_400;

    /// <summary>Gets the relative tolerance within which the ceilings count as balanced (|H − 1| ≤ it). Default: 0.01.</summary>
    public double TieTolerance { get; init; } = 0.01;

    /// <summary>Returns every problem with these inputs, not just the first; empty when they are valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        Positive(errors, KappaFlopPerToken, "kappa (κ, FLOP per token)",
            "It is the compute per token at the operating point, e.g. 1.36e11 for a 65B dense model at 2k context");
        Positive(errors, EpsilonJoulesPerToken, "epsilon (ε, J per token)",
            "It is the measured energy per token at the operating point, e.g. 0.5");
        if (EffectiveComputeFlopPerSecond is null && PeakComputeFlopPerSecond is null)
            errors.Add("No compute throughput was given: give the realized effective compute C_eff (FLOP/s, or the saturation token rate R_sat), the peak compute C_peak, or both.");
        if (EffectiveComputeFlopPerSecond is { } effective)
            PositiveSeries(errors, effective, "effective compute C_eff (FLOP/s)");
        if (PeakComputeFlopPerSecond is { } peak)
        {
            Positive(errors, peak, "peak compute C_peak (FLOP/s)", "Take it from the accelerator's datasheet for the precision in use");
            if (EffectiveComputeFlopPerSecond is { } realized && peak > 0 && realized.Max > peak)
                errors.Add($"The effective compute C_eff ({Format(realized.Max)} FLOP/s) exceeds the peak C_peak ({Format(peak)} FLOP/s); realized throughput cannot beat the spec sheet. Check the units (FLOP/s, not TFLOP/s) and the precision of the peak.");
        }

        switch (ItPowerWatts, FacilityPowerWatts)
        {
            case (null, null):
                errors.Add("No power budget was given: give the IT power budget P_IT (W), or the facility power (W) with its PUE.");
                break;
            case (not null, not null):
                errors.Add("Both an IT power budget and a facility power were given; give one: P_IT directly, or the facility power with its PUE (P_IT = P_facility / PUE).");
                break;
            case ({ } it, null):
                PositiveSeries(errors, it, "IT power P_IT (W)");
                break;
            case (null, { } facility):
                PositiveSeries(errors, facility, "facility power (W)");
                if (Pue is null) errors.Add("A facility power needs its PUE to give the IT power (P_IT = P_facility / PUE); give the PUE, e.g. 1.3.");
                break;
        }
        if (Pue is { } pue && pue.Min < 1)
            errors.Add($"PUE must be at least 1 (was {Format(pue.Min)}): it is facility power over IT power, and the IT load cannot draw more than the facility delivers. A typical value is 1.1 to 1.6.");
        if (CoolingCapacityWatts is { } cooling)
            Positive(errors, cooling, "cooling capacity (W)", "It is the heat load the cooling plant can remove, as an IT power cap");
        if (Utilization.Min <= 0 || Utilization.Max > 1)
        {
            var bad = Utilization.Min <= 0 ? Utilization.Min : Utilization.Max;
            errors.Add($"Utilization U must be in (0, 1] (was {Format(bad)}): it is the share of the physical ceiling turned into tokens. Give a fraction such as 0.6, not a percentage.");
        }
        if (DrawnPowerWatts is { } drawn)
            Positive(errors, drawn, "drawn power (W)", "It is the mean power drawn during the run that measured ε and C_eff");
        if (!(HorizonSeconds > 0) || !double.IsFinite(HorizonSeconds))
            errors.Add($"The horizon must be a positive duration (was {Format(HorizonSeconds)} s), e.g. 24h.");
        if (!(TieTolerance >= 0 && TieTolerance < 1))
            errors.Add($"The tie tolerance must be in [0, 1) (was {Format(TieTolerance)}): it is the relative gap between the ceilings reported as balanced, e.g. 0.01.");
        return errors;
    }

    /// <summary>Throws one <see cref="EnergyToTokenException"/> that lists every problem, if there are any.</summary>
    public void EnsureValid()
    {
        var errors = Validate();
        if (errors.Count > 0) throw new EnergyToTokenException(string.Join(Environment.NewLine, errors));
    }

    internal static string Format(double value) => value.ToString("G6", CultureInfo.InvariantCulture).Replace("E", "e", StringComparison.Ordinal);

    private static void Positive(List<string> errors, double value, string name, string hint)
    {
        if (!(value > 0) || !double.IsFinite(value))
            errors.Add($"The {name} must be a positive number (was {Format(value)}). {hint}.");
    }

    private static void PositiveSeries(List<string> errors, Series series, string name)
    {
        if (!(series.Min > 0) || !double.IsFinite(series.Max))
            errors.Add($"The {name} must be positive at every step (was {Format(series.Min > 0 ? series.Max : series.Min)}).");
    }
}
