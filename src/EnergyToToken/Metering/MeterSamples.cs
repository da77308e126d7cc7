namespace EnergyToToken.Metering;

/// <summary>
/// One channel's good reads over a run, copied out of the sampler: the power timeline a run directory keeps. Times in
/// s from the run's origin; energy accumulated since the first good read, J (NaN for power-only channels); power, W.
/// </summary>
public sealed record MeterSamples(MeterChannel Channel, double[] At, double[] Joules, double[] Watts)
{
    internal static IReadOnlyList<MeterSamples> From(PowerSampler sampler) =>
        [.. sampler.Tracks.Select(t => new MeterSamples(t.Channel, t.At.ToArray(), t.Energy.ToArray(), t.Watts.ToArray()))];
}
