using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using EnergyToToken.Production;
using EnergyToToken.Reporting;
using EnergyToToken.Scenarios;
using EnergyToToken.Tests.Cli;

namespace EnergyToToken.Tests.Reporting;

/// <summary>plan.md and plan.html: the golden report of the example, <c>--out</c>, and a year of hourly steps.</summary>
public sealed partial class PlanReportTests
{
    internal static readonly string Example = Path.Combine(ModelCommandTests.RepositoryRoot(), "examples", "plan-two-sites.yaml");

    internal static PlanReport Report(string scenario) => PlanReport.From(Planner.Evaluate(PlanScenarioReader.Read(scenario)));

    [Theory]
    [InlineData("")]
    [InlineData("de-DE")]
    public void The_example_plan_markdown_matches_its_golden_in_any_culture(string culture) =>
        Golden.Match(Cultures.In(culture, () => PlanDocument.Build(Report(Example)).ToMarkdown()), "plan-two-sites.md");

    [Fact]
    public void The_html_is_the_same_bytes_in_any_culture_and_any_process()
    {
        var invariant = Cultures.In("", () => PlanDocument.Build(Report(Example)).ToHtml());
        var german = Cultures.In("de-DE", () => PlanDocument.Build(Report(Example)).ToHtml());
        Assert.Equal(invariant, german);
        // Skia numbers clip paths from a process-wide counter; they are renamed per chart, so a second render is identical.
        Assert.Equal(invariant, PlanDocument.Build(Report(Example)).ToHtml());
        Assert.Equal(["chart-bindings", "chart-elasticities", "chart-timeline-1", "chart-timeline-2"], ChartIds(invariant));
        Assert.DoesNotContain("<script", invariant, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void The_report_says_what_a_reader_needs_first()
    {
        var md = PlanDocument.Build(Report(Example)).ToMarkdown();
        foreach (var expected in new[]
        {
            "| Tokens per hour | 6.558e+10 |", "| Tokens per year | 5.744e+14 | 8,760 h", "| Cost per million tokens | 0.0173 USD |", "| Carbon per million tokens | 0.07429 kgCO2e |",
            "| Binding constraint | power | 60.4 % of tokens made under it", "What the cost leaves out: Energy only", "Flags: none",
            "| **realized (headline)** |", "| peak (upper bound) |", "fit to the budget", "| with mechanisms / without | 1.6 |",
            "int4-weights (ηκ 1, ηε 1.6, projected)", "| elasticity | ∂ln Q/∂ln x by one-sided finite differences at relative step 1e-6",
            "Lines: every step of the timeline as it is.",
        })
            Assert.Contains(expected, md, StringComparison.Ordinal);
    }

    [Fact]
    public void A_simulated_plan_says_so_in_the_flags_and_the_card()
    {
        var report = Report(Example);
        var simulated = report with { Simulated = true, Sites = [report.Sites[0] with { Mixes = [report.Sites[0].Mixes[0] with { EpsilonOrigin = "simulated", EpsilonSource = "twin h100 at concurrency 64 (simulated)" }] }, report.Sites[1]] };
        var md = PlanDocument.Build(simulated).ToMarkdown();
        Assert.Contains("Flags: `simulated`", md, StringComparison.Ordinal);
        Assert.Contains("SIMULATED: some ε", md, StringComparison.Ordinal);
        Assert.Contains("| ε and R_sat from | partly SIMULATED |", md, StringComparison.Ordinal);
        Assert.Contains("| SIMULATED | 2.44e+14 |", md, StringComparison.Ordinal);
        Assert.Contains("simulated: twin h100 at concurrency 64 (simulated)", md, StringComparison.Ordinal);
    }

    [Fact]
    public void Out_writes_json_markdown_and_html_and_names_them_on_stderr()
    {
        var directory = Directory.CreateTempSubdirectory("e2t-plan-out-").FullName;
        try
        {
            var (code, stdout, stderr) = ModelCommandTests.Run("plan", Example, "--json", "--out", directory);
            Assert.True(code == 0, stderr);
            // stdout stays pure JSON, the file holds the same; the paths go to stderr.
            Assert.Equal(stdout.ReplaceLineEndings("\n"), File.ReadAllText(Path.Combine(directory, PlanDocument.JsonFile)));
            Assert.Equal([PlanDocument.JsonFile, PlanDocument.MarkdownFile, PlanDocument.HtmlFile],
                stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(Path.GetFileName));
            var rendered = PlanDocument.Render(Report(Example));
            Assert.Equal(rendered.Select(f => f.Text), [File.ReadAllText(Path.Combine(directory, PlanDocument.MarkdownFile)), File.ReadAllText(Path.Combine(directory, PlanDocument.HtmlFile))]);

            var (tableCode, table, tableError) = ModelCommandTests.Run("plan", Example, "--out", Path.Combine(directory, "again"));
            Assert.True(tableCode == 0, tableError);
            Assert.Contains("tokens per year", table, StringComparison.Ordinal);
            Assert.Contains(PlanDocument.HtmlFile, tableError, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void Out_explains_a_directory_it_cannot_write()
    {
        var file = Path.GetTempFileName();
        try
        {
            var (code, stdout, stderr) = ModelCommandTests.Run("plan", Example, "--out", file);
            Assert.Equal(1, code);
            Assert.Contains($"Cannot write the plan to '{file}'", stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
            Assert.Equal("", stdout);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void A_year_of_hourly_steps_renders_bounded_charts_that_keep_the_tokens()
    {
        var directory = HourlyYear();
        try
        {
            var scenario = Path.Combine(directory, "plan.yaml");
            var report = Report(scenario);
            var site = Assert.Single(report.Sites);
            // Hours with the same usable IT power (cooling-capped by day) and price join into one stretch.
            Assert.InRange(site.Timeline.Count, 2000, 8760);
            // The example binds by power at night and by cooling by day, so both are shaded.
            Assert.True(site.BindingTimeShares.Power > 0.2 && site.BindingTimeShares.Cooling > 0.2, $"{site.BindingTimeShares}");

            var view = PlanTimelineView.Of(site.Timeline, report.HorizonSeconds);
            Assert.Equal(6 * 3600.0, view.LineBinSeconds);
            Assert.Equal(2 * 86_400.0, view.ShadeBinSeconds);
            Assert.All(view.Lines, l => Assert.InRange(l.Seconds.Length, 1, Charts.MaxPoints));
            Assert.All(view.Shades, s => Assert.InRange(s.Depth, 0.25, 1));
            Assert.InRange(view.Shades.Count(s => s.Binding == "power"), 1, StepTimeline.MaxShades);
            // Time-weighted means keep the area under the rate: the tokens made.
            var rate = view.Lines[2];
            var area = Enumerable.Range(0, rate.Seconds.Length - 1).Sum(i => rate.Values[i] * (rate.Seconds[i + 1] - rate.Seconds[i]));
            Close.To(site.Tokens, area, 1e-9);
            Assert.Equal(report.HorizonSeconds, rate.Seconds[^1]);

            var (code, _, error) = ModelCommandTests.Run("plan", scenario, "--out", Path.Combine(directory, "out"));
            Assert.True(code == 0, error);
            var html = File.ReadAllText(Path.Combine(directory, "out", PlanDocument.HtmlFile));
            Assert.True(Encoding.UTF8.GetByteCount(html) < 400_000, $"plan.html is {Encoding.UTF8.GetByteCount(html)} bytes");
            Assert.Equal(["chart-bindings", "chart-elasticities", "chart-timeline-1"], ChartIds(html));
            Assert.Contains("time-weighted means over 6 h bins", File.ReadAllText(Path.Combine(directory, "out", PlanDocument.MarkdownFile)), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void A_timeline_with_few_steps_is_drawn_as_it_is()
    {
        var report = Report(Example);
        var campus = PlanTimelineView.Of(report.Sites[0].Timeline, report.HorizonSeconds);
        Assert.Null(campus.LineBinSeconds);
        Assert.Null(campus.ShadeBinSeconds);
        // The compute ceiling never moves: one step and the point that closes the horizon.
        Assert.Equal(new double[] { 0, report.HorizonSeconds }, campus.Lines[0].Seconds);
        // Curtailed from 18 h to 22 h every day: two steps a day.
        Assert.Equal(2 * 365 + 1 + 1, campus.Lines[1].Seconds.Length);
        Assert.Empty(campus.Shades);
        var region = PlanTimelineView.Of(report.Sites[1].Timeline, report.HorizonSeconds);
        Assert.Equal([new TimelineShade("power", 0, report.HorizonSeconds, 1)], region.Shades);
    }

    [Theory]
    [InlineData(5.84 * 3600, "6 h")]
    [InlineData(1.52 * 86_400, "2 d")]
    [InlineData(700, "15 min")]
    [InlineData(0.5, "1 s")]
    [InlineData(400 * 86_400.0, "420 d")]
    public void Bins_have_round_widths(double atLeast, string width) =>
        Assert.Equal(width, StepTimeline.Width(StepTimeline.RoundWidth(atLeast)));

    /// <summary>A site whose facility power steps every hour for a year (a daily and a seasonal swing, and a deterministic jitter), above and below its cooling capacity.</summary>
    internal static string HourlyYear()
    {
        var directory = Directory.CreateTempSubdirectory("e2t-plan-hourly-").FullName;
        var csv = new StringBuilder("at,watts\n");
        for (var h = 0; h < 8760; h++)
        {
            var jitter = h * 7919 % 101 / 100.0 - 0.5;
            var watts = 11.5e6 + 3e6 * Math.Sin(2 * Math.PI * h / 24) + 1.5e6 * Math.Sin(2 * Math.PI * h / 8760) + 1e6 * jitter;
            csv.Append(CultureInfo.InvariantCulture, $"{h}h,{Math.Round(watts)}\n");
        }
        File.WriteAllText(Path.Combine(directory, "hourly.csv"), csv.ToString());
        File.WriteAllText(Path.Combine(directory, "plan.yaml"), """
            name: hourly year
            horizon: 365d
            sites:
              - name: grid-follower
                facilityPower: { file: hourly.csv }
                pue: 1.2
                coolingCapacity: 9.3M
                accelerator: h100-sxm
                count: 8000
                wattsPerAccelerator: 1275
                precision: fp8
                utilization: 0.7
                price: 0.07
                carbonIntensity: 300
                mixes:
                  - name: chat
                    model: llama-3.1-70b
                    context: 8192
                    epsilon: 0.8
                    saturationTokensPerSecond: 1500
            """);
        return directory;
    }

    internal static List<string> ChartIds(string html) => [.. FigureId().Matches(html).Select(m => m.Groups[1].Value)];

    [GeneratedRegex("<figure class=\"chart[^\"]*\" id=\"([^\"]+)\">")]
    private static partial Regex FigureId();
}

/// <summary>The plan report in headless Chromium, alone: browsers beside the timing tests would make them measure the load.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class PlanReportBrowser
{
    public const string Name = "Plan report in a browser";
}

[Collection(PlanReportBrowser.Name)]
public sealed class PlanReportBrowserTests
{
    [Fact]
    public async Task The_plan_report_opens_offline_in_headless_chromium_with_every_chart()
    {
        var directory = Directory.CreateTempSubdirectory("e2t-plan-html-").FullName;
        try
        {
            var (code, _, error) = ModelCommandTests.Run("plan", PlanReportTests.Example, "--out", directory);
            Assert.True(code == 0, error);
            var page = await ReportTests.OpenAsync(Path.Combine(directory, PlanDocument.HtmlFile), "plan");
            Assert.Equal(["chart-bindings", "chart-elasticities", "chart-timeline-1", "chart-timeline-2"], page.Charts.Select(c => c.Id));
            foreach (var (id, svg, width, height) in page.Charts)
            {
                Assert.True(svg, $"{id} has no SVG");
                Assert.True(width > 300 && height > 150, $"{id} renders at {width} × {height} px");
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Theory]
    [InlineData("grid")]
    [InlineData("context")]
    [InlineData("ladder")]
    public async Task Every_sweep_report_opens_offline_in_headless_chromium_with_its_chart(string axis)
    {
        var directory = Directory.CreateTempSubdirectory("e2t-sweep-html-").FullName;
        try
        {
            var scenario = Path.Combine(ModelCommandTests.RepositoryRoot(), "examples", "plan-sweep-8b-h100.yaml");
            var (code, _, error) = ModelCommandTests.Run("plan", "sweep", scenario, "--axis", axis, "--out", directory);
            Assert.True(code == 0, error);
            var page = await ReportTests.OpenAsync(Path.Combine(directory, PlanSweepReport.HtmlFile), $"sweep-{axis}");
            Assert.NotEmpty(page.Charts);
            Assert.All(page.Charts, c => Assert.True(c.Svg && c.Width > 300 && c.Height > 150, $"{c.Id}: {c.Width} × {c.Height}"));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task A_year_of_hourly_steps_opens_in_headless_chromium()
    {
        var directory = PlanReportTests.HourlyYear();
        try
        {
            var (code, _, error) = ModelCommandTests.Run("plan", Path.Combine(directory, "plan.yaml"), "--out", directory);
            Assert.True(code == 0, error);
            var page = await ReportTests.OpenAsync(Path.Combine(directory, PlanDocument.HtmlFile), "plan-hourly-year");
            Assert.All(page.Charts, c => Assert.True(c.Svg && c.Width > 300 && c.Height > 150, $"{c.Id}: {c.Width} × {c.Height}"));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
