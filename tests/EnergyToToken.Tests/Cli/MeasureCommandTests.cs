using System.Text.Json;
using EnergyToToken.Tests.Metering;
using static EnergyToToken.Tests.Cli.ModelCommandTests;

namespace EnergyToToken.Tests.Cli;

/// <summary><c>e2t measure</c> and <c>e2t meters</c> through System.CommandLine's seam, with real processes and the synthetic meter on the real clock.</summary>
[Collection("native meters")]
public class MeasureCommandTests
{
    [Fact]
    public void Measure_returns_the_commands_exit_code_and_reports_simulated_energy()
    {
        var (code, output, error) = Run("measure", "--meter", "synthetic", "--synthetic", "200W:10s", "--idle", "0", "--interval", "20ms", "--json", "--", "sh", "-c", "sleep 0.5; exit 3");
        Assert.True(code == 3, error);
        using var json = JsonDocument.Parse(output);
        var root = json.RootElement;
        Assert.Equal("e2t.measure", root.GetProperty("kind").GetString());
        Assert.Equal(3, root.GetProperty("exitCode").GetInt32());
        Assert.True(root.GetProperty("complete").GetBoolean());
        var total = root.GetProperty("total");
        Assert.Equal("simulated", total.GetProperty("accounting").GetString());
        Assert.Contains("simulated, not measured", total.GetProperty("boundary").GetString(), StringComparison.Ordinal);
        var seconds = root.GetProperty("durationSeconds").GetDouble();
        Assert.Equal(200 * seconds, total.GetProperty("grossJoules").GetDouble(), total.GetProperty("uncertaintyJoules").GetDouble() + 1e-6);
        Assert.Equal(JsonValueKind.Null, total.GetProperty("staticJoules").ValueKind);
    }

    [Fact]
    public void Idle_baseline_gives_static_and_dynamic_energy_and_tokens_give_joules_per_token()
    {
        var file = Path.Combine(Path.GetTempPath(), $"e2t-tokens-{Guid.NewGuid():N}");
        try
        {
            var (code, output, error) = Run("measure", "--meter", "synthetic", "--synthetic", "150W:60s", "--idle", "1s", "--interval", "10ms",
                "--tokens-file", file, "--json", "--", "sh", "-c", $"sleep 0.6; echo 42 > {file}");
            Assert.True(code == 0, error);
            using var json = JsonDocument.Parse(output);
            var total = json.RootElement.GetProperty("total");
            var gross = total.GetProperty("grossJoules").GetDouble();
            Assert.Equal(42, total.GetProperty("tokens").GetDouble());
            Assert.Equal(gross / 42, total.GetProperty("grossJoulesPerToken").GetDouble(), 9);
            // Constant power: the command draws nothing above idle, to within the measurement's own bound.
            Assert.Equal(0, total.GetProperty("dynamicJoules").GetDouble(), total.GetProperty("uncertaintyJoules").GetDouble() * 2);
            var channel = json.RootElement.GetProperty("channels")[0];
            // Idle windows of 10 update periods: within a few percent.
            Assert.Equal(150, channel.GetProperty("idleWattsBefore").GetDouble(), 6.0);
            Assert.Equal(150, channel.GetProperty("idleWattsAfter").GetDouble(), 6.0);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Measure_plays_back_a_recorded_pdu_log_on_the_runs_clock()
    {
        var log = Path.Combine(Path.GetTempPath(), $"e2t-pdu-{Guid.NewGuid():N}.csv");
        var start = new DateTimeOffset(2024, 5, 1, 12, 0, 0, TimeSpan.Zero);
        File.WriteAllLines(log, ["timestamp,watts", .. Enumerable.Range(0, 300).Select(i =>
            FormattableString.Invariant($"{start.AddMilliseconds(100 * i):yyyy-MM-ddTHH:mm:ss.fffzzz},{(i < 150 ? 500 : 900)}"))]);
        try
        {
            var (code, output, error) = Run("measure", "--meter", "replay", "--replay", log, "--idle", "0", "--interval", "20ms", "--json", "--", "sleep", "1.5");
            Assert.True(code == 0, error);
            using var json = JsonDocument.Parse(output);
            var total = json.RootElement.GetProperty("total");
            Assert.Equal("nodeAc", total.GetProperty("scope").GetString());
            var seconds = json.RootElement.GetProperty("durationSeconds").GetDouble();
            Assert.Equal(500 * seconds, total.GetProperty("grossJoules").GetDouble(), Math.Max(total.GetProperty("uncertaintyJoules").GetDouble(), 500 * seconds * 0.05));
            Assert.Equal("powerIntegral", json.RootElement.GetProperty("channels")[0].GetProperty("method").GetString());
        }
        finally
        {
            File.Delete(log);
        }
    }

    [Fact]
    public void Table_output_names_the_boundary_and_the_total()
    {
        var (code, output, _) = Run("measure", "--meter", "synthetic", "--idle", "0", "--tokens", "10", "--", "true");
        Assert.Equal(0, code);
        Assert.Contains("boundary: 1 × accelerator (components only; the rest of the node is outside), simulated, not measured", output, StringComparison.Ordinal);
        Assert.Contains("total gross:", output, StringComparison.Ordinal);
        Assert.Contains("J/token", output, StringComparison.Ordinal);
        Assert.Contains("no idle baseline", output, StringComparison.Ordinal);
    }

    [Fact]
    public void A_token_file_that_holds_no_number_fails_clearly_and_keeps_the_energy()
    {
        var file = Path.Combine(Path.GetTempPath(), $"e2t-tokens-{Guid.NewGuid():N}");
        try
        {
            var (code, output, error) = Run("measure", "--meter", "synthetic", "--idle", "0", "--tokens-file", file, "--json", "--", "sh", "-c", $"echo lots > {file}");
            Assert.Equal(1, code);
            Assert.Contains("holds 'lots', not a token count", error, StringComparison.Ordinal);
            Assert.True(JsonDocument.Parse(output).RootElement.GetProperty("total").GetProperty("grossJoules").GetDouble() >= 0);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData("Unknown meter 'gpu'. Valid meters: auto, nvml", "--meter", "gpu")]
    [InlineData("'5x' is not a duration", "--interval", "5x")]
    [InlineData("--idle: '-1s' is not a duration", "--idle", "-1s")]
    [InlineData("The local sampling interval must be between 1 ms and 10 min", "--interval", "0")]
    [InlineData("--tokens must be a count of at least 0", "--tokens", "-5")]
    [InlineData("WATTS:DURATION", "--synthetic", "fast")]
    [InlineData("--hwmon-scope 'amdgpu' is not NAME=SCOPE", "--hwmon-scope", "amdgpu")]
    public void Bad_input_gets_one_clear_message_and_exit_code_1(string message, string flag, string value)
    {
        var (code, _, error) = Run("measure", "--meter", "synthetic", flag, value, "--", "true");
        Assert.Equal(1, code);
        Assert.Contains(message, error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("measure")]
    [InlineData("meters")]
    [InlineData("analyze")]
    public void Help_matches_its_golden_file(string command)
    {
        var (code, output, _) = Run(command, "--help");
        Assert.Equal(0, code);
        Golden.Match(output, $"{command}-help.txt");
    }

    [Fact]
    public void A_command_that_does_not_exist_is_named()
    {
        var (code, _, error) = Run("measure", "--meter", "synthetic", "--idle", "0", "--", "/no/such/command");
        Assert.Equal(1, code);
        Assert.Contains("Cannot start '/no/such/command'", error, StringComparison.Ordinal);
    }

    [Fact]
    public void No_available_meter_is_explained_with_what_was_probed_and_the_command_is_not_run()
    {
        using var tree = new SysfsTree();
        var marker = Path.Combine(tree.Root, "ran");
        var saved = Environment.GetEnvironmentVariable("E2T_SYSFS_ROOT");
        Environment.SetEnvironmentVariable("E2T_SYSFS_ROOT", tree.Root);
        try
        {
            var (code, _, error) = Run("measure", "--meter", "rapl,hwmon", "--", "touch", marker);
            Assert.Equal(1, code);
            Assert.Contains("No power meter is available.", error, StringComparison.Ordinal);
            Assert.Contains("rapl: RAPL:", error, StringComparison.Ordinal);
            Assert.Contains("--meter synthetic", error, StringComparison.Ordinal);
            Assert.False(File.Exists(marker));
        }
        finally
        {
            Environment.SetEnvironmentVariable("E2T_SYSFS_ROOT", saved);
        }
    }

    [Fact]
    public void Meters_lists_every_meter_with_why_and_measures_the_synthetic_update_period()
    {
        var (code, output, error) = Run("meters", "--json", "--probe-time", "600ms");
        Assert.True(code == 0, error);
        using var json = JsonDocument.Parse(output);
        var meters = json.RootElement.GetProperty("meters").EnumerateArray().ToDictionary(m => m.GetProperty("meter").GetString()!);
        Assert.Equal(["nvml", "amdsmi", "rapl", "hwmon", "ipmi", "redfish", "prometheus", "replay", "cpu-model", "synthetic"], meters.Keys);
        Assert.Contains("Pass --redfish", meters["redfish"].GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.All(meters.Values, m => Assert.False(string.IsNullOrEmpty(m.GetProperty("reason").GetString())));
        var synthetic = meters["synthetic"].GetProperty("channels")[0];
        Assert.Equal(0.1, synthetic.GetProperty("measuredUpdatePeriodSeconds").GetDouble(), 0.02);
        Assert.True(synthetic.GetProperty("simulated").GetBoolean());
    }
}

/// <summary><c>e2t measure</c> against a DCGM-style exporter on loopback, whose energy counter grows with real time.</summary>
[Collection("native meters")]
public class MeasureRemoteTests
{
    [Fact]
    public void Measure_reads_a_dcgm_exporter_over_http_and_reports_a_node_of_two_gpus()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var server = new LoopbackServer(_ =>
        {
            // Two GPUs at 300 W and 100 W, counters in mJ, as DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION reports them.
            var s = clock.Elapsed.TotalSeconds;
            var text = string.Join('\n',
                "# HELP DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION Total energy consumption since boot (in mJ).",
                "# TYPE DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION counter",
                FormattableString.Invariant($"DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{{gpu=\"0\",UUID=\"GPU-a\",Hostname=\"n1\"}} {(long)(5e6 + 300_000 * s)}"),
                FormattableString.Invariant($"DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{{gpu=\"1\",UUID=\"GPU-b\",Hostname=\"n1\"}} {(long)(7e6 + 100_000 * s)}"),
                "# TYPE DCGM_FI_DEV_POWER_USAGE gauge",
                "DCGM_FI_DEV_POWER_USAGE{gpu=\"0\",UUID=\"GPU-a\",Hostname=\"n1\"} 300.000",
                "DCGM_FI_DEV_POWER_USAGE{gpu=\"1\",UUID=\"GPU-b\",Hostname=\"n1\"} 100.000",
                "");
            return new LoopbackServer.Answer(200, text, "text/plain; version=0.0.4");
        });
        var (code, output, error) = Run("measure", "--meter", "prometheus", "--prometheus", server.At("/metrics").ToString(), "--remote-interval", "50ms",
            "--idle", "0", "--json", "--", "sleep", "2");
        Assert.True(code == 0, error);
        using var json = JsonDocument.Parse(output);
        var total = json.RootElement.GetProperty("total");
        var seconds = json.RootElement.GetProperty("durationSeconds").GetDouble();
        Assert.Equal(2, total.GetProperty("included").GetArrayLength());
        Assert.Equal("measured", total.GetProperty("accounting").GetString());
        Assert.Equal(400 * seconds, total.GetProperty("grossJoules").GetDouble(), Math.Max(total.GetProperty("uncertaintyJoules").GetDouble(), 400 * seconds * 0.05));
        Assert.True(server.Requests >= 20);
    }
}

/// <summary>Interrupting <c>e2t measure</c> keeps what was measured and says it is incomplete (measurement.md §5).</summary>
public class MeasureInterruptTests
{
    [Fact]
    public async Task Sigterm_mid_command_prints_the_partial_measurement_marked_incomplete_with_exit_code_130()
    {
        var seconds = FormattableString.Invariant($"{60 + Random.Shared.NextDouble():0.######}"); // a sleep no one else runs
        var info = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "e2t.dll"), "measure", "--meter", "synthetic", "--idle", "0", "--json", "--", "sleep", seconds })
            info.ArgumentList.Add(a);
        using var process = System.Diagnostics.Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await Task.Delay(3000);
        using (var kill = System.Diagnostics.Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) kill.WaitForExit();
        Assert.True(process.WaitForExit(15_000), "e2t did not stop after SIGTERM");
        Assert.True(process.ExitCode == 130, await stderr);
        using var json = JsonDocument.Parse(await stdout);
        Assert.False(json.RootElement.GetProperty("complete").GetBoolean());
        Assert.Equal("interrupted before the command finished", json.RootElement.GetProperty("incomplete").GetString());
        // The command got the signal passed on and ended by it: 128 + SIGTERM.
        Assert.Equal(143, json.RootElement.GetProperty("exitCode").GetInt32());
        Assert.InRange(json.RootElement.GetProperty("durationSeconds").GetDouble(), 1, 10);
        Assert.True(json.RootElement.GetProperty("total").GetProperty("grossJoules").GetDouble() > 0);
        // The measured command does not outlive the measurement.
        using var pgrep = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("pgrep", ["-f", $"sleep {seconds}"]) { RedirectStandardOutput = true })!;
        pgrep.WaitForExit();
        Assert.Equal("", pgrep.StandardOutput.ReadToEnd().Trim());
    }
}
