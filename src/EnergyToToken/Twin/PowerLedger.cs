namespace EnergyToToken.Twin;

/// <summary>
/// The twin's power over time, exactly: idle power between steps and each step's power during it. Everything that
/// measures the twin (its in-process meter, its DCGM-compatible endpoint) reads energy from here at some instant; the
/// engine appends steps. Thread-safe. A bounded ledger (the server's) keeps the last <see cref="Capacity"/> changes,
/// enough for any meter window; an unbounded one (the simulator's) keeps everything.
/// </summary>
public sealed class PowerLedger
{
    /// <summary>Power changes a bounded ledger keeps for reads in the past (two per step): at ≥ 1 ms a step, more than 8 s.</summary>
    public const int Capacity = 16_384;

    private readonly object _gate = new();
    private readonly bool _bounded;
    private double[] _time = new double[1024];
    private double[] _energy = new double[1024];
    private double[] _activity = new double[1024];
    private double[] _watts = new double[1024];
    private double[] _active = new double[1024];
    private int _first;
    private int _count;
    private bool _dropped;

    public PowerLedger(double idleWatts, bool bounded)
    {
        IdleWatts = idleWatts;
        _bounded = bounded;
        Append(0, 0, 0, idleWatts, 0);
    }

    /// <summary>Power of all devices when no step runs, W.</summary>
    public double IdleWatts { get; }

    /// <summary>Records a step of <paramref name="seconds"/> from <paramref name="start"/> (not before the last step's end).</summary>
    /// <param name="activity">Share of the step at the compute roof (0–1): the twin's SM activity.</param>
    public void Step(double start, double seconds, double watts, double activity)
    {
        lock (_gate)
        {
            var last = Index(_count - 1);
            if (start < _time[last]) start = _time[last];
            var energy = _energy[last] + _watts[last] * (start - _time[last]);
            var active = _activity[last] + _active[last] * (start - _time[last]);
            if (start == _time[last]) RemoveLast();
            Append(start, energy, active, watts, activity);
            Append(start + seconds, energy + watts * seconds, active + activity * seconds, IdleWatts, 0);
        }
    }

    /// <summary>Energy of all devices from the twin's start to <paramref name="t"/> (seconds on its clock), J.</summary>
    public double EnergyAt(double t)
    {
        lock (_gate)
        {
            var k = Find(t);
            return _energy[k] + _watts[k] * Math.Max(0, t - _time[k]);
        }
    }

    /// <summary>∫ activity dt from the start to <paramref name="t"/>, s: its change over a window ÷ the window is the mean SM activity.</summary>
    public double ActiveSecondsAt(double t)
    {
        lock (_gate)
        {
            var k = Find(t);
            return _activity[k] + _active[k] * Math.Max(0, t - _time[k]);
        }
    }

    /// <summary>Power at <paramref name="t"/>, W.</summary>
    public double WattsAt(double t)
    {
        lock (_gate) return _watts[Find(t)];
    }

    private void Append(double time, double energy, double activity, double watts, double active)
    {
        if (_count == _time.Length)
        {
            if (_bounded && _count == Capacity)
            {
                _first = (_first + 1) % Capacity;
                _count--;
                _dropped = true;
            }
            else
            {
                Grow();
            }
        }
        var i = Index(_count++);
        _time[i] = time;
        _energy[i] = energy;
        _activity[i] = activity;
        _watts[i] = watts;
        _active[i] = active;
    }

    private void RemoveLast() => _count--;

    /// <summary>Doubles the arrays (up to <see cref="Capacity"/> when bounded); the ring has not wrapped yet, so order is kept.</summary>
    private void Grow()
    {
        var size = _bounded ? Math.Min(Capacity, _time.Length * 2) : _time.Length * 2;
        Array.Resize(ref _time, size);
        Array.Resize(ref _energy, size);
        Array.Resize(ref _activity, size);
        Array.Resize(ref _watts, size);
        Array.Resize(ref _active, size);
    }

    private int Index(int k) => (_first + k) % _time.Length;

    /// <summary>The last change at or before <paramref name="t"/>; reading before the kept history is refused rather than answered wrong.</summary>
    private int Find(double t)
    {
        if (_dropped && t < _time[Index(0)])
            throw new InvalidOperationException($"The power ledger keeps the last {Capacity} changes (from {_time[Index(0)]:0.###} s); {t:0.###} s is older.");
        int lo = 0, hi = _count - 1;
        while (lo < hi)
        {
            var mid = (lo + hi + 1) / 2;
            if (_time[Index(mid)] <= t) lo = mid;
            else hi = mid - 1;
        }
        return Index(lo);
    }
}
