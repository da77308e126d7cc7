using System.Globalization;
using EnergyToToken.Fleet;

namespace EnergyToToken.Reporting;

/// <summary>The fleet evaluation as fleet.md and a self-contained fleet.html (docs/fleet.md), beside fleet.json.</summary>
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

    private static ReportDocument Build(FleetReport r)
    {
        var o = r.Options;
        var groups = r.Groups.Append(r.Fleet).ToList();
        List<ReportBlock> blocks =
        [
            new ParagraphBlock($"Prometheus {o.Prometheus}, from {Time(r.From)} to {Time(r.To)}, step {ReportDocument.Number(o.Step)} s; "
                + $"instances matched to GPUs on the label '{o.Match}', grouped by '{r.GroupLabel}'; PUE "
                + (o.PueQuery is { } q ? $"from '{q}'" : ReportDocument.Number(o.Pue)) + "; facility budget "
                + (o.FacilityBudgetWatts is { } b ? ReportDocument.Number(b, "W") : "none") + "."),
            new CardBlock(
            [
                new CardItem("output tokens/s", ReportDocument.Number(r.Fleet.OutputTokensPerSecond), $"{ReportDocument.Count(r.Fleet.OutputTokens)} output tokens"),
                new CardItem("J per output token", ReportDocument.Number(r.Fleet.JoulesPerOutputToken), "gross: all GPU energy"),
                new CardItem("dynamic J per output token", ReportDocument.Number(r.Fleet.DynamicJoulesPerOutputToken), r.Fleet.IdleWatts is { } idle ? $"idle {ReportDocument.Number(idle, "W")} taken out" : "no token-free steps to estimate idle"),
                new CardItem("binds most", FleetReport.Name(r.Fleet.MostlyBinding), $"{ReportDocument.Number(r.Fleet.BindingShares[r.Fleet.MostlyBinding] * 100)} % of the steps"),
            ]),
            new HeadingBlock(1, "Groups", "groups"),
            new TableBlock(
                ["group", "instances", "GPUs", "output tokens", "prompt tokens", "output tok/s", "energy (J)", "J/output token", "J/token", "dynamic J/output token", "U", "mean IT W", "peak IT W", "mean facility W", "binds most"],
                [.. groups.Select(g => (IReadOnlyList<string>)
                [
                    g.Name, ReportDocument.Count(g.Instances.Count), ReportDocument.Count(g.Gpus), ReportDocument.Count(g.OutputTokens), ReportDocument.Count(g.PromptTokens),
                    ReportDocument.Number(g.OutputTokensPerSecond), ReportDocument.Number(g.EnergyJoules), ReportDocument.Number(g.JoulesPerOutputToken), ReportDocument.Number(g.JoulesPerToken),
                    ReportDocument.Number(g.DynamicJoulesPerOutputToken), double.IsNaN(g.MeanU) ? "—" : ReportDocument.Number(g.MeanU * 100) + " %",
                    ReportDocument.Number(g.MeanItWatts), ReportDocument.Number(g.PeakItWatts), ReportDocument.Number(g.MeanFacilityWatts), FleetReport.Name(g.MostlyBinding),
                ])]),
            new HeadingBlock(1, "Share of time each constraint binds", "binding"),
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

    private static string Time(double unix) =>
        DateTimeOffset.FromUnixTimeMilliseconds((long)Math.Round(unix * 1000)).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
}
