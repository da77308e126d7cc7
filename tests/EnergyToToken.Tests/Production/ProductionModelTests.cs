using EnergyToToken.Production;

namespace EnergyToToken.Tests.Production;

public sealed class ProductionModelTests
{
    // The worked example by hand: κ = 2·65.2e9 + 2·80·2048·64·256 = 130.4e9 + 5,368,709,120 = 135,768,709,120.
    private const double Kappa = 135_768_709_120;
    private const double Epsilon = 0.5;
    private const double RSat = 1200;
    private const double Peak = 1978.9e12;

    private static ProductionInputs Example() => new()
    {
        KappaFlopPerToken = Kappa,
        EpsilonJoulesPerToken = Epsilon,
        EffectiveComputeFlopPerSecond = Series.Constant(Kappa * RSat),
        PeakComputeFlopPerSecond = Peak,
        ItPowerWatts = Series.Constant(700),
        ItPowerSource = ItPowerSource.DeviceLimits,
        Utilization = Series.Constant(0.6),
        HorizonSeconds = 86_400,
    };

    [Fact]
    public void Worked_example_is_compute_bound_realized_and_power_bound_at_peak()
    {
        var result = ProductionModel.Evaluate(Example());
        var realized = result.Conventions.Single(c => c.Convention == Convention.Realized);
        var peak = result.Conventions.Single(c => c.Convention == Convention.Peak);

        Assert.Same(realized, result.Headline);
        Close.To(1200, realized.ComputeCeilingTokensPerSecond);
        Close.To(1400, realized.PowerCeilingTokensPerSecond);            // 700 W / 0.5 J
        Assert.Equal(BindingConstraint.Compute, realized.BindingConstraint);
        Close.To(1400.0 / 1200.0, realized.Headroom);
        Close.To(720, realized.UtilizationAdjustedTokensPerSecond);      // 0.6 · 1200
        Close.To(720 * 86_400, realized.Tokens);                          // 62,208,000

        Close.To(1978.9e12 / Kappa, peak.ComputeCeilingTokensPerSecond);  // 14,575.52…
        Assert.Equal(BindingConstraint.Power, peak.BindingConstraint);
        Close.To(840, peak.UtilizationAdjustedTokensPerSecond);           // 0.6 · 1400
        Close.To(1400 / (1978.9e12 / Kappa), peak.Headroom);

        Close.To(0.5 / Kappa, realized.PhiJoulesPerFlop);
        Close.To(700 / (Kappa * RSat), realized.SigmaJoulesPerFlop);
        Close.To(700 / 1978.9e12, peak.SigmaJoulesPerFlop);
        Close.To(realized.SigmaJoulesPerFlop / realized.PhiJoulesPerFlop, realized.Headroom);
        Close.To(Kappa * RSat / Peak, result.KernelEfficiency!.Value);
    }

    [Fact]
    public void Facility_power_over_pue_gives_it_power_and_the_inverse_gives_it_back()
    {
        Close.To(1000, TokenProductionFunction.ItPower(1300, 1.3));
        Close.To(1300, TokenProductionFunction.FacilityPower(1000, 1.3));
        var inputs = Example() with { ItPowerWatts = null, FacilityPowerWatts = Series.Constant(1300), Pue = Series.Constant(1.3) };
        var result = ProductionModel.Evaluate(inputs);
        Close.To(1000, result.ItPowerWatts);
        Close.To(1300, result.FacilityPowerWatts!.Value);
        Close.To(2000, result.Headline.PowerCeilingTokensPerSecond);     // 1000 W / 0.5 J
    }

    [Fact]
    public void An_it_budget_with_a_pue_reports_the_implied_facility_power()
    {
        var result = ProductionModel.Evaluate(Example() with { Pue = Series.Constant(1.25) });
        Close.To(875, result.FacilityPowerWatts!.Value);
    }

    [Fact]
    public void Cooling_capacity_below_delivery_caps_the_it_budget_and_is_named()
    {
        var inputs = Example() with { CoolingCapacityWatts = 500, EffectiveComputeFlopPerSecond = Series.Constant(Kappa * 5000) };
        var realized = ProductionModel.Evaluate(inputs).Headline;
        Close.To(1000, realized.PowerCeilingTokensPerSecond);             // 500 W / 0.5 J
        Assert.Equal(1, realized.CoolingLimitedShare);
        Assert.Equal(ItBudgetLimit.Cooling, realized.Segments.Single().ItBudgetLimit);
        var elasticities = realized.Elasticities.ToDictionary(e => e.Input, e => e.Elasticity);
        Assert.Equal(Elasticity.Of(1), elasticities[ProductionInput.CoolingCapacity]);
        Assert.Equal(Elasticity.Of(0), elasticities[ProductionInput.ItPower]);
    }

    [Fact]
    public void Drawn_power_as_budget_is_degenerate_under_realized_and_not_under_peak()
    {
        // ε measured at saturation: 600 W drawn at 1200 tokens/s. Using those 600 W as the budget makes H = 1 by construction.
        var inputs = Example() with { EpsilonJoulesPerToken = 0.5, ItPowerWatts = Series.Constant(600), ItPowerSource = ItPowerSource.Drawn };
        var result = ProductionModel.Evaluate(inputs);
        Assert.Equal(BindingConstraint.Degenerate, result.Headline.BindingConstraint);
        Assert.Contains("Degenerate", result.Headline.Explanation, StringComparison.Ordinal);
        Assert.Equal(BindingConstraint.Power, result.Conventions[1].BindingConstraint);

        var byValue = ProductionModel.Evaluate(Example() with { ItPowerWatts = Series.Constant(600), DrawnPowerWatts = 600 });
        Assert.Equal(BindingConstraint.Degenerate, byValue.Headline.BindingConstraint);
    }

    [Fact]
    public void Ceilings_within_the_tolerance_are_balanced()
    {
        // Power ceiling 1210 vs compute 1200: H = 1.00833, inside 1 %, outside 0.5 %.
        var inputs = Example() with { ItPowerWatts = Series.Constant(605) };
        Assert.Equal(BindingConstraint.Balanced, ProductionModel.Evaluate(inputs).Headline.BindingConstraint);
        Assert.Equal(BindingConstraint.Compute, ProductionModel.Evaluate(inputs with { TieTolerance = 0.005 }).Headline.BindingConstraint);
    }

    [Fact]
    public void Power_bound_point_has_zero_elasticity_to_kappa_and_compute_and_minus_one_to_epsilon()
    {
        var peak = ProductionModel.Evaluate(Example()).Conventions.Single(c => c.Convention == Convention.Peak);
        var e = peak.Elasticities.ToDictionary(x => x.Input, x => x.Elasticity);
        Assert.Equal(Elasticity.Of(0), e[ProductionInput.Kappa]);
        Assert.Equal(Elasticity.Of(0), e[ProductionInput.PeakCompute]);
        Assert.Equal(Elasticity.Of(-1), e[ProductionInput.Epsilon]);
        Assert.Equal(Elasticity.Of(1), e[ProductionInput.ItPower]);
        Assert.Equal(Elasticity.Of(1), e[ProductionInput.Utilization]);
    }

    [Fact]
    public void Facility_and_pue_elasticities_follow_the_power_arm()
    {
        var inputs = Example() with { ItPowerWatts = null, FacilityPowerWatts = Series.Constant(700), Pue = Series.Constant(1.4) };
        var realized = ProductionModel.Evaluate(inputs).Headline;   // 500 W IT → 1000 tokens/s < 1200: power-bound
        Assert.Equal(BindingConstraint.Power, realized.BindingConstraint);
        var e = realized.Elasticities.ToDictionary(x => x.Input, x => x.Elasticity);
        Assert.Equal(Elasticity.Of(1), e[ProductionInput.FacilityPower]);
        Assert.Equal(Elasticity.Of(-1), e[ProductionInput.Pue]);
        Assert.Equal(Elasticity.Of(0), e[ProductionInput.EffectiveCompute]);
    }

    [Fact]
    public void At_an_exact_tie_elasticities_are_one_sided()
    {
        // 600 W / 0.5 J = 1200 = compute ceiling exactly.
        var realized = ProductionModel.Evaluate(Example() with { ItPowerWatts = Series.Constant(600) }).Headline;
        var e = realized.Elasticities.ToDictionary(x => x.Input, x => x.Elasticity);
        Assert.Equal(new Elasticity(0, 1), e[ProductionInput.EffectiveCompute]);
        Assert.Equal(new Elasticity(-1, 0), e[ProductionInput.Kappa]);
        Assert.Equal(new Elasticity(-1, 0), e[ProductionInput.Epsilon]);
        Assert.Equal(new Elasticity(0, 1), e[ProductionInput.ItPower]);
    }

    [Fact]
    public void Step_series_integrate_exactly_and_report_mixed_binding()
    {
        // P_IT 700 W for 6 h, then 400 W for 18 h; compute ceiling 1200, U = 0.5 then 1 from 12 h.
        var inputs = Example() with
        {
            PeakComputeFlopPerSecond = null,
            ItPowerWatts = Series.Steps([new(0, 700), new(6 * 3600, 400)]),
            Utilization = Series.Steps([new(0, 0.5), new(12 * 3600, 1)]),
        };
        var realized = ProductionModel.Evaluate(inputs).Headline;
        // 0–6 h: 0.5·min(1200, 1400) = 600; 6–12 h: 0.5·min(1200, 800) = 400; 12–24 h: 1·800.
        var expected = 600.0 * 6 * 3600 + 400.0 * 6 * 3600 + 800.0 * 12 * 3600;
        Close.To(expected, realized.Tokens);
        Assert.Equal(3, realized.Segments.Count);
        Assert.Equal(BindingConstraint.Mixed, realized.BindingConstraint);
        Close.To(0.25, realized.ComputeBoundShare);
        Close.To(0.75, realized.PowerBoundShare);
        Close.To((700.0 * 6 + 400.0 * 18) / 24, realized.ItPowerWatts);
    }

    [Fact]
    public void Integration_over_a_window_counts_only_that_window()
    {
        var inputs = Example() with { ItPowerWatts = Series.Steps([new(0, 700), new(100, 400)]) };
        Close.To(0.6 * 1200 * 50 + 0.6 * 800 * 30, ProductionModel.Tokens(inputs, Convention.Realized, 50, 130));
    }

    [Fact]
    public void Validation_lists_every_problem_at_once_naming_the_values()
    {
        var inputs = new ProductionInputs
        {
            KappaFlopPerToken = -1,
            EpsilonJoulesPerToken = 0,
            FacilityPowerWatts = Series.Constant(1000),
            Pue = Series.Constant(0.9),
            Utilization = Series.Constant(1.5),
            HorizonSeconds = 0,
        };
        var errors = inputs.Validate();
        Assert.Contains(errors, e => e.Contains("kappa", StringComparison.Ordinal) && e.Contains("(was -1)", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("epsilon", StringComparison.Ordinal) && e.Contains("(was 0)", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("No compute throughput", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("PUE must be at least 1 (was 0.9)", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("Utilization U must be in (0, 1] (was 1.5)", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("horizon", StringComparison.Ordinal));
        Assert.Equal(6, errors.Count);
        var thrown = Assert.Throws<EnergyToTokenException>(() => ProductionModel.Evaluate(inputs));
        Assert.Equal(6, thrown.Message.Split(Environment.NewLine).Length);
    }

    [Fact]
    public void Realized_compute_above_peak_is_rejected()
    {
        var errors = (Example() with { PeakComputeFlopPerSecond = 1e14 }).Validate();
        Assert.Contains(errors, e => e.Contains("exceeds the peak", StringComparison.Ordinal));
    }

    [Fact]
    public void Both_it_and_facility_power_is_rejected()
    {
        var errors = (Example() with { FacilityPowerWatts = Series.Constant(1000), Pue = Series.Constant(1.2) }).Validate();
        Assert.Contains(errors, e => e.Contains("give one", StringComparison.Ordinal));
    }

    [Fact]
    public void Series_must_start_at_zero_and_increase()
    {
        var ex = Assert.Throws<EnergyToTokenException>(() => Series.Steps([new(5, 1), new(3, 2)]));
        Assert.Contains("must start at 0 s", ex.Message, StringComparison.Ordinal);
        Assert.Contains("does not come after", ex.Message, StringComparison.Ordinal);
    }
}
