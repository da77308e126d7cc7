namespace EnergyToToken.Metering.Replay;

/// <summary>Options of the replay meter.</summary>
public sealed record ReplayOptions
{
    /// <summary>The log to play back.</summary>
    public required string Path { get; init; }

    /// <summary>The log's format. Default: auto (from the header row).</summary>
    public ReplayFormat Format { get; init; } = ReplayFormat.Auto;

    /// <summary>What each channel covers. Default: null (accelerator for nvidia-smi and DCGM logs, node AC input for PDU logs).</summary>
    public MeterScope? Scope { get; init; }

    /// <summary>
    /// Start over after the last row, the counter carried on so it never goes backwards. Default: false: once the run's
    /// clock passes the last row by more than one logging interval, every read reports <see cref="ReadStatus.Unavailable"/>,
    /// so the sampler records a gap instead of inventing power.
    /// </summary>
    public bool Loop { get; init; }
}

/// <summary>
/// Plays a recorded power/energy log back on the run's clock: a read at time t after the meter opened returns, per
/// channel, the last row whose log time is at most the log's first time + t (its power, and its counter). For tests
/// of the pipeline and for re-analysing a past run.
/// </summary>
public sealed class ReplayMeter : IPowerMeter
{
    private readonly TimeProvider _time;
    private readonly long _start;
    private readonly bool _loop;
    private readonly long _firstMs;
    private readonly long _endMs;
    private readonly long _periodMs;
    private readonly double[] _energyPerCycle;

    private ReplayMeter(ReplayTrace trace, ReplayOptions options, TimeProvider time)
    {
        Trace = trace;
        _time = time;
        _loop = options.Loop;
        _firstMs = trace.StartUnixMilliseconds;
        var step = trace.Channels.Max(c => c.MedianIntervalMilliseconds);
        _endMs = trace.EndUnixMilliseconds + step;
        _periodMs = Math.Max(1, trace.EndUnixMilliseconds - _firstMs + step);
        var scope = options.Scope ?? (trace.Format == ReplayFormat.Pdu ? MeterScope.NodeAc : MeterScope.Accelerator);
        var channels = new List<MeterChannel>();
        _energyPerCycle = new double[trace.Channels.Count];
        for (var i = 0; i < trace.Channels.Count; i++)
        {
            var c = trace.Channels[i];
            var kind = c.HasEnergy ? ReadingKind.Counter : c.PowerIsAverage ? ReadingKind.AveragedPower : ReadingKind.InstantPower;
            var finite = c.Rows.Where(r => double.IsFinite(r.Joules)).ToList();
            _energyPerCycle[i] = finite.Count > 1 ? finite[^1].Joules - finite[0].Joules : 0;
            var notes = new List<string> { $"replayed from {options.Path} ({trace.Format}), not measured during this run" };
            notes.AddRange(trace.Notes);
            if (options.Loop && c.HasEnergy) notes.Add("looped: the counter carries on across loops; the energy of the step at each seam is not replayed");
            channels.Add(new MeterChannel($"replay:{c.Name}", $"{trace.Format} log {System.IO.Path.GetFileName(options.Path)}, device {c.Name}", scope, kind)
            {
                HasPower = c.HasPower,
                EnergyResolutionJoules = c.EnergyResolutionJoules,
                PowerResolutionWatts = c.PowerResolutionWatts,
                NominalUpdatePeriod = TimeSpan.FromMilliseconds(Math.Max(1, c.MedianIntervalMilliseconds)),
                AveragingWindow = kind == ReadingKind.AveragedPower ? TimeSpan.FromSeconds(1) : TimeSpan.Zero,
                DeviceKey = c.DeviceKey,
                Notes = notes,
            });
        }
        Channels = channels;
        _start = time.GetTimestamp();
    }

    public string Name => "replay";

    public bool IsRemote => false;

    public IReadOnlyList<MeterChannel> Channels { get; }

    public IReadOnlyList<TelemetryChannel> Telemetry => [];

    /// <summary>The whole log, for offline analysis.</summary>
    public ReplayTrace Trace { get; }

    /// <summary>Loads the log; the playback clock starts now.</summary>
    /// <exception cref="EnergyToTokenException">The file cannot be read, its format is unknown or malformed, or it has no rows.</exception>
    public static ReplayMeter Open(ReplayOptions options, TimeProvider time) => Open(ReplayTrace.Load(options.Path, options.Format), options, time);

    /// <summary>Plays an already parsed trace.</summary>
    public static ReplayMeter Open(ReplayTrace trace, ReplayOptions options, TimeProvider time)
    {
        if (trace.Channels.Count == 0 || trace.Channels.All(c => c.Rows.Count == 0))
            throw new EnergyToTokenException($"The replay log '{options.Path}' has no rows. Log for a while before replaying.");
        if (trace.Channels.All(c => !c.HasEnergy && !c.HasPower))
            throw new EnergyToTokenException($"The replay log '{options.Path}' has no numeric power or energy value in any row (all N/A?). Log a GPU or PDU that reports power.");
        return new ReplayMeter(trace, options, time);
    }

    public void Read(Span<MeterReading> readings, Span<double> telemetry)
    {
        var before = _time.GetTimestamp();
        var elapsedMs = (long)Math.Floor((before - _start) * 1000.0 / _time.TimestampFrequency);
        var target = _firstMs + elapsedMs;
        long cycles = 0;
        if (_loop)
        {
            cycles = elapsedMs / _periodMs;
            target = _firstMs + elapsedMs % _periodMs;
        }
        var after = _time.GetTimestamp();
        for (var i = 0; i < Channels.Count; i++)
        {
            var rows = Trace.Channels[i].Rows;
            var at = Last(rows, target);
            if (at < 0 || (!_loop && target > _endMs))
            {
                readings[i] = MeterReading.Failed(before, after, ReadStatus.Unavailable);
                continue;
            }
            var row = rows[at];
            var joules = Channels[i].HasEnergy ? row.Joules + cycles * _energyPerCycle[i] : double.NaN;
            var watts = Channels[i].HasPower ? row.Watts : double.NaN;
            var primary = Channels[i].HasEnergy ? joules : watts;
            readings[i] = double.IsFinite(primary)
                ? new MeterReading(before, after, joules, watts, ReadStatus.Ok, row.UnixMilliseconds)
                : MeterReading.Failed(before, after, ReadStatus.Unavailable);
        }
    }

    public void Dispose()
    {
    }

    /// <summary>Index of the last row at or before <paramref name="unixMs"/>; -1 when none.</summary>
    private static int Last(IReadOnlyList<ReplayRow> rows, long unixMs)
    {
        int lo = 0, hi = rows.Count - 1, found = -1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            if (rows[mid].UnixMilliseconds <= unixMs)
            {
                found = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }
        return found;
    }
}
