using System.Text.Json;
using EnergyToToken.Metering;
using EnergyToToken.Metering.Nvml;
using Microsoft.Extensions.Time.Testing;

namespace EnergyToToken.Tests.Metering;

/// <summary>Tests that load native libraries or set process-wide environment variables run one at a time.</summary>
[CollectionDefinition("native meters", DisableParallelization = true)]
public sealed class NativeMeters;

/// <summary>
/// The real NVML interop path against a fake libnvidia-ml.so.1 built from C by the test project
/// (Fixtures/fake-nvml/fake_nvml.c), scripted per test.
/// </summary>
[Collection("native meters")]
public class NvmlMeterTests
{
    internal static readonly string FakeLibrary = Path.Combine(AppContext.BaseDirectory, "fake-nvml", "libnvidia-ml.so.1");
    private static readonly string Script = Path.Combine(AppContext.BaseDirectory, "fake-nvml", "fake-nvml.script");

    private static NvmlMeter Open(string script, TimeProvider? time = null)
    {
        File.WriteAllText(Script, script);
        return NvmlMeter.Open(new NvmlOptions { Library = FakeLibrary }, time ?? TimeProvider.System);
    }

    [Fact]
    public void Every_gpu_becomes_a_counter_channel_with_power_and_gauges()
    {
        using var meter = Open("""
            devices 2
            name 0 NVIDIA H100 80GB HBM3
            uuid 0 GPU-aaaa
            energy 0 1000 1500
            power 0 250000 260000
            uuid 1 GPU-bbbb
            energy 1 7000
            power 1 100000
            limit 1 350000
            mig 1 1
            """);
        Assert.Equal(["nvml:0", "nvml:1"], meter.Channels.Select(c => c.Id));
        Assert.All(meter.Channels, c => Assert.Equal(ReadingKind.Counter, c.Kind));
        Assert.All(meter.Channels, c => Assert.True(c.HasPower));
        Assert.Equal("NVIDIA H100 80GB HBM3 (GPU-aaaa)", meter.Channels[0].Description);
        Assert.Equal("GPU-bbbb", meter.Channels[1].DeviceKey);
        Assert.Contains(meter.Channels[1].Notes, n => n.Contains("MIG", StringComparison.Ordinal));
        Assert.DoesNotContain(meter.Channels[0].Notes, n => n.Contains("MIG", StringComparison.Ordinal));

        var readings = new MeterReading[2];
        var gauges = new double[meter.Telemetry.Count];
        meter.Read(readings, gauges);
        // Open() consumed the first value of each sequence while probing support.
        Assert.Equal(1.5, readings[0].Joules, 9);
        Assert.Equal(260, readings[0].Watts, 9);
        Assert.Equal(7, readings[1].Joules, 9);
        Assert.True(readings[0].After >= readings[0].Before);
        var gauge = meter.Telemetry.Select((t, i) => (t.Id, Value: gauges[i])).ToDictionary(x => x.Id, x => x.Value);
        Assert.Equal(700, gauge["nvml:0:power_limit"]);
        Assert.Equal(350, gauge["nvml:1:power_limit"]);
        Assert.Equal(87, gauge["nvml:0:utilization"]);
        Assert.Equal(1980, gauge["nvml:0:sm_clock"]);
        Assert.Equal(45, gauge["nvml:0:temperature"]);
        Assert.Equal(4, gauge["nvml:0:throttle_reasons"]);
    }

    [Fact]
    public void A_lost_gpu_is_recorded_and_the_energy_before_it_is_kept()
    {
        var time = new FakeTimeProvider();
        using var meter = Open("energy 0 0 0 100 200 lost\npower 0 1000000", time);
        using var sampler = new PowerSampler([meter], new SamplerOptions(), time);
        for (var i = 0; i < 5; i++)
        {
            sampler.SampleOnce();
            time.Advance(TimeSpan.FromMilliseconds(100));
        }
        var track = Assert.Single(sampler.Tracks);
        Assert.Equal(0.2, track.Energy[^1], 9);
        var lost = Assert.Single(track.Events, e => e.Kind == MeterEventKind.Lost);
        Assert.Contains("Lost", lost.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_counter_reset_mid_run_is_bridged_and_flagged()
    {
        var time = new FakeTimeProvider();
        using var meter = Open("energy 0 0 50000 100000 150000 2000 52000\npower 0 500000", time);
        using var sampler = new PowerSampler([meter], new SamplerOptions(), time);
        for (var i = 0; i < 5; i++)
        {
            sampler.SampleOnce();
            time.Advance(TimeSpan.FromMilliseconds(100));
        }
        var track = Assert.Single(sampler.Tracks);
        Assert.Equal([0, 50, 100, 150, 200], track.Energy.ToArray());
        var window = EnergyWindow.Integrate(track, 0, 0.4);
        // Reads 50, 100, 150, 2, 52 J: two intervals of 50 J, the reset interval (2 J counted since the reset, so
        // 50 J estimated from 500 W × 0.1 s), then 50 J.
        Assert.Equal(200, window.Joules, 6);
        Assert.True(window.UncertaintyJoules >= 48);
        Assert.Contains(window.Flags, f => f.Contains("1 reset event", StringComparison.Ordinal));
    }

    [Fact]
    public void Without_an_energy_counter_instantaneous_power_is_integrated()
    {
        using var meter = Open("energy 0 ns\npower 0 300000");
        var channel = Assert.Single(meter.Channels);
        Assert.Equal(ReadingKind.InstantPower, channel.Kind);
        Assert.Contains(channel.Notes, n => n.Contains("no total-energy counter", StringComparison.Ordinal));
    }

    [Fact]
    public void Without_a_counter_or_instant_field_the_averaged_reading_is_used_and_shifted()
    {
        using var meter = Open("energy 0 ns\ninstant 0 0\npower 0 300000");
        var channel = Assert.Single(meter.Channels);
        Assert.Equal(ReadingKind.AveragedPower, channel.Kind);
        Assert.Equal(TimeSpan.FromSeconds(1), channel.AveragingWindow);
    }

    [Fact]
    public void A_driver_that_is_not_loaded_is_explained()
    {
        var e = Assert.Throws<EnergyToTokenException>(() => Open("init 9"));
        Assert.Contains("driver is not loaded", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_gpu_without_any_power_reading_is_skipped_and_explained()
    {
        var e = Assert.Throws<EnergyToTokenException>(() => Open("energy 0 ns\npower 0 ns"));
        Assert.Contains("no GPU offers an energy counter or a power reading", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_library_is_explained_by_the_tool()
    {
        // A separate process: in this one the fake library may already be loaded.
        var (exit, stdout, _) = E2tProcess.Run(new Dictionary<string, string> { ["E2T_NVML_LIBRARY"] = "/nonexistent/libnvidia-ml.so.1" }, asNobody: false, "meters", "--json", "--probe-time", "0");
        Assert.Equal(0, exit);
        using var json = JsonDocument.Parse(stdout);
        var nvml = json.RootElement.GetProperty("meters")[0];
        Assert.Equal("nvml", nvml.GetProperty("meter").GetString());
        Assert.False(nvml.GetProperty("available").GetBoolean());
        Assert.Contains("set E2T_NVML_LIBRARY", nvml.GetProperty("reason").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void E2t_measure_reads_the_fake_gpu_around_a_real_command_on_the_real_clock()
    {
        var script = Path.Combine(Path.GetTempPath(), $"e2t-fake-nvml-{Guid.NewGuid():N}.script");
        File.WriteAllText(script, "devices 1\nenergy 0 rate 250\npower 0 rate 250\n");
        try
        {
            var (exit, stdout, stderr) = E2tProcess.Run(new Dictionary<string, string> { ["E2T_NVML_LIBRARY"] = FakeLibrary, ["FAKE_NVML_SCRIPT"] = script }, asNobody: false,
                "measure", "--meter", "nvml", "--idle", "0", "--interval", "20ms", "--tokens", "100", "--json", "--", "sleep", "1.5");
            Assert.True(exit == 0, stderr);
            using var json = JsonDocument.Parse(stdout);
            var total = json.RootElement.GetProperty("total");
            var seconds = json.RootElement.GetProperty("durationSeconds").GetDouble();
            Assert.InRange(seconds, 1.4, 3);
            // 250 W on the fake's own monotonic clock over the command's duration.
            Assert.Equal(250 * seconds, total.GetProperty("grossJoules").GetDouble(), 250 * seconds * 0.03);
            Assert.Equal(total.GetProperty("grossJoules").GetDouble() / 100, total.GetProperty("grossJoulesPerToken").GetDouble(), 9);
            Assert.Equal("measured", total.GetProperty("accounting").GetString());
            var channel = json.RootElement.GetProperty("channels")[0];
            Assert.Equal("counter", channel.GetProperty("method").GetString());
            Assert.Equal(0, channel.GetProperty("crossCheck").GetDouble(), 0.05);
        }
        finally
        {
            File.Delete(script);
        }
    }
}
