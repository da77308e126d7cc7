using System.Globalization;
using System.Text.RegularExpressions;
using ScottPlot;
using ScottPlot.TickGenerators;

namespace EnergyToToken.Reporting;

/// <summary>A time span of a run to shade on time charts (idle, warm-up, steady window).</summary>
internal sealed record Phase(string Label, double From, double To);

/// <summary>
/// The report's charts, drawn by ScottPlot as SVG text to inline in report.html: vector, so they stay sharp when
/// printed, and with no script to run. Inputs are plain arrays; each chart keeps at most <see cref="MaxPoints"/> points
/// a line (binned means) so an hour-long run still gives a page a browser opens at once.
/// </summary>
internal static partial class Charts
{
    public const int MaxPoints = 1500;
    private const int Width = 960;
    private const int Height = 360;

    // Colour-blind-safe (Okabe–Ito), told apart in greyscale print by width and marker: Skia's SVG canvas drops dash
    // patterns (and says so on stderr), so no line is dashed.
    private static readonly Color Blue = Color.FromHex("#0072B2");
    private static readonly Color Orange = Color.FromHex("#E69F00");
    private static readonly Color Green = Color.FromHex("#009E73");
    private static readonly Color Vermillion = Color.FromHex("#D55E00");
    private static readonly Color Purple = Color.FromHex("#CC79A7");
    private static readonly Color Grey = Color.FromHex("#6E7781");
    private static readonly Color[] Lines = [Blue, Vermillion, Green, Purple, Orange];
    private static readonly Color[] Shades = [Color.FromHex("#DDDDDD"), Color.FromHex("#F0E442"), Color.FromHex("#56B4E9"), Color.FromHex("#CC79A7"), Color.FromHex("#E69F00")];

    /// <summary>Power of each meter channel over time, requests in flight on the right axis, the run's phases shaded.</summary>
    public static string? Power(IReadOnlyList<(string Name, double[] T, double[] Watts)> channels, double[] inFlightT, double[] inFlight, IReadOnlyList<Phase> phases)
    {
        if (channels.All(c => c.T.Length == 0)) return null;
        var plot = New("time (s, run clock)", "power (W)");
        Shade(plot, phases);
        var top = 1.0;
        for (var i = 0; i < channels.Count; i++)
        {
            var (t, w) = Bin(channels[i].T, channels[i].Watts);
            // The axis follows what is drawn (binned means), not a single read's spike that the line does not show.
            top = Math.Max(top, w.Where(double.IsFinite).DefaultIfEmpty(0).Max());
            var line = plot.Add.ScatterLine(t, w, Lines[i % Lines.Length]);
            line.LineWidth = 1.6f;
            line.LegendText = $"{channels[i].Name} (W)";
        }
        if (inFlight.Length > 0)
        {
            var (t, n) = Bin(inFlightT, inFlight);
            var requests = plot.Add.ScatterLine(t, n, Grey);
            requests.ConnectStyle = ConnectStyle.StepHorizontal;
            requests.LineWidth = 1.2f;
            requests.LegendText = "requests in flight (right axis)";
            requests.Axes.YAxis = plot.Axes.Right;
            plot.Axes.Right.Label.Text = "requests in flight";
            plot.Axes.Right.Label.FontSize = 13;
            plot.Axes.SetLimitsY(0, Math.Max(1, n.Max()) * 1.1, plot.Axes.Right);
        }
        plot.Axes.SetLimitsY(0, top * 1.1);
        return Svg(plot, "power");
    }

    /// <summary>Output tokens per second in bins over time, phases shaded.</summary>
    public static string? Rate(double[] binStart, double[] tokensPerSecond, IReadOnlyList<Phase> phases)
    {
        if (binStart.Length == 0) return null;
        var plot = New("time (s, run clock)", "output tokens/s");
        Shade(plot, phases);
        var (t, r) = Bin(binStart, tokensPerSecond);
        var line = plot.Add.ScatterLine(t, r, Blue);
        line.ConnectStyle = ConnectStyle.StepHorizontal;
        line.LineWidth = 1.6f;
        line.LegendText = "output tokens/s";
        plot.Axes.SetLimitsY(0, Math.Max(1, r.Max()) * 1.1);
        return Svg(plot, "rate");
    }

    /// <summary>The empirical CDF of one latency over requests, with each SLO limit on it as a vertical line.</summary>
    public static string? Cdf(string quantity, double[] valuesMs, IReadOnlyList<(string Label, double LimitMs)> limits)
    {
        var sorted = valuesMs.Where(double.IsFinite).Order().ToArray();
        if (sorted.Length == 0) return null;
        var plot = New($"{quantity} (ms)", "share of requests");
        var n = sorted.Length;
        var step = Math.Max(1, n / MaxPoints);
        var xs = new List<double> { sorted[0] };
        var ys = new List<double> { 0 };
        for (var i = 0; i < n; i += step)
        {
            xs.Add(sorted[i]);
            ys.Add((i + 1.0) / n);
        }
        xs.Add(sorted[^1]);
        ys.Add(1);
        var line = plot.Add.ScatterLine(xs.ToArray(), ys.ToArray(), Blue);
        line.ConnectStyle = ConnectStyle.StepHorizontal;
        line.LineWidth = 1.8f;
        line.LegendText = $"{quantity}, {n} requests";
        foreach (var (label, limit) in limits)
        {
            var slo = plot.Add.VerticalLine(limit, 2, Vermillion);
            slo.LegendText = $"SLO {label} ≤ {ReportDocument.Number(limit)} ms";
        }
        var right = Math.Max(sorted[^1], limits.Select(l => l.LimitMs).DefaultIfEmpty(0).Max());
        plot.Axes.SetLimits(0, right * 1.05, 0, 1.02);
        return Svg(plot, "cdf-" + quantity.ToLowerInvariant(), Width / 2, Height - 40);
    }

    /// <summary>
    /// Both ceilings (tokens/s) of each group (a convention, or a run of a comparison) as bars, the binding one drawn
    /// solid and named; the measured rate as a line when given.
    /// </summary>
    /// <param name="name">Names the chart's SVG ids: unique on its page.</param>
    public static string? Ceilings(IReadOnlyList<(string Group, double? Compute, double? Power, string Binding)> groups, double? measured, string name = "ceilings")
    {
        var drawn = groups.Where(c => c.Compute is not null || c.Power is not null).ToList();
        if (drawn.Count == 0) return null;
        var plot = New("", "tokens/s");
        var bars = new List<Bar>();
        for (var i = 0; i < drawn.Count; i++)
        {
            var c = drawn[i];
            foreach (var (offset, value, kind, color) in new[] { (-0.2, c.Compute, "compute", Blue), (0.2, c.Power, "power", Orange) })
            {
                if (value is not { } v || !double.IsFinite(v)) continue;
                var binding = c.Binding == kind;
                bars.Add(new Bar
                {
                    Position = i + offset,
                    Value = v,
                    Size = 0.36,
                    FillColor = binding ? color : color.WithAlpha(0.35),
                    LineColor = color,
                    LineWidth = binding ? 2.5f : 1,
                    Label = $"{kind} ceiling {ReportDocument.Number(v)}{(binding ? " (binding)" : "")}",
                });
            }
        }
        if (measured is { } m && double.IsFinite(m))
        {
            var line = plot.Add.HorizontalLine(m, 2, Grey);
            line.LegendText = $"measured {ReportDocument.Number(m)} tokens/s";
        }
        Groups(plot, bars, [.. drawn.Select(c => c.Group)], measured ?? 0);
        return Svg(plot, name);
    }

    /// <summary>Gross and dynamic J per output token of each run, side by side.</summary>
    public static string? Energy(IReadOnlyList<string> runs, double?[] gross, double?[] dynamic)
    {
        if (gross.All(g => g is null) && dynamic.All(d => d is null)) return null;
        var plot = New("", "J per output token");
        var bars = new List<Bar>();
        for (var i = 0; i < runs.Count; i++)
        {
            foreach (var (offset, value, kind, color) in new[] { (-0.2, gross[i], "gross", Blue), (0.2, dynamic[i], "dynamic", Green) })
            {
                if (value is not { } v || !double.IsFinite(v)) continue;
                bars.Add(new Bar { Position = i + offset, Value = v, Size = 0.36, FillColor = color, LineColor = color, Label = $"{kind} {ReportDocument.Number(v)}" });
            }
        }
        plot.Legend.IsVisible = false;
        Groups(plot, bars, runs, 0);
        return Svg(plot, "energy");
    }

    /// <summary>Bars in groups at 0, 1, 2, … (two to a group, at ±0.2), each group named under its place, room above the tallest.</summary>
    private static void Groups(Plot plot, List<Bar> bars, IReadOnlyList<string> groups, double floorOfTop)
    {
        var plotted = plot.Add.Bars(bars);
        plotted.ValueLabelStyle.FontSize = 12;
        plot.Axes.Bottom.TickGenerator = new NumericManual([.. groups.Select((g, i) => new Tick(i, g))]);
        plot.Axes.Bottom.MajorTickStyle.Length = 0;
        var top = bars.Select(b => b.Value).Append(floorOfTop).DefaultIfEmpty(1).Max();
        plot.Axes.SetLimits(-0.6, groups.Count - 0.4, 0, (top > 0 ? top : 1) * 1.2);
    }

    /// <summary>
    /// The crossover map of spec §3 on log axes: demand φ = ε/κ (J/FLOP) across, supply σ = P_IT/C_eff down; above the
    /// diagonal σ &gt; φ the power ceiling is higher (compute-bound), below it power-bound. The run is placed once per
    /// convention: φ is the same, σ moves with the C_eff of the convention.
    /// </summary>
    public static string? Crossover(IReadOnlyList<(string Convention, double Phi, double Sigma, string Binding)> points)
    {
        var drawn = points.Where(p => p.Phi > 0 && p.Sigma > 0 && double.IsFinite(p.Phi) && double.IsFinite(p.Sigma)).ToList();
        if (drawn.Count == 0) return null;
        var logs = drawn.SelectMany(p => new[] { Math.Log10(p.Phi), Math.Log10(p.Sigma) }).ToList();
        var lo = Math.Floor(logs.Min()) - 1;
        var hi = Math.Ceiling(logs.Max()) + 1;
        var plot = New("φ = ε / κ, energy per FLOP demanded (J/FLOP, log)", "σ = P_IT / C, supplied (J/FLOP, log)");
        var computeBound = plot.Add.Polygon([new Coordinates(lo, lo), new Coordinates(hi, hi), new Coordinates(lo, hi)]);
        computeBound.FillColor = Blue.WithAlpha(0.12);
        computeBound.LineColor = Colors.Transparent;
        computeBound.LegendText = "compute-bound (σ > φ)";
        var powerBound = plot.Add.Polygon([new Coordinates(lo, lo), new Coordinates(hi, lo), new Coordinates(hi, hi)]);
        powerBound.FillColor = Orange.WithAlpha(0.15);
        powerBound.LineColor = Colors.Transparent;
        powerBound.LegendText = "power-bound (σ < φ)";
        var diagonal = plot.Add.Line(lo, lo, hi, hi);
        diagonal.LineColor = Grey;
        diagonal.LegendText = "φ = σ: both ceilings equal";
        var shapes = new[] { MarkerShape.FilledCircle, MarkerShape.FilledSquare, MarkerShape.FilledTriangleUp };
        for (var i = 0; i < drawn.Count; i++)
        {
            var p = drawn[i];
            var marker = plot.Add.Marker(Math.Log10(p.Phi), Math.Log10(p.Sigma), shapes[i % shapes.Length], 11, Lines[i % Lines.Length]);
            marker.LegendText = $"this run, {p.Convention} convention: {p.Binding}-bound (φ {ReportDocument.Number(p.Phi)}, σ {ReportDocument.Number(p.Sigma)})";
        }
        foreach (var axis in new IAxis[] { plot.Axes.Bottom, plot.Axes.Left })
        {
            axis.TickGenerator = new NumericAutomatic
            {
                MinorTickGenerator = new LogMinorTickGenerator(),
                IntegerTicksOnly = true,
                LabelFormatter = v => "1e" + v.ToString("0", CultureInfo.InvariantCulture),
            };
        }
        plot.Axes.SetLimits(lo, hi, lo, hi);
        return Svg(plot, "crossover", Width, Height + 60);
    }

    /// <summary>
    /// A sweep: J per output token against load, points that met the SLO filled and those that missed hollow, the SLO
    /// boundary (between the highest load that met it and the lowest that did not) as a line, the energy-optimal point that
    /// met the SLO ringed.
    /// </summary>
    public static string? Series(string parameter, IReadOnlyList<(double Load, double? Joules, bool SloMet)> points, double? boundary, (double Load, double Joules)? optimal)
    {
        var drawn = points.Where(p => p.Joules is { } j && double.IsFinite(j)).OrderBy(p => p.Load).ToList();
        if (drawn.Count == 0) return null;
        var plot = New(parameter, "J per output token (gross)");
        plot.Legend.Alignment = Alignment.UpperRight;
        var line = plot.Add.ScatterLine(drawn.Select(p => p.Load).ToArray(), drawn.Select(p => p.Joules!.Value).ToArray(), Blue);
        line.LineWidth = 1.4f;
        line.LegendText = "J per output token";
        foreach (var (met, shape, label) in new[] { (true, MarkerShape.FilledCircle, "met the SLO"), (false, MarkerShape.OpenCircle, "missed the SLO") })
        {
            var group = drawn.Where(p => p.SloMet == met).ToList();
            if (group.Count == 0) continue;
            var markers = plot.Add.Markers(group.Select(p => p.Load).ToArray(), group.Select(p => p.Joules!.Value).ToArray(), shape, 9, met ? Blue : Vermillion);
            markers.LegendText = label;
        }
        if (boundary is { } b)
        {
            var slo = plot.Add.VerticalLine(b, 2, Vermillion);
            slo.LegendText = "SLO boundary";
        }
        if (optimal is { } o)
        {
            var ring = plot.Add.Marker(o.Load, o.Joules, MarkerShape.OpenCircle, 20, Green);
            ring.MarkerLineWidth = 2.5f;
            ring.LegendText = $"energy-optimal within the SLO: {parameter} {ReportDocument.Number(o.Load)}, {ReportDocument.Number(o.Joules)} J/token";
        }
        var max = drawn.Max(p => p.Joules!.Value);
        plot.Axes.SetLimitsY(0, max * 1.15);
        return Svg(plot, "series");
    }

    /// <summary>Means of consecutive points in at most <see cref="MaxPoints"/> bins (times and values alike), so long runs stay light.</summary>
    internal static (double[] T, double[] V) Bin(double[] t, double[] v)
    {
        if (t.Length <= MaxPoints) return (t, v);
        var per = (t.Length + MaxPoints - 1) / MaxPoints;
        var count = (t.Length + per - 1) / per;
        var (bt, bv) = (new double[count], new double[count]);
        for (var b = 0; b < count; b++)
        {
            var from = b * per;
            var to = Math.Min(t.Length, from + per);
            double st = 0, sv = 0;
            var n = 0;
            for (var i = from; i < to; i++)
            {
                if (!double.IsFinite(v[i])) continue;
                st += t[i];
                sv += v[i];
                n++;
            }
            (bt[b], bv[b]) = n > 0 ? (st / n, sv / n) : (t[from], double.NaN);
        }
        return (bt, bv);
    }

    private static void Shade(Plot plot, IReadOnlyList<Phase> phases)
    {
        for (var i = 0; i < phases.Count; i++)
        {
            var p = phases[i];
            if (!(p.To > p.From)) continue;
            var span = plot.Add.HorizontalSpan(p.From, p.To, Shades[i % Shades.Length].WithAlpha(0.3));
            span.LegendText = p.Label;
            span.LineColor = Colors.Transparent;
        }
    }

    private static Plot New(string x, string y)
    {
        var plot = new Plot();
        plot.Font.Set("DejaVu Sans");
        plot.XLabel(x, 13);
        plot.YLabel(y, 13);
        plot.Axes.Bottom.TickLabelStyle.FontSize = 12;
        plot.Axes.Left.TickLabelStyle.FontSize = 12;
        plot.Axes.Right.TickLabelStyle.FontSize = 12;
        plot.Legend.IsVisible = true;
        plot.Legend.Alignment = Alignment.UpperLeft;
        plot.Legend.FontSize = 11;
        return plot;
    }

    /// <summary>The plot as an SVG element that scales with its box (viewBox, no fixed size) and carries no XML prolog.</summary>
    /// <remarks>
    /// Skia numbers its clip paths from a process-wide counter; they are renamed after the chart, in order of appearance,
    /// so the same run gives the same bytes in any process and the charts on one page never share an id.
    /// </remarks>
    private static string Svg(Plot plot, string name, int width = Width, int height = Height)
    {
        var svg = plot.GetSvgXml(width, height);
        svg = Prolog().Replace(svg, "");
        var ids = new Dictionary<string, string>(StringComparer.Ordinal);
        svg = ClipId().Replace(svg, m => ids.TryGetValue(m.Value, out var id) ? id : ids[m.Value] = $"{name}-clip{ids.Count}");
        return SvgSize().Replace(svg, $"<svg $1viewBox=\"0 0 {width} {height}\" role=\"img\">", 1);
    }

    [GeneratedRegex(@"\bcl_[0-9a-f]+\b")]
    private static partial Regex ClipId();

    [GeneratedRegex(@"^<\?xml[^>]*\?>\s*")]
    private static partial Regex Prolog();

    [GeneratedRegex(@"<svg ([^>]*?)width=""\d+"" height=""\d+"">")]
    private static partial Regex SvgSize();
}
