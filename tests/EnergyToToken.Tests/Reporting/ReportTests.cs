using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using EnergyToToken.Analysis;
using EnergyToToken.Reporting;
using EnergyToToken.Tests.Cli;

namespace EnergyToToken.Tests.Reporting;

/// <summary>A real sweep of the twin under an SLO with a PUE: two points, each with its report, and the series' report.</summary>
public sealed class TwinSweepFixture : IDisposable
{
    public TwinSweepFixture()
    {
        Root = Directory.CreateTempSubdirectory("e2t-report-").FullName;
        Sweep = Path.Combine(Root, "sweep");
        var (code, _, error) = ModelCommandTests.Run(["bench", "--idle", "1s", "--settle", "200ms", "--input", "fixed:256", "--output", "fixed:64",
            "--duration", "3s", "--sweep", "concurrency=2,16", "--slo", "ttft-p99=2s,tpot-p99=15ms", "--pue", "1.3", "--out", Sweep]);
        Assert.True(code == 0, error);
        Points = [.. Directory.GetDirectories(Path.Combine(Sweep, "points")).Order(StringComparer.Ordinal)];
    }

    public string Root { get; }

    public string Sweep { get; }

    public IReadOnlyList<string> Points { get; }

    public void Dispose() => Directory.Delete(Root, recursive: true);
}

/// <summary>
/// One sweep for every test of the reports, run after the parallel tests and alone: a sweep and three browsers are the
/// heaviest load of the suite, and beside them the tests that time a meter's polls or a stream's gaps would measure the load.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ReportRuns : ICollectionFixture<TwinSweepFixture>
{
    public const string Name = "Reports over one sweep";
}

[Collection(ReportRuns.Name)]
public sealed class ReportTests(TwinSweepFixture fixture)
{
    private static readonly string[] RunCharts = ["chart-ceilings", "chart-crossover", "chart-power", "chart-throughput", "chart-cdf-ttft", "chart-cdf-tpot", "chart-cdf-e2e"];

    [Fact]
    public void Every_run_and_the_series_write_both_reports()
    {
        foreach (var directory in fixture.Points.Append(fixture.Sweep))
        {
            Assert.True(File.Exists(Path.Combine(directory, RunReport.MarkdownFile)), directory);
            Assert.True(File.Exists(Path.Combine(directory, RunReport.HtmlFile)), directory);
        }
        var md = File.ReadAllText(Path.Combine(fixture.Points[1], RunReport.MarkdownFile));
        // The headline card and the disclosure, whatever the numbers.
        foreach (var expected in new[] { "## Headline", "J per output token (gross)", "Prefill J per input token", "Decode J per output token", "Binding constraint",
            "PUE-adjusted facility power", "Utilization-adjusted output", "Quality at the operating point", "Latency at the operating point", "SIMULATED",
            "1. Operating point", "2. Workload", "3. Model and software", "4. Hardware and energy-accounting boundary", "5. Ceilings and binding constraint", "6. Utilization and output",
            "| weights hash | not disclosed |", "## Metrics and their formulas", "U × min(C / κ, P_IT / ε)" })
            Assert.Contains(expected, md, StringComparison.Ordinal);
        var series = File.ReadAllText(Path.Combine(fixture.Sweep, RunReport.MarkdownFile));
        Assert.Contains("Energy-optimal point within the SLO", series, StringComparison.Ordinal);
        Assert.Contains("points/00-concurrency-2/report.html", series, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_run_report_opens_offline_in_headless_chromium_with_every_chart()
    {
        var page = await OpenAsync(Path.Combine(fixture.Points[1], RunReport.HtmlFile), "report-run");
        Assert.Equal(RunCharts, page.Charts.Select(c => c.Id));
        foreach (var (id, svg, width, height) in page.Charts)
        {
            Assert.True(svg, $"{id} has no SVG");
            Assert.True(width > 300 && height > 150, $"{id} renders at {width} × {height} px");
        }
    }

    [Fact]
    public async Task The_series_report_opens_offline_with_its_chart()
    {
        var page = await OpenAsync(Path.Combine(fixture.Sweep, RunReport.HtmlFile), "report-series");
        var chart = Assert.Single(page.Charts);
        Assert.Equal("chart-series", chart.Id);
        Assert.True(chart.Svg && chart.Width > 300, $"{chart.Width}");
    }

    [Fact]
    public async Task The_comparison_opens_offline_with_its_charts()
    {
        var out_ = Path.Combine(fixture.Root, "comparison");
        var (code, _, error) = ModelCommandTests.Run(["compare", ComparisonTests.Fixture("h100-c16"), ComparisonTests.Fixture("h100-300w-c16"), ComparisonTests.Fixture("drifted"), "--out", out_]);
        Assert.True(code == 0, error);
        var page = await OpenAsync(Path.Combine(out_, "comparison.html"), "comparison");
        Assert.Equal(["chart-energy", "chart-ceilings-realized", "chart-ceilings-peak"], page.Charts.Select(c => c.Id));
        Assert.All(page.Charts, c => Assert.True(c.Svg && c.Width > 200, $"{c.Id}: {c.Width}"));
        var (htmlCode, stdout, _) = ModelCommandTests.Run(["compare", ComparisonTests.Fixture("h100-c16"), ComparisonTests.Fixture("h100-300w-c16"), ComparisonTests.Fixture("drifted"), "--html"]);
        Assert.Equal(0, htmlCode);
        Assert.Equal(File.ReadAllText(Path.Combine(out_, "comparison.html")), stdout);
        var (_, german, _) = Cultures.In("de-DE", () => ModelCommandTests.Run(["compare", ComparisonTests.Fixture("h100-c16"), ComparisonTests.Fixture("h100-300w-c16"), ComparisonTests.Fixture("drifted"), "--html"]));
        Assert.Equal(stdout, german);
    }

    internal static async Task<PageReport> OpenAsync(string html, string artifact)
    {
        var text = File.ReadAllText(html);
        Assert.DoesNotContain("<script", text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("src=\"http", text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("href=\"http", text, StringComparison.OrdinalIgnoreCase);
        var binary = Chromium.Find();
        Assert.True(binary is not null, "Chromium is not on PATH: ./test.sh installs Debian's chromium; install it (apt-get install chromium) to run this test.");
        await using var browser = await Chromium.StartAsync(binary);
        var page = await browser.OpenAsync(html);
        Assert.Empty(page.Console);
        Assert.Empty(page.Requests);
        Assert.Empty(page.DuplicateIds);
        // Kept as test artifacts: what the page looks like on screen and printed.
        var artifacts = Artifacts();
        File.WriteAllBytes(Path.Combine(artifacts, artifact + ".png"), page.Screenshot);
        File.WriteAllBytes(Path.Combine(artifacts, artifact + ".pdf"), page.Pdf);
        Assert.True(page.Screenshot.Length > 10_000 && page.Screenshot.AsSpan(1, 3).SequenceEqual("PNG"u8), "screenshot");
        Assert.True(page.Pdf.AsSpan(0, 4).SequenceEqual("%PDF"u8), "printed page");
        return page;
    }

    /// <summary>tests/EnergyToToken.Tests/TestResults/artifacts (ignored by git; CI keeps it).</summary>
    private static string Artifacts([CallerFilePath] string caller = "")
    {
        var root = Path.GetDirectoryName(caller)!;
        while (!File.Exists(Path.Combine(root, "EnergyToToken.Tests.csproj"))) root = Path.GetDirectoryName(root)!;
        return Directory.CreateDirectory(Path.Combine(root, "TestResults", "artifacts")).FullName;
    }

    [Fact]
    public void Report_command_rewrites_the_same_bytes_in_any_culture()
    {
        var point = fixture.Points[0];
        var before = (File.ReadAllText(Path.Combine(point, RunReport.MarkdownFile)), File.ReadAllText(Path.Combine(point, RunReport.HtmlFile)));
        var saved = CultureInfo.CurrentCulture;
        try
        {
            foreach (var culture in new[] { "de-DE", "" })
            {
                CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo(culture);
                File.Delete(Path.Combine(point, RunReport.MarkdownFile));
                var (code, output, error) = ModelCommandTests.Run(["report", point]);
                Assert.True(code == 0, error);
                Assert.Contains(RunReport.HtmlFile, output, StringComparison.Ordinal);
                Assert.Equal(before, (File.ReadAllText(Path.Combine(point, RunReport.MarkdownFile)), File.ReadAllText(Path.Combine(point, RunReport.HtmlFile))));
            }
        }
        finally
        {
            CultureInfo.CurrentCulture = saved;
        }
        var (seriesCode, _, seriesError) = ModelCommandTests.Run(["report", fixture.Sweep]);
        Assert.True(seriesCode == 0, seriesError);
        // The reports are in the manifests, which follow them: the sweep and its points verify intact.
        var (verifyCode, verified, verifyError) = ModelCommandTests.Run(["verify", fixture.Sweep]);
        Assert.True(verifyCode == 0, verifyError);
        Assert.Contains("intact", verified, StringComparison.Ordinal);
        Assert.Contains("report.html", File.ReadAllText(Path.Combine(point, "manifest.json")), StringComparison.Ordinal);
    }

    [Fact]
    public void Report_command_explains_what_it_cannot_report()
    {
        var empty = Directory.CreateTempSubdirectory("e2t-report-empty-").FullName;
        try
        {
            var (code, _, error) = ModelCommandTests.Run(["report", empty]);
            Assert.Equal(1, code);
            Assert.Contains("holds no result.json", error, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
            File.WriteAllText(Path.Combine(empty, "result.json"), "{\"kind\": \"e2t.model\"}");
            (code, _, error) = ModelCommandTests.Run(["report", empty]);
            Assert.Equal(1, code);
            Assert.Contains("of kind 'e2t.model'", error, StringComparison.Ordinal);
            File.WriteAllText(Path.Combine(empty, "result.json"), "{\"kind\": \"e2t.bench\", \"schemaVersion\": 1}");
            (code, _, error) = ModelCommandTests.Run(["report", empty]);
            Assert.Equal(1, code);
            Assert.Contains("is e2t.bench schema version 1; this e2t reports version 2", error, StringComparison.Ordinal);
            File.WriteAllText(Path.Combine(empty, "result.json"), "{not json");
            (code, _, error) = ModelCommandTests.Run(["report", empty]);
            Assert.Equal(1, code);
            Assert.Contains("is not valid JSON", error, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(empty, recursive: true);
        }
    }

    [Fact]
    public void A_result_without_ceilings_or_energy_says_so_instead_of_inventing_them()
    {
        var node = JsonNode.Parse(File.ReadAllText(Path.Combine(fixture.Points[0], "result.json")))!;
        node["production"]!["conventions"] = new JsonArray();
        node["production"]!["missing"] = new JsonArray("κ: no catalog model");
        node["metrics"]!["joulesPerOutputToken"]!["gross"] = null;
        node["attribution"] = null;
        using var doc = JsonDocument.Parse(node.ToJsonString());
        var document = RunReport.Build(doc.RootElement, null);
        var md = document.ToMarkdown();
        var html = document.ToHtml();
        Assert.Contains("Nothing to draw for this run.", html, StringComparison.Ordinal);
        Assert.Contains("No ceilings: the production function needs κ: no catalog model.", md, StringComparison.Ordinal);
        Assert.Contains("| J per output token (gross) | — |", md, StringComparison.Ordinal);
        Assert.Contains("No attribution: the run has no reportable energy.", md, StringComparison.Ordinal);
    }
}

[Collection(ReportRuns.Name)]
public sealed class ResultSchemaTests(TwinSweepFixture fixture)
{
    [Fact]
    public void Every_result_the_sweep_wrote_matches_its_schema()
    {
        foreach (var point in fixture.Points) Schemas.AssertValid(File.ReadAllText(Path.Combine(point, "result.json")), "e2t.bench.v2.schema.json");
        Schemas.AssertValid(File.ReadAllText(Path.Combine(fixture.Sweep, "result.json")), "e2t.bench.series.v1.schema.json");
    }

    [Fact]
    public void The_schema_refuses_a_result_that_breaks_it()
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(fixture.Points[0], "result.json")))!;
        node["metrics"]!["joulesPerOutputToken"]!["gross"] = "0.15";
        node["disclosure"]!.AsObject().Remove("workload");
        Assert.ThrowsAny<Xunit.Sdk.XunitException>(() => Schemas.AssertValid(node.ToJsonString(), "e2t.bench.v2.schema.json"));
    }
}
