namespace EnergyToToken.Production;

/// <summary>
/// The Token Production Function's pure arithmetic (spec sections 2 and 3). Every quantity is in SI units named by
/// its parameter; nothing here does I/O or validation (see <see cref="ProductionInputs.Validate"/>).
/// </summary>
public static class TokenProductionFunction
{
    /// <summary>Compute ceiling <c>C_eff / κ</c> in tokens/s.</summary>
    public static double ComputeCeiling(double computeFlopPerSecond, double kappaFlopPerToken) =>
        computeFlopPerSecond / kappaFlopPerToken;

    /// <summary>Power ceiling <c>P_IT / ε</c> in tokens/s.</summary>
    public static double PowerCeiling(double itPowerWatts, double epsilonJoulesPerToken) =>
        itPowerWatts / epsilonJoulesPerToken;

    /// <summary>Eq. 1: <c>q̇ = U · min(C_eff/κ, P_IT/ε)</c> in tokens/s.</summary>
    public static double Rate(double utilization, double computeFlopPerSecond, double kappaFlopPerToken,
        double itPowerWatts, double epsilonJoulesPerToken) =>
        utilization * Math.Min(ComputeCeiling(computeFlopPerSecond, kappaFlopPerToken),
                               PowerCeiling(itPowerWatts, epsilonJoulesPerToken));

    /// <summary>IT-delivered power <c>P_IT = P_facility / PUE</c> in W.</summary>
    public static double ItPower(double facilityPowerWatts, double pue) => facilityPowerWatts / pue;

    /// <summary>The facility power implied by an IT power, <c>P_facility = P_IT · PUE</c>, in W.</summary>
    public static double FacilityPower(double itPowerWatts, double pue) => itPowerWatts * pue;

    /// <summary>Energy per FLOP the workload demands, <c>φ = ε / κ</c>, in J/FLOP.</summary>
    public static double Phi(double epsilonJoulesPerToken, double kappaFlopPerToken) =>
        epsilonJoulesPerToken / kappaFlopPerToken;

    /// <summary>Energy per FLOP the deployment supplies, <c>σ = P_IT / C_eff</c>, in J/FLOP.</summary>
    public static double Sigma(double itPowerWatts, double computeFlopPerSecond) =>
        itPowerWatts / computeFlopPerSecond;

    /// <summary>Headroom <c>H = (P_IT/ε) / (C_eff/κ) = σ/φ</c>: above 1 compute-bound, below 1 power-bound.</summary>
    public static double Headroom(double computeCeilingTokensPerSecond, double powerCeilingTokensPerSecond) =>
        powerCeilingTokensPerSecond / computeCeilingTokensPerSecond;

    /// <summary>
    /// Eq. 3's verdict from the two ceilings: <see cref="BindingConstraint.Balanced"/> when the headroom is within
    /// <paramref name="tieTolerance"/> of 1 (|H − 1| ≤ tolerance), otherwise the arm with the lower ceiling.
    /// </summary>
    public static BindingConstraint Classify(double computeCeilingTokensPerSecond, double powerCeilingTokensPerSecond,
        double tieTolerance)
    {
        var headroom = Headroom(computeCeilingTokensPerSecond, powerCeilingTokensPerSecond);
        if (Math.Abs(headroom - 1) <= tieTolerance) return BindingConstraint.Balanced;
        return headroom > 1 ? BindingConstraint.Compute : BindingConstraint.Power;
    }
}

/// <summary>Which arm of the <c>min</c> sets the token rate.</summary>
public enum BindingConstraint
{
    /// <summary>The compute ceiling is lower (φ &lt; σ): power has slack.</summary>
    Compute,

    /// <summary>The power ceiling is lower (φ &gt; σ): compute has slack.</summary>
    Power,

    /// <summary>The ceilings are equal within the stated tolerance.</summary>
    Balanced,

    /// <summary>The test cannot say: the IT power is the power drawn, so σ = φ by construction (spec section 3).</summary>
    Degenerate,

    /// <summary>Over a horizon with time series, different arms bind at different times.</summary>
    Mixed,
}

/// <summary>Which compute throughput stands in the compute ceiling (spec section 3).</summary>
public enum Convention
{
    /// <summary>Realized effective serving throughput <c>C_eff = κ · R_sat</c>: the headline.</summary>
    Realized,

    /// <summary>Spec-sheet peak <c>C_peak</c>: an upper-bound calibration only.</summary>
    Peak,
}

/// <summary>Where the IT power in the diagnostic comes from.</summary>
public enum ItPowerSource
{
    /// <summary>A declared delivered budget: a rack or node power cap, an allocation.</summary>
    Declared,

    /// <summary>The sum of the accelerators' power limits.</summary>
    DeviceLimits,

    /// <summary>Facility power divided by PUE.</summary>
    FacilityOverPue,

    /// <summary>The power drawn during the run: makes the realized test degenerate.</summary>
    Drawn,
}

/// <summary>What sets the usable IT budget: delivered power or cooling capacity (spec section 2).</summary>
public enum ItBudgetLimit
{
    /// <summary>Delivered power (the IT budget or facility power / PUE).</summary>
    Delivery,

    /// <summary>Cooling capacity, which is below the delivered IT power.</summary>
    Cooling,
}
