using EnergyToToken.Metering;
using EnergyToToken.Metering.Ipmi;

namespace EnergyToToken.Tests.Metering;

public sealed class IpmiTests : IDisposable
{
    private static readonly string Fixtures = Path.Combine(AppContext.BaseDirectory, "Fixtures", "ipmitool");
    private readonly string _dir = Directory.CreateTempSubdirectory("e2t-ipmi-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Fixture(string name) => File.ReadAllText(Path.Combine(Fixtures, name));

    /// <summary>A fake ipmitool: prints current.txt (stdout) and current.err (stderr), exits with current.rc, records its arguments.</summary>
    private string FakeIpmitool(string stdout, string stderr = "", int exitCode = 0, double sleepSeconds = 0)
    {
        SetOutput(stdout, stderr, exitCode);
        var script = Path.Combine(_dir, "ipmitool");
        File.WriteAllText(script, $"""
            #!/bin/sh
            echo "$@" > "{_dir}/args.txt"
            {(sleepSeconds > 0 ? $"sleep {sleepSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)}" : "")}
            cat "{_dir}/current.txt"
            cat "{_dir}/current.err" >&2
            exit $(cat "{_dir}/current.rc")

            """.ReplaceLineEndings("\n"));
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return script;
    }

    private void SetOutput(string stdout, string stderr = "", int exitCode = 0)
    {
        File.WriteAllText(Path.Combine(_dir, "current.txt"), stdout);
        File.WriteAllText(Path.Combine(_dir, "current.err"), stderr);
        File.WriteAllText(Path.Combine(_dir, "current.rc"), exitCode.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void Ipmi_parser_reads_every_field_of_an_activated_reading()
    {
        var r = IpmiOutput.Parse(Fixture("power-reading.txt"), TimeZoneInfo.Utc);
        Assert.NotNull(r);
        Assert.Equal(245, r.Watts);
        Assert.Equal(98, r.MinimumWatts);
        Assert.Equal(412, r.MaximumWatts);
        Assert.Equal(231, r.AverageWatts);
        Assert.Equal(new DateTimeOffset(2024, 5, 1, 12, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds(), r.TimestampUnixMilliseconds);
        Assert.Equal(TimeSpan.FromSeconds(1), r.SamplingPeriod);
        Assert.True(r.Activated);
    }

    [Fact]
    public void Ipmi_parser_reads_the_numeric_timestamp_in_the_given_zone()
    {
        var zone = TimeZoneInfo.CreateCustomTimeZone("UTC+2", TimeSpan.FromHours(2), "UTC+2", "UTC+2");
        var r = IpmiOutput.Parse(Fixture("power-reading-numeric-time.txt"), zone);
        Assert.NotNull(r);
        Assert.Equal(612, r.Watts);
        Assert.Equal(540, r.AverageWatts);
        Assert.Equal(new DateTimeOffset(2024, 5, 1, 10, 0, 5, TimeSpan.Zero).ToUnixTimeMilliseconds(), r.TimestampUnixMilliseconds);
        Assert.Equal(TimeSpan.FromSeconds(300), r.SamplingPeriod);
    }

    [Fact]
    public void Ipmi_parser_sees_a_deactivated_reading_and_output_without_one()
    {
        var r = IpmiOutput.Parse(Fixture("power-reading-deactivated.txt"), TimeZoneInfo.Utc);
        Assert.NotNull(r);
        Assert.False(r.Activated);
        Assert.Equal(0, r.TimestampUnixMilliseconds); // Thu Jan  1 00:00:00 1970 UTC
        Assert.Equal(TimeSpan.Zero, r.SamplingPeriod);
        Assert.Null(IpmiOutput.Parse(Fixture("error-invalid-command.txt")));
    }

    [Theory]
    [InlineData("error-permission.txt", ReadStatus.PermissionDenied, "needs root")]
    [InlineData("error-no-device.txt", ReadStatus.NotSupported, "ipmi_si")]
    [InlineData("error-invalid-command.txt", ReadStatus.NotSupported, "redfish")]
    public void Ipmi_failures_are_classified_with_a_next_step(string fixture, ReadStatus status, string hint)
    {
        var (s, reason) = IpmiOutput.Classify(1, "", Fixture(fixture));
        Assert.Equal(status, s);
        Assert.Contains(hint, reason, StringComparison.Ordinal);
        Assert.Equal((ReadStatus.Unavailable, "Error: something new"), IpmiOutput.Classify(1, "", "Error: something new\n"));
    }

    [Fact]
    public void Ipmi_meter_runs_the_command_and_reads_power_and_telemetry()
    {
        var script = FakeIpmitool(Fixture("power-reading.txt"));
        using var meter = IpmiMeter.Open(new IpmiOptions { Command = script, Arguments = ["-I", "lanplus", "-H", "bmc-7", "-U", "admin", "-E"] }, TimeProvider.System);
        Assert.Equal("-I lanplus -H bmc-7 -U admin -E dcmi power reading", File.ReadAllText(Path.Combine(_dir, "args.txt")).Trim());

        var channel = Assert.Single(meter.Channels);
        Assert.Equal("ipmi:bmc-7", channel.Id);
        Assert.Equal("bmc:bmc-7", channel.DeviceKey);
        Assert.Equal(MeterScope.NodeAc, channel.Scope);
        Assert.Equal(ReadingKind.InstantPower, channel.Kind);
        Assert.Equal(1, channel.PowerResolutionWatts);
        Assert.Contains(channel.Notes, n => n.Contains("sampling period 1 s", StringComparison.Ordinal));
        Assert.True(meter.IsRemote);
        Assert.Equal(["ipmi:bmc-7:average", "ipmi:bmc-7:minimum", "ipmi:bmc-7:maximum"], meter.Telemetry.Select(t => t.Id));

        var readings = new MeterReading[1];
        var gauges = new double[3];
        meter.Read(readings, gauges);
        Assert.Equal(ReadStatus.Ok, readings[0].Status);
        Assert.Equal(245, readings[0].Watts);
        Assert.True(double.IsNaN(readings[0].Joules));
        Assert.Equal([231.0, 98, 412], gauges);
        Assert.NotEqual(0, readings[0].SourceUnixMilliseconds);

        SetOutput(Fixture("power-reading-numeric-time.txt"));
        meter.Read(readings, gauges);
        Assert.Equal(612, readings[0].Watts);
    }

    [Fact]
    public void Ipmi_meter_reports_failures_in_the_status_and_never_throws()
    {
        var script = FakeIpmitool(Fixture("power-reading.txt"));
        using var meter = IpmiMeter.Open(new IpmiOptions { Command = script }, TimeProvider.System);
        Assert.Equal("ipmi:local", meter.Channels[0].Id);
        var readings = new MeterReading[1];
        var gauges = new double[3];

        SetOutput("", Fixture("error-permission.txt"), 1);
        meter.Read(readings, gauges);
        Assert.Equal(ReadStatus.PermissionDenied, readings[0].Status);
        Assert.Contains("root", meter.FailureDetail(0), StringComparison.Ordinal);

        SetOutput(Fixture("power-reading-deactivated.txt"));
        meter.Read(readings, gauges);
        Assert.Equal(ReadStatus.NotSupported, readings[0].Status);

        SetOutput("garbage\n");
        meter.Read(readings, gauges);
        Assert.Equal(ReadStatus.Unavailable, readings[0].Status);
        Assert.Contains("garbage", meter.FailureDetail(0), StringComparison.Ordinal);
        Assert.All(gauges, g => Assert.True(double.IsNaN(g)));

        SetOutput(Fixture("power-reading.txt"));
        meter.Read(readings, gauges);
        Assert.Equal(ReadStatus.Ok, readings[0].Status);
        Assert.Equal("", meter.FailureDetail(0));
    }

    [Fact]
    public void Ipmi_meter_kills_a_hung_ipmitool_after_the_timeout()
    {
        var script = FakeIpmitool(Fixture("power-reading.txt"));
        using var meter = IpmiMeter.Open(new IpmiOptions { Command = script, Timeout = TimeSpan.FromSeconds(1.5) }, TimeProvider.System);
        FakeIpmitool(Fixture("power-reading.txt"), sleepSeconds: 30);
        var readings = new MeterReading[1];
        var watch = System.Diagnostics.Stopwatch.StartNew();
        meter.Read(readings, new double[3]);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(6), $"took {watch.Elapsed}");
        Assert.Equal(ReadStatus.Unavailable, readings[0].Status);
        Assert.Contains("did not finish", meter.FailureDetail(0), StringComparison.Ordinal);
    }

    [Fact]
    public void Ipmi_open_explains_why_the_meter_is_unavailable()
    {
        var e = Assert.Throws<EnergyToTokenException>(() => IpmiMeter.Open(new IpmiOptions { Command = Path.Combine(_dir, "no-such-ipmitool") }, TimeProvider.System));
        Assert.Contains("apt-get install ipmitool", e.Message, StringComparison.Ordinal);

        var script = FakeIpmitool("", Fixture("error-permission.txt"), 1);
        e = Assert.Throws<EnergyToTokenException>(() => IpmiMeter.Open(new IpmiOptions { Command = script }, TimeProvider.System));
        Assert.Contains("needs root", e.Message, StringComparison.Ordinal);

        SetOutput("", Fixture("error-no-device.txt"), 1);
        e = Assert.Throws<EnergyToTokenException>(() => IpmiMeter.Open(new IpmiOptions { Command = script }, TimeProvider.System));
        Assert.Contains("no local BMC", e.Message, StringComparison.Ordinal);

        SetOutput(Fixture("power-reading-deactivated.txt"));
        e = Assert.Throws<EnergyToTokenException>(() => IpmiMeter.Open(new IpmiOptions { Command = script }, TimeProvider.System));
        Assert.Contains("deactivated", e.Message, StringComparison.Ordinal);

        e = Assert.Throws<EnergyToTokenException>(() => IpmiMeter.Open(new IpmiOptions { Command = script, Arguments = ["-H", "bmc", "-P", "secret"] }, TimeProvider.System));
        Assert.Contains("IPMI_PASSWORD", e.Message, StringComparison.Ordinal);
    }
}
