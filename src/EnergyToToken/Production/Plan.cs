namespace EnergyToToken.Production;

/// <summary>
/// A planning study (<c>e2t plan</c>, docs/plan.md): one or more sites over one horizon, each turned into tokens by
/// the production function. Built from a scenario file by <c>PlanScenarioReader</c>; pure data.
/// </summary>
public sealed record Plan
{
    public string? Name { get; init; }

    /// <summary>Gets the horizon over which every series is integrated, in seconds. Default: 365 days (8 760 h).</summary>
    public double HorizonSeconds { get; init; } = Planner.YearSeconds;

    /// <summary>Gets the relative gap within which the two ceilings count as balanced. Default: 0.01.</summary>
    public double TieTolerance { get; init; } = 0.01;

    /// <summary>Gets the currency that <see cref="PlanSite.PricePerKilowattHour"/> is in. Default: USD.</summary>
    public string Currency { get; init; } = "USD";

    public required IReadOnlyList<PlanSite> Sites { get; init; }

    /// <summary>Gets what the reader noticed while resolving the scenario (catalog mismatches, assumptions).</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];

    /// <summary>
    /// Gets the scenario's own catalog files (full paths), loaded over the bundled ones. Kept so a later step that needs
    /// the architectures themselves (<c>e2t plan sweep --axis context</c>) sees the same catalog the plan was read with.
    /// </summary>
    public IReadOnlyList<string> CatalogFiles { get; init; } = [];
}

/// <summary>Where ε (and the realized compute with it) comes from.</summary>
public enum EpsilonOrigin
{
    /// <summary>Stated in the scenario.</summary>
    Declared,

    /// <summary>From a run's result.json measured on real meters.</summary>
    Measured,

    /// <summary>From the embedded twin: a twin run's result.json, or the twin simulated for the plan.</summary>
    Simulated,
}

/// <summary>
/// One model and workload a site serves, as a fixed share of the site's tokens. κ and ε are the mix's own, at its
/// context, before any efficiency mechanism; the realized compute is per accelerator.
/// </summary>
public sealed record PlanMix
{
    public required string Name { get; init; }

    /// <summary>Gets the share of the site's tokens this mix produces; a site's shares sum to 1. Default: 1.</summary>
    public double Share { get; init; } = 1;

    public required double KappaFlopPerToken { get; init; }

    public required double EpsilonJoulesPerToken { get; init; }

    public EpsilonOrigin EpsilonOrigin { get; init; } = EpsilonOrigin.Declared;

    /// <summary>Gets a sentence saying where ε comes from (a run directory, the twin profile, a citation).</summary>
    public string EpsilonSource { get; init; } = "declared";

    /// <summary>Gets the realized C_eff of one accelerator serving this mix, FLOP/s (κ·R_sat per device). Null: peak only.</summary>
    public double? EffectiveComputePerDeviceFlopPerSecond { get; init; }

    public string? ComputeSource { get; init; }

    /// <summary>Gets the share of the mix's counted tokens that are prefill tokens (blends per-phase mechanisms). Default: 0.</summary>
    public double PrefillShare { get; init; }

    /// <summary>Gets the mechanisms that apply to this mix only (the site's apply too).</summary>
    public IReadOnlyList<EfficiencyMechanism> Mechanisms { get; init; } = [];

    public string? Model { get; init; }

    public int? Context { get; init; }
}

/// <summary>
/// A site (a region, a campus): its delivered power, PUE, cooling and racks, its accelerators, the mixes it serves,
/// its utilization, and its electricity price and grid carbon intensity. Series step over the plan's horizon.
/// </summary>
public sealed record PlanSite
{
    public required string Name { get; init; }

    /// <summary>Gets the facility power budget in W (P_IT = P_facility / PUE). At most one of this and <see cref="ItPowerWatts"/>.</summary>
    public Series? FacilityPowerWatts { get; init; }

    /// <summary>Gets a delivered IT power budget in W, when the facility power is not the figure given.</summary>
    public Series? ItPowerWatts { get; init; }

    /// <summary>Gets the PUE (≥ 1). Without one, cost and carbon stay at the IT boundary (PUE 1, said in a note).</summary>
    public Series? Pue { get; init; }

    /// <summary>Gets the heat the site can reject, as an IT power cap in W. Null: not binding.</summary>
    public double? CoolingCapacityWatts { get; init; }

    public int? RackCount { get; init; }

    /// <summary>Gets the IT power one rack can take, in W; with <see cref="RackCount"/> it caps the delivered IT power.</summary>
    public double? RackPowerDensityWatts { get; init; }

    /// <summary>Gets the catalog accelerator's name.</summary>
    public required string Accelerator { get; init; }

    /// <summary>Gets the spec-sheet peak of one accelerator at the plan's precision, FLOP/s.</summary>
    public required double PeakPerDeviceFlopPerSecond { get; init; }

    /// <summary>Gets how many accelerators the site has (a double so elasticities can scale it).</summary>
    public required double AcceleratorCount { get; init; }

    /// <summary>Gets whether <see cref="AcceleratorCount"/> was sized from the power budget rather than given.</summary>
    public bool CountFromBudget { get; init; }

    /// <summary>Gets the IT power one accelerator takes with its share of host and network, in W (sizes the count).</summary>
    public required double WattsPerAccelerator { get; init; }

    public string Precision { get; init; } = "bf16";

    public Series Utilization { get; init; } = Series.Constant(1);

    /// <summary>Gets the electricity price in the plan's currency per kWh of facility energy. Null: no cost.</summary>
    public Series? PricePerKilowattHour { get; init; }

    /// <summary>Gets the grid carbon intensity in gCO2e per kWh of facility energy. Null: no carbon.</summary>
    public Series? CarbonGramsPerKilowattHour { get; init; }

    /// <summary>
    /// Gets the factor that carries every mix's ε from the boundary it was measured in to the boundary of the site's
    /// IT budget: e.g. node IT power ÷ accelerator power at the operating point, when ε is an NVML (accelerator)
    /// figure and the budget feeds whole nodes. Declared; default 1 (ε already at the budget's boundary).
    /// </summary>
    public double BoundaryFactor { get; init; } = 1;

    /// <summary>Gets the mechanisms applied to every mix at this site.</summary>
    public IReadOnlyList<EfficiencyMechanism> Mechanisms { get; init; } = [];

    public required IReadOnlyList<PlanMix> Mixes { get; init; }

    /// <summary>Gets the rack cap, count × density, in W; null without racks.</summary>
    public double? RackCapWatts => RackCount is { } n && RackPowerDensityWatts is { } w ? n * w : null;
}
