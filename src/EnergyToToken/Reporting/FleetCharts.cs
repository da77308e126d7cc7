using EnergyToToken.Fleet;
using ScottPlot;

namespace EnergyToToken.Reporting;

/// <summary>
/// The fleet's timeline as its charts draw it: output tokens/s, IT and facility power, SM activity U and, with a budget,
/// the power load (facility power ÷ budget), as step lines; and the stretches where power, compute or both bound the
/// fleet. Reduced as <see cref="StepTimeline"/> says: a week at 1 s is 604,800 steps, so beyond
/// <see cref="Charts.MaxPoints"/> the lines are time-weighted means over round bins and the area under the rate is still
/// the tokens made. Times are seconds from <paramref name="Origin"/>, the range's start (Unix seconds).
/// </summary>
internal sealed record FleetTimelineView(
    double Origin, double HorizonSeconds, int Steps, TimelineLine Rate, TimelineLine ItWatts, TimelineLine FacilityWatts,
    TimelineLine U, TimelineLine? PowerLoad, IReadOnlyList<TimelineShade> Shades, double? LineBinSeconds, double? ShadeBinSeconds)
{
    /// <summary>The bindings shaded on the rate chart: the saturated ones. Demand and no data are the unshaded rest.</summary>
    public static readonly string[] Shaded = [FleetReport.Name(FleetConstraint.Power), FleetReport.Name(FleetConstraint.Compute), FleetReport.Name(FleetConstraint.Balanced)];

    public static FleetTimelineView Of(FleetReport report)
    {
        var t = report.Timeline;
        var origin = report.From;
        var steps = new StepTimeline([.. t.Select(s => s.Start - origin)], [.. t.Select(s => s.End - origin)], report.To - origin);
        // One name per constraint rather than one string per step: a timeline can have a million steps.
        var names = Enum.GetValues<FleetConstraint>().ToDictionary(c => c, FleetReport.Name);
        var (shades, shadeBin) = steps.Shades([.. t.Select(s => names[s.Binding])], Shaded);
        return new FleetTimelineView(
            origin, steps.HorizonSeconds, t.Count,
            steps.Line("output tokens/s", [.. t.Select(s => s.OutputTokens / (s.End - s.Start))]),
            steps.Line("IT power", [.. t.Select(s => s.ItWatts)]),
            steps.Line("facility power (IT × PUE)", [.. t.Select(s => s.FacilityWatts)]),
            steps.Line("SM activity U (mean of the GPUs)", [.. t.Select(s => s.U)]),
            report.Fleet.BudgetWatts is { } budget ? steps.Line("power load: facility power ÷ budget", [.. t.Select(s => s.FacilityWatts / budget)]) : null,
            shades, steps.LineBinSeconds, shadeBin);
    }

    /// <summary>How the lines were reduced, for a caption.</summary>
    public string LineReduction => LineBinSeconds is { } w
        ? $"Lines: time-weighted means over {StepTimeline.Width(w)} bins (the {ReportDocument.Count(Steps)} steps are more than a chart should draw; the area under each line is still its total: tokens, energy)."
        : "Lines: every step as it is.";

    /// <summary>How the shading was reduced, for a caption.</summary>
    public string ShadeReduction => ShadeBinSeconds is { } s
        ? $"Shading: over {StepTimeline.Width(s)} bins, deeper the more of a bin's time the constraint bound (rounded up to quarters, so any binding shows)."
        : "Shading: every stretch where the constraint bound.";
}

/// <summary>The charts of a fleet report (<see cref="FleetDocument"/>), in the plan charts' colours for each binding constraint.</summary>
internal static partial class Charts
{
    /// <summary>The fleet's output tokens/s over the range as a step line, shaded where power, compute or both bound.</summary>
    public static string? FleetRate(FleetTimelineView view)
    {
        if (!Drawn(view.Rate) || !(view.HorizonSeconds > 0)) return null;
        var top = Top(view.Rate);
        var (scale, label) = TokenScale(top);
        var (plot, perUnit) = FleetPlot(view, label);
        ShadeBindings(plot, view.Shades, perUnit, binding => binding == "balanced" ? "compute and power bind (balanced)" : $"{binding} binds");
        StepLine(plot, view.Rate, perUnit, scale, Green, 2.4f);
        plot.ShowLegend(Edge.Bottom);
        plot.Axes.SetLimits(0, view.HorizonSeconds / perUnit, 0, (top > 0 ? top / scale : 1) * 1.1);
        return Svg(plot, "fleet-rate", Width, Height + 40);
    }

    /// <summary>The fleet's IT and facility power over the range as step lines, the facility budget as a horizontal line where there is one.</summary>
    public static string? FleetPower(FleetTimelineView view, double? budgetWatts)
    {
        if (!Drawn(view.ItWatts) && !Drawn(view.FacilityWatts) || !(view.HorizonSeconds > 0)) return null;
        var top = Math.Max(Math.Max(Top(view.ItWatts), Top(view.FacilityWatts)), budgetWatts ?? 0);
        var (scale, unit) = top switch
        {
            >= 1e9 => (1e9, "GW"),
            >= 1e6 => (1e6, "MW"),
            >= 1e3 => (1e3, "kW"),
            _ => (1.0, "W"),
        };
        var (plot, perUnit) = FleetPlot(view, $"power ({unit})");
        // Facility under IT and wider: with PUE 1 the two are the same line, and both stay visible.
        StepLine(plot, view.FacilityWatts, perUnit, scale, Vermillion, 3f);
        StepLine(plot, view.ItWatts, perUnit, scale, Blue, 1.6f);
        if (budgetWatts is { } b)
        {
            var budget = plot.Add.HorizontalLine(b / scale, 2, Grey);
            budget.LegendText = $"facility budget {ReportDocument.Number(b / scale)} {unit}";
        }
        plot.ShowLegend(Edge.Bottom);
        plot.Axes.SetLimits(0, view.HorizonSeconds / perUnit, 0, (top > 0 ? top / scale : 1) * 1.1);
        return Svg(plot, "fleet-power", Width, Height + 40);
    }

    /// <summary>
    /// The two arms of the binding rule over the range, in per cent: SM activity U and (with a budget) the power load,
    /// with the saturation threshold at which an arm can bind. U has gaps where no GPU reported it.
    /// </summary>
    public static string? FleetActivity(FleetTimelineView view, double saturation)
    {
        if (!Drawn(view.U) && (view.PowerLoad is null || !Drawn(view.PowerLoad)) || !(view.HorizonSeconds > 0)) return null;
        var (plot, perUnit) = FleetPlot(view, "load (%)");
        StepLine(plot, view.U, perUnit, 0.01, Blue, 1.8f);
        if (view.PowerLoad is { } load) StepLine(plot, load, perUnit, 0.01, Vermillion, 1.6f);
        var threshold = plot.Add.HorizontalLine(saturation * 100, 2, Grey);
        threshold.LegendText = $"saturation threshold {ReportDocument.Number(saturation * 100)} %: an arm at or above it can bind";
        plot.ShowLegend(Edge.Bottom);
        var top = Math.Max(1, Math.Max(Top(view.U), view.PowerLoad is { } l ? Top(l) : 0)) * 100;
        plot.Axes.SetLimits(0, view.HorizonSeconds / perUnit, 0, top * 1.1);
        return Svg(plot, "fleet-activity", Width, Height + 40);
    }

    /// <summary>Each group's share of the steps under each binding constraint as stacked horizontal bars, the fleet last.</summary>
    public static string? FleetBindings(IReadOnlyList<FleetGroup> groups)
    {
        var constraints = Enum.GetValues<FleetConstraint>();
        return StackedShares([.. groups.Select(g => (g.Name, constraints.Select(c => g.BindingShares.GetValueOrDefault(c)).ToArray()))],
            [.. constraints.Select(c => (FleetReport.Name(c), Binding(FleetReport.Name(c))))], "fleet-bindings");
    }

    /// <summary>A fleet time chart: time across in seconds, minutes, hours or days from the range's start, whichever keeps the figures short.</summary>
    private static (Plot Plot, double PerUnit) FleetPlot(FleetTimelineView view, string y)
    {
        var (unit, perUnit) = view.HorizonSeconds switch
        {
            >= 3 * 86_400 => ("days", 86_400.0),
            >= 3 * 3600 => ("hours", 3600.0),
            >= 3 * 60 => ("minutes", 60.0),
            _ => ("seconds", 1.0),
        };
        return (New($"time ({unit} from {FleetDocument.Time(view.Origin)})", y), perUnit);
    }

    private static bool Drawn(TimelineLine line) => line.Values.Any(double.IsFinite);

    private static double Top(TimelineLine line) => line.Values.Where(double.IsFinite).DefaultIfEmpty(0).Max();
}
