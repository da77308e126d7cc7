using System.Globalization;
using ScottPlot;
using ScottPlot.TickGenerators;

namespace EnergyToToken.Reporting;

/// <summary>One line of a plan's timeline chart, in stair form: each value holds from its time to the next; the last point closes the horizon.</summary>
internal sealed record PlanTimelineLine(string Label, double[] Seconds, double[] TokensPerSecond);

/// <summary>A stretch to shade where <paramref name="Binding"/> (power or cooling) bound, <paramref name="Depth"/> of its time (1 where the steps are drawn as they are).</summary>
internal sealed record PlanShade(string Binding, double FromSeconds, double ToSeconds, double Depth);

/// <summary>
/// A site's timeline as its chart draws it: both ceilings and the U-adjusted rate as step lines, and the stretches where
/// power or cooling bound. A timeline can be a year of hourly steps, more than a chart should carry, so beyond
/// <see cref="Charts.MaxPoints"/> steps each line becomes its time-weighted mean over bins of one round width
/// (<see cref="LineBinSeconds"/>): still steps, and the area under the rate line is still the tokens made. Min/max
/// envelopes would show the extremes but not the total; the tables give the exact shares and totals either way.
/// </summary>
internal sealed record PlanTimelineView(double HorizonSeconds, IReadOnlyList<PlanTimelineLine> Lines, IReadOnlyList<PlanShade> Shades, double? LineBinSeconds, double? ShadeBinSeconds)
{
    /// <summary>At most this many shaded stretches per constraint: beyond it, shading goes by bins too.</summary>
    public const int MaxShades = 240;

    // Round bin widths, so a caption can say "6 h bins" and bins line up with days.
    private static readonly double[] RoundSeconds = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400, 172_800, 604_800, 1_209_600, 2_592_000];

    public static PlanTimelineView Of(IReadOnlyList<PlanReportSegment> timeline, double horizonSeconds)
    {
        var starts = timeline.Select(s => s.StartSeconds).ToArray();
        double? lineBin = timeline.Count + 1 > Charts.MaxPoints ? RoundWidth(horizonSeconds / (Charts.MaxPoints - 1)) : null;
        PlanTimelineLine Line(string label, Func<PlanReportSegment, double> value)
        {
            var (t, v) = lineBin is { } w
                ? Stairs(Bins(horizonSeconds, w).Select(b => b.From).ToArray(), Means(timeline, value, w, horizonSeconds), horizonSeconds)
                : Stairs(starts, timeline.Select(value).ToArray(), horizonSeconds);
            return new PlanTimelineLine(label, t, v);
        }
        var lines = new List<PlanTimelineLine>
        {
            Line("compute ceiling C_eff/κ", s => s.ComputeCeilingTokensPerSecond),
            Line("power ceiling P_IT/ε", s => s.PowerCeilingTokensPerSecond),
            Line("token rate U·min(…)", s => s.TokensPerSecond),
        };

        string[] kinds = ["power", "cooling"];
        var exact = kinds.SelectMany(kind => Runs(timeline, kind)).ToList();
        if (kinds.All(kind => exact.Count(s => s.Binding == kind) <= MaxShades))
            return new PlanTimelineView(horizonSeconds, lines, exact, lineBin, null);
        var shadeBin = RoundWidth(horizonSeconds / MaxShades);
        var shades = new List<PlanShade>();
        foreach (var kind in kinds)
        {
            var shares = Means(timeline, s => s.Binding == kind ? 1 : 0, shadeBin, horizonSeconds);
            var bins = Bins(horizonSeconds, shadeBin);
            for (var b = 0; b < bins.Count; b++)
            {
                // Rounded up to quarters, so an hour bound in a long bin still shows, and adjacent bins merge.
                var depth = Math.Ceiling(shares[b] * 4 - 1e-9) / 4;
                if (depth <= 0) continue;
                if (shades.Count > 0 && shades[^1].Binding == kind && shades[^1].Depth == depth && shades[^1].ToSeconds == bins[b].From)
                    shades[^1] = shades[^1] with { ToSeconds = bins[b].To };
                else shades.Add(new PlanShade(kind, bins[b].From, bins[b].To, depth));
            }
        }
        return new PlanTimelineView(horizonSeconds, lines, shades, lineBin, shadeBin);
    }

    /// <summary>How the chart reduced the timeline, for its caption.</summary>
    public string Reduction =>
        (LineBinSeconds is { } w ? $"Lines: time-weighted means over {Width(w)} bins (the timeline has more steps than a chart should draw; the area under the rate is still the tokens made)." : "Lines: every step of the timeline as it is.")
        + (ShadeBinSeconds is { } s ? $" Shading: over {Width(s)} bins, deeper the more of a bin's time power or cooling bound (rounded up to quarters, so any binding shows)." : " Shading: every stretch where power or cooling bound.");

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

    /// <summary>The time-weighted mean of <paramref name="value"/> over each bin (the last one over the time it covers).</summary>
    private static double[] Means(IReadOnlyList<PlanReportSegment> timeline, Func<PlanReportSegment, double> value, double width, double horizon)
    {
        var bins = Bins(horizon, width);
        var sums = new double[bins.Count];
        foreach (var s in timeline)
        {
            var (from, to) = (s.StartSeconds, Math.Min(s.EndSeconds, horizon));
            // One bin early: a start on a bin's edge may divide to just below it.
            for (var b = Math.Max(0, (int)(from / width) - 1); b < bins.Count && bins[b].From < to; b++)
            {
                var overlap = Math.Min(to, bins[b].To) - Math.Max(from, bins[b].From);
                if (overlap > 0) sums[b] += value(s) * overlap;
            }
        }
        for (var b = 0; b < bins.Count; b++) sums[b] /= bins[b].To - bins[b].From;
        return sums;
    }

    /// <summary>Steps with repeats dropped (values within 1e-12 of the last kept: rounding, not a change), closed at <paramref name="end"/>.</summary>
    private static (double[] T, double[] V) Stairs(double[] starts, double[] values, double end)
    {
        var (t, v) = (new List<double>(), new List<double>());
        for (var i = 0; i < starts.Length; i++)
        {
            if (v.Count > 0 && Math.Abs(values[i] - v[^1]) <= 1e-12 * Math.Abs(v[^1])) continue;
            t.Add(starts[i]);
            v.Add(values[i]);
        }
        if (v.Count == 0) return ([], []);
        t.Add(end);
        v.Add(v[^1]);
        return ([.. t], [.. v]);
    }

    /// <summary>Consecutive segments bound by <paramref name="kind"/>, merged.</summary>
    private static List<PlanShade> Runs(IReadOnlyList<PlanReportSegment> timeline, string kind)
    {
        var runs = new List<PlanShade>();
        foreach (var s in timeline.Where(s => s.Binding == kind))
        {
            if (runs.Count > 0 && runs[^1].ToSeconds == s.StartSeconds) runs[^1] = runs[^1] with { ToSeconds = s.EndSeconds };
            else runs.Add(new PlanShade(kind, s.StartSeconds, s.EndSeconds, 1));
        }
        return runs;
    }
}

/// <summary>The charts of a plan report (<see cref="PlanDocument"/>), with the same style and deterministic SVG as a run's.</summary>
internal static partial class Charts
{
    private static readonly Color Sky = Color.FromHex("#56B4E9");

    /// <summary>The colour of each binding constraint, the same in every plan chart.</summary>
    private static Color Binding(string constraint) => constraint switch
    {
        "compute" => Blue,
        "power" => Orange,
        "cooling" => Sky,
        _ => Grey,
    };

    /// <summary>A site's ceilings and token rate over the horizon as step lines, the stretches where power or cooling bound shaded.</summary>
    /// <param name="name">Names the chart's SVG ids: unique on its page.</param>
    public static string? PlanTimeline(PlanTimelineView view, string name)
    {
        if (view.Lines.All(l => l.Seconds.Length == 0) || !(view.HorizonSeconds > 0)) return null;
        var (unit, perUnit) = view.HorizonSeconds >= 3 * 86_400 ? ("days", 86_400.0) : ("hours", 3600.0);
        var top = view.Lines.SelectMany(l => l.TokensPerSecond).Where(double.IsFinite).DefaultIfEmpty(0).Max();
        var (scale, label) = top switch
        {
            >= 1e9 => (1e9, "billion tokens/s"),
            >= 1e6 => (1e6, "million tokens/s"),
            >= 1e3 => (1e3, "thousand tokens/s"),
            _ => (1.0, "tokens/s"),
        };
        var plot = New($"time ({unit} into the horizon)", label);
        // The legend shows each kind's deepest shade, the one that means "bound all of this stretch" where there is one.
        var named = view.Shades.GroupBy(s => s.Binding).Select(g => g.MaxBy(s => s.Depth)).ToHashSet();
        foreach (var shade in view.Shades)
        {
            var span = plot.Add.HorizontalSpan(shade.FromSeconds / perUnit, shade.ToSeconds / perUnit, Binding(shade.Binding).WithAlpha((shade.Binding == "cooling" ? 0.4 : 0.3) * shade.Depth));
            span.LineColor = Colors.Transparent;
            if (named.Contains(shade)) span.LegendText = $"{shade.Binding} binds";
        }
        // The power ceiling in vermillion rather than the orange of its shading, so it stays visible where power binds.
        var styles = new[] { (Blue, 1.6f), (Vermillion, 1.6f), (Green, 2.4f) };
        for (var i = 0; i < view.Lines.Count; i++)
        {
            var l = view.Lines[i];
            if (l.Seconds.Length == 0) continue;
            var line = plot.Add.ScatterLine(l.Seconds.Select(t => t / perUnit).ToArray(), l.TokensPerSecond.Select(v => v / scale).ToArray(), styles[i % styles.Length].Item1);
            line.ConnectStyle = ConnectStyle.StepHorizontal;
            line.LineWidth = styles[i % styles.Length].Item2;
            line.LegendText = l.Label;
        }
        plot.ShowLegend(Edge.Bottom);
        plot.Axes.SetLimits(0, view.HorizonSeconds / perUnit, 0, (top > 0 ? top / scale : 1) * 1.1);
        return Svg(plot, name, Width, Height + 40);
    }

    /// <summary>
    /// Elasticities ∂ln Q/∂ln x as horizontal bars, a row per lever and a bar per group (each site, the total) in it;
    /// null where a group has no such lever. Where a rise and a fall differ, the bar is the rise's.
    /// </summary>
    public static string? PlanElasticities(IReadOnlyList<string> levers, IReadOnlyList<(string Group, double?[] Values)> groups)
    {
        if (levers.Count == 0 || groups.Count == 0) return null;
        var plot = New("elasticity ∂ln Q / ∂ln x (a 1 % rise moves tokens by this many %)", "");
        var size = 0.8 / groups.Count;
        var values = new List<double>();
        for (var g = 0; g < groups.Count; g++)
        {
            var color = g == groups.Count - 1 && groups.Count > 1 ? Grey : Lines[g % Lines.Length];
            var bars = new List<Bar>();
            for (var i = 0; i < levers.Count; i++)
            {
                if (groups[g].Values[i] is not { } v || !double.IsFinite(v)) continue;
                values.Add(v);
                // First lever at the top; the groups top to bottom in their order within a row.
                bars.Add(new Bar
                {
                    Position = levers.Count - 1 - i + (groups.Count - 1 - 2 * g) * size / 2,
                    Value = v,
                    Size = size * 0.9,
                    FillColor = color,
                    LineColor = color,
                    Label = ReportDocument.Number(v, 3),
                });
            }
            if (bars.Count == 0) continue;
            var plotted = plot.Add.Bars(bars);
            plotted.Horizontal = true;
            plotted.LegendText = groups[g].Group;
            plotted.ValueLabelStyle.FontSize = 11;
        }
        var zero = plot.Add.VerticalLine(0, 1, Grey);
        zero.LegendText = "";
        plot.Axes.Left.TickGenerator = new NumericManual([.. levers.Select((l, i) => new Tick(levers.Count - 1 - i, l))]);
        plot.Axes.Left.MajorTickStyle.Length = 0;
        var low = Math.Min(-1, values.DefaultIfEmpty(0).Min());
        var high = Math.Max(1, values.DefaultIfEmpty(0).Max());
        plot.Axes.SetLimits(low * 1.3, high * 1.3, -0.6, levers.Count - 0.4);
        plot.ShowLegend(Edge.Bottom);
        return Svg(plot, "plan-elasticities", Width, Math.Max(Height, 120 + levers.Count * (10 + 14 * groups.Count)));
    }

    /// <summary>Shares of time or tokens under each binding constraint as stacked horizontal bars, a row each, first at the top.</summary>
    public static string? PlanBindings(IReadOnlyList<(string Row, PlanReportShares Shares)> rows)
    {
        if (rows.Count == 0) return null;
        var plot = New("share (%)", "");
        string[] constraints = ["compute", "power", "cooling", "balanced"];
        static double[] Of(PlanReportShares s) => [s.Compute, s.Power, s.Cooling, s.Balanced];
        for (var c = 0; c < constraints.Length; c++)
        {
            var constraint = constraints[c];
            var bars = new List<Bar>();
            for (var r = 0; r < rows.Count; r++)
            {
                var shares = Of(rows[r].Shares);
                var below = shares.Take(c).Sum();
                var share = shares[c];
                if (!(share > 0)) continue;
                var color = Binding(constraint);
                bars.Add(new Bar
                {
                    Position = rows.Count - 1 - r,
                    ValueBase = below * 100,
                    Value = (below + share) * 100,
                    Size = 0.6,
                    FillColor = color,
                    LineColor = color,
                    // Inside the bar, and only where it is wide enough to hold the figure.
                    Label = share >= 0.08 ? $"{(share * 100).ToString("0", CultureInfo.InvariantCulture)} %" : "",
                    CenterLabel = true,
                });
            }
            if (bars.Count == 0) continue;
            var plotted = plot.Add.Bars(bars);
            plotted.Horizontal = true;
            plotted.LegendText = constraint == "power" ? "power (delivery)" : constraint;
            plotted.ValueLabelStyle.FontSize = 11;
        }
        plot.Axes.Left.TickGenerator = new NumericManual([.. rows.Select((r, i) => new Tick(rows.Count - 1 - i, r.Row))]);
        plot.Axes.Left.MajorTickStyle.Length = 0;
        plot.Axes.SetLimits(0, 100, -0.6, rows.Count - 0.4);
        plot.ShowLegend(Edge.Bottom);
        return Svg(plot, "plan-bindings", Width, Math.Max(220, 110 + rows.Count * 34));
    }
}
