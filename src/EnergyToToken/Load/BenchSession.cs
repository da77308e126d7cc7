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

/// <summary>The run's clock: every timestamp is a <see cref="TimeProvider"/> tick, every time in results seconds from <see cref="Origin"/>.</summary>
public readonly record struct RunClock(long Origin, long Frequency)
{
    public double Seconds(long timestamp) => (double)(timestamp - Origin) / Frequency;
}

/// <summary>What the bench is doing now, for live progress: reported about once a second.</summary>
/// <param name="Phase">"idle before", "load", "drain", "idle after".</param>
/// <param name="Watts">Mean power inside the meters' boundary over the last couple of seconds; NaN without a meter.</param>
/// <param name="Joules">Energy since the load began; NaN without a meter.</param>
/// <param name="SecondsLeft">Until sending stops (duration, or the count at the current pace); null when unknown.</param>
public sealed record BenchProgress(string Phase, int Done, int Failed, long OutputTokens, double ElapsedSeconds, double TokensPerSecond, double Watts, double Joules, double? SecondsLeft)
{
    public double JoulesPerOutputToken => OutputTokens > 0 ? Joules / OutputTokens : double.NaN;

    /// <summary>Prompt tokens of the requests finished since the load began.</summary>
    public long InputTokens { get; init; }

    /// <summary>Mean context an output token saw so far (prompt plus half the output, weighted by output tokens), for κ; null before any output.</summary>
    public double? MeanContextTokens { get; init; }
}

/// <summary>
/// A measured run: every request, the energy over the measured window inside the meters' boundary (with the idle
/// baseline before and after; null when run without a meter), the window, the server's metrics and the client's own
/// CPU use, all on one clock.
/// </summary>
/// <param name="ClientCpuShare">The process's CPU time over the load ÷ (wall time × logical cores): above 0.8 the client may be what limits the run.</param>
public sealed record BenchResult(
    IReadOnlyList<RunRequest> Requests,
    EnergySummary? Energy,
    bool Complete,
    RunClock Clock,
    double WindowFromSeconds,
    double WindowToSeconds,
    double ClientCpuShare,
    IReadOnlyList<ServerMetricsSample> ServerMetrics,
    IReadOnlyList<MeterSamples> Samples)
{
    /// <summary>Every meter's gauges over the run (temperature, clocks, SM activity); empty without such meters.</summary>
    public IReadOnlyList<TelemetrySamples> Telemetry { get; init; } = [];

    /// <summary>How late the sampler's reads started: p50, p99, max, s.</summary>
    public (double P50, double P99, double Max) SamplerLateness { get; init; }

    /// <summary>The idle baselines actually measured, s on the run's clock; null when none (no meter, or cut short).</summary>
    public (double From, double To)? IdleBefore { get; init; }

    public (double From, double To)? IdleAfter { get; init; }

    /// <summary>Requests in the measured set: not warm-up.</summary>
    public IEnumerable<RunRequest> Measured => Requests.Where(r => !r.Warmup);

    public long OutputTokens => Measured.Sum(r => (long)r.Record.OutputTokens);

    /// <summary>Gross energy per output token over the measured window, J, inside the energy's boundary.</summary>
    public double JoulesPerOutputToken => OutputTokens > 0 && Energy is { } e ? e.Total.Joules / OutputTokens : double.NaN;

    /// <summary>Above this share of the machine's CPU the client flags itself as possibly what limits the run.</summary>
    public const double ClientLimitedShare = 0.8;

    public bool ClientLimited => ClientCpuShare > ClientLimitedShare;
}

/// <summary>
/// The sequence of a benchmark (issue 5): meters sampled from the start; an idle baseline; the load (warm-up
/// included, recorded apart); an idle baseline after; each baseline kept apart from the load by a settle time. The
/// measured window runs from the first measured request's scheduled time to the last measured request's end. With no
/// meter, the same sequence without the baselines measures latency alone.
/// </summary>
public static class BenchSession
{
    public static async Task<BenchResult> RunAsync(LoadRunner runner, WorkloadOptions workload, ArrivalOptions arrivals,
        IReadOnlyList<IPowerMeter> meters, BenchOptions options, TimeProvider time, CancellationToken cancellationToken,
        ServerMetricsScraper? scraper = null, IProgress<BenchProgress>? progress = null, Action<RunRequest, RunClock>? finished = null)
    {
        var errors = options.Sampler.Validate().ToList();
        if (options.IdleBefore < TimeSpan.Zero || options.IdleAfter < TimeSpan.Zero || options.Settle < TimeSpan.Zero) errors.Add("Idle baselines and the settle time must be at least 0 s.");
        if (errors.Count > 0) throw new EnergyToTokenException(string.Join(Environment.NewLine, errors));
        using var sampler = new PowerSampler(meters, options.Sampler, time);
        var clock = new RunClock(sampler.Origin, time.TimestampFrequency);
        sampler.Start();
        var metered = meters.Count > 0;
        var complete = true;
        var live = new LiveCounts();
        using var reporter = progress is null ? null : new Timer(_ => progress.Report(live.Snapshot(sampler, arrivals, workload, metered)), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));

        live.Phase = "idle before";
        (double From, double To)? idleBefore = metered ? await IdleAsync(sampler, options.IdleBefore, time, cancellationToken).ConfigureAwait(false) : (0.0, 0.0);
        // A guard on the load side of each baseline: a counter's update period (and a late sampler read) would
        // otherwise carry load into the idle figure.
        complete &= idleBefore is not null && (!metered || await IdleAsync(sampler, options.Settle, time, cancellationToken).ConfigureAwait(false) is not null);
        IReadOnlyList<RunRequest> requests = [];
        var cpuShare = double.NaN;
        if (complete)
        {
            live.Start(sampler.Now);
            scraper?.Start();
            var cpu = Environment.CpuUsage.TotalTime;
            var wall = time.GetTimestamp();
            requests = await runner.RunAsync(workload, arrivals, cancellationToken, r =>
            {
                live.Add(r);
                finished?.Invoke(r, clock);
            }).ConfigureAwait(false);
            cpuShare = (Environment.CpuUsage.TotalTime - cpu).TotalSeconds / (time.GetElapsedTime(wall).TotalSeconds * Environment.ProcessorCount);
            if (scraper is not null) await scraper.DisposeAsync().ConfigureAwait(false);
        }
        complete &= !cancellationToken.IsCancellationRequested;
        live.Phase = "idle after";
        (double, double)? idleAfter = null;
        if (metered)
        {
            var settled = complete && await IdleAsync(sampler, options.Settle, time, cancellationToken).ConfigureAwait(false) is not null;
            idleAfter = settled ? await IdleAsync(sampler, options.IdleAfter, time, cancellationToken).ConfigureAwait(false) : null;
            complete &= idleAfter is not null;
        }
        sampler.Stop();

        var measured = requests.Where(r => !r.Warmup).ToList();
        var from = measured.Count > 0 ? clock.Seconds(measured.Min(r => r.ScheduledTimestamp)) : sampler.Now;
        var to = measured.Count > 0 ? clock.Seconds(measured.Max(r => r.Record.EndTimestamp ?? r.Record.SentTimestamp)) : sampler.Now;
        var energy = metered ? EnergyMeasurement.Summarize(sampler, from, to, metered ? idleBefore : null, idleAfter) : null;
        return new BenchResult(requests, energy, complete, clock, from, to, cpuShare, scraper?.Samples ?? [], MeterSamples.From(sampler))
        {
            Telemetry = [.. sampler.Telemetry.OfType<TelemetryTrack>().Select(t => t.Copy())],
            SamplerLateness = sampler.Lateness,
            IdleBefore = metered ? idleBefore : null,
            IdleAfter = idleAfter,
        };
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

    /// <summary>Counts finishes as they come, for progress; read once a second.</summary>
    private sealed class LiveCounts
    {
        private int _done;
        private int _failed;
        private long _tokens;
        private long _inputTokens;
        private double _contextSum;
        private readonly Lock _contextGate = new();
        private double _loadStart = double.NaN;

        public volatile string Phase = "";

        public void Start(double now)
        {
            _loadStart = now;
            Phase = "load";
        }

        public void Add(RunRequest r)
        {
            Interlocked.Increment(ref _done);
            if (r.Record.State != TerminalState.Ok) Interlocked.Increment(ref _failed);
            Interlocked.Add(ref _tokens, r.Record.OutputTokens);
            Interlocked.Add(ref _inputTokens, r.InputTokens);
            // The same weighting as the analysis's mean context: each output token sees its prompt plus half the output.
            lock (_contextGate) _contextSum += r.Record.OutputTokens * (r.InputTokens + r.Record.OutputTokens / 2.0);
        }

        public BenchProgress Snapshot(PowerSampler sampler, ArrivalOptions arrivals, WorkloadOptions workload, bool metered)
        {
            var now = sampler.Now;
            var elapsed = double.IsNaN(_loadStart) ? 0 : now - _loadStart;
            var done = Volatile.Read(ref _done);
            var tokens = Interlocked.Read(ref _tokens);
            double watts = double.NaN, joules = double.NaN;
            if (metered && elapsed > 0)
            {
                (watts, joules) = sampler.Live(s => (
                    EnergyMeasurement.Summarize(s, Math.Max(0, now - 2), now).MeanWatts,
                    EnergyMeasurement.Summarize(s, _loadStart, now).Total.Joules));
            }
            else if (metered)
            {
                watts = sampler.Live(s => EnergyMeasurement.Summarize(s, Math.Max(0, now - 2), now).MeanWatts);
            }
            double? left = null;
            if (arrivals.Duration is { } d) left = Math.Max(0, d.TotalSeconds - elapsed);
            else if (arrivals.Count is { } n && done > 0) left = elapsed * Math.Max(0, n + workload.WarmupRequests - done) / done;
            double contextSum;
            lock (_contextGate) contextSum = _contextSum;
            return new BenchProgress(Phase, done, Volatile.Read(ref _failed), tokens, elapsed, elapsed > 0 ? tokens / elapsed : 0, watts, joules, left)
            {
                InputTokens = Interlocked.Read(ref _inputTokens),
                MeanContextTokens = tokens > 0 ? contextSum / tokens : null,
            };
        }
    }
}
