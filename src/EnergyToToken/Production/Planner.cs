namespace EnergyToToken.Production;

/// <summary>What bound a stretch of time at a site: the compute arm, delivered power, cooling, or neither clearly.</summary>
public enum PlanConstraint
{
    Compute,

    /// <summary>The power arm, with the usable IT power set by delivery (facility ÷ PUE, a declared budget, racks).</summary>
    Power,

    /// <summary>The power arm, with the usable IT power set by the cooling capacity.</summary>
    Cooling,

    /// <summary>The ceilings within the tie tolerance of each other.</summary>
    Balanced,
}

/// <summary>What set a segment's usable IT power.</summary>
public enum ItLimit
{
    /// <summary>Facility power ÷ PUE.</summary>
    Facility,

    /// <summary>A declared IT budget.</summary>
    Budget,

    /// <summary>The sum of the accelerators' watts (no budget given).</summary>
    Devices,

    /// <summary>Rack count × rack power density.</summary>
    Racks,

    /// <summary>Cooling capacity.</summary>
    Cooling,
}

/// <summary>A lever whose elasticity a plan reports: the input scaled by a small factor at every step.</summary>
public enum PlanLever
{
    FacilityPower,
    ItPower,
    Pue,
    CoolingCapacity,
    Racks,
    Accelerators,
    Utilization,
    EffectiveCompute,
    Kappa,
    Epsilon,
}

/// <summary>One stretch of the horizon with constant inputs: both ceilings, what binds, and what it costs.</summary>
public sealed record PlanSegment(
    double StartSeconds,
    double EndSeconds,
    double ComputeCeilingTokensPerSecond,
    double PowerCeilingTokensPerSecond,
    double Utilization,
    double UsableItPowerWatts,
    ItLimit ItLimit,
    PlanConstraint Binding,
    double TokensPerSecond,
    double FacilityPowerDrawnWatts,
    double? PricePerKilowattHour,
    double? CarbonGramsPerKilowattHour);

/// <summary>The site's mixes composed into one fixed-proportions token (the project's convention, docs/plan.md).</summary>
/// <param name="KappaFlopPerToken">κ = Σ wᵢ κᵢ' (after mechanisms).</param>
/// <param name="EpsilonJoulesPerToken">ε = Σ wᵢ εᵢ' (after mechanisms).</param>
/// <param name="EffectiveComputePerDeviceFlopPerSecond">κ / Σ (wᵢ κᵢ' / C_eff,ᵢ): one accelerator's realized FLOP/s on the blend; null if a mix has none.</param>
/// <param name="Mixes">Each mix's κ' and ε' after mechanisms, and the gains applied.</param>
public sealed record PlanComposite(
    double KappaFlopPerToken,
    double EpsilonJoulesPerToken,
    double? EffectiveComputePerDeviceFlopPerSecond,
    IReadOnlyList<PlanMixEffect> Mixes);

/// <summary>One mix after its mechanisms: <c>κ' = κ / ηκ</c>, <c>ε' = ε / ηε</c> (blended over phases).</summary>
public sealed record PlanMixEffect(PlanMix Mix, double KappaFlopPerToken, double EpsilonJoulesPerToken, double KappaGain, double EpsilonGain);

/// <summary>A site's plan, under its headline convention (realized when every mix has a realized compute).</summary>
public sealed record PlanSiteResult(
    PlanSite Site,
    PlanComposite Composite,
    ProductionResult Production,
    IReadOnlyList<PlanSegment> Timeline,
    double Tokens,
    double TokensWithoutMechanisms,
    double TokensPerSecond,
    IReadOnlyDictionary<PlanConstraint, double> TimeShares,
    IReadOnlyDictionary<PlanConstraint, double> TokenShares,
    double ItLimitedByCoolingShare,
    double ItLimitedByRacksShare,
    double FacilityEnergyJoules,
    double? Cost,
    double? CarbonGrams,
    IReadOnlyList<PlanElasticity> Elasticities)
{
    public ConventionResult Headline => Production.Headline;

    /// <summary>Gets the cost per million tokens in the plan's currency, or null without a price.</summary>
    public double? CostPerMillionTokens => Cost is { } c && Tokens > 0 ? c / Tokens * 1e6 : null;

    /// <summary>Gets kgCO2e per million tokens, or null without a carbon intensity.</summary>
    public double? CarbonKilogramsPerMillionTokens => CarbonGrams is { } g && Tokens > 0 ? g / 1000 / Tokens * 1e6 : null;
}

/// <summary>The elasticity of a site's (or the total's) tokens to one lever.</summary>
public sealed record PlanElasticity(PlanLever Lever, Elasticity Elasticity);

/// <summary>A plan evaluated: every site and the total.</summary>
public sealed record PlanResult(
    Plan Plan,
    IReadOnlyList<PlanSiteResult> Sites,
    double Tokens,
    double TokensPerSecond,
    IReadOnlyDictionary<PlanConstraint, double> TokenShares,
    double FacilityEnergyJoules,
    double? Cost,
    double? CarbonGrams,
    IReadOnlyList<PlanElasticity> Elasticities)
{
    public double? CostPerMillionTokens => Cost is { } c && Tokens > 0 ? c / Tokens * 1e6 : null;

    public double? CarbonKilogramsPerMillionTokens => CarbonGrams is { } g && Tokens > 0 ? g / 1000 / Tokens * 1e6 : null;
}

/// <summary>
/// Evaluates a <see cref="Plan"/>: per site, the mixes composed into one token, Eq. 1 integrated over the horizon
/// through <see cref="ProductionModel"/>, the binding constraint over time, cost, carbon and elasticities. Pure.
/// </summary>
public static class Planner
{
    /// <summary>A year as the IEA converts TWh/yr to power: 8 760 h.</summary>
    public const double YearSeconds = 8760 * 3600.0;

    private const double JoulesPerKilowattHour = 3.6e6;

    /// <summary>The relative step of the finite differences behind the elasticities.</summary>
    internal const double Step = 1e-6;

    public static PlanResult Evaluate(Plan plan)
    {
        var sites = plan.Sites.Select(s => Site(plan, s)).ToList();
        foreach (var site in sites.Where(s => !double.IsFinite(s.Tokens) || !double.IsFinite(s.FacilityEnergyJoules)))
        {
            throw new EnergyToTokenException(
                $"Site '{site.Site.Name}': the token count is not a finite number (κ {ProductionInputs.Format(site.Composite.KappaFlopPerToken)} FLOP/token, ε {ProductionInputs.Format(site.Composite.EpsilonJoulesPerToken)} J/token): a value is far outside any real range. Check the units of kappa, epsilon and the powers.");
        }
        var tokens = sites.Sum(s => s.Tokens);
        var shares = Enum.GetValues<PlanConstraint>().ToDictionary(c => c,
            c => tokens > 0 ? sites.Sum(s => s.TokenShares[c] * s.Tokens) / tokens : 0);
        // Scaling a lever everywhere at once moves the total by the token-weighted mean of the sites' elasticities.
        var levers = sites.SelectMany(s => s.Elasticities.Select(e => e.Lever)).Distinct().Order();
        var elasticities = levers.Select(lever => new PlanElasticity(lever, new Elasticity(
            Weighted(sites, tokens, lever, e => e.Up), Weighted(sites, tokens, lever, e => e.Down)))).ToList();
        return new PlanResult(plan, sites, tokens, tokens / plan.HorizonSeconds, shares,
            sites.Sum(s => s.FacilityEnergyJoules),
            sites.All(s => s.Cost is not null) ? sites.Sum(s => s.Cost!.Value) : null,
            sites.All(s => s.CarbonGrams is not null) ? sites.Sum(s => s.CarbonGrams!.Value) : null,
            elasticities);
    }

    /// <summary>
    /// The delivered IT power before cooling: facility ÷ PUE, a declared budget, or the accelerators' watts, capped by
    /// the racks; and what set it.
    /// </summary>
    public static (Series Watts, ItLimit Limit) DeliveredItPower(PlanSite site)
    {
        var (delivered, limit) = (site.FacilityPowerWatts, site.ItPowerWatts) switch
        {
            ({ } facility, _) => (Series.Combine(facility, site.Pue ?? Series.Constant(1), TokenProductionFunction.ItPower), ItLimit.Facility),
            (null, { } it) => (it, ItLimit.Budget),
            _ => (Series.Constant(site.AcceleratorCount * site.WattsPerAccelerator), ItLimit.Devices),
        };
        if (site.RackCapWatts is { } racks) delivered = delivered.Map(w => Math.Min(w, racks));
        return (delivered, limit);
    }

    /// <summary>
    /// How many accelerators the usable IT power allows at its highest within the horizon: ⌊max_t min(delivered(t),
    /// racks, cooling) ÷ watts per accelerator⌋. Sized to the peak, so curtailed hours are power-bound rather than
    /// hardware left dark at peak. A double: a budget typed in the wrong unit can ask for more than an int holds, and
    /// the reader says so rather than wrapping.
    /// </summary>
    public static double AcceleratorsForBudget(PlanSite site, double horizonSeconds = double.PositiveInfinity)
    {
        var usable = DeliveredItPower(site).Watts.Points.Where(p => p.AtSeconds < horizonSeconds).Max(p => p.Value);
        if (site.CoolingCapacityWatts is { } cooling) usable = Math.Min(usable, cooling);
        return Math.Floor(usable / site.WattsPerAccelerator * (1 + 1e-12));
    }

    /// <summary>
    /// Composes the mixes into one token in fixed proportions: a token of the blend needs Σ wᵢ κᵢ' FLOP and Σ wᵢ εᵢ'
    /// J, and one accelerator spends Σ wᵢ κᵢ'/C_eff,ᵢ seconds on it. Mechanisms keep each mix's realized FLOP rate
    /// (so R_sat moves with κ), as <see cref="EfficiencyMechanisms.Apply"/> does.
    /// </summary>
    public static PlanComposite Compose(PlanSite site, bool withMechanisms = true)
    {
        var effects = new List<PlanMixEffect>(site.Mixes.Count);
        double kappa = 0, epsilon = 0, secondsPerToken = 0, fastest = 0;
        var realized = true;
        foreach (var mix in site.Mixes)
        {
            IReadOnlyList<EfficiencyMechanism> mechanisms = withMechanisms ? [.. site.Mechanisms, .. mix.Mechanisms] : [];
            var (kappaFactor, epsilonFactor) = EfficiencyMechanisms.Factors(mechanisms, mix.PrefillShare);
            var k = mix.KappaFlopPerToken * kappaFactor;
            var e = mix.EpsilonJoulesPerToken * site.BoundaryFactor * epsilonFactor;
            effects.Add(new PlanMixEffect(mix, k, e, 1 / kappaFactor, 1 / epsilonFactor));
            kappa += mix.Share * k;
            epsilon += mix.Share * e;
            if (mix.EffectiveComputePerDeviceFlopPerSecond is { } c)
            {
                secondsPerToken += mix.Share * k / c;
                fastest = Math.Max(fastest, c);
            }
            else realized = false;
        }
        // The blend is a weighted harmonic mean of the mixes' C_eff, so never above the fastest; the round trip
        // κ / (κ / C) can land an ulp above C, which at ρ = 1 read as C_eff above the peak and failed the plan.
        return new PlanComposite(kappa, epsilon, realized ? Math.Min(kappa / secondsPerToken, fastest) : null, effects);
    }

    /// <summary>The production inputs of a site's blended token: what <see cref="ProductionModel"/> evaluates.</summary>
    public static ProductionInputs Inputs(Plan plan, PlanSite site, PlanComposite composite) => new()
    {
        KappaFlopPerToken = composite.KappaFlopPerToken,
        EpsilonJoulesPerToken = composite.EpsilonJoulesPerToken,
        EffectiveComputeFlopPerSecond = composite.EffectiveComputePerDeviceFlopPerSecond is { } c
            ? Series.Constant(c * site.AcceleratorCount) : null,
        PeakComputeFlopPerSecond = site.PeakPerDeviceFlopPerSecond * site.AcceleratorCount,
        ItPowerWatts = DeliveredItPower(site).Watts,
        ItPowerSource = site.FacilityPowerWatts is not null ? ItPowerSource.FacilityOverPue
            : site.ItPowerWatts is not null ? ItPowerSource.Declared : ItPowerSource.DeviceLimits,
        Pue = site.Pue,
        CoolingCapacityWatts = site.CoolingCapacityWatts,
        Utilization = site.Utilization,
        HorizonSeconds = plan.HorizonSeconds,
        TieTolerance = plan.TieTolerance,
    };

    private static PlanSiteResult Site(Plan plan, PlanSite site)
    {
        var composite = Compose(site);
        var inputs = Inputs(plan, site, composite);
        var production = ProductionModel.Evaluate(inputs);
        var headline = production.Headline;
        var without = ProductionModel.Tokens(Inputs(plan, site, Compose(site, withMechanisms: false)), headline.Convention, 0, plan.HorizonSeconds);

        var deliveredLimit = DeliveredItPower(site).Limit;
        var beforeRacks = DeliveredItPower(site with { RackCount = null }).Watts;
        var timeline = new List<PlanSegment>(headline.Segments.Count);
        var time = Enum.GetValues<PlanConstraint>().ToDictionary(c => c, _ => 0.0);
        var made = Enum.GetValues<PlanConstraint>().ToDictionary(c => c, _ => 0.0);
        double energy = 0, cost = 0, carbon = 0, coolingSeconds = 0, rackSeconds = 0;
        foreach (var s in headline.Segments)
        {
            var (start, end, d) = (s.StartSeconds, s.EndSeconds, s.DurationSeconds);
            var limit = s.ItBudgetLimit == ItBudgetLimit.Cooling ? ItLimit.Cooling
                : site.RackCapWatts is { } racks && beforeRacks.At(start) > racks ? ItLimit.Racks
                : deliveredLimit;
            var verdict = TokenProductionFunction.Classify(s.ComputeCeilingTokensPerSecond, s.PowerCeilingTokensPerSecond, plan.TieTolerance);
            var binding = verdict switch
            {
                BindingConstraint.Compute => PlanConstraint.Compute,
                BindingConstraint.Power when limit == ItLimit.Cooling => PlanConstraint.Cooling,
                BindingConstraint.Power => PlanConstraint.Power,
                _ => PlanConstraint.Balanced,
            };
            // Power drawn: the rate's tokens cost ε each at the operating point, over U of the time (Eq. 1 read back).
            var itDrawn = Math.Min(s.ComputeCeilingTokensPerSecond, s.PowerCeilingTokensPerSecond) * composite.EpsilonJoulesPerToken;
            var facilityDrawn = itDrawn * (site.Pue?.At(start) ?? 1);
            energy += facilityDrawn * d;
            double? price = site.PricePerKilowattHour?.Mean(start, end);
            double? grams = site.CarbonGramsPerKilowattHour?.Mean(start, end);
            cost += facilityDrawn * d / JoulesPerKilowattHour * (price ?? 0);
            carbon += facilityDrawn * d / JoulesPerKilowattHour * (grams ?? 0);
            time[binding] += d;
            made[binding] += s.Tokens;
            if (limit == ItLimit.Cooling) coolingSeconds += d;
            if (limit == ItLimit.Racks) rackSeconds += d;
            var segment = new PlanSegment(start, end, s.ComputeCeilingTokensPerSecond, s.PowerCeilingTokensPerSecond,
                s.Utilization, s.ItPowerWatts, limit, binding, s.TokensPerSecond, facilityDrawn, price, grams);
            // A series that steps to the value it already had (a repeated day's midnight) splits nothing real: one stretch.
            if (timeline.Count > 0 && timeline[^1] with { EndSeconds = end } == segment with { StartSeconds = timeline[^1].StartSeconds })
                timeline[^1] = timeline[^1] with { EndSeconds = end };
            else timeline.Add(segment);
        }
        var horizon = plan.HorizonSeconds;
        var tokens = headline.Tokens;
        return new PlanSiteResult(
            site, composite, production, timeline, tokens, without, tokens / horizon,
            time.ToDictionary(p => p.Key, p => p.Value / horizon),
            made.ToDictionary(p => p.Key, p => tokens > 0 ? p.Value / tokens : 0),
            coolingSeconds / horizon, rackSeconds / horizon, energy,
            site.PricePerKilowattHour is null ? null : cost,
            site.CarbonGramsPerKilowattHour is null ? null : carbon,
            Elasticities(plan, site, headline.Convention, tokens));
    }

    /// <summary>
    /// ∂ln Q / ∂ln x for each lever the site has, by one-sided finite differences of relative step 1e-6 with the
    /// installed hardware held fixed: exact where Q is log-linear in the lever (everywhere but the kinks of the min).
    /// </summary>
    private static List<PlanElasticity> Elasticities(Plan plan, PlanSite site, Convention convention, double tokens)
    {
        var levers = new List<PlanLever>();
        if (site.FacilityPowerWatts is not null) levers.AddRange([PlanLever.FacilityPower, PlanLever.Pue]);
        else if (site.ItPowerWatts is not null) levers.Add(PlanLever.ItPower);
        if (site.CoolingCapacityWatts is not null) levers.Add(PlanLever.CoolingCapacity);
        if (site.RackCapWatts is not null) levers.Add(PlanLever.Racks);
        levers.AddRange([PlanLever.Accelerators, PlanLever.Utilization, PlanLever.EffectiveCompute, PlanLever.Kappa, PlanLever.Epsilon]);

        double Q(PlanLever lever, double factor)
        {
            var scaled = Scale(site, lever, factor);
            return ProductionModel.Tokens(Inputs(plan, scaled, Compose(scaled)), convention, 0, plan.HorizonSeconds);
        }
        return levers.Select(lever =>
        {
            if (tokens <= 0) return new PlanElasticity(lever, Elasticity.Zero);
            var up = Math.Log(Q(lever, 1 + Step) / tokens) / Math.Log(1 + Step);
            var down = Math.Log(tokens / Q(lever, 1 - Step)) / -Math.Log(1 - Step);
            return new PlanElasticity(lever, new Elasticity(Clean(up), Clean(down)));
        }).ToList();
    }

    // Finite differences carry ~1e-10 of rounding; a lever that does not move Q should read 0, one that does exactly 1.
    private static double Clean(double value) => Math.Round(value, 6) + 0.0;

    /// <summary>The site with one lever scaled by <paramref name="factor"/> at every step.</summary>
    internal static PlanSite Scale(PlanSite site, PlanLever lever, double factor) => lever switch
    {
        PlanLever.FacilityPower => site with { FacilityPowerWatts = site.FacilityPowerWatts?.Map(w => w * factor) },
        PlanLever.ItPower => site with { ItPowerWatts = site.ItPowerWatts?.Map(w => w * factor) },
        PlanLever.Pue => site with { Pue = (site.Pue ?? Series.Constant(1)).Map(p => p * factor) },
        PlanLever.CoolingCapacity => site with { CoolingCapacityWatts = site.CoolingCapacityWatts * factor },
        PlanLever.Racks => site with { RackPowerDensityWatts = site.RackPowerDensityWatts * factor },
        PlanLever.Accelerators => site with { AcceleratorCount = site.AcceleratorCount * factor },
        PlanLever.Utilization => site with { Utilization = site.Utilization.Map(u => u * factor) },
        PlanLever.EffectiveCompute => site with
        {
            PeakPerDeviceFlopPerSecond = site.PeakPerDeviceFlopPerSecond * factor,
            Mixes = site.Mixes.Select(m => m with { EffectiveComputePerDeviceFlopPerSecond = m.EffectiveComputePerDeviceFlopPerSecond * factor }).ToList(),
        },
        PlanLever.Kappa => site with { Mixes = site.Mixes.Select(m => m with { KappaFlopPerToken = m.KappaFlopPerToken * factor }).ToList() },
        PlanLever.Epsilon => site with { Mixes = site.Mixes.Select(m => m with { EpsilonJoulesPerToken = m.EpsilonJoulesPerToken * factor }).ToList() },
        _ => throw new ArgumentOutOfRangeException(nameof(lever), lever, null),
    };

    private static double Weighted(IReadOnlyList<PlanSiteResult> sites, double tokens, PlanLever lever, Func<Elasticity, double> pick) =>
        tokens <= 0 ? 0 : sites.Sum(s => s.Tokens / tokens * (s.Elasticities.FirstOrDefault(e => e.Lever == lever) is { } e ? pick(e.Elasticity) : 0));
}
