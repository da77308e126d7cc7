using System.Globalization;
using System.Text.Json;
using EnergyToToken.Reporting;

namespace EnergyToToken.Tests.Reporting;

/// <summary>report.md of a committed run result and series result, against golden files, in two cultures.</summary>
public sealed class ReportGoldenTests
{
    private static JsonElement Fixture(string name)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "reports", name)));
        return document.RootElement.Clone();
    }

    [Theory]
    [InlineData("")]
    [InlineData("de-DE")]
    public void Run_report_markdown_matches_its_golden(string culture) =>
        Golden.Match(Cultures.In(culture, () => RunReport.Build(Fixture("run-result.json"), null).ToMarkdown()), "report-run.md");

    [Theory]
    [InlineData("")]
    [InlineData("de-DE")]
    public void Series_report_markdown_matches_its_golden(string culture) =>
        Golden.Match(Cultures.In(culture, () => SeriesReport.Build(Fixture("series-result.json"), "ttft-p99=2000ms,tpot-p99=15ms").ToMarkdown()), "report-series.md");

    [Fact]
    public void The_html_escapes_what_it_is_given()
    {
        var html = new ReportDocument("<b>&", [new ParagraphBlock("a < b & \"c\""), new TableBlock(["<th>"], [["<td>"]])]).ToHtml();
        Assert.Contains("<title>&lt;b&gt;&amp;</title>", html, StringComparison.Ordinal);
        Assert.Contains("a &lt; b &amp; &quot;c&quot;", html, StringComparison.Ordinal);
        Assert.Contains("<th>&lt;th&gt;</th>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<td><td>", html, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("points/00-concurrency-2/report.html", "points/00-concurrency-2/report.html")]
    [InlineData("points/a b#c/report.html", "points/a%20b%23c/report.html")]
    [InlineData("javascript:alert(1)", null)]
    [InlineData("/etc/passwd", null)]
    [InlineData("../../elsewhere/report.html", null)]
    [InlineData("points//report.html", null)]
    public void Only_paths_below_the_page_become_links(string path, string? href) => Assert.Equal(href, ReportDocument.Href(path));

    [Fact]
    public void Report_help_matches_its_golden()
    {
        var (code, output, _) = Cli.ModelCommandTests.Run(["report", "--help"]);
        Assert.Equal(0, code);
        Golden.Match(output, "report-help.txt");
    }

    [Theory]
    [InlineData(0.15043, "0.1504")]
    [InlineData(3563.2, "3,563")]
    [InlineData(700, "700")]
    [InlineData(12.345, "12.35")]
    [InlineData(9.894e14, "9.894e+14")]
    [InlineData(7.075e-13, "7.075e-13")]
    [InlineData(0, "0")]
    [InlineData(double.NaN, "—")]
    public void Numbers_read_the_same_everywhere(double value, string expected) => Assert.Equal(expected, Cultures.In("de-DE", () => ReportDocument.Number(value)));

}

public sealed class CompareSchemaTests
{
    [Fact]
    public void The_compare_golden_and_a_fresh_comparison_match_the_schema()
    {
        var golden = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "Golden", "compare.json"));
        Schemas.AssertValid(File.ReadAllText(golden), "e2t.compare.v1.schema.json");
        var (code, output, error) = Cli.ModelCommandTests.Run(["compare", ComparisonTests.Fixture("h100-c16"), ComparisonTests.Fixture("h100-c8"), "--json"]);
        Assert.True(code == 0, error);
        Schemas.AssertValid(output, "e2t.compare.v1.schema.json");
    }
}
