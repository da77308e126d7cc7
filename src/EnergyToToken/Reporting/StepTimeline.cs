using System.Globalization;

namespace EnergyToToken.Reporting;

/// <summary>One line of a timeline chart, in stair form: each value holds from its time to the next; the last point closes the horizon.</summary>
internal sealed record TimelineLine(string Label, double[] Seconds, double[] Values);

/// <summary>A stretch to shade where <paramref name="Binding"/> bound, <paramref name="Depth"/> of its time (1 where the steps are drawn as they are).</summary>
internal sealed record TimelineShade(string Binding, double FromSeconds, double ToSeconds, double Depth);

/// <summary>
/// A timeline of steps, each holding its values from its start to its end (seconds into the horizon), reduced for a chart.
/// A plan's site can step hourly for a year and a fleet every second for a week, more than a chart should carry, so
/// beyond <see cref="Charts.MaxPoints"/> steps each line becomes its time-weighted mean over bins of one round width
/// (<see cref="LineBinSeconds"/>): still steps, and the area under a line is still its integral (a rate's tokens, a
/// power's energy). Min/max envelopes would show the extremes but not the total. Shading of the stretches where a
/// constraint bound goes by bins too once there are more than <see cref="MaxShades"/> of them.
/// </summary>
internal sealed class StepTimeline
{
    /// <summary>At most this many shaded stretches per constraint: beyond it, shading goes by bins too.</summary>
    public const int MaxShades = 240;

    // Round bin widths, so a caption can say "6 h bins" and bins line up with minutes, hours and days.
    private static readonly double[] RoundSeconds = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400, 172_800, 604_800, 1_209_600, 2_592_000];

    private readonly double[] _starts;
    private readonly double[] _ends;

    /// <param name="starts">Each step's start, seconds into the horizon, ascending.</param>
    /// <param name="ends">Each step's end; the next step starts there (no gaps).</param>
    public StepTimeline(double[] starts, double[] ends, double horizonSeconds)
    {
        _starts = starts;
        _ends = ends;
        HorizonSeconds = horizonSeconds;
        // Bins of at least horizon / (MaxPoints − 1): with the point that closes the horizon, at most MaxPoints a line.
        LineBinSeconds = starts.Length + 1 > Charts.MaxPoints ? RoundWidth(horizonSeconds / (Charts.MaxPoints - 1)) : null;
    }

    public double HorizonSeconds { get; }

    /// <summary>The width of the bins the lines are means over; null when every step is drawn as it is.</summary>
    public double? LineBinSeconds { get; }

    /// <summary>
    /// One value per step as stairs: the steps as they are (repeats merged) or their time-weighted bin means. NaN is a value
    /// not known (a fleet step without SM activity): a bin's mean is then over the time that is known, NaN (a gap) where none is.
    /// </summary>
    public TimelineLine Line(string label, double[] values)
    {
        if (LineBinSeconds is not { } w) return Stairs(label, _starts, values);
        var means = Means(values.Select(v => double.IsNaN(v) ? 0 : v).ToArray(), w);
        // Only where something is unknown: dividing by a coverage of 1 could still move the last bit of a mean.
        if (values.Any(double.IsNaN))
        {
            var known = Means(values.Select(v => double.IsNaN(v) ? 0.0 : 1.0).ToArray(), w);
            for (var b = 0; b < means.Length; b++) means[b] = known[b] > 0 ? means[b] / known[b] : double.NaN;
        }
        return Stairs(label, Bins(HorizonSeconds, w).Select(b => b.From).ToArray(), means);
    }

    /// <summary>
    /// The stretches where each of <paramref name="kinds"/> bound (<paramref name="bindings"/>: the constraint of each
    /// step), exact while each kind has at most <see cref="MaxShades"/> of them; otherwise over bins of one round width,
    /// each as deep as the share of its time the kind bound.
    /// </summary>
    /// <returns>The shades, and the width of their bins (null when exact).</returns>
    public (IReadOnlyList<TimelineShade> Shades, double? BinSeconds) Shades(IReadOnlyList<string> bindings, IReadOnlyList<string> kinds)
    {
        var exact = kinds.SelectMany(kind => Runs(bindings, kind)).ToList();
        if (kinds.All(kind => exact.Count(s => s.Binding == kind) <= MaxShades)) return (exact, null);
        var shadeBin = RoundWidth(HorizonSeconds / MaxShades);
        var bins = Bins(HorizonSeconds, shadeBin);
        var shades = new List<TimelineShade>();
        foreach (var kind in kinds)
        {
            var shares = Means([.. bindings.Select(b => b == kind ? 1.0 : 0)], shadeBin);
            for (var b = 0; b < bins.Count; b++)
            {
                // Rounded up to quarters, so an hour bound in a long bin still shows, and adjacent bins merge.
                var depth = Math.Ceiling(shares[b] * 4 - 1e-9) / 4;
                if (depth <= 0) continue;
                if (shades.Count > 0 && shades[^1].Binding == kind && shades[^1].Depth == depth && shades[^1].ToSeconds == bins[b].From)
                    shades[^1] = shades[^1] with { ToSeconds = bins[b].To };
                else shades.Add(new TimelineShade(kind, bins[b].From, bins[b].To, depth));
            }
        }
        return (shades, shadeBin);
    }

    /// <summary>A width as a caption says it: "6 h", "2 d", "15 min", "30 s".</summary>
    public static string Width(double seconds) => seconds switch
    {
        >= 86_400 when seconds % 86_400 == 0 => $"{(seconds / 86_400).ToString(CultureInfo.InvariantCulture)} d",
        >= 3600 when seconds % 3600 == 0 => $"{(seconds / 3600).ToString(CultureInfo.InvariantCulture)} h",
        >= 60 when seconds % 60 == 0 => $"{(seconds / 60).ToString(CultureInfo.InvariantCulture)} min",
        _ => $"{seconds.ToString("0.###", CultureInfo.InvariantCulture)} s",
    };

    internal static double RoundWidth(double atLeast) =>
        RoundSeconds.FirstOrDefault(w => w >= atLeast) is var w && w > 0 ? w : Math.Ceiling(atLeast / 2_592_000) * 2_592_000;

    private static List<(double From, double To)> Bins(double horizon, double width) =>
        [.. Enumerable.Range(0, (int)Math.Ceiling(horizon / width - 1e-9)).Select(b => (b * width, Math.Min(horizon, (b + 1) * width)))];

    /// <summary>The time-weighted mean of <paramref name="values"/> over each bin (the last one over the time it covers).</summary>
    private double[] Means(double[] values, double width)
    {
        var bins = Bins(HorizonSeconds, width);
        var sums = new double[bins.Count];
        for (var i = 0; i < _starts.Length; i++)
        {
            var (from, to) = (_starts[i], Math.Min(_ends[i], HorizonSeconds));
            // One bin early: a start on a bin's edge may divide to just below it.
            for (var b = Math.Max(0, (int)(from / width) - 1); b < bins.Count && bins[b].From < to; b++)
            {
                var overlap = Math.Min(to, bins[b].To) - Math.Max(from, bins[b].From);
                if (overlap > 0) sums[b] += values[i] * overlap;
            }
        }
        for (var b = 0; b < bins.Count; b++) sums[b] /= bins[b].To - bins[b].From;
        return sums;
    }

    /// <summary>
    /// Steps with repeats dropped (values within 1e-12 of the last kept: rounding, not a change; an unknown after an
    /// unknown), closed at the horizon.
    /// </summary>
    private TimelineLine Stairs(string label, double[] starts, double[] values)
    {
        var (t, v) = (new List<double>(), new List<double>());
        for (var i = 0; i < starts.Length; i++)
        {
            if (v.Count > 0 && (Math.Abs(values[i] - v[^1]) <= 1e-12 * Math.Abs(v[^1]) || (double.IsNaN(values[i]) && double.IsNaN(v[^1])))) continue;
            t.Add(starts[i]);
            v.Add(values[i]);
        }
        if (v.Count == 0) return new TimelineLine(label, [], []);
        t.Add(HorizonSeconds);
        v.Add(v[^1]);
        return new TimelineLine(label, [.. t], [.. v]);
    }

    /// <summary>Consecutive steps bound by <paramref name="kind"/>, merged.</summary>
    private List<TimelineShade> Runs(IReadOnlyList<string> bindings, string kind)
    {
        var runs = new List<TimelineShade>();
        for (var i = 0; i < bindings.Count; i++)
        {
            if (bindings[i] != kind) continue;
            if (runs.Count > 0 && runs[^1].ToSeconds == _starts[i]) runs[^1] = runs[^1] with { ToSeconds = _ends[i] };
            else runs.Add(new TimelineShade(kind, _starts[i], _ends[i], 1));
        }
        return runs;
    }
}
