using System.Text;
using EnergyToToken.Fleet;
using EnergyToToken.Reporting;

namespace EnergyToToken.Tests.Reporting;

/// <summary>fleet.md and fleet.html: the timeline's charts and the binding shares, and long timelines binned.</summary>
public sealed class FleetReportTests
{
    private const double From = 1_795_670_000;

    internal static readonly string[] ChartIds = ["chart-rate", "chart-power", "chart-activity", "chart-bindings"];

    /// <summary>
    /// Two instances with a GPU each over <paramref name="steps"/> steps of 1 s, a 1,000 W facility budget at PUE 1.2,
    /// through quarters in which demand, compute, power and then both (balanced) bind the fleet; in the compute quarter
    /// every seventh step is quiet (demand), so the stretches are many; the GPUs stop reporting SM activity for the
    /// last 5 % (a gap in U). Tokens and power vary from step to step, so no two steps are alike.
    /// </summary>
    internal static FleetReport Report(int steps, double? budget = 1000, bool smActivity = true)
    {
        var (genA, genB, energyA, energyB, uA, uB) = (new List<RangePoint>(), new List<RangePoint>(), new List<RangePoint>(), new List<RangePoint>(), new List<RangePoint>(), new List<RangePoint>());
        double tokensA = 0, tokensB = 0, joulesA = 0, joulesB = 0;
        for (var j = 0; j <= steps; j++)
        {
            var t = From + j;
            // Sample j closes step j − 1 (From + j − 1, From + j]: its counters' increase and its gauges' reading.
            var k = j - 1;
            var phase = (double)Math.Max(0, k) / steps;
            var quiet = phase is >= 0.25 and < 0.5 && k % 7 == 0;
            var (ua, ub, pa, pb) = phase switch
            {
                _ when quiet => (0.5, 0.3, 200.0, 150.0),
                < 0.25 => (0.5, 0.3, 200.0, 150.0),      // load (350 × 1.2) / 1000 = 0.42: demand
                < 0.5 => (0.98, 0.95, 300.0, 200.0),     // U 0.965 against load 0.6: compute
                < 0.75 => (0.6, 0.5, 450.0, 350.0),      // load 0.96 against U 0.55: power
                _ => (0.95, 0.95, 400.0, 380.0),         // U 0.95 and load 0.936: balanced
            };
            var wobble = 1 + 0.1 * Math.Sin(j / 13.0);
            if (j > 0)
            {
                tokensA += Math.Round(800 * ua * wobble);
                tokensB += Math.Round(300 * ub * wobble);
                joulesA += pa * wobble;
                joulesB += pb / wobble;
            }
            genA.Add(new RangePoint(t, tokensA));
            genB.Add(new RangePoint(t, tokensB));
            energyA.Add(new RangePoint(t, joulesA * 1000));
            energyB.Add(new RangePoint(t, joulesB * 1000));
            if (smActivity && phase < 0.95)
            {
                uA.Add(new RangePoint(t, ua));
                uB.Add(new RangePoint(t, ub));
            }
        }
        RangeSeries Series(string instance, List<RangePoint> points, bool gpu = false) =>
            new(gpu ? new Dictionary<string, string> { ["instance"] = instance, ["UUID"] = $"GPU-{instance}" } : new Dictionary<string, string> { ["instance"] = instance }, points);
        var data = new FleetData(
            [], [Series("a", genA), Series("b", genB)], [Series("a", energyA, gpu: true), Series("b", energyB, gpu: true)], [],
            smActivity ? [Series("a", uA, gpu: true), Series("b", uB, gpu: true)] : [], []);
        var options = new FleetOptions { Prometheus = new Uri("http://prometheus:9090/"), From = From, To = From + steps, Step = 1, Pue = 1.2, FacilityBudgetWatts = budget };
        return FleetEvaluator.Evaluate(options, data);
    }

    [Fact]
    public void A_long_timeline_is_binned_to_at_most_MaxPoints_a_line_and_keeps_the_tokens_and_the_energy()
    {
        var report = Report(100_000);
        Assert.Equal(100_000, report.Timeline.Count);
        var view = FleetTimelineView.Of(report);

        // 100,000 s over at most 1,499 bins: 66.7 s, rounded up to 2 min.
        Assert.Equal(120, view.LineBinSeconds);
        foreach (var line in new[] { view.Rate, view.ItWatts, view.FacilityWatts, view.U, view.PowerLoad! })
        {
            Assert.InRange(line.Seconds.Length, 2, Charts.MaxPoints);
            Assert.Equal(100_000, line.Seconds[^1]);
        }
        // Time-weighted means keep the area under the rate: the tokens made; and under IT power, the energy.
        Close.To(report.Fleet.OutputTokens, Area(view.Rate));
        Close.To(report.Fleet.EnergyJoules, Area(view.ItWatts));
        // The last 5 % has no SM activity: a gap, not a zero that would read as idle GPUs.
        Assert.True(double.IsNaN(view.U.Values[^1]));
        Assert.All(view.U.Values.Take(view.U.Values.Length / 2), u => Assert.InRange(u, 0.3, 1));

        // A quiet step in seven makes thousands of compute stretches: shading goes by bins, and still shows each kind.
        Assert.Equal(600, view.ShadeBinSeconds);
        foreach (var kind in FleetTimelineView.Shaded)
            Assert.InRange(view.Shades.Count(s => s.Binding == kind), 1, StepTimeline.MaxShades);
        Assert.All(view.Shades, s => Assert.InRange(s.Depth, 0.25, 1));

        var document = FleetDocument.Build(report);
        var html = document.ToHtml();
        Assert.True(Encoding.UTF8.GetByteCount(html) < 400_000, $"fleet.html is {Encoding.UTF8.GetByteCount(html)} bytes");
        Assert.Equal(ChartIds, PlanReportTests.ChartIds(html));
        Assert.Contains("Lines: time-weighted means over 2 min bins (the 100,000 steps are more than a chart should draw", document.ToMarkdown(), StringComparison.Ordinal);
        Assert.Contains("Shading: over 10 min bins", document.ToMarkdown(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_short_timeline_is_drawn_step_by_step_with_exact_shading()
    {
        var report = Report(200);
        var view = FleetTimelineView.Of(report);
        Assert.Null(view.LineBinSeconds);
        Assert.Null(view.ShadeBinSeconds);
        // Every step as it is: a point where the rate changes (tokens are whole, so some neighbours repeat) and one closing the range.
        var changes = report.Timeline.Zip(report.Timeline.Skip(1)).Count(p => p.First.OutputTokens != p.Second.OutputTokens);
        Assert.Equal(1 + changes + 1, view.Rate.Seconds.Length);
        Close.To(report.Fleet.OutputTokens, Area(view.Rate));
        // The power quarter is one stretch from 100 s to 150 s into the range; in the last 5 %, without U, the power arm alone binds.
        Assert.Equal([new TimelineShade("power", 100, 150, 1), new TimelineShade("power", 190, 200, 1)], view.Shades.Where(s => s.Binding == "power"));
        Assert.All(view.Shades, s => Assert.Equal(1, s.Depth));
    }

    [Fact]
    public void The_html_is_the_same_bytes_in_any_culture_and_the_markdown_names_every_chart()
    {
        var report = Report(240);
        var invariant = Cultures.In("", () => FleetDocument.Build(report).ToHtml());
        Assert.Equal(invariant, Cultures.In("de-DE", () => FleetDocument.Build(report).ToHtml()));
        // Skia numbers clip paths from a process-wide counter; they are renamed per chart, so a second render is identical.
        Assert.Equal(invariant, FleetDocument.Build(report).ToHtml());
        Assert.Equal(ChartIds, PlanReportTests.ChartIds(invariant));
        Assert.Equal(4, CountOf(invariant, "<svg "));
        Assert.DoesNotContain("<script", invariant, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<img", invariant, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("Nothing to draw", invariant, StringComparison.Ordinal);

        var md = FleetDocument.Build(report).ToMarkdown();
        foreach (var expected in new[]
        {
            "Chart in fleet.html: Fleet output tokens/s and what bound it. All groups' generated tokens in each step ÷ the step, 240 steps of 1 s from 2026-11-26T",
            "Lines: every step as it is. Shading: every stretch where the constraint bound.",
            "Chart in fleet.html: IT and facility power.", "the fleet's facility budget 1,000 W as a grey line",
            "Chart in fleet.html: The binding rule's two arms", "the saturation threshold 90 % (grey)",
            "Chart in fleet.html: What bound each group, share of the steps.",
        })
            Assert.Contains(expected, md, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_a_budget_or_SM_activity_the_charts_say_what_they_cannot_draw()
    {
        var report = Report(60, budget: null, smActivity: false);
        var view = FleetTimelineView.Of(report);
        Assert.Null(view.PowerLoad);
        Assert.Empty(view.Shades);
        var html = FleetDocument.Build(report).ToHtml();
        Assert.Equal(ChartIds, PlanReportTests.ChartIds(html));
        // No arm to judge: the activity chart has nothing to draw; the power chart draws IT and facility power without a budget line.
        Assert.Equal(3, CountOf(html, "<svg "));
        Assert.Contains("Nothing to draw", html, StringComparison.Ordinal);
        Assert.Contains("no facility budget was given, so none is drawn", FleetDocument.Build(report).ToMarkdown(), StringComparison.Ordinal);

        // With a budget but no SM activity, the power arm alone is drawn: U is a line of unknowns, left out.
        var powerOnly = FleetDocument.Build(Report(60, smActivity: false)).ToHtml();
        Assert.Equal(4, CountOf(powerOnly, "<svg "));
        Assert.DoesNotContain("SM activity U (mean of the GPUs)", powerOnly, StringComparison.Ordinal);
    }

    private static double Area(TimelineLine line) =>
        Enumerable.Range(0, line.Seconds.Length - 1).Sum(i => line.Values[i] * (line.Seconds[i + 1] - line.Seconds[i]));

    private static int CountOf(string text, string part)
    {
        var n = 0;
        for (var i = text.IndexOf(part, StringComparison.Ordinal); i >= 0; i = text.IndexOf(part, i + part.Length, StringComparison.Ordinal)) n++;
        return n;
    }
}

/// <summary>fleet.html in headless Chromium, beside the plan's browser tests (none run in parallel with the timing tests).</summary>
[Collection(PlanReportBrowser.Name)]
public sealed class FleetReportBrowserTests
{
    [Theory]
    [InlineData(240, "fleet")]
    [InlineData(100_000, "fleet-long")]
    public async Task The_fleet_report_opens_offline_in_headless_chromium_with_every_chart(int steps, string artifact)
    {
        var directory = Directory.CreateTempSubdirectory("e2t-fleet-html-").FullName;
        try
        {
            foreach (var (file, text) in FleetDocument.Render(FleetReportTests.Report(steps)))
                File.WriteAllText(Path.Combine(directory, file), text);
            var page = await ReportTests.OpenAsync(Path.Combine(directory, FleetDocument.HtmlFile), artifact);
            Assert.Equal(FleetReportTests.ChartIds, page.Charts.Select(c => c.Id));
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
}
