using EnergyToToken.Metering;
using EnergyToToken.Metering.Prometheus;
using Microsoft.Extensions.Time.Testing;

namespace EnergyToToken.Tests.Metering;

public sealed class PrometheusTests
{
    private static readonly string Dcgm = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "prometheus", "dcgm-exporter.txt"));

    [Fact]
    public void Parser_reads_labels_with_escapes_timestamps_and_special_values()
    {
        var text = """
            # HELP http_requests_total The total number of HTTP requests.
            # TYPE http_requests_total counter
            http_requests_total{method="post",code="200"} 1027 1395066363000
            http_requests_total{method="post",code="400"}    3 1395066363000

            msdos_file_access_time_seconds{path="C:\\DIR\\FILE.TXT",error="Cannot find file:\n\"FILE.TXT\""} 1.458255915e9
            metric_without_timestamp_and_labels 12.47
            something_weird{problem="division by zero"} +Inf -3982045
            minus_inf -Inf
            not_a_number NaN
            """;
        var samples = PrometheusText.Parse(text);
        Assert.Equal(7, samples.Count);
        Assert.Equal("http_requests_total", samples[0].Name);
        Assert.Equal("200", samples[0].Label("code"));
        Assert.Equal(1027, samples[0].Value);
        Assert.Equal(1395066363000, samples[0].TimestampUnixMilliseconds);
        Assert.Equal(3, samples[1].Value);
        Assert.Equal(@"C:\DIR\FILE.TXT", samples[2].Label("path"));
        Assert.Equal("Cannot find file:\n\"FILE.TXT\"", samples[2].Label("error"));
        Assert.Equal(1.458255915e9, samples[2].Value);
        Assert.Null(samples[3].TimestampUnixMilliseconds);
        Assert.Empty(samples[3].Labels);
        Assert.Equal(double.PositiveInfinity, samples[4].Value);
        Assert.Equal(-3982045, samples[4].TimestampUnixMilliseconds);
        Assert.Equal(double.NegativeInfinity, samples[5].Value);
        Assert.True(double.IsNaN(samples[6].Value));
    }

    [Fact]
    public void Parser_names_the_line_of_a_malformed_sample()
    {
        var e = Assert.Throws<EnergyToTokenException>(() => PrometheusText.Parse("# ok\ngood 1\nbad{a=\"1\" 2\n"));
        Assert.Contains("line 3", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<EnergyToTokenException>(() => PrometheusText.Parse("metric one"));
        Assert.Contains("'one' is not a number", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Selector_parses_exact_matches_and_rejects_regex_matchers()
    {
        var s = PrometheusText.ParseSelector("instance=\"node1:9400\", job=\"dcgm,x\",zone=a");
        Assert.Equal("node1:9400", s["instance"]);
        Assert.Equal("dcgm,x", s["job"]);
        Assert.Equal("a", s["zone"]);
        Assert.Empty(PrometheusText.ParseSelector(""));
        Assert.Throws<EnergyToTokenException>(() => PrometheusText.ParseSelector("job=~\"d.*\""));
        Assert.Throws<EnergyToTokenException>(() => PrometheusText.ParseSelector("job!=\"x\""));
    }

    [Fact]
    public void Dcgm_exporter_gives_one_counter_channel_per_gpu_keyed_by_uuid()
    {
        using var server = new LoopbackServer(_ => new LoopbackServer.Answer(200, Dcgm, "text/plain"));
        using var meter = PrometheusTextMeter.Open(new PrometheusTextOptions { Url = server.At("/metrics") }, TimeProvider.System);

        Assert.True(meter.IsRemote);
        Assert.Equal(["prometheus:node1:0", "prometheus:node1:1"], meter.Channels.Select(c => c.Id));
        var gpu0 = meter.Channels[0];
        Assert.Equal(MeterScope.Accelerator, gpu0.Scope);
        Assert.Equal(ReadingKind.Counter, gpu0.Kind);
        Assert.True(gpu0.HasPower);
        Assert.Equal(1e-3, gpu0.EnergyResolutionJoules);
        Assert.Equal(TimeSpan.FromSeconds(30), gpu0.NominalUpdatePeriod);
        Assert.Equal("GPU-5f0c3b2e-8d41-4a5e-9c1b-0a2f6d7e8c91", gpu0.DeviceKey);
        Assert.Contains("H100", gpu0.Description, StringComparison.Ordinal);
        Assert.Equal(
            ["prometheus:node1:0:DCGM_FI_PROF_SM_ACTIVE", "prometheus:node1:0:DCGM_FI_DEV_GPU_TEMP", "prometheus:node1:1:DCGM_FI_PROF_SM_ACTIVE", "prometheus:node1:1:DCGM_FI_DEV_GPU_TEMP"],
            meter.Telemetry.Select(t => t.Id));
        Assert.Equal("°C", meter.Telemetry[1].Unit);

        var readings = new MeterReading[2];
        var gauges = new double[4];
        meter.Read(readings, gauges);
        Assert.Equal(ReadStatus.Ok, readings[0].Status);
        Assert.Equal(873465.211, readings[0].Joules, 6);
        Assert.Equal(512.347, readings[0].Watts, 6);
        Assert.Equal(245810.077, readings[1].Joules, 6);
        Assert.Equal(118.92, readings[1].Watts, 6);
        Assert.Equal([0.872341, 61, 0, 48], gauges);
        Assert.True(readings[0].After >= readings[0].Before);
    }

    [Fact]
    public void Server_errors_make_every_channel_unavailable_and_say_why()
    {
        using var server = new LoopbackServer(_ => new LoopbackServer.Answer(200, Dcgm, "text/plain"));
        using var meter = PrometheusTextMeter.Open(new PrometheusTextOptions { Url = server.At("/metrics") }, TimeProvider.System);
        server.Handler = _ => new LoopbackServer.Answer(503, "overloaded", "text/plain");
        var readings = new MeterReading[2];
        var gauges = new double[4];
        meter.Read(readings, gauges);
        Assert.All(readings, r => Assert.Equal(ReadStatus.Unavailable, r.Status));
        Assert.All(readings, r => Assert.True(double.IsNaN(r.Joules)));
        Assert.All(gauges, g => Assert.True(double.IsNaN(g)));
        Assert.Contains("503", meter.FailureDetail(0), StringComparison.Ordinal);

        server.Handler = _ => new LoopbackServer.Answer(200, "DCGM_FI_DEV_POWER_USAGE{gpu=\"0\" 1", "text/plain");
        meter.Read(readings, gauges);
        Assert.Equal(ReadStatus.Unavailable, readings[0].Status);
        Assert.Contains("malformed", meter.FailureDetail(0), StringComparison.Ordinal);

        server.Handler = _ => new LoopbackServer.Answer(200, Dcgm, "text/plain");
        meter.Read(readings, gauges);
        Assert.Equal(ReadStatus.Ok, readings[0].Status);
        Assert.Equal("", meter.FailureDetail(0));
    }

    [Fact]
    public void A_series_that_disappears_makes_only_its_channel_unavailable()
    {
        using var server = new LoopbackServer(_ => new LoopbackServer.Answer(200, Dcgm, "text/plain"));
        using var meter = PrometheusTextMeter.Open(new PrometheusTextOptions { Url = server.At("/metrics") }, TimeProvider.System);
        var withoutGpu1 = string.Join('\n', Dcgm.Split('\n').Where(l => !l.Contains("gpu=\"1\"", StringComparison.Ordinal)));
        server.Handler = _ => new LoopbackServer.Answer(200, withoutGpu1, "text/plain");
        var readings = new MeterReading[2];
        var gauges = new double[4];
        meter.Read(readings, gauges);
        Assert.Equal(ReadStatus.Ok, readings[0].Status);
        Assert.Equal(ReadStatus.Unavailable, readings[1].Status);
        Assert.Contains("gone", meter.FailureDetail(1), StringComparison.Ordinal);
        Assert.Equal(61, gauges[1]);
        Assert.True(double.IsNaN(gauges[3]));
    }

    [Fact]
    public void Repeated_values_are_flagged_stale_and_a_counter_reset_is_bridged_not_negative()
    {
        var energyMj = 1_000_000L;
        using var server = new LoopbackServer(_ => new LoopbackServer.Answer(200,
            $"DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{{gpu=\"0\",UUID=\"GPU-x\"}} {Volatile.Read(ref energyMj)}\nDCGM_FI_DEV_POWER_USAGE{{gpu=\"0\",UUID=\"GPU-x\"}} 200\n", "text/plain"));
        var time = new FakeTimeProvider();
        using var meter = PrometheusTextMeter.Open(new PrometheusTextOptions { Url = server.At("/metrics"), UpdatePeriod = TimeSpan.FromSeconds(1) }, time);
        using var sampler = new PowerSampler([meter], new SamplerOptions(), time);

        // 15 s of the same value: the exporter stopped updating.
        for (var i = 0; i < 15; i++)
        {
            sampler.SampleOnce();
            time.Advance(TimeSpan.FromSeconds(1));
        }
        var track = sampler.Tracks.Single();
        Assert.Contains(track.Events, e => e.Kind == MeterEventKind.Stale);

        // Then it counts again, and the driver reloads: the counter starts from near zero.
        Volatile.Write(ref energyMj, 1_200_000);
        sampler.SampleOnce();
        time.Advance(TimeSpan.FromSeconds(1));
        Volatile.Write(ref energyMj, 150_000);
        sampler.SampleOnce();

        var reset = Assert.Single(track.Events, e => e.Kind == MeterEventKind.Reset);
        Assert.Equal(200.0 - 150, reset.EstimatedJoules, 6); // 200 W over 1 s estimated, of which 150 J counted since the reset
        var energy = track.Energy.ToArray();
        Assert.Equal(200 + 200, energy[^1], 6);
        for (var i = 1; i < energy.Length; i++) Assert.True(energy[i] >= energy[i - 1]);
    }

    [Fact]
    public void Selector_and_exporter_timestamps_are_honoured()
    {
        var text = """
            node_energy_joules_total{instance="a",outlet="1"} 500.25 1714564800123
            node_energy_joules_total{instance="b",outlet="1"} 999 1714564800123
            node_power_milliwatts{instance="a",outlet="1"} 1500000 1714564800456
            """;
        using var server = new LoopbackServer(_ => new LoopbackServer.Answer(200, text, "text/plain"));
        using var meter = PrometheusTextMeter.Open(new PrometheusTextOptions
        {
            Url = server.At("/metrics"),
            EnergyMetric = "node_energy_joules_total",
            EnergyScale = 1,
            PowerMetric = "node_power_milliwatts",
            PowerScale = 1e-3,
            DeviceLabels = ["outlet"],
            Selector = "instance=\"a\"",
            Scope = MeterScope.Rack,
            TelemetryMetrics = [],
        }, TimeProvider.System);
        var channel = Assert.Single(meter.Channels);
        Assert.Equal(MeterScope.Rack, channel.Scope);
        Assert.Equal("", channel.DeviceKey);
        var readings = new MeterReading[1];
        meter.Read(readings, []);
        Assert.Equal(500.25, readings[0].Joules);
        Assert.Equal(1500, readings[0].Watts, 9);
        Assert.Equal(1714564800456, readings[0].SourceUnixMilliseconds);
    }

    [Fact]
    public void Open_fails_clearly_when_nothing_matches_or_nothing_answers()
    {
        using var server = new LoopbackServer(_ => new LoopbackServer.Answer(200, "up 1\nprocess_cpu_seconds_total 3\n", "text/plain"));
        var e = Assert.Throws<EnergyToTokenException>(() => PrometheusTextMeter.Open(new PrometheusTextOptions { Url = server.At("/metrics") }, TimeProvider.System));
        Assert.Contains("Metrics seen: up, process_cpu_seconds_total", e.Message, StringComparison.Ordinal);
        Assert.Contains("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", e.Message, StringComparison.Ordinal);

        var port = server.BaseUrl.Port;
        server.Dispose();
        e = Assert.Throws<EnergyToTokenException>(() => PrometheusTextMeter.Open(
            new PrometheusTextOptions { Url = new Uri($"http://127.0.0.1:{port}/metrics"), Timeout = TimeSpan.FromMilliseconds(500) }, TimeProvider.System));
        Assert.Contains("did not answer", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_slow_exporter_times_out_as_unavailable()
    {
        using var server = new LoopbackServer(_ => new LoopbackServer.Answer(200, Dcgm, "text/plain"));
        using var meter = PrometheusTextMeter.Open(new PrometheusTextOptions { Url = server.At("/metrics"), Timeout = TimeSpan.FromSeconds(1) }, TimeProvider.System);
        server.Handler = _ => new LoopbackServer.Answer(200, Dcgm, "text/plain") { Delay = TimeSpan.FromSeconds(6) };
        var readings = new MeterReading[2];
        var watch = System.Diagnostics.Stopwatch.StartNew();
        meter.Read(readings, new double[4]);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(4), $"took {watch.Elapsed}");
        Assert.Equal(ReadStatus.Unavailable, readings[0].Status);
        Assert.Contains("within 1 s", meter.FailureDetail(0), StringComparison.Ordinal);
    }
}
