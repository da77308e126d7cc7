namespace EnergyToToken.Metering;

/// <summary>One channel over a measured run: its energy, its idle baseline and how well the source behaved.</summary>
/// <param name="IdleWattsBefore">Mean power over the idle window before the run; null when none was measured.</param>
/// <param name="StaticJoules">Idle power (mean of before and after) × the run's duration.</param>
/// <param name="DynamicJoules">Gross − static: may be slightly negative for a run that barely loads the device.</param>
public sealed record ChannelResult(
    MeterChannel Channel,
    ChannelEnergy Run,
    double? IdleWattsBefore,
    double? IdleWattsAfter,
    double? StaticJoules,
    double? DynamicJoules,
    TimeSpan? UpdatePeriod,
    bool UpdatePeriodResolved,
    int Reads,
    double MeanReadLatencySeconds,
    double MaxReadLatencySeconds,
    double ClockOffsetSeconds,
    IReadOnlyList<MeterEvent> Events);

/// <summary>Min, mean and max of one gauge over the run.</summary>
public sealed record GaugeSummary(string Id, string Unit, double Min, double Mean, double Max);

/// <summary>Everything measured over a window: per channel, the boundary total, gross, static and dynamic.</summary>
/// <param name="StaticJoules">Σ static energy of the channels inside the boundary; null without an idle baseline.</param>
/// <param name="SamplerLateness">How late the sampler's reads started: p50, p99, max, seconds.</param>
public sealed record EnergySummary(
    double FromSeconds,
    double ToSeconds,
    IReadOnlyList<ChannelResult> Channels,
    BoundaryEnergy Total,
    double? StaticJoules,
    double? DynamicJoules,
    IReadOnlyList<GaugeSummary> Gauges,
    (double P50, double P99, double Max) SamplerLateness)
{
    public double DurationSeconds => ToSeconds - FromSeconds;

    public double MeanWatts => Total.Joules / DurationSeconds;
}

/// <summary>Turns a sampler's tracks into an <see cref="EnergySummary"/> for a run window and optional idle windows.</summary>
public static class EnergyMeasurement
{
    public static EnergySummary Summarize(PowerSampler sampler, double from, double to, (double From, double To)? idleBefore = null, (double From, double To)? idleAfter = null) =>
        Summarize(sampler.Tracks, sampler.Telemetry, sampler.Lateness, from, to, idleBefore, idleAfter);

    /// <summary>The same summary from a run's stored samples: what re-analysis of a run directory uses.</summary>
    public static EnergySummary Summarize(IReadOnlyList<MeterSamples> samples, IReadOnlyList<TelemetrySamples> telemetry, (double P50, double P99, double Max) lateness,
        double from, double to, (double From, double To)? idleBefore = null, (double From, double To)? idleAfter = null) =>
        Summarize([.. samples.Cast<ITrack>()], [.. telemetry.Cast<ITelemetry>()], lateness, from, to, idleBefore, idleAfter);

    private static EnergySummary Summarize(IReadOnlyList<ITrack> tracks, IReadOnlyList<ITelemetry> telemetry, (double P50, double P99, double Max) lateness,
        double from, double to, (double From, double To)? idleBefore, (double From, double To)? idleAfter)
    {
        var results = new List<ChannelResult>();
        foreach (var track in tracks)
        {
            var run = EnergyWindow.Integrate(track, from, to);
            var before = idleBefore is { } b ? IdleWatts(track, b) : null;
            var after = idleAfter is { } a ? IdleWatts(track, a) : null;
            double? idle = (before, after) switch
            {
                ({ } x, { } y) => (x + y) / 2,
                ({ } x, null) => x,
                (null, { } y) => y,
                _ => null,
            };
            // The CPU model covers busy time only: there is no idle power to subtract from it.
            if (track.Channel.Modeled) idle = null;
            var staticJoules = idle * (to - from);
            results.Add(new ChannelResult(track.Channel, run, before, after, staticJoules, run.Joules - staticJoules,
                track.UpdatePeriod, track.UpdatePeriodResolved, track.Reads, track.MeanReadLatencySeconds, track.MaxReadLatencySeconds,
                track.ClockOffsetSeconds, track.Events));
        }
        var byId = results.ToDictionary(r => r.Channel.Id);
        var total = Boundary.Total([.. results.Select(r => r.Channel)], c => (byId[c.Id].Run.Joules, byId[c.Id].Run.UncertaintyJoules));
        var inside = total.Included.Select(id => byId[id]).ToList();
        double? staticTotal = inside.Count > 0 && inside.All(r => r.StaticJoules is not null) ? inside.Sum(r => r.StaticJoules!.Value) : null;
        var gauges = new List<GaugeSummary>();
        foreach (var gaugeSet in telemetry)
        {
            for (var g = 0; g < gaugeSet.Names.Count; g++)
            {
                var (min, mean, max) = gaugeSet.Summary(g, from, to);
                if (double.IsFinite(mean)) gauges.Add(new GaugeSummary(gaugeSet.Names[g].Id, gaugeSet.Names[g].Unit, min, mean, max));
            }
        }
        return new EnergySummary(from, to, results, total, staticTotal, total.Joules - staticTotal, gauges, lateness);
    }

    private static double? IdleWatts(ITrack track, (double From, double To) window)
    {
        var idle = EnergyWindow.Integrate(track, window.From, window.To);
        return double.IsFinite(idle.Joules) && idle.DurationSeconds > 0 ? idle.Joules / idle.DurationSeconds : null;
    }
}
