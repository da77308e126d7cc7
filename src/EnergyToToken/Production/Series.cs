namespace EnergyToToken.Production;

/// <summary>One step of a <see cref="Series"/>: <paramref name="Value"/> holds from <paramref name="AtSeconds"/> until the next point.</summary>
public readonly record struct SeriesPoint(double AtSeconds, double Value);

/// <summary>
/// A piecewise-constant (step) function of time over a horizon that starts at 0 s: each point's value holds until the
/// next point, and the last point's value holds to the end of the horizon. A constant is a series with one point.
/// </summary>
/// <remarks>
/// Steps, not lines, because the token rate is a <c>min</c> of ratios: integrating it over linearly interpolated inputs
/// has no closed form, while over steps it is exact. Sample a measured series as finely as its meter updates.
/// </remarks>
public sealed class Series
{
    private readonly SeriesPoint[] _points;

    private Series(SeriesPoint[] points) => _points = points;

    /// <summary>Gets the steps, ordered by time, the first at 0 s.</summary>
    public IReadOnlyList<SeriesPoint> Points => _points;

    /// <summary>Gets whether the series has a single value for all time.</summary>
    public bool IsConstant => _points.Length == 1;

    public static Series Constant(double value) => new([new SeriesPoint(0, value)]);

    /// <summary>
    /// Builds a step series. The points must start at 0 s and strictly increase in time; <see cref="Validate"/>
    /// explains what is wrong with points that do not.
    /// </summary>
    public static Series Steps(IEnumerable<SeriesPoint> points)
    {
        var array = points.ToArray();
        var problems = Validate(array, "series");
        if (problems.Count > 0) throw new EnergyToTokenException(string.Join(" ", problems));
        return new Series(array);
    }

    /// <summary>Returns every problem with a list of step points (empty when it is a valid series).</summary>
    public static IReadOnlyList<string> Validate(IReadOnlyList<SeriesPoint> points, string name)
    {
        var errors = new List<string>();
        if (points.Count == 0)
        {
            errors.Add($"{name} has no points; give at least one value (a constant) or points starting at 0 s.");
            return errors;
        }
        if (points[0].AtSeconds != 0)
            errors.Add($"{name} must start at 0 s (its first point is at {points[0].AtSeconds} s); the value before the first point would be unknown.");
        for (var i = 0; i < points.Count; i++)
        {
            if (!double.IsFinite(points[i].AtSeconds) || !double.IsFinite(points[i].Value))
                errors.Add($"{name} point {i} is not a finite number ({points[i].AtSeconds} s, {points[i].Value}).");
            if (i > 0 && points[i].AtSeconds <= points[i - 1].AtSeconds)
                errors.Add($"{name} point {i} at {points[i].AtSeconds} s does not come after point {i - 1} at {points[i - 1].AtSeconds} s; times must strictly increase.");
        }
        return errors;
    }

    /// <summary>Gets the value in force at <paramref name="seconds"/> (the last step at or before it).</summary>
    public double At(double seconds) => _points[IndexAt(seconds)].Value;

    /// <summary>The index of the last point at or before <paramref name="seconds"/> (0 before the first).</summary>
    private int IndexAt(double seconds)
    {
        // Binary search for the last point with AtSeconds <= seconds; the hot path for long measured series.
        int lo = 0, hi = _points.Length - 1;
        while (lo < hi)
        {
            var mid = (lo + hi + 1) >> 1;
            if (_points[mid].AtSeconds <= seconds) lo = mid;
            else hi = mid - 1;
        }
        return lo;
    }

    /// <summary>Gets the time-weighted mean over [<paramref name="fromSeconds"/>, <paramref name="toSeconds"/>).</summary>
    public double Mean(double fromSeconds, double toSeconds)
    {
        if (toSeconds <= fromSeconds) return At(fromSeconds);
        var sum = 0.0;
        var start = fromSeconds;
        foreach (var end in Breaks(fromSeconds, toSeconds).Append(toSeconds))
        {
            sum += At(start) * (end - start);
            start = end;
        }
        return sum / (toSeconds - fromSeconds);
    }

    /// <summary>Applies <paramref name="map"/> to every value, keeping the times.</summary>
    public Series Map(Func<double, double> map) =>
        new(Array.ConvertAll(_points, p => p with { Value = map(p.Value) }));

    /// <summary>
    /// Combines two series point by point: the result steps wherever either does, with <paramref name="combine"/> of
    /// the values in force (e.g. facility power ÷ PUE, or the lower of two caps).
    /// </summary>
    public static Series Combine(Series a, Series b, Func<double, double, double> combine)
    {
        var times = new SortedSet<double>(a._points.Select(p => p.AtSeconds));
        times.UnionWith(b._points.Select(p => p.AtSeconds));
        return new Series(times.Select(t => new SeriesPoint(t, combine(a.At(t), b.At(t)))).ToArray());
    }

    /// <summary>
    /// Repeats the steps of <paramref name="pattern"/> (a day, a week) every <paramref name="periodSeconds"/> up to
    /// <paramref name="untilSeconds"/>; steps at or after the period are outside the pattern and must not be given.
    /// </summary>
    public static Series Repeat(Series pattern, double periodSeconds, double untilSeconds)
    {
        var points = new List<SeriesPoint>();
        for (var start = 0.0; start < untilSeconds; start += periodSeconds)
            points.AddRange(pattern._points.Select(p => p with { AtSeconds = start + p.AtSeconds }).Where(p => p.AtSeconds < untilSeconds));
        return new Series(points.ToArray());
    }

    /// <summary>Gets the step times strictly inside (<paramref name="fromSeconds"/>, <paramref name="toSeconds"/>).</summary>
    public IEnumerable<double> Breaks(double fromSeconds, double toSeconds)
    {
        // Start from the last step at or before the window (a binary search), so a short window of a long series
        // costs its own steps, not the whole series: the planner asks for the mean price of every segment of a year.
        for (var i = IndexAt(fromSeconds); i < _points.Length && _points[i].AtSeconds < toSeconds; i++)
        {
            if (_points[i].AtSeconds > fromSeconds) yield return _points[i].AtSeconds;
        }
    }

    /// <summary>Gets the smallest value over all time.</summary>
    public double Min => _points.Min(p => p.Value);

    /// <summary>Gets the largest value over all time.</summary>
    public double Max => _points.Max(p => p.Value);

    public override string ToString() =>
        IsConstant ? _points[0].Value.ToString("R", System.Globalization.CultureInfo.InvariantCulture)
                   : $"{_points.Length} steps";
}
