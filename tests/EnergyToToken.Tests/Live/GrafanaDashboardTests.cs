using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using EnergyToToken.Tests.Fleet;
using EnergyToToken.Tests.Twin;
using Xunit.Abstractions;
using static EnergyToToken.Tests.Cli.ModelCommandTests;

namespace EnergyToToken.Tests.Live;

/// <summary>
/// docs/grafana/e2t-live.json as Grafana would read it. Grafana itself is not installed here, so the file is checked
/// for the structure an import needs, and every panel's query is run by a real Prometheus against what a twin and a
/// bench actually serve.
/// </summary>
internal static partial class GrafanaDashboard
{
    public static JsonObject Load() =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(RepositoryRoot(), "docs", "grafana", "e2t-live.json")))!.AsObject();

    /// <summary>Every panel's targets, with the panel's title for messages.</summary>
    public static IEnumerable<(string Panel, JsonObject Target)> Targets(JsonObject dashboard) =>
        from panel in dashboard["panels"]!.AsArray()
        from target in panel!["targets"]?.AsArray() ?? []
        select ((string)panel["title"]!, target!.AsObject());

    /// <summary>
    /// The query with Grafana's variables replaced as Grafana would with "All" selected: a dashboard variable by its
    /// <c>allValue</c> (or its single current value), Grafana's own interval variables by a value for a 1 s scrape.
    /// An unknown variable fails: Grafana would send it as literal text.
    /// </summary>
    public static string Substitute(string expr, JsonObject dashboard)
    {
        var variables = (dashboard["templating"]?["list"]?.AsArray() ?? []).ToDictionary(v => (string)v!["name"]!, v => v!.AsObject(), StringComparer.Ordinal);
        return VariablePattern().Replace(expr, m =>
        {
            var name = m.Groups["braced"].Success ? m.Groups["braced"].Value : m.Groups["plain"].Success ? m.Groups["plain"].Value : m.Groups["old"].Value;
            var builtIn = name switch
            {
                "__interval" => "1s",
                "__rate_interval" => "4s",
                "__range" => "15m",
                _ => null,
            };
            if (builtIn is not null) return builtIn;
            Assert.True(variables.TryGetValue(name, out var variable), $"'{expr}' uses ${name}, which the dashboard does not define.");
            var value = (string?)variable["allValue"] ?? (string?)variable["current"]?["value"];
            Assert.True(value is not null, $"Variable ${name} has neither an allValue nor a current value to stand for it in '{expr}'.");
            return value;
        });
    }

    // ${name}, ${name:format}, $name and the deprecated [[name]], as Grafana's template service matches them.
    [GeneratedRegex(@"\$\{(?<braced>\w+)(?::[^}]*)?\}|\$(?<plain>\w+)|\[\[(?<old>\w+)(?::[^\]]*)?\]\]")]
    private static partial Regex VariablePattern();
}

public sealed class GrafanaDashboardTests
{
    private static readonly HashSet<string> PanelTypes = ["timeseries", "stat", "gauge", "table", "state-timeline", "bargauge", "barchart", "text", "row", "heatmap", "piechart"];

    [Fact]
    public void The_dashboard_has_what_a_Grafana_import_needs()
    {
        var dashboard = GrafanaDashboard.Load();
        Assert.False(string.IsNullOrWhiteSpace((string?)dashboard["title"]));
        Assert.Matches("^[A-Za-z0-9_-]{1,40}$", (string?)dashboard["uid"]);
        // Grafana migrates any older schema on import; below 30 (Grafana 8) the panels' format is a different one.
        Assert.InRange((int)dashboard["schemaVersion"]!, 30, 100);

        // The data source is a variable of type datasource over Prometheus, or an import input (__inputs): never a uid
        // from the author's own Grafana, which another Grafana would not have.
        var variables = dashboard["templating"]!["list"]!.AsArray().Select(v => v!.AsObject()).ToList();
        var sources = variables.Where(v => (string?)v["type"] == "datasource" && (string?)v["query"] == "prometheus").Select(v => (string)v["name"]!).ToHashSet();
        var inputs = (dashboard["__inputs"]?.AsArray() ?? []).Where(i => (string?)i!["type"] == "datasource" && (string?)i["pluginId"] == "prometheus").Select(i => (string)i!["name"]!).ToHashSet();
        Assert.True(sources.Count + inputs.Count > 0, "The dashboard has no Prometheus data source variable or input.");
        void AssertSource(JsonNode? datasource, string where)
        {
            Assert.True(datasource is not null, $"{where} names no datasource.");
            Assert.Equal("prometheus", (string?)datasource["type"]);
            var uid = (string)datasource["uid"]!;
            var match = Regex.Match(uid, @"^\$\{(\w+)\}$|^\$(\w+)$");
            var name = match.Groups[1].Success ? match.Groups[1].Value : match.Groups[2].Value;
            Assert.True(match.Success && (sources.Contains(name) || inputs.Contains(name)), $"{where}: datasource uid '{uid}' is not the dashboard's data source variable or input.");
        }
        foreach (var v in variables.Where(v => (string?)v["type"] == "query")) AssertSource(v["datasource"], $"Variable ${v["name"]}");

        var panels = dashboard["panels"]!.AsArray().Select(p => p!.AsObject()).ToList();
        Assert.NotEmpty(panels);
        Assert.Equal(panels.Count, panels.Select(p => (int)p["id"]!).Distinct().Count());
        foreach (var panel in panels)
        {
            var title = (string)panel["title"]!;
            Assert.Contains((string)panel["type"]!, PanelTypes);
            var grid = panel["gridPos"]!;
            Assert.True((int)grid["x"]! >= 0 && (int)grid["w"]! > 0 && (int)grid["x"]! + (int)grid["w"]! <= 24 && (int)grid["h"]! > 0, $"Panel '{title}' has gridPos {grid.ToJsonString()} outside Grafana's 24 columns.");
            AssertSource(panel["datasource"], $"Panel '{title}'");
            var targets = panel["targets"]?.AsArray();
            Assert.True(targets is { Count: > 0 }, $"Panel '{title}' has no targets.");
            Assert.Equal(targets.Count, targets.Select(t => (string)t!["refId"]!).Distinct().Count());
            foreach (var target in targets)
            {
                AssertSource(target!["datasource"], $"Panel '{title}' target {target["refId"]}");
                Assert.False(string.IsNullOrWhiteSpace((string?)target["expr"]), $"Panel '{title}' target {target["refId"]} has no expr.");
            }
        }
    }

    [Fact]
    public void Substitution_replaces_every_variable_and_refuses_unknown_ones()
    {
        var dashboard = GrafanaDashboard.Load();
        Assert.Equal("rate(x{job=~\".*\"}[4s])", GrafanaDashboard.Substitute("rate(x{job=~\"${job:regex}\"}[$__rate_interval])", dashboard));
        Assert.Equal("x{job=~\".*\"}", GrafanaDashboard.Substitute("x{job=~\"[[job]]\"}", dashboard));
        Assert.ThrowsAny<Xunit.Sdk.XunitException>(() => GrafanaDashboard.Substitute("x{node=~\"$node\"}", dashboard));
    }
}

/// <summary>
/// Every query of the dashboard, run by a real Prometheus scraping every second a twin's <c>/e2t/metrics</c> (job twin)
/// and a bench's <c>--metrics-listen</c> (job bench) while both serve load: each must parse, and return series from
/// each source that serves its metrics. That ties the dashboard to the names the code emits, not to a list in a test.
/// </summary>
[Collection(LiveMetricsHttp.Name)]
public sealed class GrafanaDashboardPrometheusTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("e2t-dashboard-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Every_dashboard_query_parses_and_returns_series_from_a_real_Prometheus_scraping_a_twin_and_a_bench()
    {
        var dashboard = GrafanaDashboard.Load();
        var queries = GrafanaDashboard.Targets(dashboard).Select(t => (t.Panel, Expr: GrafanaDashboard.Substitute((string)t.Target["expr"]!, dashboard))).ToList();
        Assert.NotEmpty(queries);

        await using var twin = await TwinHttp.StartAsync();
        var benchPort = PrometheusProcess.FreePort();
        await using var prometheus = await PrometheusProcess.StartAsync([
            PrometheusProcess.Job("twin", "/e2t/metrics", [twin.BaseAddress]),
            PrometheusProcess.Job("bench", "/metrics", [new Uri($"http://127.0.0.1:{benchPort}/")]),
        ]);

        // Load through the twin for as long as the test polls, so its recent window always has tokens in it.
        using var stop = new CancellationTokenSource();
        var twinLoad = Task.Run(async () =>
        {
            using var client = TwinHttp.Client(twin);
            for (var round = 0; !stop.IsCancellationRequested; round++)
            {
                await Task.WhenAll(Enumerable.Range(0, 4).Select(i =>
                    TwinHttp.PostAsync(client, "v1/completions", new { model = twin.ModelName, prompt = $"Round {round}, request {i}", max_tokens = 32, ignore_eos = true })));
            }
        });
        // InvokeAsync, not Invoke on a pool thread: a blocked thread would slow the in-process listener Prometheus scrapes.
        var bench = FleetPrometheusTests.RunAsync(["bench", "--idle", "1s", "--settle", "200ms", "--input", "fixed:64", "--output", "fixed:32", "--concurrency", "8",
            "--duration", "15s", "--out", Path.Combine(_dir, "run"), "--metrics-listen", $"127.0.0.1:{benchPort}"]);

        // The bench serves e2t_run_phase; the twin does not (docs/live-metrics.md): every other query needs both jobs.
        static HashSet<string> Expected(string expr) => expr.Contains("e2t_run_phase", StringComparison.Ordinal) ? ["bench"] : ["bench", "twin"];
        var missing = new List<string>();
        var started = Stopwatch.GetTimestamp();
        var deadline = started + 60 * Stopwatch.Frequency;
        while (true)
        {
            missing.Clear();
            var now = TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds() / 1000.0;
            foreach (var (panel, expr) in queries)
            {
                var answer = await prometheus.QueryAsync(expr, now);
                Assert.True((string?)answer["status"] == "success", $"Panel '{panel}': Prometheus refused '{expr}': {answer.ToJsonString()}");
                var jobs = answer["data"]!["result"]!.AsArray().Select(r => (string?)r!["metric"]!["job"] ?? "").ToHashSet();
                var absent = Expected(expr).Except(jobs).ToList();
                if (absent.Count > 0) missing.Add($"Panel '{panel}': '{expr}' has no series from job {string.Join(", ", absent)}");
            }
            if (missing.Count == 0)
            {
                output.WriteLine($"All {queries.Count} queries had their series {Stopwatch.GetElapsedTime(started).TotalSeconds:0.0} s after the bench started.");
                break;
            }
            if (bench.IsCompleted || Stopwatch.GetTimestamp() >= deadline)
            {
                Assert.Fail((bench.IsCompleted ? "The bench ended" : "60 s passed") + " before every query had its series:\n" + string.Join("\n", missing)
                    + "\nPrometheus's targets: " + await prometheus.TargetsAsync() + (bench.IsCompleted ? "\nThe bench's stderr:\n" + (await bench).Err : ""));
            }
            await Task.Delay(1000);
        }

        await stop.CancelAsync();
        await twinLoad;
        var (code, _, error) = await bench;
        Assert.True(code == 0, error);
    }
}
