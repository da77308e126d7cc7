namespace EnergyToToken.Metering;

/// <summary>
/// What energy integration reads from one channel: a live <see cref="ChannelTrack"/> during a run, or stored
/// <see cref="MeterSamples"/> when a run is analysed again from its directory. Both give the same answer.
/// </summary>
internal interface ITrack
{
    MeterChannel Channel { get; }

    TimeSpan SamplingInterval { get; }

    TimeSpan? UpdatePeriod { get; }

    bool UpdatePeriodResolved { get; }

    ReadOnlySpan<double> At { get; }

    ReadOnlySpan<double> Energy { get; }

    ReadOnlySpan<double> Watts { get; }

    ReadOnlySpan<bool> Changed { get; }

    IReadOnlyList<MeterEvent> Events { get; }

    int Reads { get; }

    double MeanReadLatencySeconds { get; }

    double MaxReadLatencySeconds { get; }

    double ClockOffsetSeconds { get; }
}

/// <summary>Gauges of one meter over a run: what a summary needs from them.</summary>
internal interface ITelemetry
{
    IReadOnlyList<TelemetryChannel> Names { get; }

    (double Min, double Mean, double Max) Summary(int gauge, double from, double to);
}

/// <summary>
/// One channel's good reads over a run, copied out of the sampler: the power timeline a run directory keeps, and
/// everything else the energy integration needs to give the same answer again. Times in s from the run's origin;
/// energy accumulated since the first good read, J (NaN for power-only channels); power, W.
/// </summary>
public sealed record MeterSamples(MeterChannel Channel, double[] At, double[] Joules, double[] Watts) : ITrack
{
    /// <summary>True where the source updated (the value differs from the previous good read).</summary>
    public required bool[] Updated { get; init; }

    public required TimeSpan SamplingInterval { get; init; }

    /// <summary>The measured update period (median interval between changes); null when fewer than two were seen.</summary>
    public TimeSpan? UpdatePeriod { get; init; }

    public bool UpdatePeriodResolved { get; init; }

    public IReadOnlyList<MeterEvent> Events { get; init; } = [];

    public int Reads { get; init; }

    public double MeanReadLatencySeconds { get; init; }

    public double MaxReadLatencySeconds { get; init; }

    public double ClockOffsetSeconds { get; init; } = double.NaN;

    ReadOnlySpan<double> ITrack.At => At;

    ReadOnlySpan<double> ITrack.Energy => Joules;

    ReadOnlySpan<double> ITrack.Watts => Watts;

    ReadOnlySpan<bool> ITrack.Changed => Updated;

    internal static MeterSamples Of(ITrack t) => new(t.Channel, t.At.ToArray(), t.Energy.ToArray(), t.Watts.ToArray())
    {
        Updated = t.Changed.ToArray(),
        SamplingInterval = t.SamplingInterval,
        UpdatePeriod = t.UpdatePeriod,
        UpdatePeriodResolved = t.UpdatePeriodResolved,
        Events = [.. t.Events],
        Reads = t.Reads,
        MeanReadLatencySeconds = t.MeanReadLatencySeconds,
        MaxReadLatencySeconds = t.MaxReadLatencySeconds,
        ClockOffsetSeconds = t.ClockOffsetSeconds,
    };

    internal static IReadOnlyList<MeterSamples> From(PowerSampler sampler) => [.. sampler.Tracks.Select(Of)];
}

/// <summary>One meter's gauges over a run (temperature, clocks, SM activity…): one row of values per read.</summary>
/// <param name="Values">Row-major: read i's gauge g is at <c>i × Names.Count + g</c>; NaN where unknown.</param>
public sealed record TelemetrySamples(IReadOnlyList<TelemetryChannel> Names, double[] At, double[] Values) : ITelemetry
{
    public (double Min, double Mean, double Max) Summary(int gauge, double from, double to) => Summarize(At, Values, Names.Count, gauge, from, to);

    /// <summary>Minimum, mean and maximum of one gauge over [from, to], ignoring unknown values.</summary>
    internal static (double Min, double Mean, double Max) Summarize(ReadOnlySpan<double> at, ReadOnlySpan<double> values, int width, int gauge, double from, double to)
    {
        double min = double.PositiveInfinity, max = double.NegativeInfinity, sum = 0;
        var n = 0;
        for (var i = 0; i < at.Length; i++)
        {
            var v = values[i * width + gauge];
            if (at[i] < from || at[i] > to || !double.IsFinite(v)) continue;
            min = Math.Min(min, v);
            max = Math.Max(max, v);
            sum += v;
            n++;
        }
        return n == 0 ? (double.NaN, double.NaN, double.NaN) : (min, sum / n, max);
    }
}
