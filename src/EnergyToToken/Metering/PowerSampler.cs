namespace EnergyToToken.Metering;

/// <summary>How the sampler reads its meters.</summary>
public sealed record SamplerOptions
{
    /// <summary>Sampling interval for local meters (NVML, AMD SMI, RAPL, hwmon, synthetic). Default: 100 ms.</summary>
    public TimeSpan LocalInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Sampling interval for remote meters (IPMI, Redfish, Prometheus). Default: 1 s.</summary>
    public TimeSpan RemoteInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How long the run is expected to last; storage is sized for it so sampling does not allocate. Default: 1 hour.</summary>
    public TimeSpan ExpectedDuration { get; init; } = TimeSpan.FromHours(1);

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (LocalInterval < TimeSpan.FromMilliseconds(1) || LocalInterval > TimeSpan.FromMinutes(10))
            errors.Add($"The local sampling interval must be between 1 ms and 10 min (was {LocalInterval.TotalMilliseconds:0.###} ms).");
        if (RemoteInterval < TimeSpan.FromMilliseconds(1) || RemoteInterval > TimeSpan.FromMinutes(10))
            errors.Add($"The remote sampling interval must be between 1 ms and 10 min (was {RemoteInterval.TotalMilliseconds:0.###} ms).");
        if (ExpectedDuration <= TimeSpan.Zero) errors.Add("The expected duration must be positive.");
        return errors;
    }
}

/// <summary>
/// Reads every meter in the background, each on its own thread at its own interval so a slow remote meter never
/// delays a local one, on the monotonic clock of the given <see cref="TimeProvider"/>. Tracks are read after
/// <see cref="Stop"/>; <see cref="SampleOnce"/> drives it by hand (tests, benchmarks).
/// </summary>
public sealed class PowerSampler : IDisposable
{
    private readonly TimeProvider _time;
    private readonly List<MeterSlot> _slots = [];
    private readonly List<SamplingLoop> _loops = [];
    private readonly ManualResetEventSlim _stop = new(false, spinCount: 0);

    // Guards the tracks while the loops append to them, so a live view (progress) can read them mid-run.
    private readonly Lock _gate = new();

    public PowerSampler(IReadOnlyList<IPowerMeter> meters, SamplerOptions options, TimeProvider time)
    {
        var errors = options.Validate();
        if (errors.Count > 0) throw new EnergyToTokenException(string.Join(Environment.NewLine, errors));
        _time = time;
        Origin = time.GetTimestamp();
        int Capacity(TimeSpan interval) => (int)Math.Min(10_000_000, options.ExpectedDuration / interval * 1.25 + 64);
        foreach (var meter in meters)
        {
            var interval = meter.IsRemote ? options.RemoteInterval : options.LocalInterval;
            _slots.Add(new MeterSlot(meter, interval, Origin, time, Capacity(interval), _gate));
        }
        // Local meters share one thread (one wake-up per interval, measured to matter at 100 Hz); each remote meter
        // gets its own, so a slow BMC or exporter never delays the others.
        var local = _slots.Where(s => !s.Meter.IsRemote).ToArray();
        if (local.Length > 0) _loops.Add(new SamplingLoop(local, options.LocalInterval, time));
        foreach (var remote in _slots.Where(s => s.Meter.IsRemote)) _loops.Add(new SamplingLoop([remote], options.RemoteInterval, time));
    }

    /// <summary>The run's zero: every time in tracks and events is seconds from it.</summary>
    public long Origin { get; }

    internal IReadOnlyList<ITrack> Tracks => [.. _slots.SelectMany(l => l.Tracks)];

    /// <summary>Gauges per meter: the names and, per read, the time (s) and values.</summary>
    internal IReadOnlyList<ITelemetry> Telemetry => [.. _slots.Where(l => l.Telemetry.Names.Count > 0).Select(l => l.Telemetry)];

    /// <summary>Seconds since <see cref="Origin"/> now.</summary>
    public double Now => _time.GetElapsedTime(Origin).TotalSeconds;

    /// <summary>Scheduling lateness of the background loops: how late each read started, seconds (p50, p99, max).</summary>
    public (double P50, double P99, double Max) Lateness
    {
        get
        {
            var all = _loops.SelectMany(l => l.LatenessSamples.ToArray()).Order().ToArray();
            if (all.Length == 0) return (0, 0, 0);
            return (all[all.Length / 2], all[Math.Min(all.Length - 1, (int)(all.Length * 0.99))], all[^1]);
        }
    }

    /// <summary>Runs <paramref name="view"/> over the tracks while no read is being appended: a consistent look mid-run.</summary>
    internal T Live<T>(Func<PowerSampler, T> view)
    {
        lock (_gate) return view(this);
    }

    /// <summary>Reads every meter once, now, on the calling thread.</summary>
    public void SampleOnce()
    {
        foreach (var slot in _slots) slot.Sample();
    }

    public void Start()
    {
        foreach (var loop in _loops) loop.Start(_stop);
    }

    /// <summary>Stops the loops after one last read each, so a window ending now is covered.</summary>
    public void Stop()
    {
        _stop.Set();
        foreach (var loop in _loops) loop.Join();
    }

    public void Dispose()
    {
        Stop();
        _stop.Dispose();
    }

    /// <summary>One meter with its read buffers and the tracks its reads go to.</summary>
    private sealed class MeterSlot
    {
        private readonly MeterReading[] _readings;
        private readonly double[] _gauges;
        private readonly TimeProvider _time;

        private readonly Lock _gate;

        public MeterSlot(IPowerMeter meter, TimeSpan interval, long origin, TimeProvider time, int capacity, Lock gate)
        {
            _gate = gate;
            Meter = meter;
            _time = time;
            _readings = new MeterReading[meter.Channels.Count];
            _gauges = new double[meter.Telemetry.Count];
            Tracks = [.. meter.Channels.Select(c => new ChannelTrack(c, interval, origin, time.TimestampFrequency, capacity))];
            Telemetry = new TelemetryTrack(meter.Telemetry, origin, time.TimestampFrequency, meter.Telemetry.Count == 0 ? 0 : capacity);
        }

        public IPowerMeter Meter { get; }

        public ChannelTrack[] Tracks { get; }

        public TelemetryTrack Telemetry { get; }

        public void Sample()
        {
            _gauges.AsSpan().Fill(double.NaN);
            string? failure = null;
            try
            {
                Meter.Read(_readings, _gauges);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // A meter must report failures in its statuses; one that throws is a bug, but losing the whole run
                // to it would be worse. Record it as a failed read of every channel and carry on.
                failure = $"{e.GetType().Name}: {e.Message}";
                var now = _time.GetTimestamp();
                _readings.AsSpan().Fill(MeterReading.Failed(now, now, ReadStatus.Unavailable));
            }
            var wall = Meter.IsRemote ? _time.GetUtcNow().ToUnixTimeMilliseconds() : 0;
            // The meter is read outside the lock (a remote read can take a second); only the appends hold it.
            using var scope = _gate.EnterScope();
            for (var i = 0; i < Tracks.Length; i++)
            {
                // Only failed reads ask for the detail, so a healthy sample stays allocation-free.
                var detail = _readings[i].Status == ReadStatus.Ok ? "" : failure ?? Meter.FailureDetail(i);
                Tracks[i].Add(_readings[i], wall, detail);
            }
            if (_gauges.Length > 0 && _readings.Length > 0) Telemetry.Add(_readings[0].After, _gauges);
        }
    }

    /// <summary>A background thread that reads its meters every interval on the monotonic clock.</summary>
    private sealed class SamplingLoop(MeterSlot[] slots, TimeSpan interval, TimeProvider time)
    {
        private const int LatenessRing = 4096;
        private readonly double[] _lateness = new double[LatenessRing];
        private int _latenessCount;
        private Thread? _thread;

        public ReadOnlySpan<double> LatenessSamples => _lateness.AsSpan(0, Math.Min(_latenessCount, LatenessRing));

        public void Start(ManualResetEventSlim stop)
        {
            var name = string.Join(", ", slots.Select(s => s.Meter.Name));
            _thread = new Thread(() => Run(stop)) { IsBackground = true, Name = $"e2t sampler: {name}", Priority = ThreadPriority.AboveNormal };
            _thread.Start();
        }

        public void Join() => _thread?.Join();

        private void Sample()
        {
            foreach (var slot in slots) slot.Sample();
        }

        private void Run(ManualResetEventSlim stop)
        {
            var frequency = time.TimestampFrequency;
            var step = (long)(interval.TotalSeconds * frequency);
            var next = time.GetTimestamp();
            while (true)
            {
                var late = time.GetTimestamp() - next;
                _lateness[_latenessCount++ % LatenessRing] = Math.Max(0, late) / (double)frequency;
                Sample();
                if (stop.IsSet)
                {
                    // Stop may have come while that read was under way: one more read covers the instant it was asked.
                    Sample();
                    return;
                }
                next += step;
                var now = time.GetTimestamp();
                // After a stall (a slow remote read), skip the missed slots rather than bursting to catch up.
                if (now - next > step) next = now + step - (now - next) % step;
                var wait = (next - now) / (double)frequency;
                // The event's wait handle woke more cheaply than ManualResetEventSlim.Wait in bench sampler-overhead
                // (docs/benchmarks.md, "Sampler").
                if (wait > 0 && stop.WaitHandle.WaitOne(TimeSpan.FromSeconds(wait)))
                {
                    Sample();
                    return;
                }
            }
        }
    }
}

/// <summary>Gauges of one meter over the run: one row of values per read.</summary>
internal sealed class TelemetryTrack(IReadOnlyList<TelemetryChannel> names, long origin, long ticksPerSecond, int capacity) : ITelemetry
{
    private double[] _at = new double[capacity];
    private double[] _values = new double[capacity * names.Count];
    private int _count;

    public IReadOnlyList<TelemetryChannel> Names { get; } = names;

    public int Count => _count;

    public ReadOnlySpan<double> At => _at.AsSpan(0, _count);

    public ReadOnlySpan<double> Row(int i) => _values.AsSpan(i * Names.Count, Names.Count);

    public void Add(long timestamp, ReadOnlySpan<double> values)
    {
        if (_count == _at.Length)
        {
            Array.Resize(ref _at, Math.Max(16, _count * 2));
            Array.Resize(ref _values, _at.Length * Names.Count);
        }
        _at[_count] = (timestamp - origin) / (double)ticksPerSecond;
        values.CopyTo(_values.AsSpan(_count * Names.Count));
        _count++;
    }

    public (double Min, double Mean, double Max) Summary(int gauge, double from, double to) =>
        TelemetrySamples.Summarize(At, _values.AsSpan(0, _count * Names.Count), Names.Count, gauge, from, to);

    public TelemetrySamples Copy() => new(Names, At.ToArray(), _values.AsSpan(0, _count * Names.Count).ToArray());
}
