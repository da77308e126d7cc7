using System.Globalization;
using System.Text;

namespace EnergyToToken.Reporting;

/// <summary>
/// <c>e2t compare</c>'s default output: plain Markdown tables that read as well in a terminal as rendered. Culture
/// invariant: the same comparison gives the same bytes on any machine.
/// </summary>
public static class ComparisonMarkdown
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static string Write(Comparison comparison)
    {
        ArgumentNullException.ThrowIfNull(comparison);
        var c = comparison;
        var runs = c.Runs;
        var a = runs[0].Label;
        var md = new StringBuilder();
        void Line(string text = "") => md.Append(text).Append('\n');

        Line($"# Comparison: {string.Join(", ", runs.Skip(1).Select(r => r.Label))} against {a}");
        Line();
        Line($"{a} is the reference. Δ is the relative change (run − {a}) / {a}; \"better\" says which way a metric improves. "
            + "A change counts only if the operating point held (spec §5): quality within its tolerance, latency within s*, "
            + "no rise in error rate, the same workload and the same energy-accounting boundary. Then the runs compare directly, "
            + "and the change is a gain where ε (J/output token) fell or output rose.");
        Line();

        Line("## Runs");
        Line();
        Table(md, ["", .. runs.Select((r, i) => i == 0 ? $"{r.Label} (reference)" : r.Label)],
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
        ]);
        Line();

        Line("## Verdict");
        Line();
        Table(md, ["run", "counts?", "ε ratio (below 1: fewer J/token)", "output tokens/s ratio", "ceilings moved"],
            [.. c.Candidates.Select(k => new[]
            {
                k.Label,
                k.Counts ? "yes" : $"no: {k.Reasons.Count()} reason{(k.Reasons.Count() == 1 ? "" : "s")}",
                Number(k.EpsilonRatio),
                Number(k.ThroughputRatio),
                k.Summary,
            })]);
        Line();

        Line("## Metrics");
        Line();
        Table(md, ["metric", "unit", "better", a, .. runs.Skip(1).SelectMany(r => new[] { r.Label, $"Δ {r.Label}" })],
            [.. c.Metrics.Select(m => new[]
            {
                m.Label,
                m.Unit == "fraction" ? "%" : m.Unit,
                m.Preference switch { MetricPreference.LowerIsBetter => "lower", MetricPreference.HigherIsBetter => "higher", _ => "" },
                Cell(m, m.Cells[0]),
            }.Concat(m.Cells.Skip(1).SelectMany(cell => new[] { Cell(m, cell), m.Unit.Length == 0 ? Changed(m.Cells[0], cell) : Delta(cell.RelativeDelta) })).ToArray())]);
        Line();

        Line("## Ceilings");
        Line();
        Line($"Compute ceiling C / κ and power ceiling P_IT / ε, tokens/s, under each convention; a move of at most {Delta(c.OperatingPoint.SameWithin).TrimStart('+')} is unchanged.");
        Line();
        Table(md, ["run", "convention", "ceiling", a, "run", "change", "moved"],
            [.. c.Candidates.SelectMany(k => k.Ceilings.Select(m => new[]
            {
                k.Label, m.Convention, m.Ceiling, Number(m.Reference), Number(m.Candidate), Delta(m.RelativeChange), Direction(m.Direction),
            }))]);
        Line();
        Table(md, ["run", "convention", $"binding in {a}", "binding in run", "changed"],
            [.. c.Candidates.SelectMany(k => k.BindingConstraints.Select(b => new[]
            {
                k.Label, b.Convention, b.Reference, b.Candidate, b.Changed ? "yes" : b.Reference == b.Candidate ? "no" : "unknown",
            }))]);
        Line();

        Line("## Gain check");
        foreach (var k in c.Candidates)
        {
            Line();
            Line($"### {k.Label} against {a}: {(k.Counts ? "counts: the operating point held" : "does not count: the operating point moved or the runs differ")}");
            Line();
            foreach (var check in k.Checks) Line($"- {(check.Passed ? "✓" : "✗")} {check.Check}: {check.Detail}");
            if (k.Notes.Count > 0)
            {
                Line();
                Line("Notes:");
                Line();
                foreach (var note in k.Notes) Line($"- {note}");
            }
        }
        Line();

        var p = c.OperatingPoint;
        Line("## Operating point held to");
        Line();
        if (p.Quality.Count == 0) Line("- q*: no quality tolerance disclosed");
        foreach (var q in p.Quality) Line($"- q*: {q.Name} may drop at most {Number(q.DropPoints)} ({q.Source})");
        if (p.Latency.Count == 0) Line("- s*: no latency target disclosed");
        foreach (var t in p.Latency) Line($"- s*: {t.Target} at most {Number(t.LimitMs)} ms ({t.Source})");
        Line($"- error rate: may rise by at most {Percent(p.ErrorRateIncrease)}");
        return md.ToString();
    }

    private static void Table(StringBuilder md, IReadOnlyList<string> header, IReadOnlyList<IReadOnlyList<string>> rows)
    {
        md.Append("| ").AppendJoin(" | ", header.Select(Escape)).Append(" |\n");
        md.Append('|').AppendJoin('|', header.Select(_ => "---")).Append("|\n");
        foreach (var row in rows) md.Append("| ").AppendJoin(" | ", row.Select(Escape)).Append(" |\n");
    }

    private static string Escape(string text) => text.Replace("|", "\\|", StringComparison.Ordinal);

    private static string Cell(MetricRow row, MetricCell cell) =>
        cell.Text ?? (row.Unit == "fraction" && cell.Value is { } f ? Percent(f) : Number(cell.Value));

    private static string Changed(MetricCell reference, MetricCell cell) =>
        cell.Text == reference.Text ? "same" : "changed";

    /// <summary>
    /// Numbers at a comparable precision across a row: four significant digits below 1,000, whole numbers with grouped
    /// digits up to 10⁷, scientific beyond and below 0.001; "—" for a value a run does not report.
    /// </summary>
    private static string Number(double? value)
    {
        if (value is not { } v) return "—";
        if (!double.IsFinite(v)) return "n/a";
        var magnitude = Math.Abs(v);
        if (magnitude != 0 && (magnitude >= 1e7 || magnitude < 1e-3)) return v.ToString("0.###e+0", Invariant);
        return magnitude >= 1000 ? v.ToString("#,0", Invariant) : v.ToString("G4", Invariant);
    }

    private static string Percent(double fraction) => (fraction * 100).ToString("0.##", Invariant) + " %";

    /// <summary>A relative change as a signed percentage with one decimal, the minus sign typeset as in GainCheck.</summary>
    private static string Delta(double? fraction) => fraction switch
    {
        null => "—",
        { } f when !double.IsFinite(f) => "n/a",
        0 => "0.0 %",
        { } f => (f < 0 ? "−" : "+") + Math.Abs(f * 100).ToString("0.0", Invariant) + " %",
    };

    private static string Direction(CeilingDirection direction) => direction switch
    {
        CeilingDirection.Up => "up",
        CeilingDirection.Down => "down",
        CeilingDirection.Unchanged => "unchanged",
        _ => "unknown",
    };
}
