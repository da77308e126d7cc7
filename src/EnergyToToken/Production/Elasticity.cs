namespace EnergyToToken.Production;

/// <summary>
/// The elasticity of Q to one input, <c>∂ln Q / ∂ln x</c>, one-sided: <see cref="Up"/> for a small rise of the input,
/// <see cref="Down"/> for a small fall. They differ only where the two arms of the <c>min</c> tie exactly.
/// </summary>
public readonly record struct Elasticity(double Up, double Down)
{
    public static readonly Elasticity Zero = new(0, 0);

    public static Elasticity Of(double both) => new(both, both);

    /// <summary>
    /// The elasticity of <c>min(a, b)</c> from those of its arms. Away from a tie it is the lower arm's; at a tie a rise
    /// moves the minimum at the slower arm's rate and a fall at the faster arm's.
    /// </summary>
    public static Elasticity OfMin(double a, Elasticity ofA, double b, Elasticity ofB)
    {
        if (a < b) return ofA;
        if (b < a) return ofB;
        return new Elasticity(Math.Min(ofA.Up, ofB.Up), Math.Max(ofA.Down, ofB.Down));
    }
}

/// <summary>An input of the production function, for naming elasticities.</summary>
public enum ProductionInput
{
    Utilization,
    EffectiveCompute,
    PeakCompute,
    Kappa,
    Epsilon,
    ItPower,
    FacilityPower,
    Pue,
    CoolingCapacity,
}

/// <summary>The elasticity of Q over the horizon to scaling one input by a constant factor.</summary>
public sealed record InputElasticity(ProductionInput Input, Elasticity Elasticity);
