namespace EnergyToToken.Fleet;

/// <summary>
/// Counter arithmetic as Prometheus's <c>increase()</c> does it, without its extrapolation to the window's edges: a value
/// below the previous one is a reset (the process restarted), and the counter counted from zero up to the new value.
/// Pure.
/// </summary>
public static class CounterMath
{
    /// <summary>The increase between two consecutive samples: the difference, or the new value after a reset.</summary>
    public static double Delta(double previous, double current) => current >= previous ? current - previous : current;

    /// <summary>The counter's total increase over its samples, resets included; 0 with fewer than two samples.</summary>
    public static double Increase(IReadOnlyList<RangePoint> points)
    {
        var total = 0.0;
        for (var i = 1; i < points.Count; i++) total += Delta(points[i - 1].Value, points[i].Value);
        return total;
    }

    /// <summary>
    /// The increase in each of <paramref name="steps"/> intervals (from + k·step, from + (k+1)·step]. Where samples are
    /// missing, the increase across the gap lands in the interval of the sample that ends it, so totals are kept.
    /// </summary>
    public static double[] StepIncreases(IReadOnlyList<RangePoint> points, double from, double step, int steps)
    {
        var result = new double[steps];
        for (var i = 1; i < points.Count; i++)
        {
            var k = Index(points[i].UnixSeconds, from, step) - 1;
            if (k >= 0 && k < steps) result[k] += Delta(points[i - 1].Value, points[i].Value);
        }
        return result;
    }

    /// <summary>
    /// A gauge's value for each interval: its reading at the interval's end (DCGM's power and SM activity average the
    /// window before the reading); NaN where the series has no point there.
    /// </summary>
    public static double[] StepGauge(IReadOnlyList<RangePoint> points, double from, double step, int steps)
    {
        var result = new double[steps];
        Array.Fill(result, double.NaN);
        foreach (var p in points)
        {
            var k = Index(p.UnixSeconds, from, step) - 1;
            if (k >= 0 && k < steps) result[k] = p.Value;
        }
        return result;
    }

    /// <summary>The grid index of a point: range queries answer exactly on the grid, rounding only absorbs float noise.</summary>
    public static int Index(double unixSeconds, double from, double step) => (int)Math.Round((unixSeconds - from) / step);
}
