using System.Text.Json;
using EnergyToToken.Production;

namespace EnergyToToken.Reporting;

/// <summary>
/// What <c>e2t plan --json</c> prints: schema <see cref="CurrentSchemaVersion"/>, field by field in docs/plan.md and
/// docs/schemas/e2t.plan.v1.schema.json. Powers in W, energy in J, rates in tokens/s, money in the plan's currency.
/// </summary>
public sealed record PlanReport
{
    public const int CurrentSchemaVersion = 1;

    /// <summary>What the cost per million tokens leaves out; printed with every cost.</summary>
    public const string CostLeavesOut =
        "Energy only: price × facility energy, where facility energy per token is PUE × ε / U (ε at the operating point, inside its boundary). It leaves out the accelerators, buildings and network (capital), demand and capacity charges, staff, energy outside ε's boundary other than PUE, and embodied carbon.";

    public int SchemaVersion { get; init; } = CurrentSchemaVersion;

    public string Kind { get; init; } = "e2t.plan";

    public string? Name { get; init; }

    /// <summary>Gets whether any ε or R_sat came from the embedded twin: then the plan's figures are partly simulated.</summary>
    public bool Simulated { get; init; }

    public double HorizonSeconds { get; init; }

    public double TieTolerance { get; init; }

    public required string Currency { get; init; }

    public required PlanReportTotal Total { get; init; }

    public required IReadOnlyList<PlanReportSite> Sites { get; init; }

    public string CostLeavesOutText { get; init; } = CostLeavesOut;

    public required IReadOnlyList<string> Notes { get; init; }

    public static PlanReport From(PlanResult result)
    {
        var plan = result.Plan;
        return new PlanReport
        {
            Name = plan.Name,
            Simulated = plan.Sites.SelectMany(s => s.Mixes).Any(m => m.EpsilonOrigin == EpsilonOrigin.Simulated),
            HorizonSeconds = plan.HorizonSeconds,
            TieTolerance = plan.TieTolerance,
            Currency = plan.Currency,
            Total = new PlanReportTotal
            {
                Tokens = result.Tokens,
                Rates = PlanReportRates.Of(result.TokensPerSecond),
                BindingTokenShares = Shares(result.TokenShares),
                FacilityEnergyJoules = result.FacilityEnergyJoules,
                Cost = result.Cost,
                CostPerMillionTokens = result.CostPerMillionTokens,
                CarbonKilograms = result.CarbonGrams / 1000,
                CarbonKilogramsPerMillionTokens = result.CarbonKilogramsPerMillionTokens,
                Elasticities = Elasticities(result.Elasticities),
            },
            Sites = result.Sites.Select(s => Site(plan, s)).ToList(),
            Notes = plan.Notes,
        };
    }

    public string ToJson() => JsonSerializer.Serialize(this, ReportJsonContext.Relaxed.PlanReport);

    private static PlanReportSite Site(Plan plan, PlanSiteResult s)
    {
        var site = s.Site;
        var horizon = plan.HorizonSeconds;
        return new PlanReportSite
        {
            Name = site.Name,
            Accelerator = site.Accelerator,
            AcceleratorCount = site.AcceleratorCount,
            CountFromBudget = site.CountFromBudget,
            WattsPerAccelerator = site.WattsPerAccelerator,
            Precision = site.Precision,
            Headline = ModelReport.Camel(s.Headline.Convention),
            Inputs = new PlanReportSiteInputs
            {
                FacilityPowerWatts = site.FacilityPowerWatts?.Mean(0, horizon),
                ItPowerWatts = s.Production.ItPowerWatts,
                ItPowerSource = ModelReport.Camel(s.Production.Inputs.ItPowerSource),
                Pue = site.Pue?.Mean(0, horizon),
                CoolingCapacityWatts = site.CoolingCapacityWatts,
                RackCount = site.RackCount,
                RackPowerDensityWatts = site.RackPowerDensityWatts,
                Utilization = site.Utilization.Mean(0, horizon),
                PricePerKilowattHour = site.PricePerKilowattHour?.Mean(0, horizon),
                CarbonGramsPerKilowattHour = site.CarbonGramsPerKilowattHour?.Mean(0, horizon),
                PeakPerDeviceFlopPerSecond = site.PeakPerDeviceFlopPerSecond,
                BoundaryFactor = site.BoundaryFactor,
            },
            Mixes = s.Composite.Mixes.Select(e => new PlanReportMix
            {
                Name = e.Mix.Name,
                Share = e.Mix.Share,
                Model = e.Mix.Model,
                Context = e.Mix.Context,
                KappaFlopPerToken = e.Mix.KappaFlopPerToken,
                EpsilonJoulesPerToken = e.Mix.EpsilonJoulesPerToken,
                EpsilonOrigin = ModelReport.Camel(e.Mix.EpsilonOrigin),
                EpsilonSource = e.Mix.EpsilonSource,
                EffectiveComputePerDeviceFlopPerSecond = e.Mix.EffectiveComputePerDeviceFlopPerSecond,
                ComputeSource = e.Mix.ComputeSource,
                PrefillShare = e.Mix.PrefillShare,
                Mechanisms = [.. site.Mechanisms.Concat(e.Mix.Mechanisms).Select(m => new ModelReportMechanism(m.Name, m.Prefill.KappaGain, m.Prefill.EpsilonGain, m.Decode.KappaGain, m.Decode.EpsilonGain, m.Source))],
                KappaGain = e.KappaGain,
                EpsilonGain = e.EpsilonGain,
                KappaAfterFlopPerToken = e.KappaFlopPerToken,
                EpsilonAfterJoulesPerToken = e.EpsilonJoulesPerToken,
            }).ToList(),
            Blend = new PlanReportBlend(s.Composite.KappaFlopPerToken, s.Composite.EpsilonJoulesPerToken, s.Composite.EffectiveComputePerDeviceFlopPerSecond),
            Conventions = s.Production.Conventions.Select((c, i) => new PlanReportConvention(
                ModelReport.Camel(c.Convention), i == 0, c.ComputeFlopPerSecond, c.ItPowerWatts,
                c.ComputeCeilingTokensPerSecond, c.PowerCeilingTokensPerSecond, ModelReport.Camel(c.BindingConstraint),
                c.Headroom, c.PhiJoulesPerFlop, c.SigmaJoulesPerFlop, c.Tokens, c.Explanation)).ToList(),
            Tokens = s.Tokens,
            Rates = PlanReportRates.Of(s.TokensPerSecond),
            TokensWithoutMechanisms = s.TokensWithoutMechanisms,
            MechanismTokensRatio = s.TokensWithoutMechanisms > 0 ? s.Tokens / s.TokensWithoutMechanisms : null,
            BindingTimeShares = Shares(s.TimeShares),
            BindingTokenShares = Shares(s.TokenShares),
            CoolingLimitedShare = s.ItLimitedByCoolingShare,
            RackLimitedShare = s.ItLimitedByRacksShare,
            FacilityEnergyJoules = s.FacilityEnergyJoules,
            MeanFacilityPowerDrawnWatts = s.FacilityEnergyJoules / horizon,
            Cost = s.Cost,
            CostPerMillionTokens = s.CostPerMillionTokens,
            CarbonKilograms = s.CarbonGrams / 1000,
            CarbonKilogramsPerMillionTokens = s.CarbonKilogramsPerMillionTokens,
            Elasticities = Elasticities(s.Elasticities),
            Timeline = s.Timeline.Select(t => new PlanReportSegment(t.StartSeconds, t.EndSeconds,
                t.ComputeCeilingTokensPerSecond, t.PowerCeilingTokensPerSecond, t.Utilization, t.UsableItPowerWatts,
                ModelReport.Camel(t.ItLimit), ModelReport.Camel(t.Binding), t.TokensPerSecond, t.FacilityPowerDrawnWatts,
                t.PricePerKilowattHour, t.CarbonGramsPerKilowattHour)).ToList(),
        };
    }

    private static PlanReportShares Shares(IReadOnlyDictionary<PlanConstraint, double> shares) => new(
        shares[PlanConstraint.Compute], shares[PlanConstraint.Power], shares[PlanConstraint.Cooling], shares[PlanConstraint.Balanced]);

    private static List<ModelReportElasticity> Elasticities(IReadOnlyList<PlanElasticity> elasticities) =>
        [.. elasticities.Select(e => new ModelReportElasticity(ModelReport.Camel(e.Lever), e.Elasticity.Up, e.Elasticity.Down))];
}

/// <summary>Tokens per second, hour, day and year (8 760 h) at the horizon's mean rate.</summary>
public sealed record PlanReportRates(double PerSecond, double PerHour, double PerDay, double PerYear)
{
    public static PlanReportRates Of(double perSecond) => new(perSecond, perSecond * 3600, perSecond * 86_400, perSecond * Planner.YearSeconds);
}

/// <summary>Shares of time (or of tokens) under each binding constraint; they add up to 1.</summary>
public sealed record PlanReportShares(double Compute, double Power, double Cooling, double Balanced);

public sealed record PlanReportTotal
{
    public double Tokens { get; init; }
    public required PlanReportRates Rates { get; init; }
    public required PlanReportShares BindingTokenShares { get; init; }
    public double FacilityEnergyJoules { get; init; }
    public double? Cost { get; init; }
    public double? CostPerMillionTokens { get; init; }
    public double? CarbonKilograms { get; init; }
    public double? CarbonKilogramsPerMillionTokens { get; init; }
    public required IReadOnlyList<ModelReportElasticity> Elasticities { get; init; }
}

public sealed record PlanReportSite
{
    public required string Name { get; init; }
    public required string Accelerator { get; init; }
    public double AcceleratorCount { get; init; }
    public bool CountFromBudget { get; init; }
    public double WattsPerAccelerator { get; init; }
    public required string Precision { get; init; }
    public required string Headline { get; init; }
    public required PlanReportSiteInputs Inputs { get; init; }
    public required IReadOnlyList<PlanReportMix> Mixes { get; init; }
    public required PlanReportBlend Blend { get; init; }
    public required IReadOnlyList<PlanReportConvention> Conventions { get; init; }
    public double Tokens { get; init; }
    public required PlanReportRates Rates { get; init; }
    public double TokensWithoutMechanisms { get; init; }
    public double? MechanismTokensRatio { get; init; }
    public required PlanReportShares BindingTimeShares { get; init; }
    public required PlanReportShares BindingTokenShares { get; init; }
    public double CoolingLimitedShare { get; init; }
    public double RackLimitedShare { get; init; }
    public double FacilityEnergyJoules { get; init; }
    public double MeanFacilityPowerDrawnWatts { get; init; }
    public double? Cost { get; init; }
    public double? CostPerMillionTokens { get; init; }
    public double? CarbonKilograms { get; init; }
    public double? CarbonKilogramsPerMillionTokens { get; init; }
    public required IReadOnlyList<ModelReportElasticity> Elasticities { get; init; }
    public required IReadOnlyList<PlanReportSegment> Timeline { get; init; }
}

/// <summary>The site's inputs as evaluated; series as their time-means over the horizon.</summary>
public sealed record PlanReportSiteInputs
{
    public double? FacilityPowerWatts { get; init; }
    public double ItPowerWatts { get; init; }
    public required string ItPowerSource { get; init; }
    public double? Pue { get; init; }
    public double? CoolingCapacityWatts { get; init; }
    public int? RackCount { get; init; }
    public double? RackPowerDensityWatts { get; init; }
    public double Utilization { get; init; }
    public double? PricePerKilowattHour { get; init; }
    public double? CarbonGramsPerKilowattHour { get; init; }
    public double PeakPerDeviceFlopPerSecond { get; init; }
    public double BoundaryFactor { get; init; }
}

public sealed record PlanReportMix
{
    public required string Name { get; init; }
    public double Share { get; init; }
    public string? Model { get; init; }
    public int? Context { get; init; }
    public double KappaFlopPerToken { get; init; }
    public double EpsilonJoulesPerToken { get; init; }
    public required string EpsilonOrigin { get; init; }
    public required string EpsilonSource { get; init; }
    public double? EffectiveComputePerDeviceFlopPerSecond { get; init; }
    public string? ComputeSource { get; init; }
    public double PrefillShare { get; init; }
    public required IReadOnlyList<ModelReportMechanism> Mechanisms { get; init; }
    public double KappaGain { get; init; }
    public double EpsilonGain { get; init; }
    public double KappaAfterFlopPerToken { get; init; }
    public double EpsilonAfterJoulesPerToken { get; init; }
}

/// <summary>The site's blended token: κ = Σ wᵢκᵢ', ε = Σ wᵢεᵢ', and one accelerator's realized FLOP/s on it.</summary>
public sealed record PlanReportBlend(double KappaFlopPerToken, double EpsilonJoulesPerToken, double? EffectiveComputePerDeviceFlopPerSecond);

public sealed record PlanReportConvention(string Convention, bool IsHeadline, double ComputeFlopPerSecond, double ItPowerWatts,
    double ComputeCeilingTokensPerSecond, double PowerCeilingTokensPerSecond, string BindingConstraint, double Headroom,
    double PhiJoulesPerFlop, double SigmaJoulesPerFlop, double Tokens, string Explanation);

public sealed record PlanReportSegment(double StartSeconds, double EndSeconds, double ComputeCeilingTokensPerSecond,
    double PowerCeilingTokensPerSecond, double Utilization, double UsableItPowerWatts, string ItLimit, string Binding,
    double TokensPerSecond, double FacilityPowerDrawnWatts, double? PricePerKilowattHour, double? CarbonGramsPerKilowattHour);
