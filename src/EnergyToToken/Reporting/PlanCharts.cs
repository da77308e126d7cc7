using System.Globalization;
using ScottPlot;
using ScottPlot.TickGenerators;

namespace EnergyToToken.Reporting;

/// <summary>
/// A site's timeline as its chart draws it: both ceilings and the U-adjusted rate as step lines, and the stretches where
/// power or cooling bound, reduced as <see cref="StepTimeline"/> says (time-weighted means over round bins beyond
/// <see cref="Charts.MaxPoints"/> steps, so the area under the rate line is still the tokens made); the tables give the
/// exact shares and totals either way.
/// </summary>
internal sealed record PlanTimelineView(double HorizonSeconds, IReadOnlyList<TimelineLine> Lines, IReadOnlyList<TimelineShade> Shades, double? LineBinSeconds, double? ShadeBinSeconds)
{
    public static PlanTimelineView Of(IReadOnlyList<PlanReportSegment> timeline, double horizonSeconds)
    {
        var steps = new StepTimeline([.. timeline.Select(s => s.StartSeconds)], [.. timeline.Select(s => s.EndSeconds)], horizonSeconds);
        TimelineLine Line(string label, Func<PlanReportSegment, double> value) => steps.Line(label, [.. timeline.Select(value)]);
        var lines = new List<TimelineLine>
        {
            Line("compute ceiling C_eff/κ", s => s.ComputeCeilingTokensPerSecond),
            Line("power ceiling P_IT/ε", s => s.PowerCeilingTokensPerSecond),
            Line("token rate U·min(…)", s => s.TokensPerSecond),
        };
        var (shades, shadeBin) = steps.Shades([.. timeline.Select(s => s.Binding)], ["power", "cooling"]);
        return new PlanTimelineView(horizonSeconds, lines, shades, steps.LineBinSeconds, shadeBin);
    }

    /// <summary>How the chart reduced the timeline, for its caption.</summary>
    public string Reduction =>
        (LineBinSeconds is { } w ? $"Lines: time-weighted means over {StepTimeline.Width(w)} bins (the timeline has more steps than a chart should draw; the area under the rate is still the tokens made)." : "Lines: every step of the timeline as it is.")
        + (ShadeBinSeconds is { } s ? $" Shading: over {StepTimeline.Width(s)} bins, deeper the more of a bin's time power or cooling bound (rounded up to quarters, so any binding shows)." : " Shading: every stretch where power or cooling bound.");
}

/// <summary>The charts of a plan report (<see cref="PlanDocument"/>), with the same style and deterministic SVG as a run's.</summary>
internal static partial class Charts
{
    private static readonly Color Sky = Color.FromHex("#56B4E9");

    /// <summary>The colour of each binding constraint, the same in every plan and fleet chart.</summary>
    private static Color Binding(string constraint) => constraint switch
    {
        "compute" => Blue,
        "power" => Orange,
        "cooling" => Sky,
        "demand" => Green,
        "no-data" => Shades[0],
        _ => Grey,
    };

    /// <summary>A site's ceilings and token rate over the horizon as step lines, the stretches where power or cooling bound shaded.</summary>
    /// <param name="name">Names the chart's SVG ids: unique on its page.</param>
    public static string? PlanTimeline(PlanTimelineView view, string name)
    {
        if (view.Lines.All(l => l.Seconds.Length == 0) || !(view.HorizonSeconds > 0)) return null;
        var (unit, perUnit) = view.HorizonSeconds >= 3 * 86_400 ? ("days", 86_400.0) : ("hours", 3600.0);
        var top = view.Lines.SelectMany(l => l.Values).Where(double.IsFinite).DefaultIfEmpty(0).Max();
        var (scale, label) = TokenScale(top);
        var plot = New($"time ({unit} into the horizon)", label);
        ShadeBindings(plot, view.Shades, perUnit, binding => $"{binding} binds");
        // The power ceiling in vermillion rather than the orange of its shading, so it stays visible where power binds.
        var styles = new[] { (Blue, 1.6f), (Vermillion, 1.6f), (Green, 2.4f) };
        for (var i = 0; i < view.Lines.Count; i++) StepLine(plot, view.Lines[i], perUnit, scale, styles[i % styles.Length].Item1, styles[i % styles.Length].Item2);
        plot.ShowLegend(Edge.Bottom);
        plot.Axes.SetLimits(0, view.HorizonSeconds / perUnit, 0, (top > 0 ? top / scale : 1) * 1.1);
        return Svg(plot, name, Width, Height + 40);
    }

    /// <summary>
    /// A timeline's line as steps, its times divided by <paramref name="perUnit"/> and its values by <paramref name="scale"/>,
    /// named in the legend; nothing when it has no known value (a legend entry for an invisible line would mislead).
    /// </summary>
    private static void StepLine(Plot plot, TimelineLine line, double perUnit, double scale, Color color, float width)
    {
        if (!line.Values.Any(double.IsFinite)) return;
        var drawn = plot.Add.ScatterLine(line.Seconds.Select(t => t / perUnit).ToArray(), line.Values.Select(v => v / scale).ToArray(), color);
        drawn.ConnectStyle = ConnectStyle.StepHorizontal;
        drawn.LineWidth = width;
        drawn.LegendText = line.Label;
    }

    /// <summary>Tokens/s in units that keep the axis's figures short: thousands, millions or billions.</summary>
    private static (double Scale, string Label) TokenScale(double top) => top switch
    {
        >= 1e9 => (1e9, "billion tokens/s"),
        >= 1e6 => (1e6, "million tokens/s"),
        >= 1e3 => (1e3, "thousand tokens/s"),
        _ => (1.0, "tokens/s"),
    };

    /// <summary>
    /// Each stretch where a constraint bound as a span in its colour, as deep as the share of its time it bound; the
    /// legend names each constraint once, at its deepest shade (the one that means "bound all of this stretch" where
    /// there is one).
    /// </summary>
    private static void ShadeBindings(Plot plot, IReadOnlyList<TimelineShade> shades, double perUnit, Func<string, string> legend)
    {
        var named = shades.GroupBy(s => s.Binding).Select(g => g.MaxBy(s => s.Depth)).ToHashSet();
        foreach (var shade in shades)
        {
            var span = plot.Add.HorizontalSpan(shade.FromSeconds / perUnit, shade.ToSeconds / perUnit, Binding(shade.Binding).WithAlpha((shade.Binding == "cooling" ? 0.4 : 0.3) * shade.Depth));
            span.LineColor = Colors.Transparent;
            if (named.Contains(shade)) span.LegendText = legend(shade.Binding);
        }
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
        string[] constraints = ["compute", "power", "cooling", "balanced"];
        return StackedShares([.. rows.Select(r => (r.Row, new[] { r.Shares.Compute, r.Shares.Power, r.Shares.Cooling, r.Shares.Balanced }))],
            [.. constraints.Select(c => (c == "power" ? "power (delivery)" : c, Binding(c)))], "plan-bindings");
    }

    /// <summary>
    /// Shares of a whole as stacked horizontal bars, a row each, first at the top; a part's share in per cent inside its
    /// bar where the bar is wide enough to hold it.
    /// </summary>
    /// <param name="parts">The legend text and colour of each part, in the order of each row's shares.</param>
    /// <param name="name">Names the chart's SVG ids: unique on its page.</param>
    private static string? StackedShares(IReadOnlyList<(string Row, double[] Shares)> rows, IReadOnlyList<(string Legend, Color Color)> parts, string name)
    {
        if (rows.Count == 0) return null;
        var plot = New("share (%)", "");
        for (var c = 0; c < parts.Count; c++)
        {
            var bars = new List<Bar>();
            for (var r = 0; r < rows.Count; r++)
            {
                var shares = rows[r].Shares;
                var below = shares.Take(c).Sum();
                var share = shares[c];
                if (!(share > 0)) continue;
                var color = parts[c].Color;
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
            plotted.LegendText = parts[c].Legend;
            plotted.ValueLabelStyle.FontSize = 11;
        }
        plot.Axes.Left.TickGenerator = new NumericManual([.. rows.Select((r, i) => new Tick(rows.Count - 1 - i, r.Row))]);
        plot.Axes.Left.MajorTickStyle.Length = 0;
        plot.Axes.SetLimits(0, 100, -0.6, rows.Count - 0.4);
        plot.ShowLegend(Edge.Bottom);
        return Svg(plot, name, Width, Math.Max(220, 110 + rows.Count * 34));
    }
}
