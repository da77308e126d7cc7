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

    /// <summary>The grid index of a point: range queries answer exactly on the grid, rounding only absorbs float noise.</summary>
    public static int Index(double unixSeconds, double from, double step) => (int)Math.Round((unixSeconds - from) / step);
}
