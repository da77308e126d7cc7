using System.Globalization;
using EnergyToToken.Analysis;
using EnergyToToken.Fleet;

namespace EnergyToToken.Reporting;

/// <summary>
/// The fleet evaluation as fleet.md and a self-contained fleet.html (docs/fleet.md), beside fleet.json: the headline,
/// the groups, the timeline's charts (reduced as <see cref="FleetTimelineView"/> says) and the binding shares.
/// </summary>
public static class FleetDocument
{
    public const string JsonFile = "fleet.json";
    public const string MarkdownFile = "fleet.md";
    public const string HtmlFile = "fleet.html";

    public static IReadOnlyList<(string File, string Text)> Render(FleetReport report)
    {
        var document = Build(report);
        return [(MarkdownFile, document.ToMarkdown()), (HtmlFile, document.ToHtml())];
    }

    /// <summary>The report's blocks, built under the invariant culture so that its bytes (and ScottPlot's tick labels) are the same on any machine.</summary>
    internal static ReportDocument Build(FleetReport report) => RunAnalysis.Invariant(() => BuildCore(report));

    private static ReportDocument BuildCore(FleetReport r)
    {
        var o = r.Options;
        var groups = r.Groups.Append(r.Fleet).ToList();
        var view = FleetTimelineView.Of(r);
        var steps = $"{ReportDocument.Count(view.Steps)} steps of {StepTimeline.Width(o.Step)} from {Time(r.From)}";
        List<ReportBlock> blocks =
        [
            new ParagraphBlock($"Prometheus {o.Prometheus}, from {Time(r.From)} to {Time(r.To)}, step {ReportDocument.Number(o.Step)} s; "
                + $"instances matched to GPUs on the label '{o.Match}', grouped by '{r.GroupLabel}'; PUE "
                + (o.PueQuery is { } q ? $"from '{q}'" : ReportDocument.Number(o.Pue)) + "; facility budget "
                + (o.FacilityBudgetWatts is { } b ? ReportDocument.Number(b, "W") : "none")
                + string.Concat(o.GroupBudgets.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"; {p.Key}'s own budget {ReportDocument.Number(p.Value, "W")}"))
                + $". Energy boundary: {o.Boundary}."),
            new CardBlock(
            [
                new CardItem("output tokens/s", ReportDocument.Number(r.Fleet.OutputTokensPerSecond), $"{ReportDocument.Count(r.Fleet.OutputTokens)} output tokens"),
                new CardItem("J per output token", ReportDocument.Number(r.Fleet.JoulesPerOutputToken), "gross: all energy inside the boundary"),
                new CardItem("dynamic J per output token", ReportDocument.Number(r.Fleet.DynamicJoulesPerOutputToken), r.Fleet.IdleWatts is { } idle ? $"idle {ReportDocument.Number(idle, "W")} taken out" : "no token-free steps to estimate idle"),
                new CardItem("binds most", FleetReport.Name(r.Fleet.MostlyBinding), $"{ReportDocument.Number(r.Fleet.BindingShares[r.Fleet.MostlyBinding] * 100)} % of the steps"),
            ]),
            new HeadingBlock(1, "Groups", "groups"),
            new TableBlock(
                ["group", "instances", "GPUs", "output tokens", "prompt tokens", "output tok/s", "energy (J)", "J/output token", "J/token", "dynamic J/output token", "U", "mean IT W", "peak IT W", "mean facility W", "budget W", "binds most"],
                [.. groups.Select(g => (IReadOnlyList<string>)
                [
                    g.Name, ReportDocument.Count(g.Instances.Count), ReportDocument.Count(g.Gpus), ReportDocument.Count(g.OutputTokens), ReportDocument.Count(g.PromptTokens),
                    ReportDocument.Number(g.OutputTokensPerSecond), ReportDocument.Number(g.EnergyJoules), ReportDocument.Number(g.JoulesPerOutputToken), ReportDocument.Number(g.JoulesPerToken),
                    ReportDocument.Number(g.DynamicJoulesPerOutputToken), double.IsNaN(g.MeanU) ? "—" : ReportDocument.Number(g.MeanU * 100) + " %",
                    ReportDocument.Number(g.MeanItWatts), ReportDocument.Number(g.PeakItWatts), ReportDocument.Number(g.MeanFacilityWatts), g.BudgetWatts is { } gb ? ReportDocument.Number(gb) : "—", FleetReport.Name(g.MostlyBinding),
                ])]),
            new HeadingBlock(1, "Over time", "timeline"),
            new ChartBlock("chart-rate", "Fleet output tokens/s and what bound it", Charts.FleetRate(view),
                $"All groups' generated tokens in each step ÷ the step, {steps}; shaded where the fleet's binding constraint was power (orange), compute (blue) or both within the tie tolerance (balanced, grey); unshaded where demand bound or there was no data. {view.LineReduction} {view.ShadeReduction}"),
            new ChartBlock("chart-power", "IT and facility power", Charts.FleetPower(view, r.Fleet.BudgetWatts),
                $"IT power (blue): all energy inside the boundary ({(o.NodeBoundary ? "nodes" : "GPUs")}) in each step ÷ the step, series matched to no instance included; facility power (vermillion): IT power × PUE, the same line where the PUE is 1; "
                + (r.Fleet.BudgetWatts is { } budget ? $"the fleet's facility budget {ReportDocument.Number(budget, "W")} as a grey line. " : "no facility budget was given, so none is drawn. ")
                + view.LineReduction),
            new ChartBlock("chart-activity", "The binding rule's two arms: SM activity and power load", Charts.FleetActivity(view, o.Saturation),
                $"SM activity U (blue, {o.Metrics.SmActive}), the mean of the GPUs that report it, gaps where none does"
                + (r.Fleet.BudgetWatts is not null ? "; the fleet's power load (vermillion): facility power ÷ the fleet's budget" : "; no facility budget, so no power load")
                + $"; the saturation threshold {ReportDocument.Number(o.Saturation * 100)} % (grey): below it on both arms demand binds, otherwise the higher arm does. {view.LineReduction}"),
            new HeadingBlock(1, "Share of time each constraint binds", "binding"),
            new ChartBlock("chart-bindings", "What bound each group, share of the steps", Charts.FleetBindings(groups),
                "Each group's share of the steps under each constraint of the binding rule, the fleet's last: demand (green), compute (blue), power (orange), balanced (grey), no data (light grey)."),
            new TableBlock(
                ["group", .. Enum.GetValues<FleetConstraint>().Select(FleetReport.Name)],
                [.. groups.Select(g => (IReadOnlyList<string>)[g.Name, .. Enum.GetValues<FleetConstraint>().Select(c => ReportDocument.Number(g.BindingShares[c] * 100) + " %")])],
                "Demand: neither U nor facility power over budget reaches the saturation threshold; otherwise the higher saturated load binds (docs/fleet.md)."),
        ];
        if (r.Warnings.Count > 0)
        {
            blocks.Add(new HeadingBlock(1, "Warnings", "warnings"));
            blocks.Add(new ListBlock(r.Warnings));
        }
        return new ReportDocument("e2t fleet report", blocks, HtmlFile);
    }

    /// <summary>Unix seconds as RFC 3339 UTC, to the second.</summary>
    internal static string Time(double unix) =>
        DateTimeOffset.FromUnixTimeMilliseconds((long)Math.Round(unix * 1000)).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
}
