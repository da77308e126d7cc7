namespace EnergyToToken.Metering;

/// <summary>
/// Everything read from one channel during a run, turned into a never-decreasing accumulated energy as it arrives:
/// wraps are undone exactly, resets are bridged with an estimate from power and flagged, failures become gaps.
/// Appending allocates only when the preallocated capacity is exceeded (the sampler sizes it for the run).
/// </summary>
internal sealed class ChannelTrack : ITrack
{
    // Change intervals kept for the update-period estimate: a fixed ring, so steady-state sampling never allocates.
    private const int PeriodRing = 256;

    private readonly List<MeterEvent> _events = [];
    private readonly double[] _changeIntervals = new double[PeriodRing];
    private readonly double _gapSeconds;
    private readonly double _staleSeconds;
    private readonly double _tickSeconds;
    private readonly long _origin;

    private double[] _at;
    private double[] _energy;
    private double[] _watts;
    private bool[] _changed;
    private int _count;

    private double _previousRaw = double.NaN;
    private double _accumulated;
    private double _previousValue = double.NaN;
    private double _previousOkAt = double.NaN;
    private double _lastChangeAt = double.NaN;
    private bool _staleOpen;
    private bool _failing;
    private bool _lost;
    private int _changeCount;
    private long _latencyTicksSum;
    private long _latencyTicksMax;
    private int _reads;

    /// <param name="origin">The run's zero, a <see cref="TimeProvider.GetTimestamp"/> value; times are stored as seconds from it.</param>
    public ChannelTrack(MeterChannel channel, TimeSpan samplingInterval, long origin, long ticksPerSecond, int capacity)
    {
        Channel = channel;
        SamplingInterval = samplingInterval;
        _origin = origin;
        _tickSeconds = 1.0 / ticksPerSecond;
        _gapSeconds = 3 * samplingInterval.TotalSeconds;
        _staleSeconds = Math.Max(10 * Math.Max(channel.NominalUpdatePeriod.TotalSeconds, samplingInterval.TotalSeconds), 2.0);
        capacity = Math.Max(capacity, 16);
        _at = new double[capacity];
        _energy = new double[capacity];
        _watts = new double[capacity];
        _changed = new bool[capacity];
    }

    public MeterChannel Channel { get; }

    public TimeSpan SamplingInterval { get; }

    public int Count => _count;

    /// <summary>Read instants (midpoint of before and after), seconds from the run's origin.</summary>
    public ReadOnlySpan<double> At => _at.AsSpan(0, _count);

    /// <summary>Accumulated energy since the first good read, J (NaN for power-only channels).</summary>
    public ReadOnlySpan<double> Energy => _energy.AsSpan(0, _count);

    public ReadOnlySpan<double> Watts => _watts.AsSpan(0, _count);

    /// <summary>True where the primary value differs from the previous good read (an update of the source).</summary>
    public ReadOnlySpan<bool> Changed => _changed.AsSpan(0, _count);

    public IReadOnlyList<MeterEvent> Events => _events;

    public int Reads => _reads;

    public double MeanReadLatencySeconds => _reads == 0 ? 0 : _latencyTicksSum * _tickSeconds / _reads;

    public double MaxReadLatencySeconds => _latencyTicksMax * _tickSeconds;

    /// <summary>
    /// The source's update period: the median interval between observed changes. Null until two changes were seen.
    /// When it is not longer than the sampling interval the source updates at least as often as we sample, and the
    /// figure is an upper bound (<see cref="UpdatePeriodResolved"/> is false).
    /// </summary>
    public TimeSpan? UpdatePeriod
    {
        get
        {
            var n = Math.Min(_changeCount, PeriodRing);
            if (n < 2) return null;
            Span<double> copy = stackalloc double[n];
            _changeIntervals.AsSpan(0, n).CopyTo(copy);
            copy.Sort();
            var median = n % 2 == 1 ? copy[n / 2] : (copy[n / 2 - 1] + copy[n / 2]) / 2;
            return TimeSpan.FromSeconds(median);
        }
    }

    public bool UpdatePeriodResolved => UpdatePeriod is { } p && p.TotalSeconds > 1.5 * SamplingInterval.TotalSeconds;

    /// <summary>Source clock minus ours at the read, seconds (remote meters that stamp their readings); NaN when unknown.</summary>
    public double ClockOffsetSeconds { get; private set; } = double.NaN;

    /// <param name="localUnixMilliseconds">Our wall clock at the read, to compare with the source's own timestamp.</param>
    /// <param name="detailIfFailed">What the meter said about a failed read.</param>
    public void Add(in MeterReading reading, long localUnixMilliseconds = 0, string detailIfFailed = "")
    {
        _reads++;
        if (reading.SourceUnixMilliseconds != 0 && localUnixMilliseconds != 0)
            ClockOffsetSeconds = (reading.SourceUnixMilliseconds - localUnixMilliseconds) / 1000.0;
        var latency = Math.Max(0, reading.After - reading.Before);
        _latencyTicksSum += latency;
        _latencyTicksMax = Math.Max(_latencyTicksMax, latency);
        var at = (reading.Before + latency / 2 - _origin) * _tickSeconds;
        if (_lost) return;

        if (reading.Status != ReadStatus.Ok || (Channel.HasEnergy ? !double.IsFinite(reading.Joules) : !double.IsFinite(reading.Watts)))
        {
            // One event per run of failures, but a device that is lost is always said to be lost.
            if (!_failing || reading.Status == ReadStatus.Lost)
            {
                _failing = true;
                var status = reading.Status == ReadStatus.Ok ? "no value" : reading.Status.ToString();
                _events.Add(new MeterEvent(Channel.Id, reading.Status == ReadStatus.Lost ? MeterEventKind.Lost : MeterEventKind.ReadError, at, at,
                    string.IsNullOrEmpty(detailIfFailed) ? status : $"{status}: {detailIfFailed}"));
            }
            if (reading.Status == ReadStatus.Lost) _lost = true;
            return;
        }

        if (!double.IsNaN(_previousOkAt) && (_failing || at - _previousOkAt > _gapSeconds))
        {
            _events.Add(new MeterEvent(Channel.Id, MeterEventKind.Gap, _previousOkAt, at,
                $"no good read for {at - _previousOkAt:0.###} s{(_failing ? " (reads failed)" : "")}"));
        }
        _failing = false;

        var energy = double.NaN;
        if (Channel.HasEnergy)
        {
            if (double.IsNaN(_previousRaw))
            {
                _accumulated = 0;
            }
            else
            {
                var (delta, step) = EnergyCounter.Delta(_previousRaw, reading.Joules, Channel.WrapJoules);
                if (step == CounterStep.Wrap)
                {
                    _events.Add(new MeterEvent(Channel.Id, MeterEventKind.Wrap, _previousOkAt, at, $"wrapped at {Channel.WrapJoules:0.###} J; delta exact"));
                }
                else if (step == CounterStep.Reset && IsBackstep(reading.Joules, at - _previousOkAt, reading.Watts))
                {
                    // A counter that steps back a little (a cached or re-rounded value) is not a reset: taking its
                    // whole value as "energy since the reset" would add its lifetime. Count nothing, keep the higher
                    // value as the reference, and say so.
                    _events.Add(new MeterEvent(Channel.Id, MeterEventKind.Backstep, _previousOkAt, at,
                        $"counter stepped back from {_previousRaw:0.###} J to {reading.Joules:0.###} J; ignored"));
                    _previousValue = reading.Joules;
                    _previousOkAt = at;
                    Append(at, _accumulated, reading.Watts, false);
                    return;
                }
                else if (step == CounterStep.Reset)
                {
                    // Only the energy counted since the reset is known. Bridge the rest with the best power we have
                    // (this read's power, else the counter's last rate) and say so: never a silent zero.
                    var seconds = at - _previousOkAt;
                    var watts = double.IsFinite(reading.Watts) ? reading.Watts : LastCounterWatts();
                    var estimate = Math.Max(delta, double.IsFinite(watts) ? watts * seconds : delta);
                    _events.Add(new MeterEvent(Channel.Id, MeterEventKind.Reset, _previousOkAt, at,
                        $"counter went from {_previousRaw:0.###} J to {reading.Joules:0.###} J; {estimate - delta:0.###} J estimated from power over {seconds:0.###} s")
                    { EstimatedJoules = estimate - delta });
                    delta = estimate;
                }
                _accumulated += delta;
            }
            _previousRaw = reading.Joules;
            energy = _accumulated;
        }

        var value = Channel.HasEnergy ? reading.Joules : reading.Watts;
        var changed = !double.IsNaN(_previousValue) && value != _previousValue;
        if (double.IsNaN(_previousValue)) _lastChangeAt = at;
        if (changed)
        {
            _changeIntervals[_changeCount % PeriodRing] = at - _lastChangeAt;
            _changeCount++;
            _lastChangeAt = at;
            _staleOpen = false;
        }
        else if (!_staleOpen && at - _lastChangeAt > _staleSeconds)
        {
            _staleOpen = true;
            _events.Add(new MeterEvent(Channel.Id, MeterEventKind.Stale, _lastChangeAt, at,
                $"value unchanged for {at - _lastChangeAt:0.###} s"));
        }
        _previousValue = value;
        _previousOkAt = at;
        Append(at, energy, reading.Watts, changed);
    }

    /// <summary>
    /// Whether a decrease is too small to be a restart: after a real reset the counter holds only what it counted
    /// since, which cannot exceed twice the plausible power × the interval. Without any idea of power, a step back of
    /// less than 1 % of the counter's value is taken as a glitch.
    /// </summary>
    private bool IsBackstep(double current, double seconds, double watts)
    {
        var power = double.IsFinite(watts) ? watts : LastCounterWatts();
        if (double.IsFinite(power) && power > 0) return current > 2 * power * seconds + 10 * Channel.EnergyResolutionJoules;
        return _previousRaw - current < 0.01 * _previousRaw;
    }

    private double LastCounterWatts()
    {
        // Rate over the last two distinct counter values, the counter's own idea of power.
        for (var i = _count - 1; i > 0; i--)
        {
            if (_changed[i] && _at[i] > _at[i - 1])
            {
                var j = i - 1;
                while (j > 0 && !_changed[j]) j--;
                return (_energy[i] - _energy[j]) / (_at[i] - _at[j]);
            }
        }
        return double.NaN;
    }

    private void Append(double at, double energy, double watts, bool changed)
    {
        if (_count == _at.Length)
        {
            var size = _count * 2;
            Array.Resize(ref _at, size);
            Array.Resize(ref _energy, size);
            Array.Resize(ref _watts, size);
            Array.Resize(ref _changed, size);
        }
        _at[_count] = at;
        _energy[_count] = energy;
        _watts[_count] = watts;
        _changed[_count] = changed;
        _count++;
    }
}
