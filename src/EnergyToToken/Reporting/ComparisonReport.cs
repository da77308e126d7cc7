using static EnergyToToken.Reporting.ReportDocument;

namespace EnergyToToken.Reporting;

/// <summary>
/// <c>e2t compare</c>'s report: Markdown on stdout (plain tables that read as well in a terminal as rendered) and one
/// self-contained HTML page with charts, from the same blocks. Culture invariant: the same comparison gives the same
/// bytes on any machine.
/// </summary>
public static class ComparisonReport
{
    public static string Markdown(Comparison comparison) => Build(comparison).ToMarkdown();

    public static string Html(Comparison comparison) => Build(comparison).ToHtml();

    // Invariant: ScottPlot's tick labels follow the current culture.
    internal static ReportDocument Build(Comparison comparison) => Analysis.RunAnalysis.Invariant(() => BuildCore(comparison));

    private static ReportDocument BuildCore(Comparison comparison)
    {
        ArgumentNullException.ThrowIfNull(comparison);
        var c = comparison;
        var runs = c.Runs;
        var a = runs[0].Label;
        var blocks = new List<ReportBlock>
        {
            new ParagraphBlock($"{a} is the reference. Δ is the relative change (run − {a}) / {a}; \"better\" says which way a metric improves. "
                + "A change counts only if the operating point held (spec §5): quality within its tolerance, latency within s*, "
                + "no rise in error rate, the same workload and the same energy-accounting boundary. Then the runs compare directly, "
                + "and the change is a gain where ε (J/output token) fell or output rose."),
            new HeadingBlock(1, "Runs", "runs"),
            new TableBlock(["", .. runs.Select((r, i) => i == 0 ? $"{r.Label} (reference)" : r.Label)],
            [
                ["name", .. runs.Select(r => r.Name)],
                ["source", .. runs.Select(r => r.Source)],
                ["model", .. runs.Select(r => r.Model)],
                ["devices", .. runs.Select(r => r.Devices)],
                ["precision", .. runs.Select(r => r.Precision)],
                ["power limits", .. runs.Select(r => r.PowerLimits)],
                ["engine", .. runs.Select(r => r.Engine)],
                ["lengths", .. runs.Select(r => r.Lengths)],
                ["arrivals", .. runs.Select(r => r.Arrivals)],
                ["boundary", .. runs.Select(r => r.Boundary)],
                ["accounting", .. runs.Select(r => r.Accounting)],
                ["headline window", .. runs.Select(r => r.Window)],
                ["SLO", .. runs.Select(r => r.Slo ?? "none")],
                ["quality", .. runs.Select(r => r.Quality.Count == 0 ? "none" : string.Join("; ", r.Quality))],
                ["valid", .. runs.Select(r => !r.Complete ? "incomplete" : r.Valid ? "yes" : "no")],
                ["flags", .. runs.Select(r => r.Flags.Count == 0 ? "none" : string.Join("; ", r.Flags))],
            ]),
            new HeadingBlock(1, "Verdict", "verdict"),
            new TableBlock(["run", "counts?", "ε ratio (below 1: fewer J/token)", "output tokens/s ratio", "ceilings moved"],
                [.. c.Candidates.Select(k => (IReadOnlyList<string>)
                [
                    k.Label,
                    k.Counts ? "yes" : $"no: {k.Reasons.Count()} reason{(k.Reasons.Count() == 1 ? "" : "s")}",
                    Number(k.EpsilonRatio),
                    Number(k.ThroughputRatio),
                    k.Summary,
                ])],
                Emphasis: new HashSet<int>(c.Candidates.Select((k, i) => (k, i)).Where(x => !x.k.Counts).Select(x => x.i))),
            new HeadingBlock(1, "Metrics", "metrics"),
            new TableBlock(["metric", "unit", "better", a, .. runs.Skip(1).SelectMany(r => new[] { r.Label, $"Δ {r.Label}" })],
                [.. c.Metrics.Select(m => (IReadOnlyList<string>)
                [
                    m.Label,
                    m.Unit == "fraction" ? "%" : m.Unit,
                    m.Preference switch { MetricPreference.LowerIsBetter => "lower", MetricPreference.HigherIsBetter => "higher", _ => "" },
                    Cell(m, m.Cells[0]),
                    .. m.Cells.Skip(1).SelectMany(cell => new[] { Cell(m, cell), m.Unit.Length == 0 ? (cell.Text == m.Cells[0].Text ? "same" : "changed") : Percent(cell.RelativeDelta) }),
                ])]),
            new ChartBlock("chart-energy", "Energy per output token by run", Charts.Energy([.. runs.Select(r => r.Label)], Values(c, "grossJoulesPerOutputToken"), Values(c, "dynamicJoulesPerOutputToken")),
                "Gross and idle-subtracted (dynamic) J per output token over each run's headline window; lower is better only where the operating point held (the verdict above)."),
            new HeadingBlock(1, "Ceilings", "ceilings"),
            new ParagraphBlock($"Compute ceiling C / κ and power ceiling P_IT / ε, tokens/s, under each convention; a move of at most {Percent(c.OperatingPoint.SameWithin).TrimStart('+')} is unchanged."),
            new TableBlock(["run", "convention", "ceiling", a, "run", "change", "moved"],
                [.. c.Candidates.SelectMany(k => k.Ceilings.Select(m => (IReadOnlyList<string>)
                [
                    k.Label, m.Convention, m.Ceiling, Number(m.Reference), Number(m.Candidate), Percent(m.RelativeChange), m.Direction switch
                    {
                        CeilingDirection.Up => "up",
                        CeilingDirection.Down => "down",
                        CeilingDirection.Unchanged => "unchanged",
                        _ => "unknown",
                    },
                ]))]),
            new TableBlock(["run", "convention", $"binding in {a}", "binding in run", "changed"],
                [.. c.Candidates.SelectMany(k => k.BindingConstraints.Select(b => (IReadOnlyList<string>)
                [
                    k.Label, b.Convention, b.Reference, b.Candidate, b.Changed ? "yes" : b.Reference == b.Candidate ? "no" : "unknown",
                ]))]),
        };
        foreach (var convention in new[] { "realized", "peak" })
        {
            var groups = runs.Select((r, i) => ($"{r.Label}: {Binding(c, convention, i)}", Ceiling(c, convention, "compute", i), Ceiling(c, convention, "power", i), Binding(c, convention, i))).ToList();
            blocks.Add(new ChartBlock($"chart-ceilings-{convention}", $"The two ceilings of each run, {convention} convention", Charts.Ceilings(groups, null, $"ceilings-{convention}"),
                $"Compute ceiling C/κ and power ceiling P_IT/ε in tokens/s for each run under the {convention} convention; the binding one is drawn solid.", Half: true));
        }

        blocks.Add(new HeadingBlock(1, "Gain check", "gain-check"));
        foreach (var k in c.Candidates)
        {
            blocks.Add(new HeadingBlock(2, $"{k.Label} against {a}: {(k.Counts ? "counts: the operating point held" : "does not count: the operating point moved or the runs differ")}"));
            blocks.Add(new ListBlock([.. k.Checks.Select(check => $"{(check.Passed ? "✓" : "✗")} {check.Check}: {check.Detail}")]));
            if (k.Notes.Count > 0)
            {
                blocks.Add(new ParagraphBlock("Notes:"));
                blocks.Add(new ListBlock(k.Notes));
            }
        }

        var p = c.OperatingPoint;
        blocks.Add(new HeadingBlock(1, "Operating point held to", "operating-point"));
        blocks.Add(new ListBlock(
        [
            .. p.Quality.Count == 0 ? ["q*: no quality tolerance disclosed"] : p.Quality.Select(q => $"q*: {q.Name} may drop at most {Number(q.DropPoints)} ({q.Source})"),
            .. p.Latency.Count == 0 ? ["s*: no latency target disclosed"] : p.Latency.Select(t => $"s*: {t.Target} at most {Number(t.LimitMs)} ms ({t.Source})"),
            $"error rate: may rise by at most {Number(p.ErrorRateIncrease * 100)} %",
        ]));
        return new ReportDocument($"Comparison: {string.Join(", ", runs.Skip(1).Select(r => r.Label))} against {a}", blocks, "the HTML comparison (e2t compare --html, or comparison.html with --out)");
    }

    private static string Capital(string word) => char.ToUpperInvariant(word[0]) + word[1..];

    private static string Cell(MetricRow row, MetricCell cell) =>
        cell.Text ?? (row.Unit == "fraction" && cell.Value is { } f ? $"{Number(f * 100)} %" : Number(cell.Value));

    private static double?[] Values(Comparison c, string key) =>
        c.Metrics.FirstOrDefault(m => m.Key == key) is { } row ? [.. row.Cells.Select(x => x.Value)] : new double?[c.Runs.Count];

    private static double? Ceiling(Comparison c, string convention, string ceiling, int run) =>
        c.Metrics.FirstOrDefault(m => m.Key == $"{ceiling}Ceiling{Capital(convention)}") is { } row ? row.Cells[run].Value : null;

    private static string Binding(Comparison c, string convention, int run) =>
        c.Metrics.FirstOrDefault(m => m.Key == $"bindingConstraint{Capital(convention)}") is { } row ? row.Cells[run].Text ?? ResultReport.NotDisclosed : ResultReport.NotDisclosed;
}
