namespace EnergyToToken.Metering;

/// <summary>
/// Cumulative energy E(t) of one channel as a function of time (seconds from the run's origin), from which the energy
/// between any two instants is E(t₁) − E(t₀): additive at every split point by construction.
/// </summary>
/// <remarks>
/// From a counter, the knots are the instants the counter changed: a change seen at read k happened in (t[k−1], t[k]],
/// so it is stamped at the midpoint, or no earlier than half an update period before t[k] when we sample slower than the
/// source updates. E is linear between knots ("interpolated within an update period") and held after the last one.
/// From power alone, E is the trapezoid integral of the readings, exact inside each interval for a linear power ramp;
/// averaged power is moved back by half its averaging window first, since it describes the time before the read.
/// </remarks>
internal sealed class EnergyCurve
{
    private readonly double[] _t;
    private readonly double[] _e;
    private readonly double[]? _p;
    private readonly double _reach;

    private EnergyCurve(double[] t, double[] e, double[]? p, double reach = 0, double firmStart = double.NaN)
    {
        _t = t;
        _e = e;
        _p = p;
        _reach = reach;
        FirmStart = double.IsNaN(firmStart) ? Start : firmStart;
    }

    /// <summary>
    /// From here on the knots are timed by observed changes; before it, by the first reading's expected age, which
    /// is uncertain by up to half an update period.
    /// </summary>
    public double FirmStart { get; }

    public int Knots => _t.Length;

    public double Start => _t.Length == 0 ? double.NaN : _t[0];

    public double End => _t.Length == 0 ? double.NaN : _t[^1];

    /// <summary>The knots' instants, s.</summary>
    public ReadOnlySpan<double> Times => _t;

    /// <summary>Power at the knots (power curves only).</summary>
    public ReadOnlySpan<double> Powers => _p;

    public static EnergyCurve FromCounter(ReadOnlySpan<double> seconds, ReadOnlySpan<double> energy, ReadOnlySpan<bool> changed, double updatePeriodSeconds)
    {
        var t = new List<double>();
        var e = new List<double>();
        for (var i = 0; i < seconds.Length; i++)
        {
            if (double.IsNaN(energy[i])) continue;
            if (t.Count == 0)
            {
                // The first value was last updated at an unknown phase within the period: on average half a period ago.
                t.Add(seconds[i] - updatePeriodSeconds / 2);
                e.Add(energy[i]);
                continue;
            }
            if (!changed[i]) continue;
            var previous = seconds[i - 1];
            var knot = Math.Max((previous + seconds[i]) / 2, seconds[i] - updatePeriodSeconds / 2);
            knot = Math.Max(knot, t[^1] + 1e-9);
            t.Add(knot);
            e.Add(energy[i]);
        }
        return new EnergyCurve([.. t], [.. e], null, updatePeriodSeconds, t.Count > 1 ? t[1] : double.NaN);
    }

    /// <summary>
    /// Power readings to energy: every finite reading is a knot, moved back by <paramref name="shiftSeconds"/>; past
    /// the first and last reading, power is held for up to <paramref name="reachSeconds"/>.
    /// </summary>
    public static EnergyCurve FromPower(ReadOnlySpan<double> seconds, ReadOnlySpan<double> watts, double shiftSeconds = 0, double reachSeconds = 0)
    {
        var t = new List<double>(seconds.Length);
        var p = new List<double>(seconds.Length);
        for (var i = 0; i < seconds.Length; i++)
        {
            if (!double.IsFinite(watts[i])) continue;
            var at = seconds[i] - shiftSeconds;
            if (t.Count > 0 && at <= t[^1]) continue;
            t.Add(at);
            p.Add(watts[i]);
        }
        var e = new double[t.Count];
        for (var i = 1; i < t.Count; i++) e[i] = e[i - 1] + (p[i] + p[i - 1]) / 2 * (t[i] - t[i - 1]);
        return new EnergyCurve([.. t], e, [.. p], reachSeconds);
    }

    /// <summary>
    /// E(t). A counter's curve is extended past its end knots along the end segments' slopes for up to one update
    /// period (energy the counter has not published yet), a power curve with its end readings for up to its reach;
    /// beyond that E is held (and the caller flags the window).
    /// </summary>
    public double At(double t)
    {
        if (_t.Length == 0) return double.NaN;
        if (t <= _t[0])
        {
            if (_p is not null) return _e[0] - _p[0] * Math.Min(_t[0] - t, _reach);
            return _t.Length < 2 ? _e[0] : _e[0] - Slope(0) * Math.Min(_t[0] - t, _reach);
        }
        if (t >= _t[^1])
        {
            if (_p is not null) return _e[^1] + _p[^1] * Math.Min(t - _t[^1], _reach);
            return _t.Length < 2 ? _e[^1] : _e[^1] + Slope(_t.Length - 2) * Math.Min(t - _t[^1], _reach);
        }
        var i = Array.BinarySearch(_t, t);
        if (i >= 0) return _e[i];
        i = ~i - 1;
        var span = _t[i + 1] - _t[i];
        var dt = t - _t[i];
        if (_p is null) return _e[i] + (_e[i + 1] - _e[i]) * dt / span;
        return _e[i] + _p[i] * dt + (_p[i + 1] - _p[i]) * dt * dt / (2 * span);
    }

    public double Between(double from, double to) => At(to) - At(from);

    /// <summary>
    /// Extra timing uncertainty, seconds, of E at <paramref name="t"/> beyond the knots' own: half a period before
    /// <see cref="FirmStart"/>, and the extrapolated distance past either end knot.
    /// </summary>
    public double EndTiming(double t)
    {
        if (_t.Length == 0) return 0;
        var extra = t < FirmStart ? _reach / 2 : 0;
        if (t > _t[^1]) extra += Math.Min(t - _t[^1], _reach);
        if (t < _t[0]) extra += Math.Min(_t[0] - t, _reach);
        return extra;
    }

    /// <summary>
    /// How far linear interpolation between a counter's knots can be from the true cumulative energy at
    /// <paramref name="t"/>, J: a power change inside the update interval bends E, and the chord misses the bend by up
    /// to |ΔP| × span / 4. ΔP is taken from the neighbouring segments' slopes.
    /// </summary>
    public double InterpolationError(double t)
    {
        if (_p is not null || _t.Length < 3 || t <= _t[0] || t >= _t[^1]) return 0;
        var i = Array.BinarySearch(_t, t);
        if (i >= 0) return 0;
        i = ~i - 1;
        var before = i > 0 ? Math.Abs(Slope(i) - Slope(i - 1)) : 0;
        var after = i + 2 < _t.Length ? Math.Abs(Slope(i + 1) - Slope(i)) : 0;
        return Math.Max(before, after) * (_t[i + 1] - _t[i]) / 4;
    }

    private double Slope(int i) => _t[i + 1] > _t[i] ? (_e[i + 1] - _e[i]) / (_t[i + 1] - _t[i]) : 0;

    /// <summary>The steepest segment of the curve, W (NaN with fewer than two knots).</summary>
    public double PeakSlope
    {
        get
        {
            var peak = double.NaN;
            for (var i = 0; i + 1 < _t.Length; i++) peak = double.IsNaN(peak) ? Slope(i) : Math.Max(peak, Slope(i));
            return peak;
        }
    }

    /// <summary>Number of knots strictly inside (from, to]: counter updates, or power readings.</summary>
    public int KnotsIn(double from, double to)
    {
        var n = 0;
        foreach (var t in _t)
        {
            if (t > from && t <= to) n++;
        }
        return n;
    }

    /// <summary>
    /// Half the difference between the left and right Riemann sums over the window, with each change of power timed
    /// no better than <paramref name="updatePeriod"/>: how much the answer depends on when, between readings and
    /// between the source's updates, power really changed (power curves only).
    /// </summary>
    public double TrapezoidSpread(double from, double to, double updatePeriod = 0)
    {
        if (_p is null) return 0;
        var spread = 0.0;
        for (var i = 1; i < _t.Length; i++)
        {
            // A change just outside the window may belong inside it (and the other way round) by up to half a period.
            var overlap = Math.Min(_t[i], to) - Math.Max(_t[i - 1], from);
            if (overlap > 0 || (updatePeriod > 0 && overlap > -updatePeriod / 2))
                spread += Math.Abs(_p[i] - _p[i - 1]) * Math.Max(overlap, updatePeriod) / 2;
        }
        return spread;
    }
}
