using EnergyToToken.Production;
using FsCheck;
using FsCheck.Xunit;

namespace EnergyToToken.Tests.Production;

/// <summary>Properties of e2t plan over random sites: a week with a daily curtailment, two mixes, racks and cooling.</summary>
public sealed class PlanPropertyTests
{
    private const double Week = 7 * 86_400.0;

    /// <summary>A site from positive ints scaled to realistic magnitudes; every arm can bind somewhere in the draws.</summary>
    private static PlanSite Site(int facilityKw, int curtailPercent, int count, int coolingKw, int racks, int kappa, int epsilon, int share, int utilization)
    {
        var facility = facilityKw * 1000.0;
        var curtailed = facility * (1 + curtailPercent % 100) / 100;
        return new PlanSite
        {
            Name = "s",
            Accelerator = "test-gpu",
            PeakPerDeviceFlopPerSecond = 1e15,
            AcceleratorCount = count,
            WattsPerAccelerator = 1000,
            FacilityPowerWatts = Series.Repeat(Series.Steps([new(0, facility), new(18 * 3600, curtailed), new(22 * 3600, facility)]), 86_400, Week),
            Pue = Series.Repeat(Series.Steps([new(0, 1.1), new(9 * 3600, 1.4)]), 86_400, Week),
            CoolingCapacityWatts = coolingKw * 1000.0,
            RackCount = racks,
            RackPowerDensityWatts = 40_000,
            Utilization = Series.Steps([new(0, (1 + utilization % 100) / 100.0), new(3 * 86_400, 0.9)]),
            PricePerKilowattHour = Series.Constant(0.1),
            CarbonGramsPerKilowattHour = Series.Constant(300),
            Mixes =
            [
                Mix("chat", (1 + share % 99) / 100.0, kappa * 1e9, epsilon * 0.01, 2e14),
                Mix("long", 1 - (1 + share % 99) / 100.0, kappa * 3e9, epsilon * 0.03, 1e14),
            ],
        };
    }

    private static PlanMix Mix(string name, double share, double kappa, double epsilon, double perDevice) => new()
    {
        Name = name,
        Share = share,
        KappaFlopPerToken = kappa,
        EpsilonJoulesPerToken = epsilon,
        EffectiveComputePerDeviceFlopPerSecond = perDevice,
    };

    private static PlanSite Draw(PositiveInt f, PositiveInt c, PositiveInt n, PositiveInt cool, PositiveInt r, PositiveInt k, PositiveInt e, PositiveInt s) =>
        Site(f.Get, c.Get, n.Get, cool.Get, r.Get, k.Get, e.Get, s.Get, f.Get + n.Get);

    private static PlanSiteResult Evaluate(PlanSite site) => Planner.Evaluate(new Plan { Sites = [site], HorizonSeconds = Week }).Sites.Single();

    private static double Q(PlanSite site) => Evaluate(site).Tokens;

    [Property]
    public bool More_facility_power_cooling_or_racks_never_yields_fewer_tokens(PositiveInt f, PositiveInt c, PositiveInt n, PositiveInt cool, PositiveInt r, PositiveInt k, PositiveInt e, PositiveInt s, PositiveInt bump)
    {
        var site = Draw(f, c, n, cool, r, k, e, s);
        var q = Q(site);
        var more = 1 + bump.Get / 10.0;
        return Q(site with { FacilityPowerWatts = site.FacilityPowerWatts!.Map(w => w * more) }) >= q
            && Q(site with { CoolingCapacityWatts = site.CoolingCapacityWatts * more }) >= q
            && Q(site with { RackCount = site.RackCount + bump.Get }) >= q
            && Q(site with { RackCount = null }) >= q
            && Q(site with { CoolingCapacityWatts = null }) >= q;
    }

    [Property]
    public bool More_it_power_never_yields_fewer_tokens(PositiveInt f, PositiveInt c, PositiveInt n, PositiveInt cool, PositiveInt r, PositiveInt k, PositiveInt e, PositiveInt s, PositiveInt bump)
    {
        var site = Draw(f, c, n, cool, r, k, e, s) with { FacilityPowerWatts = null, ItPowerWatts = Series.Constant(f.Get * 800.0) };
        return Q(site with { ItPowerWatts = Series.Constant((f.Get + bump.Get) * 800.0) }) >= Q(site);
    }

    [Property]
    public bool A_larger_budget_fits_no_fewer_accelerators_and_makes_no_fewer_tokens(PositiveInt f, PositiveInt c, PositiveInt n, PositiveInt cool, PositiveInt r, PositiveInt k, PositiveInt e, PositiveInt s, PositiveInt bump)
    {
        var site = Draw(f, c, n, cool, r, k, e, s);
        var bigger = site with { FacilityPowerWatts = site.FacilityPowerWatts!.Map(w => w * (1 + bump.Get / 10.0)) };
        var (count, biggerCount) = (Planner.AcceleratorsForBudget(site), Planner.AcceleratorsForBudget(bigger));
        if (count < 1) return biggerCount >= 0;
        return biggerCount >= count && Q(bigger with { AcceleratorCount = biggerCount }) >= Q(site with { AcceleratorCount = count });
    }

    [Property]
    public bool A_mechanism_that_lowers_epsilon_never_lowers_output(PositiveInt f, PositiveInt c, PositiveInt n, PositiveInt cool, PositiveInt r, PositiveInt k, PositiveInt e, PositiveInt s, PositiveInt prefillGain, PositiveInt decodeGain, PositiveInt prefill)
    {
        var mechanism = new EfficiencyMechanism("lower-ε", new PhaseGains(1, 1 + prefillGain.Get % 40 / 10.0), new PhaseGains(1, 1 + decodeGain.Get % 40 / 10.0));
        var site = Draw(f, c, n, cool, r, k, e, s);
        site = site with { Mixes = [site.Mixes[0] with { PrefillShare = prefill.Get % 101 / 100.0 }, site.Mixes[1]] };
        var withIt = Evaluate(site with { Mechanisms = [mechanism] });
        return withIt.Tokens >= Q(site) && withIt.Tokens >= withIt.TokensWithoutMechanisms;
    }

    [Property]
    public bool A_mechanism_with_gains_of_at_least_one_never_lowers_output(PositiveInt f, PositiveInt c, PositiveInt n, PositiveInt cool, PositiveInt r, PositiveInt k, PositiveInt e, PositiveInt s, PositiveInt kappaGain, PositiveInt epsilonGain)
    {
        var mechanism = new EfficiencyMechanism("both", PhaseGains.None, new PhaseGains(1 + kappaGain.Get % 30 / 10.0, 1 + epsilonGain.Get % 30 / 10.0));
        var site = Draw(f, c, n, cool, r, k, e, s);
        var result = Evaluate(site with { Mixes = [site.Mixes[0] with { Mechanisms = [mechanism] }, site.Mixes[1]] });
        return result.Tokens >= result.TokensWithoutMechanisms;
    }

    [Property]
    public bool Lower_epsilon_never_lowers_output(PositiveInt f, PositiveInt c, PositiveInt n, PositiveInt cool, PositiveInt r, PositiveInt k, PositiveInt e, PositiveInt s, PositiveInt cut)
    {
        var site = Draw(f, c, n, cool, r, k, e, s);
        var lower = 1 / (1 + cut.Get / 10.0);
        return Q(site with { Mixes = [.. site.Mixes.Select(m => m with { EpsilonJoulesPerToken = m.EpsilonJoulesPerToken * lower })] }) >= Q(site);
    }

    [Property]
    public bool Token_and_time_shares_each_sum_to_one(PositiveInt f, PositiveInt c, PositiveInt n, PositiveInt cool, PositiveInt r, PositiveInt k, PositiveInt e, PositiveInt s)
    {
        var result = Evaluate(Draw(f, c, n, cool, r, k, e, s));
        return Math.Abs(result.TimeShares.Values.Sum() - 1) <= 1e-12
            && Math.Abs(result.TokenShares.Values.Sum() - 1) <= 1e-12
            && result.TimeShares.Values.All(x => x >= 0) && result.TokenShares.Values.All(x => x >= 0);
    }

    [Property]
    public bool Q_is_the_sum_of_the_timelines_tokens(PositiveInt f, PositiveInt c, PositiveInt n, PositiveInt cool, PositiveInt r, PositiveInt k, PositiveInt e, PositiveInt s)
    {
        var result = Evaluate(Draw(f, c, n, cool, r, k, e, s));
        var sum = result.Timeline.Sum(t => t.TokensPerSecond * (t.EndSeconds - t.StartSeconds));
        var energy = result.Timeline.Sum(t => t.FacilityPowerDrawnWatts * (t.EndSeconds - t.StartSeconds));
        return Math.Abs(sum - result.Tokens) <= 1e-9 * result.Tokens
            && Math.Abs(energy - result.FacilityEnergyJoules) <= 1e-9 * result.FacilityEnergyJoules
            && result.Timeline[0].StartSeconds == 0 && result.Timeline[^1].EndSeconds == Week
            && result.Timeline.Zip(result.Timeline.Skip(1)).All(p => p.First.EndSeconds == p.Second.StartSeconds);
    }

    [Property]
    public bool The_total_is_the_sum_of_the_sites(PositiveInt f, PositiveInt c, PositiveInt n, PositiveInt cool, PositiveInt r, PositiveInt k, PositiveInt e, PositiveInt s)
    {
        var a = Draw(f, c, n, cool, r, k, e, s);
        var b = Draw(n, s, f, r, cool, e, k, c) with { Name = "t" };
        var result = Planner.Evaluate(new Plan { Sites = [a, b], HorizonSeconds = Week });
        var tokens = result.Sites.Sum(x => x.Tokens);
        return Math.Abs(result.Tokens - tokens) <= 1e-12 * tokens
            && Math.Abs(result.Cost!.Value - result.Sites.Sum(x => x.Cost!.Value)) <= 1e-9 * result.Cost.Value
            && Math.Abs(result.TokenShares.Values.Sum() - 1) <= 1e-12;
    }
}
