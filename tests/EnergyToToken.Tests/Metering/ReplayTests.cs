using EnergyToToken.Metering;
using EnergyToToken.Metering.Replay;
using Microsoft.Extensions.Time.Testing;

namespace EnergyToToken.Tests.Metering;

public sealed class ReplayTests
{
    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", "replay", name);

    private static readonly long Noon = new DateTimeOffset(2024, 5, 1, 12, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();

    [Fact]
    public void Nvidia_smi_csv_is_parsed_per_gpu_with_units_and_missing_values()
    {
        var trace = ReplayTrace.Load(Fixture("nvidia-smi.csv"));
        Assert.Equal(ReplayFormat.NvidiaSmi, trace.Format);
        Assert.Equal(["0", "1"], trace.Channels.Select(c => c.Name));
        var gpu0 = trace.Channels[0];
        Assert.Equal("GPU-5f0c3b2e-8d41-4a5e-9c1b-0a2f6d7e8c91", gpu0.DeviceKey);
        Assert.True(gpu0.HasEnergy);
        Assert.True(gpu0.HasPower);
        Assert.Equal(4, gpu0.Rows.Count);
        Assert.Equal(new ReplayRow(Noon, 1000, 300), gpu0.Rows[0]);
        Assert.Equal(new ReplayRow(Noon + 300, 1000.07, 100), gpu0.Rows[3]);
        Assert.Equal(1e-3, gpu0.EnergyResolutionJoules, 12);
        Assert.Equal(0.01, gpu0.PowerResolutionWatts, 12);
        Assert.Equal(100, gpu0.MedianIntervalMilliseconds);
        var gpu1 = trace.Channels[1];
        Assert.True(double.IsNaN(gpu1.Rows[0].Watts));
        Assert.True(double.IsNaN(gpu1.Rows[0].Joules));
        Assert.Equal(80.5, gpu1.Rows[1].Watts);
        Assert.Equal(Noon, trace.StartUnixMilliseconds);
        Assert.Equal(Noon + 300, trace.EndUnixMilliseconds);
        Assert.Contains(trace.Notes, n => n.Contains("1 s average", StringComparison.Ordinal));
    }

    [Fact]
    public void Nvidia_smi_csv_without_units_or_energy_is_power_only()
    {
        var trace = ReplayTrace.Load(Fixture("nvidia-smi-nounits.csv"));
        var gpu = Assert.Single(trace.Channels);
        Assert.False(gpu.HasEnergy);
        Assert.True(gpu.HasPower);
        Assert.Equal([250.12, 260.34, double.NaN, 270.56], gpu.Rows.Select(r => r.Watts));
        Assert.Equal(1000, gpu.MedianIntervalMilliseconds);

        var noUnit = ReplayParsers.Parse("timestamp, index, total_energy_consumption\n2024/05/01 12:00:00.000, 0, 5000\n");
        Assert.Equal(5, noUnit.Channels[0].Rows[0].Joules, 12);
        Assert.Contains(noUnit.Notes, n => n.Contains("read as mJ", StringComparison.Ordinal));
        var joules = ReplayParsers.Parse("timestamp, index, total_energy_consumption [J]\n2024/05/01 12:00:00.000, 0, 5000\n");
        Assert.Equal(5000, joules.Channels[0].Rows[0].Joules, 12);
    }

    [Fact]
    public void Dcgm_and_pdu_logs_are_parsed_with_their_units()
    {
        var dcgm = ReplayTrace.Load(Fixture("dcgm.csv"));
        Assert.Equal(ReplayFormat.Dcgm, dcgm.Format);
        var gpu = Assert.Single(dcgm.Channels);
        Assert.Equal("GPU-5f0c3b2e-8d41-4a5e-9c1b-0a2f6d7e8c91", gpu.DeviceKey);
        Assert.Equal(new ReplayRow(Noon + 1000, 2400.5, 401.5), gpu.Rows[1]);

        var dmon = ReplayParsers.Parse("timestamp,entity,POWER,TOTEC\n1714564800,GPU 3,70.25,123456\n");
        Assert.Equal(ReplayFormat.Dcgm, dmon.Format);
        Assert.Equal("3", dmon.Channels[0].Name);
        Assert.Equal(new ReplayRow(Noon, 123.456, 70.25), dmon.Channels[0].Rows[0]);

        var pdu = ReplayTrace.Load(Fixture("pdu.csv"));
        Assert.Equal(ReplayFormat.Pdu, pdu.Format);
        Assert.Equal(["outlet-1", "outlet-2"], pdu.Channels.Select(c => c.Name));
        Assert.Equal(10 * 3.6e6, pdu.Channels[0].Rows[0].Joules, 3);
        Assert.Equal(3600, pdu.Channels[0].EnergyResolutionJoules, 6);
        Assert.Equal([Noon + 500, Noon + 1500], pdu.Channels[1].Rows.Select(r => r.UnixMilliseconds));

        var unix = ReplayTrace.Load(Fixture("pdu-unix.csv"));
        Assert.Equal([Noon, Noon + 1500, Noon + 3000], unix.Channels[0].Rows.Select(r => r.UnixMilliseconds));
        Assert.False(unix.Channels[0].HasEnergy);
    }

    [Fact]
    public void Unknown_headers_and_bad_rows_are_explained()
    {
        var e = Assert.Throws<EnergyToTokenException>(() => ReplayParsers.Parse("time,value\n1,2\n", source: "x.csv"));
        Assert.Contains("x.csv", e.Message, StringComparison.Ordinal);
        Assert.Contains("power.draw", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<EnergyToTokenException>(() => ReplayParsers.Parse("timestamp,watts\n1714564800,100\nyesterday,200\n", source: "p.csv"));
        Assert.Contains("p.csv, line 3", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<EnergyToTokenException>(() => ReplayParsers.Parse("timestamp,watts\n1714564800,lots\n"));
        Assert.Contains("'lots' is not a number", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<EnergyToTokenException>(() => ReplayTrace.Load(Fixture("missing.csv")));
        Assert.Contains("Cannot read", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Replay_plays_the_last_row_at_or_before_the_run_clock_and_then_reports_a_gap()
    {
        var time = new FakeTimeProvider();
        using var meter = ReplayMeter.Open(new ReplayOptions { Path = Fixture("nvidia-smi.csv") }, time);
        Assert.False(meter.IsRemote);
        Assert.Equal(["replay:0", "replay:1"], meter.Channels.Select(c => c.Id));
        Assert.Equal(MeterScope.Accelerator, meter.Channels[0].Scope);
        Assert.Equal(ReadingKind.Counter, meter.Channels[0].Kind);
        Assert.Equal(TimeSpan.FromMilliseconds(100), meter.Channels[0].NominalUpdatePeriod);
        Assert.Equal("GPU-5f0c3b2e-8d41-4a5e-9c1b-0a2f6d7e8c91", meter.Channels[0].DeviceKey);
        var r = new MeterReading[2];

        meter.Read(r, []);
        Assert.Equal((ReadStatus.Ok, 1000.0, 300.0), (r[0].Status, r[0].Joules, r[0].Watts));
        Assert.Equal(ReadStatus.Unavailable, r[1].Status); // [N/A] in the first row
        Assert.Equal(Noon, r[0].SourceUnixMilliseconds);

        time.Advance(TimeSpan.FromMilliseconds(150));
        meter.Read(r, []);
        Assert.Equal(1000.03, r[0].Joules, 9);
        Assert.Equal((ReadStatus.Ok, 500.0, 80.5), (r[1].Status, r[1].Joules, r[1].Watts));

        time.Advance(TimeSpan.FromMilliseconds(200)); // 350 ms: the last row
        meter.Read(r, []);
        Assert.Equal(1000.07, r[0].Joules, 9);
        Assert.Equal(100, r[0].Watts);

        time.Advance(TimeSpan.FromMilliseconds(100)); // 450 ms: past the last row plus one interval
        meter.Read(r, []);
        Assert.All(r, x => Assert.Equal(ReadStatus.Unavailable, x.Status));
    }

    [Fact]
    public void Replay_loops_with_a_counter_that_keeps_counting()
    {
        var time = new FakeTimeProvider();
        using var meter = ReplayMeter.Open(new ReplayOptions { Path = Fixture("dcgm.csv"), Loop = true, Scope = MeterScope.NodeDc }, time);
        Assert.Equal(MeterScope.NodeDc, meter.Channels[0].Scope);
        var r = new MeterReading[1];
        time.Advance(TimeSpan.FromSeconds(2));
        meter.Read(r, []);
        Assert.Equal(2802, r[0].Joules, 9);
        time.Advance(TimeSpan.FromSeconds(1)); // 3 s: the loop's period is 2 s of rows + one 1 s interval
        meter.Read(r, []);
        Assert.Equal(ReadStatus.Ok, r[0].Status);
        Assert.Equal(2000 + 802, r[0].Joules, 9);
        Assert.Equal(400.5, r[0].Watts);
        time.Advance(TimeSpan.FromSeconds(2));
        meter.Read(r, []);
        Assert.Equal(2802 + 802, r[0].Joules, 9);
    }

    [Fact]
    public void Replay_through_the_sampler_integrates_the_logged_power()
    {
        var time = new FakeTimeProvider();
        using var meter = ReplayMeter.Open(new ReplayOptions { Path = Fixture("pdu-unix.csv") }, time);
        Assert.Equal(MeterScope.NodeAc, meter.Channels[0].Scope);
        Assert.Equal(ReadingKind.InstantPower, meter.Channels[0].Kind);
        using var sampler = new PowerSampler([meter], new SamplerOptions(), time);
        for (var i = 0; i <= 30; i++)
        {
            sampler.SampleOnce();
            time.Advance(TimeSpan.FromMilliseconds(100));
        }
        var track = sampler.Tracks.Single();
        Assert.Equal(31, track.At.Length);
        Assert.Equal(1000, track.Watts[0]);
        Assert.Equal(1100, track.Watts[15]);
        Assert.Equal(900, track.Watts[30]);
    }
}
