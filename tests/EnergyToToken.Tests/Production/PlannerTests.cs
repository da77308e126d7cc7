using EnergyToToken.Production;
using EnergyToToken.Reporting;

namespace EnergyToToken.Tests.Production;

/// <summary>e2t plan's arithmetic against figures worked by hand (the "hand-computed expectations").</summary>
public sealed class PlannerTests
{
    private const double Year = 8760 * 3600.0;
    private const double Hour = 3600;
    private const double Day = 86_400;

    // One site, worked by hand: κ 1e11 FLOP/token, ε 0.5 J/token, C_eff 2e14 FLOP/s per accelerator (R_sat 2,000 tokens/s),
    // 100 accelerators of 1 kW, peak 1e15 FLOP/s each; 200 kW facility at PUE 1.25 → P_IT 160 kW; U 0.6; 0.1 per kWh, 400 g/kWh.
    // Compute ceiling 100 · 2e14 / 1e11 = 200,000 tokens/s; power ceiling 160,000 / 0.5 = 320,000 tokens/s: compute-bound.
    private static PlanMix Mix(string name = "chat", double share = 1, double kappa = 1e11, double epsilon = 0.5, double? perDevice = 2e14) => new()
    {
        Name = name,
        Share = share,
        KappaFlopPerToken = kappa,
        EpsilonJoulesPerToken = epsilon,
        EffectiveComputePerDeviceFlopPerSecond = perDevice,
    };

    private static PlanSite Site(string name = "a") => new()
    {
        Name = name,
        Accelerator = "test-gpu",
        PeakPerDeviceFlopPerSecond = 1e15,
        AcceleratorCount = 100,
        WattsPerAccelerator = 1000,
        FacilityPowerWatts = Series.Constant(200_000),
        Pue = Series.Constant(1.25),
        Utilization = Series.Constant(0.6),
        PricePerKilowattHour = Series.Constant(0.1),
        CarbonGramsPerKilowattHour = Series.Constant(400),
        Mixes = [Mix()],
    };

    private static PlanResult Evaluate(params PlanSite[] sites) => Planner.Evaluate(new Plan { Sites = sites });

    private static Dictionary<PlanLever, Elasticity> Elasticities(PlanSiteResult site) =>
        site.Elasticities.ToDictionary(e => e.Lever, e => e.Elasticity);

    [Fact]
    public void One_compute_bound_site_matches_the_hand_computation()
    {
        var site = Evaluate(Site()).Sites.Single();

        var realized = site.Headline;
        Assert.Equal(Convention.Realized, realized.Convention);
        Close.To(200_000, realized.ComputeCeilingTokensPerSecond);
        Close.To(320_000, realized.PowerCeilingTokensPerSecond);
        Close.To(1.6, realized.Headroom);
        Assert.Equal(BindingConstraint.Compute, realized.BindingConstraint);
        var peak = site.Production.Conventions.Single(c => c.Convention == Convention.Peak);
        Close.To(1e6, peak.ComputeCeilingTokensPerSecond);                    // 100 · 1e15 / 1e11
        Assert.Equal(BindingConstraint.Power, peak.BindingConstraint);
        Close.To(0.6 * 320_000 * Year, peak.Tokens);

        Close.To(120_000, site.TokensPerSecond);                               // U · 200,000
        Close.To(120_000 * Year, site.Tokens);                                 // 3.78432e12
        var rates = PlanReportRates.Of(site.TokensPerSecond);
        Close.To(4.32e8, rates.PerHour);
        Close.To(1.0368e10, rates.PerDay);
        Close.To(3.78432e12, rates.PerYear);                                   // a year is 8,760 h

        Assert.Equal(1, site.TimeShares[PlanConstraint.Compute]);
        Assert.Equal(1, site.TokenShares[PlanConstraint.Compute]);
        var segment = site.Timeline.Single();
        Assert.Equal((0, Year), (segment.StartSeconds, segment.EndSeconds));
        Assert.Equal(ItLimit.Facility, segment.ItLimit);
        Assert.Equal(PlanConstraint.Compute, segment.Binding);
        Close.To(160_000, segment.UsableItPowerWatts);
        // Drawn: the ceiling's rate at ε, times PUE: 200,000 · 0.5 · 1.25 = 125 kW, over the whole year.
        Close.To(125_000, segment.FacilityPowerDrawnWatts);
        Close.To(125_000 * Year, site.FacilityEnergyJoules);

        // Cost and carbon per million tokens: 1e6 · price · PUE · ε / U / 3.6e6 J per kWh.
        Close.To(1e6 * 0.1 * 1.25 * 0.5 / 0.6 / 3.6e6, site.CostPerMillionTokens!.Value);   // 0.0289…
        Close.To(125_000 * Year / 3.6e6 * 0.1, site.Cost!.Value);
        Close.To(1e6 * 400 * 1.25 * 0.5 / 0.6 / 3.6e6 / 1000, site.CarbonKilogramsPerMillionTokens!.Value);
        Close.To(125_000 * Year / 3.6e6 * 400, site.CarbonGrams!.Value);
    }

    [Fact]
    public void Compute_bound_elasticities_are_the_analytic_ones()
    {
        var e = Elasticities(Evaluate(Site()).Sites.Single());
        Assert.Equal(Elasticity.Of(1), e[PlanLever.EffectiveCompute]);
        Assert.Equal(Elasticity.Of(1), e[PlanLever.Accelerators]);
        Assert.Equal(Elasticity.Of(-1), e[PlanLever.Kappa]);
        Assert.Equal(Elasticity.Of(0), e[PlanLever.Epsilon]);
        Assert.Equal(Elasticity.Of(1), e[PlanLever.Utilization]);
        Assert.Equal(Elasticity.Of(0), e[PlanLever.FacilityPower]);
        Assert.Equal(Elasticity.Of(0), e[PlanLever.Pue]);
        Assert.Equal([PlanLever.FacilityPower, PlanLever.Pue, PlanLever.Accelerators, PlanLever.Utilization, PlanLever.EffectiveCompute, PlanLever.Kappa, PlanLever.Epsilon], e.Keys);
    }

    [Fact]
    public void A_power_bound_site_has_the_analytic_power_elasticities()
    {
        // 100 kW / 1.25 = 80 kW IT → 160,000 tokens/s < 200,000: power-bound; the facility draws all of its 100 kW.
        var site = Evaluate(Site() with { FacilityPowerWatts = Series.Constant(100_000) }).Sites.Single();
        Assert.Equal(BindingConstraint.Power, site.Headline.BindingConstraint);
        Assert.Equal(1, site.TimeShares[PlanConstraint.Power]);
        Close.To(0.6 * 160_000 * Year, site.Tokens);
        Close.To(100_000 * Year, site.FacilityEnergyJoules);
        Close.To(1e6 * 0.1 * 1.25 * 0.5 / 0.6 / 3.6e6, site.CostPerMillionTokens!.Value);     // the same per token either way

        var e = Elasticities(site);
        Assert.Equal(Elasticity.Of(-1), e[PlanLever.Epsilon]);
        Assert.Equal(Elasticity.Of(1), e[PlanLever.FacilityPower]);
        Assert.Equal(Elasticity.Of(-1), e[PlanLever.Pue]);
        Assert.Equal(Elasticity.Of(0), e[PlanLever.EffectiveCompute]);
        Assert.Equal(Elasticity.Of(0), e[PlanLever.Kappa]);
        Assert.Equal(Elasticity.Of(0), e[PlanLever.Accelerators]);
        Assert.Equal(Elasticity.Of(1), e[PlanLever.Utilization]);
    }

    [Fact]
    public void At_an_exact_tie_the_elasticities_up_and_down_differ()
    {
        // 10 accelerators · 1e14 / 1e11 = 10,000 tokens/s; 5 kW / 0.5 J = 10,000 tokens/s.
        var site = Evaluate(Site() with
        {
            FacilityPowerWatts = null,
            Pue = null,
            ItPowerWatts = Series.Constant(5000),
            AcceleratorCount = 10,
            Utilization = Series.Constant(1),
            Mixes = [Mix(perDevice: 1e14)],
        }).Sites.Single();
        Assert.Equal(BindingConstraint.Balanced, site.Headline.BindingConstraint);
        Assert.Equal(1, site.TimeShares[PlanConstraint.Balanced]);
        Close.To(10_000 * Year, site.Tokens);

        var e = Elasticities(site);
        Assert.Equal(new Elasticity(0, 1), e[PlanLever.EffectiveCompute]);
        Assert.Equal(new Elasticity(0, 1), e[PlanLever.Accelerators]);
        Assert.Equal(new Elasticity(0, 1), e[PlanLever.ItPower]);
        Assert.Equal(new Elasticity(-1, 0), e[PlanLever.Kappa]);
        Assert.Equal(new Elasticity(-1, 0), e[PlanLever.Epsilon]);
        Assert.Equal(Elasticity.Of(1), e[PlanLever.Utilization]);
    }

    [Fact]
    public void Cooling_below_the_delivered_power_binds_and_shows_as_cooling()
    {
        // Delivered 160 kW, cooling 80 kW → 160,000 tokens/s < 200,000.
        var site = Evaluate(Site() with { CoolingCapacityWatts = 80_000 }).Sites.Single();
        var segment = site.Timeline.Single();
        Assert.Equal(ItLimit.Cooling, segment.ItLimit);
        Assert.Equal(PlanConstraint.Cooling, segment.Binding);
        Close.To(80_000, segment.UsableItPowerWatts);
        Assert.Equal(1, site.TimeShares[PlanConstraint.Cooling]);
        Assert.Equal(1, site.TokenShares[PlanConstraint.Cooling]);
        Assert.Equal(1, site.ItLimitedByCoolingShare);
        Close.To(0.6 * 160_000 * Year, site.Tokens);
        Close.To(80_000 * 1.25 * Year, site.FacilityEnergyJoules);

        var e = Elasticities(site);
        Assert.Equal(Elasticity.Of(1), e[PlanLever.CoolingCapacity]);
        Assert.Equal(Elasticity.Of(0), e[PlanLever.FacilityPower]);
        Assert.Equal(Elasticity.Of(0), e[PlanLever.Pue]);
        Assert.Equal(Elasticity.Of(-1), e[PlanLever.Epsilon]);

        // Cooling above delivery changes nothing and reads 0.
        var ample = Evaluate(Site() with { CoolingCapacityWatts = 500_000 }).Sites.Single();
        Assert.Equal(ItLimit.Facility, ample.Timeline.Single().ItLimit);
        Assert.Equal(0, ample.ItLimitedByCoolingShare);
        Assert.Equal(Elasticity.Of(0), Elasticities(ample)[PlanLever.CoolingCapacity]);
        Close.To(120_000 * Year, ample.Tokens);
    }

    [Fact]
    public void Racks_cap_the_delivered_it_power()
    {
        // 4 racks × 20 kW = 80 kW < 160 kW delivered.
        var site = Evaluate(Site() with { RackCount = 4, RackPowerDensityWatts = 20_000 }).Sites.Single();
        var segment = site.Timeline.Single();
        Assert.Equal(ItLimit.Racks, segment.ItLimit);
        Assert.Equal(PlanConstraint.Power, segment.Binding);
        Close.To(80_000, segment.UsableItPowerWatts);
        Assert.Equal(1, site.ItLimitedByRacksShare);
        Close.To(80_000, site.Production.ItPowerWatts);
        Close.To(0.6 * 160_000 * Year, site.Tokens);
        var e = Elasticities(site);
        Assert.Equal(Elasticity.Of(1), e[PlanLever.Racks]);
        Assert.Equal(Elasticity.Of(0), e[PlanLever.FacilityPower]);

        // Without a budget the accelerators' own watts are the delivered power, and the racks cap them too.
        var devices = Evaluate(Site() with { FacilityPowerWatts = null, Pue = null, RackCount = 4, RackPowerDensityWatts = 20_000 }).Sites.Single();
        Assert.Equal(ItLimit.Racks, devices.Timeline.Single().ItLimit);
        Assert.Equal(ItPowerSource.DeviceLimits, devices.Production.Inputs.ItPowerSource);
        Close.To(80_000, devices.Timeline.Single().UsableItPowerWatts);
        Close.To(80_000 * Year, devices.FacilityEnergyJoules);                 // no PUE: the IT boundary
        var noRacks = Evaluate(Site() with { FacilityPowerWatts = null, Pue = null }).Sites.Single();
        Assert.Equal(ItLimit.Devices, noRacks.Timeline.Single().ItLimit);
        Close.To(100_000, noRacks.Timeline.Single().UsableItPowerWatts);      // 100 × 1 kW
    }

    [Fact]
    public void Accelerators_fit_to_the_budget_are_the_floor_of_the_usable_it_power_over_watts_each()
    {
        var site = Site() with { WattsPerAccelerator = 1300, AcceleratorCount = 0 };
        Assert.Equal(123, Planner.AcceleratorsForBudget(site));                                   // ⌊160,000 / 1,300⌋ = ⌊123.08⌋
        var racked = site with { RackCount = 3, RackPowerDensityWatts = 50_000 };
        Assert.Equal(115, Planner.AcceleratorsForBudget(racked));                                 // ⌊150,000 / 1,300⌋
        Assert.Equal(107, Planner.AcceleratorsForBudget(racked with { CoolingCapacityWatts = 140_000 }));   // ⌊140,000 / 1,300⌋
        Assert.Equal(115, Planner.AcceleratorsForBudget(racked with { CoolingCapacityWatts = 900_000 }));

        // Sized to the highest usable power: an evening curtailment to 100 kW does not shrink the fleet.
        var curtailed = site with { FacilityPowerWatts = DailyCurtailment(200_000, 100_000) };
        Assert.Equal(123, Planner.AcceleratorsForBudget(curtailed));

        // 4.4 MW / 1.1 is 3,999,999.9999999995 W in doubles: still 4,000 accelerators of 1 kW, not 3,999.
        Assert.Equal(4000, Planner.AcceleratorsForBudget(site with { FacilityPowerWatts = Series.Constant(4.4e6), Pue = Series.Constant(1.1), WattsPerAccelerator = 1000 }));
        Assert.Equal(40, Planner.AcceleratorsForBudget(site with { FacilityPowerWatts = null, Pue = null, ItPowerWatts = Series.Constant(40_000), WattsPerAccelerator = 1000 }));
    }

    [Fact]
    public void Two_mixes_blend_in_fixed_proportions()
    {
        // chat: 75 % of tokens, κ 1e11, ε 0.4, 2e14 FLOP/s per accelerator; long: 25 %, κ 3e11, ε 1.2, 1.5e14 FLOP/s.
        // κ = 0.75·1e11 + 0.25·3e11 = 1.5e11; ε = 0.75·0.4 + 0.25·1.2 = 0.6;
        // one accelerator spends 0.75·1e11/2e14 + 0.25·3e11/1.5e14 = 3.75e-4 + 5e-4 = 8.75e-4 s per blended token,
        // so C_eff = κ / 8.75e-4 = 1.7142857e14 FLOP/s and 100 accelerators make 100 / 8.75e-4 = 114,285.7 tokens/s.
        var site = Evaluate(Site() with { Mixes = [Mix("chat", 0.75, 1e11, 0.4, 2e14), Mix("long", 0.25, 3e11, 1.2, 1.5e14)] }).Sites.Single();
        Close.To(1.5e11, site.Composite.KappaFlopPerToken);
        Close.To(0.6, site.Composite.EpsilonJoulesPerToken);
        Close.To(1.5e11 / 8.75e-4, site.Composite.EffectiveComputePerDeviceFlopPerSecond!.Value);
        Close.To(100 / 8.75e-4, site.Headline.ComputeCeilingTokensPerSecond);
        Close.To(160_000 / 0.6, site.Headline.PowerCeilingTokensPerSecond);
        Assert.Equal(BindingConstraint.Compute, site.Headline.BindingConstraint);
        Close.To(0.6 * 100 / 8.75e-4 * Year, site.Tokens);
        Close.To(1e6 * 0.1 * 1.25 * 0.6 / 0.6 / 3.6e6, site.CostPerMillionTokens!.Value);

        // A mix without a realized compute leaves only the peak convention.
        var peakOnly = Evaluate(Site() with { Mixes = [Mix("chat", 0.75), Mix("long", 0.25, 3e11, 1.2, perDevice: null)] }).Sites.Single();
        Assert.Null(peakOnly.Composite.EffectiveComputePerDeviceFlopPerSecond);
        Assert.Equal(Convention.Peak, peakOnly.Headline.Convention);
        Assert.Equal([Convention.Peak], peakOnly.Production.Conventions.Select(c => c.Convention));
    }

    [Fact]
    public void A_mix_at_the_peak_blends_to_the_peak_not_an_ulp_above()
    {
        // κ 1e11 on 9.894e14 FLOP/s: 1e11 / (1e11 / 9.894e14) is 9.894000000000001e14 in doubles.
        var site = Site() with { PeakPerDeviceFlopPerSecond = 989.4e12, Mixes = [Mix(perDevice: 989.4e12)] };
        Assert.Equal(989.4e12, Planner.Compose(site).EffectiveComputePerDeviceFlopPerSecond);
        Assert.Single(Evaluate(site).Sites);
    }

    [Fact]
    public void Mechanisms_divide_kappa_and_epsilon_per_phase_and_blend_by_the_prefill_share()
    {
        // Site: int4 halves decode ε. Mix: an attention change divides κ by 1.25 in both phases; 20 % prefill tokens.
        // ε factor = 0.2 / 1 + 0.8 / 2 = 0.6 → ε' = 0.3; κ factor = 1 / 1.25 = 0.8 → κ' = 8e10.
        var int4 = new EfficiencyMechanism("int4", PhaseGains.None, new PhaseGains(1, 2));
        var mla = new EfficiencyMechanism("mla", new PhaseGains(1.25, 1), new PhaseGains(1.25, 1));
        var site = Site() with { Mechanisms = [int4], Mixes = [Mix() with { Mechanisms = [mla], PrefillShare = 0.2 }] };
        var result = Evaluate(site).Sites.Single();
        var effect = result.Composite.Mixes.Single();
        Close.To(8e10, effect.KappaFlopPerToken);
        Close.To(0.3, effect.EpsilonJoulesPerToken);
        Close.To(1.25, effect.KappaGain);
        Close.To(1 / 0.6, effect.EpsilonGain);
        // The accelerator's realized FLOP rate stays, so R_sat rises with 1/κ: 100 · 2e14 / 8e10 = 250,000 tokens/s.
        Close.To(250_000, result.Headline.ComputeCeilingTokensPerSecond);
        Close.To(160_000 / 0.3, result.Headline.PowerCeilingTokensPerSecond);
        Close.To(0.6 * 250_000 * Year, result.Tokens);
        Close.To(0.6 * 200_000 * Year, result.TokensWithoutMechanisms);        // compute-bound: the κ gain is what counts

        // Power-bound (50 kW → 40 kW IT): the ε gain is what counts, 40,000/0.3 over 40,000/0.5.
        var power = Evaluate(site with { FacilityPowerWatts = Series.Constant(50_000) }).Sites.Single();
        Close.To(0.6 * 40_000 / 0.3 * Year, power.Tokens);
        Close.To(1 / 0.6, power.Tokens / power.TokensWithoutMechanisms);
        Close.To(1e6 * 0.1 * 1.25 * 0.3 / 0.6 / 3.6e6, power.CostPerMillionTokens!.Value);
    }

    [Fact]
    public void The_total_over_sites_is_their_sum()
    {
        var a = Site("a");                                                     // compute-bound: 120,000 tokens/s
        var b = Site("b") with { FacilityPowerWatts = Series.Constant(100_000), PricePerKilowattHour = Series.Constant(0.2), CarbonGramsPerKilowattHour = Series.Constant(100) };   // power-bound: 96,000
        var result = Evaluate(a, b);
        var (qa, qb) = (120_000 * Year, 96_000 * Year);
        Close.To(qa, result.Sites[0].Tokens);
        Close.To(qb, result.Sites[1].Tokens);
        Close.To(qa + qb, result.Tokens);
        Close.To(216_000, result.TokensPerSecond);
        Close.To((125_000 + 100_000) * Year, result.FacilityEnergyJoules);
        var (costA, costB) = (125_000 * Year / 3.6e6 * 0.1, 100_000 * Year / 3.6e6 * 0.2);
        Close.To(costA + costB, result.Cost!.Value);
        Close.To((costA + costB) / (qa + qb) * 1e6, result.CostPerMillionTokens!.Value);
        Close.To((125_000 * Year / 3.6e6 * 400 + 100_000 * Year / 3.6e6 * 100) / 1000 / (qa + qb) * 1e6, result.CarbonKilogramsPerMillionTokens!.Value);
        Close.To(qa / (qa + qb), result.TokenShares[PlanConstraint.Compute]);
        Close.To(qb / (qa + qb), result.TokenShares[PlanConstraint.Power]);

        // Scaling a lever at every site moves the total by the token-weighted mean of the sites' elasticities.
        var e = result.Elasticities.ToDictionary(x => x.Lever, x => x.Elasticity);
        Close.To(-qb / (qa + qb), e[PlanLever.Epsilon].Up);
        Close.To(-qa / (qa + qb), e[PlanLever.Kappa].Up);
        Close.To(qb / (qa + qb), e[PlanLever.FacilityPower].Down);
        Assert.Equal(Elasticity.Of(1), e[PlanLever.Utilization]);

        // One site without a price leaves the total without a cost rather than understating it.
        var unpriced = Evaluate(a, b with { PricePerKilowattHour = null });
        Assert.Null(unpriced.Cost);
        Assert.Null(unpriced.CostPerMillionTokens);
        Assert.NotNull(unpriced.CarbonGrams);
    }

    // ---- series integrated over the horizon, against closed forms ----

    private static Series DailyCurtailment(double normal, double curtailed) => Series.Repeat(
        Series.Steps([new(0, normal), new(18 * Hour, curtailed), new(22 * Hour, normal)]), Day, Year);

    [Fact]
    public void A_daily_curtailment_repeated_over_365_days_integrates_to_its_closed_form()
    {
        // 120 accelerators · 2e14 / 1e11 = 240,000 tokens/s of compute. 200 kW facility at PUE 1.25 → 320,000 tokens/s of
        // power for 20 h a day (compute-bound), 100 kW from 18 h to 22 h → 160,000 (power-bound). U = 1.
        var site = Site() with { AcceleratorCount = 120, FacilityPowerWatts = DailyCurtailment(200_000, 100_000), Utilization = Series.Constant(1) };
        var result = Evaluate(site).Sites.Single();
        var perDay = 20 * Hour * 240_000 + 4 * Hour * 160_000;                 // 5.44e10 tokens
        Close.To(365 * perDay, result.Tokens);
        // Three steps a day, but 22 h and the next day's 0 h hold the same inputs: one stretch across each midnight.
        Assert.Equal(1 + 2 * 365, result.Timeline.Count);
        Close.To(20.0 / 24, result.TimeShares[PlanConstraint.Compute]);
        Close.To(4.0 / 24, result.TimeShares[PlanConstraint.Power]);
        Close.To(20 * Hour * 240_000 / perDay, result.TokenShares[PlanConstraint.Compute]);
        Assert.Equal(BindingConstraint.Mixed, result.Headline.BindingConstraint);
        // Facility drawn: 240,000 · 0.5 · 1.25 = 150 kW while compute-bound, all 100 kW while curtailed.
        Close.To(365 * (20 * Hour * 150_000 + 4 * Hour * 100_000), result.FacilityEnergyJoules);
        // Elasticities weight each stretch by its tokens: power and PUE act only in the curtailed 4 h.
        var powerShare = 4 * Hour * 160_000 / perDay;
        var e = Elasticities(result);
        Assert.Equal(powerShare, e[PlanLever.FacilityPower].Up, 6);
        Assert.Equal(-powerShare, e[PlanLever.Pue].Up, 6);
        Assert.Equal(-powerShare, e[PlanLever.Epsilon].Up, 6);
        Assert.Equal(1 - powerShare, e[PlanLever.EffectiveCompute].Up, 6);
    }

    [Fact]
    public void A_pue_series_integrates_to_its_closed_form()
    {
        // Power-bound all year (10,000 accelerators): 200 kW at PUE 1.1 from 20 h to 8 h, 1.5 from 8 h to 20 h.
        var pue = Series.Repeat(Series.Steps([new(0, 1.1), new(8 * Hour, 1.5), new(20 * Hour, 1.1)]), Day, Year);
        var site = Site() with { AcceleratorCount = 10_000, Pue = pue, Utilization = Series.Constant(1) };
        var result = Evaluate(site).Sites.Single();
        Close.To(365 * 12 * Hour * (200_000 / 1.1 / 0.5 + 200_000 / 1.5 / 0.5), result.Tokens);
        Assert.Equal(1, result.TimeShares[PlanConstraint.Power]);
        // Power-bound, the facility draws its whole 200 kW whatever the PUE: 200 kW · 8,760 h at 0.1 per kWh.
        Close.To(200_000 * Year, result.FacilityEnergyJoules);
        Close.To(200 * 8760 * 0.1, result.Cost!.Value);
        Close.To(1.3, PlanReport.From(Evaluate(site)).Sites[0].Inputs.Pue!.Value);   // the time-mean PUE
    }

    [Fact]
    public void Utilization_steps_integrate_to_their_closed_form()
    {
        // Compute-bound at 200,000 tokens/s; U 0.5 for the first 180 days, 0.7 for the other 185.
        var site = Site() with { Utilization = Series.Steps([new(0, 0.5), new(180 * Day, 0.7)]) };
        var result = Evaluate(site).Sites.Single();
        Close.To(200_000 * Day * (180 * 0.5 + 185 * 0.7), result.Tokens);
        Assert.Equal(2, result.Timeline.Count);
        Assert.Equal([0.5, 0.7], result.Timeline.Select(s => s.Utilization));
        // Energy per token is PUE · ε / U in each stretch: the drawn power stays at the ceiling's rate.
        Close.To(125_000 * Year, result.FacilityEnergyJoules);
        Assert.Equal(Elasticity.Of(1), Elasticities(result)[PlanLever.Utilization]);
    }

    [Fact]
    public void A_price_that_steps_inside_a_segment_is_averaged_over_it()
    {
        // Compute-bound and constant inputs: one segment, 125 kW drawn; the price is 0.05 at night (0–6 h) and 0.13 by day.
        var price = Series.Repeat(Series.Steps([new(0, 0.05), new(6 * Hour, 0.13)]), Day, Year);
        var result = Evaluate(Site() with { PricePerKilowattHour = price }).Sites.Single();
        Assert.Single(result.Timeline);
        Close.To(125_000 * Year / 3.6e6 * (0.05 * 6 + 0.13 * 18) / 24, result.Cost!.Value);
    }
}
