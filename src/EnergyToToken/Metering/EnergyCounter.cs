namespace EnergyToToken.Metering;

/// <summary>What happened between two counter readings.</summary>
public enum CounterStep
{
    Normal,

    /// <summary>The counter passed its maximum and restarted from zero once; the delta is still exact.</summary>
    Wrap,

    /// <summary>The counter went backwards with no wrap range to explain it (driver reload, GPU reset): energy before the reset is unknown.</summary>
    Reset,
}

/// <summary>Counter arithmetic, pure and exhaustively tested (measurement.md §3.3).</summary>
internal static class EnergyCounter
{
    /// <summary>
    /// Energy between two readings of a RAPL <c>energy_uj</c> counter, which wraps to zero after
    /// <c>max_energy_range_uj</c>. Assumes at most one wrap between readings (sample faster than the wrap period).
    /// </summary>
    internal static ulong DeltaMicrojoules(ulong previous, ulong current, ulong maxRange) =>
        current >= previous ? current - previous : maxRange - previous + current;

    /// <summary>
    /// Energy between two readings in joules, never negative. A decrease is a wrap when the counter has a wrap range
    /// (exact: range − previous + current), otherwise a reset, for which only the energy counted since the reset
    /// (<paramref name="current"/>) is known; the caller estimates the rest and flags it.
    /// </summary>
    internal static (double Joules, CounterStep Step) Delta(double previous, double current, double? wrapJoules)
    {
        if (current >= previous) return (current - previous, CounterStep.Normal);
        if (wrapJoules is { } range && previous <= range) return (range - previous + current, CounterStep.Wrap);
        return (Math.Max(current, 0), CounterStep.Reset);
    }
}
