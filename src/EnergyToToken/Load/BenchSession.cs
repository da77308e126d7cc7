using EnergyToToken.Metering;

namespace EnergyToToken.Load;

/// <summary>The measurement around a load: idle baselines before and after, and how the meters are sampled.</summary>
public sealed record BenchOptions
{
    /// <summary>Idle time measured before the load starts. Default: 2 s.</summary>
    public TimeSpan IdleBefore { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Idle time measured after the last request ends (and <see cref="Settle"/>). Default: 2 s.</summary>
    public TimeSpan IdleAfter { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Unmeasured gap between each idle baseline and the load (after the idle before, before the idle after), so a
    /// counter's update period of load does not leak into the idle figure (a 100 ms counter can lag the load by a
    /// period, more when the sampler reads late). Default: 500 ms.
    /// </summary>
    public TimeSpan Settle { get; init; } = TimeSpan.FromMilliseconds(500);

    public SamplerOptions Sampler { get; init; } = new();
}

/// <summary>
/// A measured run: every request, the energy over the measured window inside the meters' boundary (with the idle
/// baseline before and after), and the window itself, all on one clock (seconds from the sampler's start).
/// </summary>
public sealed record BenchResult(IReadOnlyList<RunRequest> Requests, EnergySummary Energy, bool Complete)
{
    /// <summary>Requests in the measured set: not warm-up.</summary>
    public IEnumerable<RunRequest> Measured => Requests.Where(r => !r.Warmup);

    public long OutputTokens => Measured.Sum(r => (long)r.Record.OutputTokens);

    /// <summary>Gross energy per output token over the measured window, J, inside <see cref="EnergySummary.Total"/>'s boundary.</summary>
    public double JoulesPerOutputToken => OutputTokens > 0 ? Energy.Total.Joules / OutputTokens : double.NaN;
}

/// <summary>
/// The sequence of a benchmark (issue 5): meters sampled from the start; an idle baseline; the load (warm-up
/// included, recorded apart); an idle baseline after; each baseline kept apart from the load by a settle time. The measured window runs from the first measured request's
/// scheduled time to the last measured request's end.
/// </summary>
public static class BenchSession
{
    public static async Task<BenchResult> RunAsync(LoadRunner runner, WorkloadOptions workload, ArrivalOptions arrivals,
        IReadOnlyList<IPowerMeter> meters, BenchOptions options, TimeProvider time, CancellationToken cancellationToken)
    {
        var errors = options.Sampler.Validate().ToList();
        if (options.IdleBefore < TimeSpan.Zero || options.IdleAfter < TimeSpan.Zero || options.Settle < TimeSpan.Zero) errors.Add("Idle baselines and the settle time must be at least 0 s.");
        if (meters.Count == 0) errors.Add("No meter to measure with: give one with --meter, or run against the twin, whose meter is built in.");
        if (errors.Count > 0) throw new EnergyToTokenException(string.Join(Environment.NewLine, errors));
        using var sampler = new PowerSampler(meters, options.Sampler, time);
        sampler.Start();
        var complete = true;
        var idleBefore = await IdleAsync(sampler, options.IdleBefore, time, cancellationToken).ConfigureAwait(false);
        // A guard on the load side of each baseline: a counter's update period (and a late sampler read) would
        // otherwise carry load into the idle figure.
        complete &= idleBefore is not null && await IdleAsync(sampler, options.Settle, time, cancellationToken).ConfigureAwait(false) is not null;
        var requests = idleBefore is null ? [] : await runner.RunAsync(workload, arrivals, cancellationToken).ConfigureAwait(false);
        complete &= !cancellationToken.IsCancellationRequested;
        var settled = complete && await IdleAsync(sampler, options.Settle, time, cancellationToken).ConfigureAwait(false) is not null;
        var idleAfter = settled ? await IdleAsync(sampler, options.IdleAfter, time, cancellationToken).ConfigureAwait(false) : null;
        complete &= idleAfter is not null;
        sampler.Stop();

        double Seconds(long timestamp) => time.GetElapsedTime(sampler.Origin, timestamp).TotalSeconds;
        var measured = requests.Where(r => !r.Warmup).ToList();
        var from = measured.Count > 0 ? Seconds(measured.Min(r => r.ScheduledTimestamp)) : sampler.Now;
        var to = measured.Count > 0 ? Seconds(measured.Max(r => r.Record.EndTimestamp ?? r.Record.SentTimestamp)) : sampler.Now;
        var energy = EnergyMeasurement.Summarize(sampler, from, to, idleBefore, idleAfter);
        return new BenchResult(requests, energy, complete);
    }

    /// <summary>Waits out an idle baseline; null when the run was cancelled during it.</summary>
    private static async Task<(double From, double To)?> IdleAsync(PowerSampler sampler, TimeSpan length, TimeProvider time, CancellationToken cancellationToken)
    {
        var from = sampler.Now;
        try
        {
            if (length > TimeSpan.Zero) await Task.Delay(length, time, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
        return (from, sampler.Now);
    }
}
