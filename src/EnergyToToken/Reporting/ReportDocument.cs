using System.Globalization;
using System.Net;
using System.Text;

namespace EnergyToToken.Reporting;

/// <summary>One part of a report; a document is a list of them, rendered to Markdown and to HTML by the same code.</summary>
internal abstract record ReportBlock;

internal sealed record HeadingBlock(int Level, string Text, string? Id = null) : ReportBlock;

internal sealed record ParagraphBlock(string Text) : ReportBlock;

/// <summary>
/// A table; <paramref name="Emphasis"/> marks rows to stand out (the binding ceiling, a failed check); the cells of
/// <paramref name="LinkColumn"/> are relative paths, links in HTML.
/// </summary>
internal sealed record TableBlock(IReadOnlyList<string> Header, IReadOnlyList<IReadOnlyList<string>> Rows, string? Caption = null, IReadOnlySet<int>? Emphasis = null, int? LinkColumn = null) : ReportBlock;

/// <summary>The headline card: the figures a reader looks at first, each with a line saying what it is.</summary>
internal sealed record CardBlock(IReadOnlyList<CardItem> Items) : ReportBlock;

internal sealed record CardItem(string Label, string Value, string Note);

/// <summary>A bulleted list.</summary>
internal sealed record ListBlock(IReadOnlyList<string> Items) : ReportBlock;

/// <summary>The run's flags (simulated, incomplete, …): badges in HTML, one line in Markdown.</summary>
internal sealed record FlagsBlock(IReadOnlyList<string> Flags) : ReportBlock;

/// <summary>A chart as inline SVG; null when the run has nothing to draw. <paramref name="Half"/>: half the page's width, two to a row.</summary>
internal sealed record ChartBlock(string Id, string Title, string? Svg, string Caption, bool Half = false) : ReportBlock;

/// <summary>
/// A report as blocks, and its two renderings: Markdown (report.md, text only: charts are named with the file they are
/// in) and one self-contained HTML page (report.html: inline CSS and SVG, no script, no network), which prints as it
/// reads. Every text is escaped here, so builders pass plain text.
/// </summary>
/// <param name="HtmlName">Where the Markdown tells a reader the charts are.</param>
internal sealed record ReportDocument(string Title, IReadOnlyList<ReportBlock> Blocks, string HtmlName = "report.html")
{
    public string ToMarkdown()
    {
        var md = new StringBuilder();
        md.Append("# ").Append(Title).Append("\n\n");
        foreach (var block in Blocks)
        {
            switch (block)
            {
                case HeadingBlock h:
                    md.Append('#', h.Level + 1).Append(' ').Append(h.Text).Append("\n\n");
                    break;
                case ParagraphBlock p:
                    md.Append(p.Text).Append("\n\n");
                    break;
                case TableBlock t:
                    if (t.Caption is { } caption) md.Append(caption).Append("\n\n");
                    MarkdownTable(md, t.Header, t.Rows, t.Emphasis);
                    break;
                case ListBlock l:
                    foreach (var item in l.Items) md.Append("- ").Append(item).Append('\n');
                    md.Append('\n');
                    break;
                case CardBlock c:
                    MarkdownTable(md, ["headline", "value", "what it is"], [.. c.Items.Select(i => (IReadOnlyList<string>)[i.Label, i.Value, i.Note])], null);
                    break;
                case FlagsBlock f:
                    md.Append("Flags: ").Append(f.Flags.Count == 0 ? "none" : string.Join(", ", f.Flags.Select(x => $"`{x}`"))).Append("\n\n");
                    break;
                case ChartBlock chart:
                    md.Append("Chart in ").Append(HtmlName).Append(": ").Append(chart.Title).Append(". ").Append(chart.Caption).Append("\n\n");
                    break;
            }
        }
        return md.ToString().TrimEnd('\n') + "\n";
    }

    private static void MarkdownTable(StringBuilder md, IReadOnlyList<string> header, IReadOnlyList<IReadOnlyList<string>> rows, IReadOnlySet<int>? emphasis)
    {
        static string Cell(string text) => text.Replace("|", "\\|", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal);
        md.Append("| ").AppendJoin(" | ", header.Select(Cell)).Append(" |\n");
        md.Append('|').AppendJoin("|", header.Select(_ => "---")).Append("|\n");
        for (var r = 0; r < rows.Count; r++)
        {
            var strong = emphasis?.Contains(r) == true;
            md.Append("| ").AppendJoin(" | ", rows[r].Select(c => strong && c.Length > 0 ? $"**{Cell(c)}**" : Cell(c))).Append(" |\n");
        }
        md.Append('\n');
    }

    public string ToHtml()
    {
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
            // Nothing to fetch, nothing to run: the browser enforces what the page promises.
            .Append("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n")
            .Append("<title>").Append(E(Title)).Append("</title>\n<style>").Append(Style).Append("</style>\n</head>\n<body>\n<main>\n")
            .Append("<h1>").Append(E(Title)).Append("</h1>\n");
        foreach (var block in Blocks)
        {
            switch (block)
            {
                case HeadingBlock h:
                    var tag = $"h{Math.Clamp(h.Level + 1, 2, 6)}";
                    html.Append('<').Append(tag).Append(h.Id is null ? "" : $" id=\"{E(h.Id)}\"").Append('>').Append(E(h.Text)).Append("</").Append(tag).Append(">\n");
                    break;
                case ParagraphBlock p:
                    html.Append("<p>").Append(E(p.Text)).Append("</p>\n");
                    break;
                case TableBlock t:
                    html.Append("<div class=\"table\"><table>\n");
                    if (t.Caption is { } caption) html.Append("<caption>").Append(E(caption)).Append("</caption>\n");
                    html.Append("<thead><tr>").AppendJoin("", t.Header.Select(x => $"<th>{E(x)}</th>")).Append("</tr></thead>\n<tbody>\n");
                    for (var r = 0; r < t.Rows.Count; r++)
                    {
                        html.Append(t.Emphasis?.Contains(r) == true ? "<tr class=\"emphasis\">" : "<tr>")
                            .AppendJoin("", t.Rows[r].Select((x, c) => c == t.LinkColumn && Href(x) is { } href ? $"<td><a href=\"{E(href)}\">{E(x)}</a></td>" : $"<td>{E(x)}</td>")).Append("</tr>\n");
                    }
                    html.Append("</tbody>\n</table></div>\n");
                    break;
                case ListBlock l:
                    html.Append("<ul>\n").AppendJoin("", l.Items.Select(i => $"<li>{E(i)}</li>\n")).Append("</ul>\n");
                    break;
                case CardBlock c:
                    html.Append("<section class=\"card\">\n");
                    foreach (var i in c.Items)
                        html.Append("<div class=\"tile\"><div class=\"label\">").Append(E(i.Label)).Append("</div><div class=\"value\">").Append(E(i.Value))
                            .Append("</div><div class=\"note\">").Append(E(i.Note)).Append("</div></div>\n");
                    html.Append("</section>\n");
                    break;
                case FlagsBlock f:
                    html.Append("<p class=\"flags\">Flags: ");
                    if (f.Flags.Count == 0) html.Append("none");
                    foreach (var flag in f.Flags) html.Append("<span class=\"flag\">").Append(E(flag)).Append("</span> ");
                    html.Append("</p>\n");
                    break;
                case ChartBlock chart:
                    html.Append(chart.Half ? "<figure class=\"chart half\" id=\"" : "<figure class=\"chart\" id=\"").Append(E(chart.Id)).Append("\">\n<figcaption><strong>").Append(E(chart.Title)).Append(".</strong> ")
                        .Append(E(chart.Caption)).Append("</figcaption>\n");
                    html.Append(chart.Svg ?? "<p class=\"empty\">Nothing to draw for this run.</p>").Append("\n</figure>\n");
                    break;
            }
        }
        html.Append("</main>\n</body>\n</html>\n");
        return html.ToString();
    }

    private static string E(string text) => WebUtility.HtmlEncode(text);

    /// <summary>
    /// A link to a file below the page (a point's report), each segment percent-encoded; null for anything else (a
    /// scheme, an absolute path, "..": a result copied from elsewhere must not make the page point out of its directory).
    /// </summary>
    internal static string? Href(string path)
    {
        var segments = path.Replace('\\', '/').Split('/');
        if (path.Length == 0 || path.Contains(':', StringComparison.Ordinal) || path.StartsWith('/') || segments.Any(x => x is "" or "." or "..")) return null;
        return string.Join('/', segments.Select(Uri.EscapeDataString));
    }

    // System fonts only (no web font to fetch); figures never split across printed pages.
    private const string Style = """

        :root { color-scheme: light; --ink: #1b1f24; --muted: #57606a; --line: #d0d7de; --accent: #0b5cad; --warn: #9a3412; }
        body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: var(--ink); background: #fff; }
        main { max-width: 1100px; margin: 0 auto; padding: 24px; }
        h1 { font-size: 1.6em; margin: 0 0 8px; }
        h2 { font-size: 1.25em; margin: 28px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
        h3 { font-size: 1.05em; margin: 20px 0 6px; }
        p { margin: 6px 0 10px; }
        table { border-collapse: collapse; margin: 8px 0 16px; width: 100%; font-size: 0.92em; }
        div.table { overflow-x: auto; }
        caption { text-align: left; font-weight: 600; padding: 4px 0; }
        th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; overflow-wrap: break-word; }
        th { background: #f6f8fa; }
        tr.emphasis td { font-weight: 600; background: #fff4e5; }
        .card { display: grid; grid-template-columns: repeat(auto-fill, minmax(240px, 1fr)); gap: 10px; margin: 12px 0 16px; }
        .tile { border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; }
        .tile .label { color: var(--muted); font-size: 0.85em; }
        .tile .value { font-size: 1.35em; font-weight: 650; margin: 2px 0; }
        .tile .note { color: var(--muted); font-size: 0.8em; }
        .flags .flag { display: inline-block; border: 1px solid var(--warn); color: var(--warn); border-radius: 10px; padding: 0 8px; margin: 0 2px; font-size: 0.85em; }
        figure.chart { margin: 12px 0 20px; break-inside: avoid; page-break-inside: avoid; }
        figure.chart svg { width: 100%; height: auto; display: block; }
        figure.chart.half { display: inline-block; width: calc(50% - 10px); margin-right: 6px; vertical-align: top; }
        figcaption { font-size: 0.9em; color: var(--muted); margin-bottom: 4px; }
        .empty { color: var(--muted); font-style: italic; }
        @media print {
          body { font-size: 10.5pt; }
          main { max-width: none; padding: 0; }
          h2 { break-after: avoid; page-break-after: avoid; }
          table, .card { break-inside: avoid; page-break-inside: avoid; }
        }

        """;

    /// <summary>A number for a reader: four significant digits, thousands grouped, scientific beyond 1e9 and below 1e-3; "—" when unknown.</summary>
    public static string Number(double? value, int significant = 4)
    {
        if (value is not { } x || !double.IsFinite(x)) return "—";
        if (x == 0) return "0";
        var magnitude = (int)Math.Floor(Math.Log10(Math.Abs(x)));
        if (magnitude >= 9 || magnitude < -3) return x.ToString($"0.{new string('#', significant - 1)}e+0", CultureInfo.InvariantCulture);
        var decimals = Math.Max(0, significant - 1 - magnitude);
        return x.ToString(decimals == 0 ? "#,0" : "#,0." + new string('#', decimals), CultureInfo.InvariantCulture);
    }

    /// <summary>A count, thousands grouped, or "—".</summary>
    public static string Count(double? value) => value is { } x && double.IsFinite(x) ? x.ToString("N0", CultureInfo.InvariantCulture) : "—";

    /// <summary>A value with its unit, or "—".</summary>
    public static string Number(double? value, string unit, int significant = 4) =>
        value is { } x && double.IsFinite(x) ? $"{Number(x, significant)} {unit}" : "—";

    /// <summary>A signed relative change in per cent, or "—".</summary>
    public static string Percent(double? fraction) =>
        fraction switch
        {
            { } f when !double.IsFinite(f) => "—",
            0 => "0.0 %",
            { } f => (f > 0 ? "+" : "−") + Math.Abs(f * 100).ToString("0.0", CultureInfo.InvariantCulture) + " %",
            null => "—",
        };
}
