using System.Text.Json;
using EnergyToToken.Analysis;
using static EnergyToToken.Reporting.ReportDocument;
using static EnergyToToken.Reporting.RunReport;
using static EnergyToToken.Reporting.ResultJson;

namespace EnergyToToken.Reporting;

/// <summary>
/// The report of a sweep or SLO search (top-level <c>result.json</c> of kind <c>e2t.bench.series</c>): J per output
/// token against load with the SLO boundary and the energy-optimal point that met the SLO, and a row per point linking
/// to its own report.
/// </summary>
public static class SeriesReport
{
    /// <summary>report.md and report.html of a series directory, from its result.json text (points' results read for the SLO).</summary>
    public static IReadOnlyList<(string File, string Text)> Render(string directory, string seriesJson)
    {
        using var series = JsonDocument.Parse(seriesJson);
        var document = Build(series.RootElement, SloOf(directory, series.RootElement));
        return [(MarkdownFile, document.ToMarkdown()), (HtmlFile, document.ToHtml())];
    }

    /// <summary>The SLO the points ran under, from the first point's result.json; null when none was given or it cannot be read.</summary>
    private static string? SloOf(string directory, JsonElement series)
    {
        var first = At(series, "points") is { ValueKind: JsonValueKind.Array } points ? points.EnumerateArray().Select(p => Text(p, "directory")).FirstOrDefault() : null;
        var path = first is null ? null : Path.Combine(directory, first, Runs.RunDirectory.Result);
        if (path is null || !File.Exists(path)) return null;
        try
        {
            using var result = JsonDocument.Parse(File.ReadAllBytes(path));
            return Text(result.RootElement, "slo.spec");
        }
        catch (Exception e) when (e is IOException or JsonException)
        {
            return null;
        }
    }

    internal sealed record Point(double Load, string Directory, bool Valid, bool SloMet, double? Joules, double? Rate, double? Goodput, double? TtftP99, double? TpotP99, double? ErrorRate);

    internal static ReportDocument Build(JsonElement s, string? slo) => RunAnalysis.Invariant(() =>
    {
        var parameter = Text(s, "parameter") ?? "load";
        var points = At(s, "points") is { ValueKind: JsonValueKind.Array } array
            ? array.EnumerateArray().Select(p => new Point(Double(p, "value") ?? double.NaN, Text(p, "directory") ?? "", Bool(p, "valid") == true, Bool(p, "sloMet") == true,
                Double(p, "joulesPerOutputToken"), Double(p, "outputTokensPerSecond"), Double(p, "goodputRequestsPerSecond"), Double(p, "ttftP99Ms"), Double(p, "tpotP99Ms"), Double(p, "errorRate"))).OrderBy(p => p.Load).ToList()
            : [];
        // A point's sloMet is true when it ran under no SLO, so this holds whether or not the SLO could be read.
        static bool Meets(Point p) => p.Valid && p.SloMet;
        var optimal = points.Where(p => Meets(p) && p.Joules is not null).MinBy(p => p.Joules);
        var lastPass = points.LastOrDefault(Meets);
        var firstFailAbove = lastPass is null ? points.FirstOrDefault() : points.FirstOrDefault(p => p.Load > lastPass.Load && !Meets(p));
        double? boundary = slo is null || firstFailAbove is null ? null : lastPass is null ? firstFailAbove.Load : (lastPass.Load + firstFailAbove.Load) / 2;

        var blocks = new List<ReportBlock>
        {
            new ParagraphBlock($"A {(At(s, "saturation").HasValue || slo is not null ? "series" : "sweep")} over {parameter}: {points.Count} points, {(Bool(s, "complete") == true ? "complete" : "INCOMPLETE: cut short, the points measured are kept")}. SLO: {slo ?? "none given (every valid point counts as meeting it)"}. e2t {Text(s, "toolVersion")}."),
            new HeadingBlock(1, "Energy against load", "energy-against-load"),
            new CardBlock(
            [
                new("Energy-optimal point within the SLO", optimal is null ? "none" : $"{parameter} {Number(optimal.Load)}", optimal is null ? "no valid point met the SLO" : $"{Number(optimal.Joules, "J")} per output token (headline window), {Number(optimal.Rate, "tok/s")} over the whole run"),
                new("SLO boundary", boundary is null ? "not reached" : $"{parameter} ≈ {Number(boundary)}", lastPass is null ? "no point met the SLO" : firstFailAbove is null ? $"the highest load measured, {Number(lastPass.Load)}, met it" : $"met at {Number(lastPass.Load)}, missed at {Number(firstFailAbove.Load)}"),
                new("Saturation R_sat", Number(Double(s, "saturation.outputTokensPerSecond"), "tok/s"), At(s, "saturation").HasValue ? $"{Text(s, "saturation.parameter")} {Number(Double(s, "saturation.value"))}, the highest load that met the SLO" : "needs an SLO (bench --slo)"),
            ]),
            new ChartBlock("chart-series", "J per output token against load",
                Charts.Series(parameter, [.. points.Select(p => (p.Load, p.Joules, Meets(p)))], boundary, optimal is null ? null : (optimal.Load, optimal.Joules!.Value)),
                "Filled: points that met the SLO and were valid; hollow: points that did not. Red line: the SLO boundary (midway between the highest load that met it and the next that did not). Ringed: the lowest energy per token that met the SLO."),
            new HeadingBlock(1, "Points", "points"),
            new TableBlock([parameter, "J/output token (gross, headline window)", "output tok/s (whole run)", "goodput (req/s)", "TTFT p99 (ms)", "TPOT p99 (ms)", "error rate", "SLO", "valid", "report"],
                [.. points.Select(p => (IReadOnlyList<string>)[Number(p.Load), Number(p.Joules), Number(p.Rate), Number(p.Goodput), Number(p.TtftP99), Number(p.TpotP99), Number(p.ErrorRate),
                    slo is null ? "—" : p.SloMet ? "met" : "missed", p.Valid ? "valid" : "INVALID", $"{p.Directory.Replace('\\', '/')}/{HtmlFile}"])],
                Emphasis: optimal is null ? null : new HashSet<int>([points.IndexOf(optimal)]), LinkColumn: 9),
        };
        return new ReportDocument($"e2t series report: {Text(s, "name") ?? "series"}", blocks);
    });
}
