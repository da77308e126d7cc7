namespace EnergyToToken.Metering;

/// <summary>How a channel's energy was obtained.</summary>
public enum EnergyMethod
{
    /// <summary>Difference of a cumulative counter, interpolated between its updates.</summary>
    Counter,

    /// <summary>Trapezoid integral of timestamped power readings (no counter exists).</summary>
    PowerIntegral,

    /// <summary>Not measured: a model's estimate (the CPU model).</summary>
    Modeled,
}

/// <summary>
/// The energy of one channel over one window, with an error bound and everything a reader must know to trust it.
/// </summary>
/// <param name="UncertaintyJoules">
/// A bound, not a standard deviation: counter resolution at both ends, the timing of the counter's updates at both ends,
/// reset bridges; or for power, resolution × duration, half the left/right Riemann-sum spread and gaps × half the
/// observed power range (docs/meters.md, "Energy between two instants").
/// </param>
/// <param name="Updates">Counter updates (or power readings) inside the window.</param>
/// <param name="CrossCheck">Where a counter and power both exist: (power integral − counter) / counter; null otherwise.</param>
public sealed record ChannelEnergy(
    string Channel,
    MeterScope Scope,
    EnergyMethod Method,
    double FromSeconds,
    double ToSeconds,
    double Joules,
    double UncertaintyJoules,
    int Updates,
    double? CrossCheck,
    IReadOnlyList<string> Flags)
{
    public double DurationSeconds => ToSeconds - FromSeconds;

    public double MeanWatts => DurationSeconds > 0 ? Joules / DurationSeconds : double.NaN;
}

/// <summary>Turns a channel's track into the energy between two instants.</summary>
internal static class EnergyWindow
{
    /// <summary>Windows shorter than this many update periods carry large error and say so (measurement.md §3.2).</summary>
    public const int MinimumUpdates = 10;

    public static ChannelEnergy Integrate(ITrack track, double from, double to)
    {
        var channel = track.Channel;
        var flags = new List<string>();
        var period = Period(track);
        var interval = track.SamplingInterval.TotalSeconds;
        var duration = to - from;
        var (counter, power) = Curves(track);
        var curve = counter ?? power!;
        if (curve.Knots == 0)
        {
            flags.Add("no good reading in the run: energy unknown");
            return new ChannelEnergy(channel.Id, channel.Scope, Method(channel), from, to, double.NaN, double.NaN, 0, null, flags);
        }

        // Time in the window that no reading covers (before the first, after the last, beyond what the curve may
        // extend): its energy is unknown, bounded by the channel's highest power. A window no reading reaches at all
        // has no energy to report.
        var reach = Math.Max(interval, period);
        var uncoveredBefore = Math.Clamp(curve.Start - reach - from, 0, duration);
        var uncoveredAfter = Math.Clamp(to - (curve.End + reach), 0, duration);
        if (uncoveredBefore > 0) flags.Add($"window starts {curve.Start - from:0.###} s before the first reading");
        if (uncoveredAfter > 0) flags.Add($"window ends {to - curve.End:0.###} s after the last reading (the device stopped answering)");
        if (uncoveredBefore + uncoveredAfter >= duration && duration > 0)
        {
            flags.Add("no reading reaches this window: energy unknown");
            return new ChannelEnergy(channel.Id, channel.Scope, Method(channel), from, to, double.NaN, double.NaN, 0, null, flags);
        }
        var peakWatts = PeakWatts(track, counter);

        var joules = curve.Between(from, to);
        var updates = curve.KnotsIn(from, to);
        double uncertainty;
        if (counter is not null)
        {
            // The counter's knots are placed to within half the smaller of the sampling interval and the update period.
            var timing = Math.Min(interval, period) / 2;
            var watts = duration > 0 ? joules / duration : 0;
            uncertainty = 2 * channel.EnergyResolutionJoules + (2 * timing + counter.EndTiming(from) + counter.EndTiming(to)) * watts
                + counter.InterpolationError(from) + counter.InterpolationError(to);
            foreach (var e in track.Events)
            {
                if (e.Kind == MeterEventKind.Reset && e.To > from && e.From < to) uncertainty += e.EstimatedJoules;
            }
        }
        else
        {
            // Resolution, and what power did between reads; a change is timed no better than an update period (the
            // lag left after its mean was undone is up to half a period either way).
            uncertainty = channel.PowerResolutionWatts * duration + curve.TrapezoidSpread(from, to, channel.NominalUpdatePeriod.TotalSeconds);
            var (min, max) = Range(curve.Powers);
            foreach (var e in track.Events)
            {
                if (e.Kind != MeterEventKind.Gap) continue;
                var overlap = Math.Min(e.To, to) - Math.Max(e.From, from);
                if (overlap > 0) uncertainty += overlap * (max - min) / 2;
            }
        }
        if (channel.AveragingWindow > TimeSpan.Zero && counter is null)
            flags.Add($"power is a {channel.AveragingWindow.TotalSeconds:0.###} s average, moved back by half its window");
        if (duration < MinimumUpdates * period)
            flags.Add($"window is {duration:0.###} s, shorter than {MinimumUpdates} update periods ({MinimumUpdates} × {period:0.###} s): expect large error");
        foreach (var kind in new[] { MeterEventKind.Gap, MeterEventKind.Wrap, MeterEventKind.Reset, MeterEventKind.Stale, MeterEventKind.ReadError, MeterEventKind.Lost })
        {
            var n = track.Events.Count(e => e.Kind == kind && e.To >= from && e.From <= to);
            if (n > 0) flags.Add($"{n} {kind.ToString().ToLowerInvariant()} event{(n == 1 ? "" : "s")} in the window");
        }
        if (channel.Modeled) flags.Add("modeled, not measured");

        uncertainty += (uncoveredBefore + uncoveredAfter) * peakWatts;
        if (channel.Simulated) flags.Add("simulated, not measured");
        var method = Method(channel);
        if (counter is not null && updates == 0 && duration > 0)
        {
            // No counter update inside the window: the counter cannot tell this window's energy. Use power readings
            // where the channel has them, else bound it by the counter's mean power over the run. Never a silent zero.
            if (power is { Knots: > 0 })
            {
                joules = power.Between(from, to);
                uncertainty = channel.PowerResolutionWatts * duration + power.TrapezoidSpread(from, to, period) + joules
                    + (uncoveredBefore + uncoveredAfter) * peakWatts;
                method = EnergyMethod.PowerIntegral;
                flags.Add("no counter update inside the window: energy from power readings, ± their own size");
                if (channel.AveragingWindow > TimeSpan.Zero)
                    flags.Add($"power is a {channel.AveragingWindow.TotalSeconds:0.###} s average, moved back by half its window");
            }
            else
            {
                uncertainty = double.IsFinite(peakWatts) ? peakWatts * duration : double.NaN;
                flags.Add("no counter update inside the window: energy unknown to within the run's highest power × duration");
            }
            return new ChannelEnergy(channel.Id, channel.Scope, method, from, to, joules, uncertainty, 0, null, flags);
        }

        double? crossCheck = null;
        if (counter is not null && power is { Knots: > 1 } && joules > 0)
            crossCheck = (power.Between(from, to) - joules) / joules;
        return new ChannelEnergy(channel.Id, channel.Scope, method, from, to, joules, uncertainty, updates, crossCheck, flags);
    }

    /// <summary>
    /// The update period integration assumes: a measured period no longer than the sampling interval only says "at
    /// most this", and the nominal one is then the better guess (RAPL updates every millisecond, not every 100 ms we read it).
    /// </summary>
    private static double Period(ITrack track)
    {
        var nominal = track.Channel.NominalUpdatePeriod.TotalSeconds;
        return track.UpdatePeriod?.TotalSeconds is { } measured ? (track.UpdatePeriodResolved ? measured : Math.Min(measured, nominal)) : nominal;
    }

    /// <summary>The channel's energy curves: from its counter (null without one) and from its power (null without it).</summary>
    internal static (EnergyCurve? Counter, EnergyCurve? Power) Curves(ITrack track)
    {
        var channel = track.Channel;
        // A power reading is the source's last update: on average half a nominal update period old, and an average
        // describes the window before it. Both are undone by moving the readings back.
        var lag = channel.NominalUpdatePeriod.TotalSeconds / 2 + channel.AveragingWindow.TotalSeconds / 2;
        var power = channel.HasPower ? EnergyCurve.FromPower(track.At, track.Watts, lag, track.SamplingInterval.TotalSeconds + channel.NominalUpdatePeriod.TotalSeconds) : null;
        var counter = channel.HasEnergy ? EnergyCurve.FromCounter(track.At, track.Energy, track.Changed, Period(track)) : null;
        return (counter, power);
    }

    /// <summary>The curve integration uses: the counter's where there is one.</summary>
    internal static EnergyCurve Curve(ITrack track)
    {
        var (counter, power) = Curves(track);
        return counter ?? power!;
    }

    /// <summary>The highest power the channel showed in the run: its power readings, else its counter's steepest segment.</summary>
    private static double PeakWatts(ITrack track, EnergyCurve? counter)
    {
        var peak = double.NaN;
        foreach (var w in track.Watts)
        {
            if (double.IsFinite(w)) peak = double.IsNaN(peak) ? w : Math.Max(peak, w);
        }
        if (double.IsNaN(peak) && counter is not null) peak = counter.PeakSlope;
        return peak;
    }

    private static EnergyMethod Method(MeterChannel channel) =>
        channel.Modeled ? EnergyMethod.Modeled : channel.HasEnergy ? EnergyMethod.Counter : EnergyMethod.PowerIntegral;

    private static (double Min, double Max) Range(ReadOnlySpan<double> values)
    {
        double min = double.PositiveInfinity, max = double.NegativeInfinity;
        foreach (var v in values)
        {
            min = Math.Min(min, v);
            max = Math.Max(max, v);
        }
        return values.IsEmpty ? (0, 0) : (min, max);
    }
}
