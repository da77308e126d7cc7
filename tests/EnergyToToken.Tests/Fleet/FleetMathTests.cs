using System.Net;
using EnergyToToken.Fleet;

namespace EnergyToToken.Tests.Fleet;

/// <summary>The fleet's pure parts: counter increases with resets, chunking, the binding rule, the API's answers, times.</summary>
public sealed class FleetMathTests
{
    private static RangePoint[] Points(params double[] values) => values.Select((v, i) => new RangePoint(1000 + i, v)).ToArray();

    private static FleetReport Fold(params RangePoint[] generation)
    {
        var options = new FleetOptions { Prometheus = new Uri("http://p/"), From = 1000, To = 1003, Step = 1 };
        var labels = new Dictionary<string, string> { ["instance"] = "a", ["UUID"] = "GPU-a" };
        var fleet = new FleetAccumulator(options);
        fleet.AddGenerationTokens(new RangeSeries(labels, generation));
        fleet.AddEnergy(new RangeSeries(labels, Points(0, 1000, 2000, 3000)));
        return fleet.Finish();
    }

    [Fact]
    public void A_counter_reset_in_the_middle_counts_the_new_value_as_Prometheus_increase_does()
    {
        // 100 → 130 (+30), reset to 5 (+5: the restarted process counted from 0), → 25 (+20).
        Assert.Equal(5, CounterMath.Delta(130, 5));
        var report = Fold(Points(100, 130, 5, 25));
        Assert.Equal(55, report.Fleet.OutputTokens);
        Assert.Equal([30, 5, 20], report.Fleet.OutputTokensPerStep);
    }

    [Fact]
    public void A_gap_puts_its_increase_in_the_step_that_ends_it_so_the_total_is_kept()
    {
        var report = Fold(new RangePoint(1000, 10), new RangePoint(1003, 40));
        Assert.Equal([0, 0, 30], report.Fleet.OutputTokensPerStep);
    }

    [Fact]
    public void Non_finite_samples_and_a_PUE_below_1_are_skipped_with_a_warning()
    {
        var options = new FleetOptions { Prometheus = new Uri("http://p/"), From = 1000, To = 1003, Step = 1, PueQuery = "pue", Pue = 1.5 };
        var labels = new Dictionary<string, string> { ["instance"] = "a", ["UUID"] = "GPU-a", ["__name__"] = "e" };
        var fleet = new FleetAccumulator(options);
        fleet.AddGenerationTokens(new RangeSeries(labels, Points(0, 1, 2, 3)));
        fleet.AddEnergy(new RangeSeries(labels, Points(0, 1000, double.PositiveInfinity, 3000)));
        fleet.AddPue(new RangeSeries(new Dictionary<string, string>(), Points(1.2, 0, double.PositiveInfinity, 1.2)));
        var report = fleet.Finish();
        // The infinite reading is skipped: 0 → 1000 → (skip) → 3000 is still 3 J.
        Assert.Equal(3, report.Fleet.EnergyJoules, 9);
        // Steps 0 and 1 have no usable PUE and fall back to --pue 1.5; step 2 has 1.2.
        // Energy per step: 1 J, nothing (the infinite reading), 2 J (1000 → 3000 mJ).
        Assert.Equal([1 * 1.5, 0, 2 * 1.2], report.Timeline.Select(s => s.FacilityWatts), new DoubleTolerance());
        Assert.Contains(report.Warnings, w => w.Contains("1 samples of e were skipped", StringComparison.Ordinal));
        Assert.Contains(report.Warnings, w => w.Contains("2 samples of the PUE were skipped", StringComparison.Ordinal));
        EnergyToToken.Tests.Reporting.Schemas.AssertValid(report.ToJson(), "e2t.fleet.v1.schema.json");
    }

    private sealed class DoubleTolerance : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) < 1e-9;

        public int GetHashCode(double obj) => 0;
    }

    [Theory]
    [InlineData(1000, 5760)]
    [InlineData(3, 86_400)]
    [InlineData(0, 5760)]
    public async Task Range_queries_are_chunked_contiguously_under_the_answer_and_series_limits(int series, int steps)
    {
        // A loopback server that answers every range query with `series` series, one point per step asked for.
        var port = PrometheusProcess.FreePort();
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        var asked = new List<(long First, long Last)>();
        var serve = Task.Run(async () =>
        {
            while (true)
            {
                HttpListenerContext context;
                try
                {
                    context = await listener.GetContextAsync();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
                {
                    return;
                }
                var form = System.Web.HttpUtility.ParseQueryString(await new StreamReader(context.Request.InputStream).ReadToEndAsync());
                double F(string key) => double.Parse(form[key]!, System.Globalization.CultureInfo.InvariantCulture);
                var (first, last) = ((long)Math.Round(F("start") / 15), (long)Math.Round(F("end") / 15));
                asked.Add((first, last));
                var body = new System.Text.StringBuilder("""{"status":"success","data":{"resultType":"matrix","result":[""");
                for (var i = 0; i < series; i++)
                {
                    body.Append(i == 0 ? "" : ",").Append(System.Globalization.CultureInfo.InvariantCulture, $$"""{"metric":{"instance":"i{{i}}"},"values":[""");
                    for (var k = first; k <= last; k++) body.Append(k == first ? "" : ",").Append(System.Globalization.CultureInfo.InvariantCulture, $"[{k * 15},\"{k}\"]");
                    body.Append("]}");
                }
                body.Append("]}}");
                var bytes = System.Text.Encoding.UTF8.GetBytes(body.ToString());
                await context.Response.OutputStream.WriteAsync(bytes);
                context.Response.Close();
            }
        });
        using var http = new HttpClient();
        var received = new Dictionary<string, List<double>>();
        await new PrometheusRangeClient(http, new Uri($"http://127.0.0.1:{port}/")).QueryRangeAsync("x", 0, steps * 15.0, 15,
            s => (received.TryGetValue(s.Label("instance"), out var l) ? l : received[s.Label("instance")] = []).AddRange(s.Points.Select(p => p.Value)));
        listener.Stop();
        await serve;

        // Contiguous, no point asked twice, the first chunk small, no answer over the limits.
        Assert.Equal(0, asked[0].First);
        Assert.Equal(steps, asked[^1].Last);
        for (var i = 1; i < asked.Count; i++) Assert.Equal(asked[i - 1].Last + 1, asked[i].First);
        Assert.Equal(PrometheusRangeClient.FirstChunkPoints, asked[0].Last + 1);
        Assert.All(asked, a => Assert.True(a.Last - a.First + 1 <= PrometheusRangeClient.PointsPerChunk));
        Assert.All(asked, a => Assert.True((a.Last - a.First + 1) * series <= PrometheusRangeClient.PointsPerAnswer));
        if (series == 0) Assert.All(asked, a => Assert.True(a.Last - a.First + 1 <= PrometheusRangeClient.EmptyChunkPoints));
        Assert.Equal(series, received.Count);
        Assert.All(received.Values, points => Assert.Equal(Enumerable.Range(0, steps + 1).Select(k => (double)k), points));
    }

    [Theory]
    [InlineData(0.5, 0.5, FleetConstraint.Demand)]
    [InlineData(0.95, 0.5, FleetConstraint.Compute)]
    [InlineData(0.5, 0.97, FleetConstraint.Power)]
    [InlineData(0.95, 0.97, FleetConstraint.Balanced)]
    [InlineData(0.91, 0.99, FleetConstraint.Power)]
    [InlineData(0.95, double.NaN, FleetConstraint.Compute)]
    [InlineData(double.NaN, double.NaN, FleetConstraint.NoData)]
    public void The_binding_rule_takes_the_saturated_arm_and_ties_within_the_tolerance(double u, double load, FleetConstraint expected) =>
        Assert.Equal(expected, FleetEvaluator.Classify(u, load, 0.9, 0.05));

    [Fact]
    public void Prometheus_errors_are_explained_with_the_query()
    {
        const string Body = """{"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected end of input"}""";
        var e = Assert.Throws<EnergyToTokenException>(() => PrometheusRangeClient.Parse(Body, 400, "rate(x[", new Uri("http://p:9090/")));
        Assert.Contains("rate(x[", e.Message, StringComparison.Ordinal);
        Assert.Contains("bad_data", e.Message, StringComparison.Ordinal);
        Assert.Contains("parse error", e.Message, StringComparison.Ordinal);
        var html = Assert.Throws<EnergyToTokenException>(() => PrometheusRangeClient.Parse("<html>Not Found</html>", 404, "up", new Uri("http://p:9090/")));
        Assert.Contains("HTTP 404", html.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_answer_that_is_not_a_matrix_or_is_cut_short_is_explained()
    {
        const string Vector = """{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1000,"1"]}]}}""";
        Assert.Contains("with a vector, not a matrix", Assert.Throws<EnergyToTokenException>(() => PrometheusRangeClient.Parse(Vector, 200, "x", new Uri("http://p/"))).Message, StringComparison.Ordinal);
        const string Cut = """{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1000,"1"],[10""";
        Assert.Contains("not its JSON API", Assert.Throws<EnergyToTokenException>(() => PrometheusRangeClient.Parse(Cut, 200, "x", new Uri("http://p/"))).Message, StringComparison.Ordinal);
        const string Extra = """{"status":"success","warnings":["slow"],"data":{"resultType":"matrix","result":[{"metric":{"a":"\u0041"},"values":[[1000,"2e3"]],"extra":{"x":[1]}}]}}""";
        var warnings = new SortedSet<string>();
        var (labels, points) = Assert.Single(PrometheusRangeClient.Parse(Extra, 200, "x", new Uri("http://p/"), warnings));
        Assert.Equal("Prometheus warned about 'x': slow", Assert.Single(warnings));
        Assert.Equal("A", labels["a"]);
        Assert.Equal(2000, Assert.Single(points).Value);
    }

    [Fact]
    public void Matrix_values_written_as_strings_parse_with_NaN_and_infinities()
    {
        const string Body = """{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"x","instance":"a"},"values":[[1000,"1.5"],[1001,"NaN"],[1002,"+Inf"]]}]}}""";
        var (labels, points) = Assert.Single(PrometheusRangeClient.Parse(Body, 200, "x", new Uri("http://p/")));
        Assert.Equal("a", labels["instance"]);
        Assert.Equal([1.5, double.NaN, double.PositiveInfinity], points.Select(p => p.Value));
    }

    [Fact]
    public async Task Prometheus_down_is_one_clear_message_naming_the_URL()
    {
        var port = PrometheusProcess.FreePort();
        var (code, _, error) = await FleetPrometheusTests.RunAsync("fleet", "--prometheus", $"http://127.0.0.1:{port}", "--from", "1000", "--to", "2000");
        Assert.Equal(1, code);
        Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains($"127.0.0.1:{port}", error, StringComparison.Ordinal);
        Assert.Contains("refused the connection", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Headers_and_a_path_prefix_reach_the_server_as_Mimir_needs_them_and_a_malformed_header_is_an_error()
    {
        var port = PrometheusProcess.FreePort();
        using var listener = new System.Net.HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        var seen = new System.Collections.Concurrent.ConcurrentQueue<(string? Path, string? Tenant)>();
        var serve = Task.Run(async () =>
        {
            var context = await listener.GetContextAsync();
            seen.Enqueue((context.Request.Url?.AbsolutePath, context.Request.Headers["X-Scope-OrgID"]));
            var body = """{"status":"error","errorType":"bad_data","error":"no org id"}"""u8.ToArray();
            context.Response.StatusCode = 401;
            await context.Response.OutputStream.WriteAsync(body);
            context.Response.Close();
        });
        var (code, _, error) = await FleetPrometheusTests.RunAsync("fleet", "--prometheus", $"http://127.0.0.1:{port}/prometheus", "--from", "1000", "--to", "2000",
            "--header", "X-Scope-OrgID: tenant-1");
        await serve;
        Assert.Equal(1, code);
        Assert.Contains("(HTTP 401, bad_data): no org id", error, StringComparison.Ordinal);
        Assert.Equal(("/prometheus/api/v1/query_range", "tenant-1"), Assert.Single(seen));

        var (badCode, _, badError) = await FleetPrometheusTests.RunAsync("fleet", "--prometheus", "http://x", "--from", "1000", "--to", "2000", "--header", "X-Scope-OrgID tenant-1");
        Assert.Equal(1, badCode);
        Assert.Contains("--header: 'X-Scope-OrgID tenant-1' is not 'Name: value'", badError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_number_flag_reads_a_dot_in_every_culture_and_a_comma_is_an_explained_error()
    {
        // 0.9 is read as 0.9 (not 9) and refused as a PUE below 1; 1,5 is not a number anywhere.
        var (code, _, error) = await Cultures.In("de-DE", () => FleetPrometheusTests.RunAsync("fleet", "--prometheus", "http://x", "--from", "1000", "--to", "2000", "--pue", "0.9"));
        Assert.Equal(1, code);
        Assert.Contains("--pue must be at least 1; got 0.9", error, StringComparison.Ordinal);
        var (comma, _, commaError) = await Cultures.In("de-DE", () => FleetPrometheusTests.RunAsync("fleet", "--prometheus", "http://x", "--from", "1000", "--to", "2000", "--p-facility", "1,5"));
        Assert.Equal(1, comma);
        Assert.Contains("--p-facility: '1,5' is not a number; write decimals with a dot", commaError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_bad_flag_is_listed_at_once()
    {
        var (code, _, error) = await FleetPrometheusTests.RunAsync("fleet", "--prometheus", "ftp://x", "--from", "yesterday", "--to", "now", "--step", "fast", "--pue", "0.5", "--p-facility", "-3");
        Assert.Equal(1, code);
        foreach (var flag in new[] { "--prometheus", "--from", "--step" }) Assert.Contains(flag, error, StringComparison.Ordinal);
        var (code2, _, error2) = await FleetPrometheusTests.RunAsync("fleet", "--prometheus", "http://x", "--from", "2000", "--to", "1000", "--pue", "0.5", "--p-facility", "-3");
        Assert.Equal(1, code2);
        foreach (var flag in new[] { "--to", "--pue", "--p-facility" }) Assert.Contains(flag, error2, StringComparison.Ordinal);
        var (code3, _, error3) = await FleetPrometheusTests.RunAsync("fleet", "--prometheus", "http://x", "--from", "1000", "--to", "2000",
            "--saturation", "1.5", "--tie-tolerance", "-1", "--group-budget", "chat", "--group-budget", "a=1", "--group-budget", "a=2", "--group-budget", "b=-4",
            "--node-energy", "x", "--node-power", "y", "--sm-metric", " ", "--match", "k8s.node", "--step", "1.5ms");
        Assert.Equal(1, code3);
        foreach (var text in new[] { "--saturation", "--tie-tolerance", "'chat' is not NAME=W", "'a' is given twice", "--node-energy or --node-power", "--sm-metric must name", "--match: 'k8s.node' is not a Prometheus label name", "--step must be a whole number of milliseconds" })
            Assert.Contains(text, error3, StringComparison.Ordinal);
    }

    [Fact]
    public void Times_read_RFC3339_Unix_seconds_and_now_minus_a_duration()
    {
        var now = new DateTimeOffset(2026, 11, 26, 5, 0, 0, TimeSpan.Zero);
        Assert.Equal(now.ToUnixTimeSeconds(), FleetTime.Parse("2026-11-26T05:00:00Z", "--from", now));
        Assert.Equal(1234.5, FleetTime.Parse("1234.5", "--from", now));
        Assert.Equal(now.ToUnixTimeSeconds() - 3600, FleetTime.Parse("now-1h", "--from", now));
        Assert.Throws<EnergyToTokenException>(() => FleetTime.Parse("yesterday", "--from", now));
    }

    [Fact]
    public void Down_targets_are_named()
    {
        // count_over_time((up == 0)[...]) counts the down steps: two of the range's four.
        var up = new RangeSeries(new Dictionary<string, string> { ["job"] = "dcgm", ["instance"] = "h:1" }, Points(2));
        var warning = Assert.Single(FleetQuery.DownTargets([(up, 2)], 4));
        Assert.Contains("job=\"dcgm\" instance=\"h:1\" was down in 2 of the range's 4 steps", warning, StringComparison.Ordinal);
    }
}
