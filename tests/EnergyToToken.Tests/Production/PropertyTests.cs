using EnergyToToken.Production;
using FsCheck;
using FsCheck.Xunit;

namespace EnergyToToken.Tests.Production;

/// <summary>Properties of Eq. 1 over random operating points (positive ints scaled to realistic magnitudes).</summary>
public sealed class PropertyTests
{
    private static ProductionInputs Point(int c, int p, int k, int e, int u = 100) => new()
    {
        KappaFlopPerToken = k * 1e9,
        EpsilonJoulesPerToken = e * 0.01,
        EffectiveComputeFlopPerSecond = Series.Constant(c * 1e12),
        ItPowerWatts = Series.Constant(p * 10.0),
        Utilization = Series.Constant(Math.Clamp(u, 1, 100) / 100.0),
        HorizonSeconds = 3600,
    };

    private static double Q(ProductionInputs inputs) => ProductionModel.Tokens(inputs, Convention.Realized, 0, inputs.HorizonSeconds);

    [Property]
    public bool Q_never_falls_when_compute_or_power_rises(PositiveInt c, PositiveInt p, PositiveInt k, PositiveInt e, PositiveInt bump)
    {
        var point = Point(c.Get, p.Get, k.Get, e.Get);
        var q = Q(point);
        return Q(Point(c.Get + bump.Get, p.Get, k.Get, e.Get)) >= q && Q(Point(c.Get, p.Get + bump.Get, k.Get, e.Get)) >= q;
    }

    [Property]
    public bool Q_never_falls_when_kappa_or_epsilon_falls(PositiveInt c, PositiveInt p, PositiveInt k, PositiveInt e, PositiveInt bump)
    {
        var point = Point(c.Get, p.Get, k.Get + bump.Get, e.Get + bump.Get);
        var q = Q(point);
        return Q(Point(c.Get, p.Get, k.Get, e.Get + bump.Get)) >= q && Q(Point(c.Get, p.Get, k.Get + bump.Get, e.Get)) >= q;
    }

    [Fact]
    public void The_binding_arm_on_the_tie_band_edge_is_the_smaller_ceiling() => Assert.True(The_binding_arm_is_the_smaller_ceiling(PositiveInt.NewPositiveInt(10), PositiveInt.NewPositiveInt(11), PositiveInt.NewPositiveInt(9), PositiveInt.NewPositiveInt(10)));

    [Property]
    public bool The_binding_arm_is_the_smaller_ceiling(PositiveInt c, PositiveInt p, PositiveInt k, PositiveInt e)
    {
        var result = ProductionModel.Evaluate(Point(c.Get, p.Get, k.Get, e.Get)).Headline;
        var h = result.Headroom;
        return result.BindingConstraint switch
        {
            // Outside the 1 % tie band, written as the model writes it: at H = 0.99 exactly, 1 − 0.99 is 0.010000000000000009
            // in doubles, so "h < 0.99" would call a point on the band's edge wrong (inputs 10, 11, 9, 10 found it).
            BindingConstraint.Compute => result.ComputeCeilingTokensPerSecond < result.PowerCeilingTokensPerSecond && h > 1 && Math.Abs(h - 1) > 0.01,
            BindingConstraint.Power => result.PowerCeilingTokensPerSecond < result.ComputeCeilingTokensPerSecond && h < 1 && Math.Abs(h - 1) > 0.01,
            BindingConstraint.Balanced => Math.Abs(h - 1) <= 0.01,
            _ => false,
        };
    }

    [Property]
    public bool Under_power_binding_kappa_does_not_move_Q(PositiveInt c, PositiveInt p, PositiveInt k, PositiveInt e, PositiveInt bump)
    {
        var point = Point(c.Get, p.Get, k.Get, e.Get);
        var before = ProductionModel.Evaluate(point).Headline;
        if (before.ComputeCeilingTokensPerSecond <= before.PowerCeilingTokensPerSecond) return true;   // not power-bound
        // Lower κ (raise the compute ceiling further): Q stays exactly where the power arm holds it.
        var lower = point with { KappaFlopPerToken = point.KappaFlopPerToken / (1 + bump.Get) };
        return Q(lower) == Q(point);
    }

    [Property]
    public bool Scaling_kappa_and_epsilon_by_k_scales_Q_by_one_over_k(PositiveInt c, PositiveInt p, PositiveInt k, PositiveInt e, PositiveInt factor)
    {
        var point = Point(c.Get, p.Get, k.Get, e.Get);
        var f = 1 + factor.Get % 50 / 10.0;
        var scaled = point with { KappaFlopPerToken = point.KappaFlopPerToken * f, EpsilonJoulesPerToken = point.EpsilonJoulesPerToken * f };
        return Math.Abs(Q(scaled) * f - Q(point)) <= 1e-9 * Q(point);
    }

    [Property]
    public bool Integration_is_additive_over_a_split_point(PositiveInt c, PositiveInt p1, PositiveInt p2, PositiveInt k, PositiveInt e, PositiveInt step, PositiveInt split)
    {
        var stepAt = step.Get % 3599 + 1.0;
        var splitAt = split.Get % 3599 + 0.5;
        var point = Point(c.Get, 1, k.Get, e.Get) with { ItPowerWatts = Series.Steps([new(0, p1.Get * 10.0), new(stepAt, p2.Get * 10.0)]) };
        var whole = ProductionModel.Tokens(point, Convention.Realized, 0, 3600);
        var parts = ProductionModel.Tokens(point, Convention.Realized, 0, splitAt) + ProductionModel.Tokens(point, Convention.Realized, splitAt, 3600);
        return Math.Abs(whole - parts) <= 1e-9 * whole;
    }

    [Property]
    public bool Elasticities_are_minus_one_zero_or_one_away_from_ties(PositiveInt c, PositiveInt p, PositiveInt k, PositiveInt e)
    {
        var result = ProductionModel.Evaluate(Point(c.Get, p.Get, k.Get, e.Get)).Headline;
        if (result.ComputeCeilingTokensPerSecond == result.PowerCeilingTokensPerSecond) return true;
        var byInput = result.Elasticities.ToDictionary(x => x.Input, x => x.Elasticity.Up);
        var computeBound = result.ComputeCeilingTokensPerSecond < result.PowerCeilingTokensPerSecond;
        return byInput[ProductionInput.Kappa] == (computeBound ? -1 : 0)
            && byInput[ProductionInput.Epsilon] == (computeBound ? 0 : -1)
            && byInput[ProductionInput.EffectiveCompute] + byInput[ProductionInput.ItPower] == 1;
    }
}
