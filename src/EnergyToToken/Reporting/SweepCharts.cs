using System.Globalization;
using ScottPlot;
using ScottPlot.TickGenerators;

namespace EnergyToToken.Reporting;

/// <summary>The charts of <c>e2t plan sweep</c> (docs/plan-sweep.md); the ladder reuses <see cref="Ceilings"/>.</summary>
internal static partial class Charts
{
    /// <summary>
    /// The regime map on log axes: C_eff across, P_IT up, every cell shaded by its verdict (runs of one verdict in a row
    /// drawn as one rectangle, so the page stays light), the crossover line σ = φ (P_IT = φ · C_eff) and the site marked.
    /// </summary>
    /// <param name="map">One string a row of <paramref name="itPower"/>, one character a column: C, P or =.</param>
    public static string? RegimeMap(IReadOnlyList<double> itPower, IReadOnlyList<double> compute, IReadOnlyList<string> map,
        double phi, double siteItPower, double siteCompute, string site, string siteBinding)
    {
        if (itPower.Count < 2 || compute.Count < 2) return null;
        var ys = itPower.Select(Math.Log10).ToArray();
        var xs = compute.Select(Math.Log10).ToArray();
        // A cell reaches halfway (in log) to its neighbours; the outer cells as far out as inside.
        static double[] Edges(double[] v) =>
        [
            v[0] - (v[1] - v[0]) / 2,
            .. Enumerable.Range(0, v.Length - 1).Select(i => (v[i] + v[i + 1]) / 2),
            v[^1] + (v[^1] - v[^2]) / 2,
        ];
        var (xe, ye) = (Edges(xs), Edges(ys));
        var plot = New("C_eff, effective compute (FLOP/s, log)", "P_IT, usable IT power (W, log)");
        var styles = new Dictionary<char, (Color Color, string Label)>
        {
            [PlanSweepReport.ComputeMark] = (Blue.WithAlpha(0.22), "compute-bound (σ > φ)"),
            [PlanSweepReport.PowerMark] = (Orange.WithAlpha(0.3), "power-bound (σ < φ)"),
            [PlanSweepReport.BalancedMark] = (Grey.WithAlpha(0.45), "balanced (|H − 1| within the tie tolerance)"),
        };
        var named = new HashSet<char>();
        for (var p = 0; p < map.Count; p++)
        {
            for (var start = 0; start < map[p].Length;)
            {
                var mark = map[p][start];
                var end = start;
                while (end + 1 < map[p].Length && map[p][end + 1] == mark) end++;
                var (color, label) = styles[mark];
                var cell = plot.Add.Polygon([new Coordinates(xe[start], ye[p]), new Coordinates(xe[end + 1], ye[p]), new Coordinates(xe[end + 1], ye[p + 1]), new Coordinates(xe[start], ye[p + 1])]);
                cell.FillColor = color;
                cell.LineColor = Colors.Transparent;
                if (named.Add(mark)) cell.LegendText = label;
                start = end + 1;
            }
        }
        var (left, right, bottom, top) = (xe[0], xe[^1], ye[0], ye[^1]);
        // log P = log φ + log C: a line of slope 1, clipped to the map.
        var from = Math.Max(left, bottom - Math.Log10(phi));
        var to = Math.Min(right, top - Math.Log10(phi));
        if (to > from)
        {
            var line = plot.Add.Line(from, from + Math.Log10(phi), to, to + Math.Log10(phi));
            line.LineColor = Vermillion;
            line.LineWidth = 2;
            line.LegendText = $"σ = φ: P_IT = φ · C_eff, φ = {ReportDocument.Number(phi)} J/FLOP";
        }
        if (siteItPower > 0 && siteCompute > 0)
        {
            var marker = plot.Add.Marker(Math.Log10(siteCompute), Math.Log10(siteItPower), MarkerShape.FilledDiamond, 14, Colors.Black);
            marker.LegendText = $"site {site}: {siteBinding} (P_IT {ReportDocument.Number(siteItPower)} W, C_eff {ReportDocument.Number(siteCompute)} FLOP/s)";
        }
        LogTicks(plot.Axes.Bottom);
        LogTicks(plot.Axes.Left);
        plot.Axes.SetLimits(left, right, bottom, top);
        return Svg(plot, "regime-map", Width, Height + 120);
    }

    /// <summary>
    /// Both ceilings of the context sweep against context, log on both axes, each swept context a tick; the interpolated
    /// turn to power-bound as a vertical line.
    /// </summary>
    public static string? ContextCeilings(double[] contexts, double[] compute, double[] power, double? turn)
    {
        var keep = Enumerable.Range(0, contexts.Length).Where(i => contexts[i] > 0 && compute[i] > 0 && power[i] > 0).ToList();
        if (keep.Count == 0) return null;
        var x = keep.Select(i => Math.Log10(contexts[i])).ToArray();
        var plot = New("context (tokens, log)", "ceiling (tokens/s, log)");
        plot.Legend.Alignment = Alignment.UpperRight;
        foreach (var (values, label, color, shape) in new[] { (compute, "compute ceiling C_eff(c) / κ(c)", Blue, MarkerShape.FilledCircle), (power, "power ceiling P_IT / ε(c)", Orange, MarkerShape.FilledSquare) })
        {
            var line = plot.Add.ScatterLine(x, keep.Select(i => Math.Log10(values[i])).ToArray(), color);
            line.LineWidth = 2;
            line.MarkerShape = shape;
            line.MarkerSize = 8;
            line.LegendText = label;
        }
        if (turn is { } t && t > 0)
        {
            var at = plot.Add.VerticalLine(Math.Log10(t), 2, Vermillion);
            at.LegendText = $"turns power-bound ≈ {PlanSweepReport.Tokens(t)} tokens (interpolated)";
        }
        plot.Axes.Bottom.TickGenerator = new NumericManual([.. keep.Select(i => new Tick(Math.Log10(contexts[i]), ContextLabel(contexts[i])))]);
        LogTicks(plot.Axes.Left);
        var lows = keep.SelectMany(i => new[] { Math.Log10(compute[i]), Math.Log10(power[i]) }).ToList();
        var pad = Math.Max(0.1, (x[^1] - x[0]) * 0.05);
        plot.Axes.SetLimits(x[0] - pad, x[^1] + pad, Math.Floor(lows.Min() - 0.05), Math.Ceiling(lows.Max() + 0.3));
        return Svg(plot, "context-ceilings");
    }

    /// <summary>4 096 → 4k, 131 072 → 128k, 1 048 576 → 1M: contexts as people quote them (binary k).</summary>
    internal static string ContextLabel(double tokens) => tokens switch
    {
        >= 1 << 20 when tokens % (1 << 20) == 0 => (tokens / (1 << 20)).ToString("0", CultureInfo.InvariantCulture) + "M",
        >= 1024 when tokens % 1024 == 0 => (tokens / 1024).ToString("0", CultureInfo.InvariantCulture) + "k",
        _ => tokens.ToString("0", CultureInfo.InvariantCulture),
    };

    /// <summary>Whole decades as 1eN, minor ticks spaced as a log axis's.</summary>
    private static void LogTicks(IAxis axis) => axis.TickGenerator = new NumericAutomatic
    {
        MinorTickGenerator = new LogMinorTickGenerator(),
        IntegerTicksOnly = true,
        LabelFormatter = v => "1e" + v.ToString("0", CultureInfo.InvariantCulture),
    };
}
