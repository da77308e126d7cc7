using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using EnergyToToken.Catalog;
using EnergyToToken.Runs;
using EnergyToToken.Twin;
using static EnergyToToken.Tests.Cli.ModelCommandTests;

namespace EnergyToToken.Tests.Cli;

/// <summary><c>e2t bench</c> end to end: against the embedded twin and against an endpoint, its run directory, its refusals, Ctrl+C and a full disk.</summary>
public sealed class BenchCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("e2t-bench-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A short run: 1 s idle baselines, small requests.</summary>
    private static readonly string[] Short = ["--idle", "1s", "--settle", "200ms", "--input", "fixed:64", "--output", "fixed:32"];

    [Fact]
    public void Against_the_twin_it_writes_a_complete_run_whose_files_agree_with_each_other()
    {
        var run = Path.Combine(_dir, "run");
        var (code, output, error) = Run(["bench", .. Short, "--concurrency", "8", "--duration", "3s", "--warmup", "4", "--out", run, "--json"]);
        Assert.True(code == 0, error);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
        Assert.Contains("embedded twin: simulated", error, StringComparison.Ordinal);

        // stdout is result.json, written atomically beside the timelines.
        Assert.Equal(File.ReadAllText(Path.Combine(run, "result.json")).Trim(), output.Trim());
        Assert.Empty(Directory.GetFiles(run, "*.tmp"));
        using var json = JsonDocument.Parse(output);
        var root = json.RootElement;
        Assert.Equal("e2t.bench", root.GetProperty("kind").GetString());
        Assert.True(root.GetProperty("complete").GetBoolean());
        Assert.True(root.GetProperty("valid").GetBoolean());
        Assert.True(root.GetProperty("simulated").GetBoolean());
        Assert.Equal(TwinProfiles.Default.Name, root.GetProperty("target").GetProperty("twinProfile").GetString());

        // Every issued request is in exactly one state; the warm-up is recorded apart.
        var requests = root.GetProperty("requests");
        var issued = requests.GetProperty("issued").GetInt32();
        Assert.Equal(issued, requests.GetProperty("states").EnumerateObject().Sum(s => s.Value.GetInt32()) + requests.GetProperty("warmup").GetInt32());
        Assert.Equal(4, requests.GetProperty("warmup").GetInt32());
        var table = ParquetTable.Read(Path.Combine(run, "requests.parquet"), Timelines.Requests);
        Assert.Equal(issued, table.Rows);
        Assert.Equal(issued + 2, File.ReadAllLines(Path.Combine(run, "events.jsonl")).Length); // start, every request, end

        // Tokens: the metric is the measured requests' usage; the chunk timeline has one row per token (the twin streams one per chunk).
        var warmup = table.Column<bool>("warmup");
        var outputTokens = table.Column<int>("output_tokens");
        var measured = Enumerable.Range(0, (int)table.Rows).Where(r => !warmup[r]).ToList();
        var tokens = measured.Sum(r => (long)outputTokens[r]);
        var metrics = root.GetProperty("metrics");
        Assert.Equal(tokens, metrics.GetProperty("outputTokens").GetInt64());
        Assert.Equal(measured.Count * 32L, tokens);
        Assert.Equal(issued * 32, ChunkFile.Read(Path.Combine(run, ChunkFile.Name)).Times.Length);

        // Energy: simulated, inside its boundary, and J/token is the headline window's gross energy ÷ its output tokens.
        var energy = root.GetProperty("energy");
        Assert.Equal("simulated", energy.GetProperty("total").GetProperty("accounting").GetString());
        var whole = root.GetProperty("windows").GetProperty("whole");
        Assert.Equal(energy.GetProperty("total").GetProperty("grossJoules").GetDouble(), whole.GetProperty("grossJoules").GetDouble());
        Assert.Equal(tokens, whole.GetProperty("outputTokens").GetDouble());
        var headline = root.GetProperty("windows").GetProperty(metrics.GetProperty("window").GetString()!);
        Assert.Equal(headline.GetProperty("grossJoules").GetDouble() / headline.GetProperty("outputTokens").GetDouble(),
            metrics.GetProperty("joulesPerOutputToken").GetProperty("gross").GetDouble(), 12);

        // Attribution hands out exactly the measured energy, and re-analysis from the files gives the same bytes.
        Assert.True(root.GetProperty("attribution").GetProperty("conservationError").GetDouble() <= 1e-9);
        var again = Run(["analyze", run, "--json"]);
        Assert.Equal(0, again.Code);
        Assert.Equal(File.ReadAllText(Path.Combine(run, "result.json")), again.Out);
        Assert.True(ParquetTable.Read(Path.Combine(run, "power.parquet"), Timelines.Power).Rows > 30);
        Assert.True(ParquetTable.Read(Path.Combine(run, "server-metrics.parquet"), Timelines.ServerMetrics).Rows > 2);

        // Latency statistics exist for every metric and are ordered.
        var ttft = metrics.GetProperty("latency").GetProperty("ttftMs");
        Assert.Equal(measured.Count, ttft.GetProperty("count").GetInt32());
        Assert.True(ttft.GetProperty("p50").GetDouble() <= ttft.GetProperty("p99").GetDouble());
        Assert.True(metrics.GetProperty("latency").GetProperty("tpotMs").GetProperty("p50").GetDouble() > 0);
    }

    [Fact]
    public void The_summary_names_the_run_its_latency_and_its_simulated_energy()
    {
        var (code, output, error) = Run(["bench", .. Short, "--requests", "48", "--concurrency", "4", "--out", Path.Combine(_dir, "s")]);
        Assert.True(code == 0, error);
        Assert.Contains("run: llama-3.1-8b-h100-c4 (SIMULATED: embedded twin)", output, StringComparison.Ordinal);
        Assert.Contains("requests: 48 issued, 0 warm-up, 48 measured", output, StringComparison.Ordinal);
        Assert.Contains("states: ok 48; error rate 0 %", output, StringComparison.Ordinal);
        Assert.Contains("│ TTFT ", output, StringComparison.Ordinal);
        Assert.Matches(@"J per output token: [0-9.]+ gross, [0-9.]+ dynamic \(simulated, (steady|whole) window\)", output);
        Assert.Matches(@"uncertainty: ± [0-9.]+ J/token \(meter bound\), [0-9.]+ \(bootstrap std\)", output);
        Assert.Matches(@"phases: prefill [0-9.]+ J/input token gross", output);
        Assert.Matches(@"peak convention: compute ceiling [0-9.,]+ tok/s, power ceiling [0-9.,]+ tok/s \(P_IT 700 W\): (POWER|COMPUTE)", output);
        Assert.Contains("valid: yes", output, StringComparison.Ordinal);
    }

    [Fact]
    public void A_scenario_file_holds_the_flags_and_the_command_line_wins()
    {
        var scenario = Path.Combine(_dir, "scenario.yaml");
        File.WriteAllText(scenario, """
            name: from-yaml
            concurrency: 2
            requests: 6
            input: fixed:32
            output: fixed:8
            idle: 1s
            settle: 200ms
            meter: [none]
            """);
        var run = Path.Combine(_dir, "yaml");
        var (code, output, error) = Run("bench", "--scenario", scenario, "--requests", "4", "--out", run, "--json");
        Assert.True(code == 0, error);
        using var json = JsonDocument.Parse(output);
        var root = json.RootElement;
        Assert.Equal("from-yaml", root.GetProperty("name").GetString());
        Assert.Equal(4, root.GetProperty("requests").GetProperty("measured").GetInt32()); // the command line's 4, not the file's 6
        Assert.Equal(2, root.GetProperty("arrivals").GetProperty("concurrency").GetInt32());
        Assert.Equal("fixed:8", root.GetProperty("workload").GetProperty("outputTokens").GetString());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("energy").ValueKind); // meter: none: latency only
        Assert.Contains("no meter: latency and throughput only", root.GetProperty("notes").EnumerateArray().Select(n => n.GetString()));

        File.WriteAllText(scenario, "concurency: 2\nrate: fast\n");
        (code, _, error) = Run("bench", "--scenario", scenario);
        Assert.Equal(1, code);
        Assert.Contains("'concurency' is not a bench flag", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    [Fact]
    public void The_bundled_example_scenario_runs()
    {
        var example = Path.Combine(RepositoryRoot(), "examples", "bench-twin.yaml");
        var run = Path.Combine(_dir, "example");
        var (code, output, error) = Run("bench", "--scenario", example, "--duration", "2s", "--meter", "none", "--out", run, "--json");
        Assert.True(code == 0, error);
        using var json = JsonDocument.Parse(output);
        var root = json.RootElement;
        Assert.Equal("twin-lognormal-c16", root.GetProperty("name").GetString());
        Assert.Equal("lognormal:512,0.6", root.GetProperty("workload").GetProperty("inputTokens").GetString());
        Assert.Equal(8, root.GetProperty("requests").GetProperty("warmup").GetInt32());
        Assert.Equal("ttft-p99=1000ms,tpot-p99=50ms", root.GetProperty("slo").GetProperty("spec").GetString());
    }

    [Theory]
    [InlineData("--concurrency 4 --rate 2", "Give --concurrency (closed loop) or --rate (open loop), not both.")]
    [InlineData("--input fixed:0", "'0' is not a positive number")]
    [InlineData("--slo ttft-p42=5ms", "SLO statistic 'p42'")]
    [InlineData("--find-max-goodput", "--find-max-goodput needs --slo")]
    [InlineData("--meter nvml", "the embedded twin is measured by its own simulated meter")]
    [InlineData("--sweep users=1,2", "Sweep 'users=1,2' is not understood")]
    [InlineData("--endpoint http://127.0.0.1:1", "Cannot reach http://127.0.0.1:1/")]
    [InlineData("--api-key-env E2T_TEST_UNSET_KEY --endpoint http://127.0.0.1:1", "--api-key-env E2T_TEST_UNSET_KEY: that environment variable is not set")]
    [InlineData("--dataset /nonexistent/prompts.jsonl", "Dataset '/nonexistent/prompts.jsonl' cannot be read")]
    public void Bad_input_is_refused_with_one_clear_message_and_exit_1(string args, string expected)
    {
        var (code, _, error) = Run(["bench", .. args.Split(' '), "--out", Path.Combine(_dir, "bad")]);
        Assert.Equal(1, code);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.StartsWith("error: ", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Against_an_endpoint_it_finds_the_model_and_measures_through_a_dcgm_exporter()
    {
        var server = await TwinServer.StartAsync(new TwinServerOptions(), Catalogs.Load([]));
        await using (server)
        {
            var run = Path.Combine(_dir, "endpoint");
            var (code, output, error) = Run(["bench", .. Short, "--endpoint", server.BaseAddress + "v1", "--requests", "48", "--concurrency", "4", "--api", "chat",
                "--meter", "prometheus", "--prometheus", server.DcgmMetricsUrl.ToString(), "--remote-interval", "100ms", "--out", run, "--json"]);
            Assert.True(code == 0, error);
            using var json = JsonDocument.Parse(output);
            var root = json.RootElement;
            Assert.Equal(server.ModelName, root.GetProperty("target").GetProperty("model").GetString());
            Assert.Equal(JsonValueKind.Null, root.GetProperty("target").GetProperty("twinProfile").ValueKind);
            Assert.Equal("chat", root.GetProperty("target").GetProperty("api").GetString());
            Assert.Equal(48, root.GetProperty("requests").GetProperty("states").GetProperty("ok").GetInt32());
            // The exporter's series carry e2t_simulated="true": the energy stays labelled simulated through the real meter.
            Assert.Equal("simulated", root.GetProperty("energy").GetProperty("total").GetProperty("accounting").GetString());
            Assert.True(root.GetProperty("metrics").GetProperty("joulesPerOutputToken").GetProperty("gross").GetDouble() > 0);
            Assert.True(root.GetProperty("serverMetrics").GetProperty("samples").GetInt32() > 0);
        }
    }

    [Fact]
    public async Task A_wrong_model_is_refused_by_a_test_request_before_anything_is_measured()
    {
        var server = await TwinServer.StartAsync(new TwinServerOptions(), Catalogs.Load([]));
        await using (server)
        {
            var run = Path.Combine(_dir, "wrong-model");
            var (code, output, error) = Run(["bench", .. Short, "--endpoint", server.BaseAddress.ToString(), "--model", "gpt-9", "--meter", "none", "--out", run]);
            Assert.Equal(1, code);
            Assert.Equal("", output);
            Assert.Contains("refused a test request for model 'gpt-9'", error, StringComparison.Ordinal);
            Assert.Contains("The model `gpt-9` does not exist", error, StringComparison.Ordinal);
            Assert.Contains("Check --model and --api.", error, StringComparison.Ordinal);
            Assert.False(Directory.Exists(run)); // nothing written, so the same --out can be used again
        }
    }

    [Fact]
    public void An_error_rate_above_the_limit_makes_the_run_invalid_and_says_so()
    {
        var (code, output, error) = Run(["bench", .. Short, "--requests", "20", "--concurrency", "4", "--twin-faults", "error=0.5:500,seed=3", "--meter", "none",
            "--max-error-rate", "0.1", "--out", Path.Combine(_dir, "errors")]);
        Assert.Equal(1, code);
        Assert.Matches(@"states: ok \d+, httpError \d+", output);
        Assert.Contains("error: invalid run: error rate", error, StringComparison.Ordinal);
        Assert.Contains("valid: NO", output, StringComparison.Ordinal);
    }

    [Fact]
    public void A_sweep_writes_one_run_per_point_and_the_series()
    {
        var run = Path.Combine(_dir, "sweep");
        var (code, output, error) = Run(["bench", .. Short, "--sweep", "concurrency=1,4", "--requests", "8", "--meter", "none", "--out", run]);
        Assert.True(code == 0, error);
        Assert.Contains("Series over concurrency", output, StringComparison.Ordinal);
        using var series = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "result.json")));
        var points = series.RootElement.GetProperty("points").EnumerateArray().ToList();
        Assert.Equal("e2t.bench.series", series.RootElement.GetProperty("kind").GetString());
        Assert.Equal([1.0, 4.0], points.Select(p => p.GetProperty("value").GetDouble()));
        foreach (var p in points)
        {
            using var point = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, p.GetProperty("directory").GetString()!, "result.json")));
            Assert.Equal(p.GetProperty("value").GetDouble(), point.RootElement.GetProperty("arrivals").GetProperty("concurrency").GetDouble());
            Assert.Equal(8, point.RootElement.GetProperty("requests").GetProperty("measured").GetInt32());
        }
        // The series' manifest chains to each point's.
        var verified = RunManifest.Verify(run);
        Assert.True(verified.Intact, string.Join("; ", verified.Problems.Select(p => p.Message)));
        Assert.Equal(3, verified.Runs);
    }

    [Theory]
    [InlineData("tpot-p99=100s", new[] { 1.0, 2.0, 4.0 }, 4.0)] // always met: doubles until the run budget is spent
    [InlineData("tpot-p99=1us", new[] { 1.0, 2.0, 4.0 }, null)] // never met: halves from 4 down to 1, then gives up
    public void The_slo_search_doubles_while_met_halves_while_missed_and_reports_the_saturation(string slo, double[] expectedValues, double? saturation)
    {
        var start = saturation is null ? "4" : "1";
        var run = Path.Combine(_dir, "search");
        var (code, output, error) = Run(["bench", .. Short, "--find-max-goodput", "--slo", slo, "--concurrency", start, "--requests", "4", "--meter", "none",
            "--search-max-runs", "3", "--out", run]);
        Assert.True(code == 0, error);
        using var series = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "result.json")));
        var root = series.RootElement;
        Assert.Equal(expectedValues, root.GetProperty("points").EnumerateArray().Select(p => p.GetProperty("value").GetDouble()));
        if (saturation is { } s)
        {
            Assert.Equal(s, root.GetProperty("saturation").GetProperty("value").GetDouble());
            Assert.True(root.GetProperty("saturation").GetProperty("outputTokensPerSecond").GetDouble() > 0);
            Assert.Contains("R_sat", output, StringComparison.Ordinal);
            // Every point was rewritten with the saturation, and its manifest with it, before the series' own.
            var verified = RunManifest.Verify(run);
            Assert.True(verified.Intact, string.Join("; ", verified.Problems.Select(p => p.Message)));
            Assert.Equal(expectedValues.Length + 1, verified.Runs);
        }
        else
        {
            Assert.Equal(JsonValueKind.Null, root.GetProperty("saturation").ValueKind);
            Assert.Contains("no run met the SLO", output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Ctrl_c_mid_run_writes_what_was_measured_marked_incomplete_and_exits_130()
    {
        var run = Path.Combine(_dir, "interrupted");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        string[] args = [Path.Combine(AppContext.BaseDirectory, "e2t.dll"), "bench", .. Short, "--duration", "120s", "--concurrency", "4", "--out", run];
        foreach (var a in args)
            info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        var log = Path.Combine(run, "events.jsonl");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        // Wait until some requests have finished and been logged.
        while (!File.Exists(log) || File.ReadAllLines(log).Length < 10) await Task.Delay(100, timeout.Token);
        using (var kill = Process.Start("kill", ["-INT", process.Id.ToString(CultureInfo.InvariantCulture)])!) await kill.WaitForExitAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);

        Assert.Equal(130, process.ExitCode);
        Assert.Contains("interrupted", await stderr, StringComparison.Ordinal);
        Assert.Contains("INCOMPLETE", await stdout, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "result.json")));
        var root = json.RootElement;
        Assert.False(root.GetProperty("complete").GetBoolean());
        var requests = root.GetProperty("requests");
        // Nothing lost: every issued request is in the timeline, the ones cut short as cancelled at the end of the run.
        Assert.Equal(requests.GetProperty("issued").GetInt32(), ParquetTable.Read(Path.Combine(run, "requests.parquet"), Timelines.Requests).Rows);
        Assert.True(requests.GetProperty("states").GetProperty("ok").GetInt32() >= 8);
        Assert.True(requests.GetProperty("states").GetProperty("cancelledEndOfRun").GetInt32() >= 1);
    }

    [Fact]
    public void A_window_too_short_for_the_meter_makes_the_run_invalid()
    {
        // Two tiny requests finish in well under ten 100 ms counter updates.
        var (code, output, error) = Run("bench", "--idle", "1s", "--settle", "200ms", "--input", "fixed:16", "--output", "fixed:4", "--requests", "2", "--concurrency", "2", "--out", Path.Combine(_dir, "short"));
        Assert.Equal(1, code);
        Assert.Contains("error: invalid run: the window holds fewer than 10 updates of twin:0", error, StringComparison.Ordinal);
        Assert.Contains("valid: NO", output, StringComparison.Ordinal);
    }

    [Fact]
    public void A_full_disk_while_writing_keeps_the_summary_and_says_what_was_lost()
    {
        if (!File.Exists("/dev/full")) return; // Linux only: /dev/full answers every write with ENOSPC
        var run = Path.Combine(_dir, "full");
        Directory.CreateDirectory(run);
        File.CreateSymbolicLink(Path.Combine(run, "requests.parquet.tmp"), "/dev/full");
        var (code, output, error) = Run(["bench", .. Short, "--requests", "6", "--concurrency", "2", "--meter", "none", "--out", run]);
        Assert.Equal(1, code);
        Assert.Contains("requests: 6 issued", output, StringComparison.Ordinal); // the summary of what was measured
        Assert.Contains($"Could not write the run to '{run}'", error, StringComparison.Ordinal);
        Assert.Contains("No space left on device", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(run, "result.json")));
        Assert.Equal(6 + 2, File.ReadAllLines(Path.Combine(run, "events.jsonl")).Length); // the event log kept every request
    }
}
