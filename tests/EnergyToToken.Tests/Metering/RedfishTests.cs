using System.Net;
using System.Text;
using EnergyToToken.Metering;
using EnergyToToken.Metering.Redfish;

namespace EnergyToToken.Tests.Metering;

public sealed class RedfishTests
{
    private const string Collection = """{"@odata.id":"/redfish/v1/Chassis","Members":[{"@odata.id":"/redfish/v1/Chassis/1"},{"@odata.id":"/redfish/v1/Chassis/Enclosure"}],"Members@odata.count":2}""";
    private const string OldChassis = """{"@odata.id":"/redfish/v1/Chassis/1","Id":"1","Name":"Computer System Chassis","ChassisType":"RackMount","Power":{"@odata.id":"/redfish/v1/Chassis/1/Power"}}""";
    private const string OldPower = """
        {"@odata.id":"/redfish/v1/Chassis/1/Power","Id":"Power","PowerControl":[{"@odata.id":"/redfish/v1/Chassis/1/Power#/PowerControl/0","MemberId":"0","Name":"System Power Control",
        "PowerConsumedWatts":344,"PowerCapacityWatts":1600,"PowerMetrics":{"IntervalInMin":1,"MinConsumedWatts":271,"MaxConsumedWatts":405,"AverageConsumedWatts":320.5}}]}
        """;
    private const string NewChassis = """{"@odata.id":"/redfish/v1/Chassis/1","Id":"1","Name":"HGX node","ChassisType":"RackMount","PowerSubsystem":{"@odata.id":"/redfish/v1/Chassis/1/PowerSubsystem"},"EnvironmentMetrics":{"@odata.id":"/redfish/v1/Chassis/1/EnvironmentMetrics"},"Power":{"@odata.id":"/redfish/v1/Chassis/1/Power"}}""";
    private const string Enclosure = """{"@odata.id":"/redfish/v1/Chassis/Enclosure","Id":"Enclosure","Name":"Enclosure","ChassisType":"Enclosure","EnvironmentMetrics":{"@odata.id":"/redfish/v1/Chassis/Enclosure/EnvironmentMetrics"}}""";

    private static string Environment(double watts, string kwh) =>
        $$$"""{"@odata.id":"/redfish/v1/Chassis/1/EnvironmentMetrics","Id":"EnvironmentMetrics","PowerWatts":{"DataSourceUri":"/redfish/v1/Chassis/1/Sensors/TotalPower","Reading":{{{watts.ToString(System.Globalization.CultureInfo.InvariantCulture)}}}},"EnergykWh":{"Reading":{{{kwh}}}}}""";

    private static Func<HttpListenerRequest, LoopbackServer.Answer> Routes(Dictionary<string, string> routes) => request =>
        routes.TryGetValue(request.Url!.AbsolutePath, out var body) ? new LoopbackServer.Answer(200, body) : new LoopbackServer.Answer(404, """{"error":"not found"}""");

    [Fact]
    public void Redfish_legacy_power_resource_is_read_as_instant_power_with_the_average_as_telemetry()
    {
        using var server = new LoopbackServer(Routes(new()
        {
            ["/redfish/v1/Chassis"] = Collection,
            ["/redfish/v1/Chassis/1"] = OldChassis,
            ["/redfish/v1/Chassis/1/Power"] = OldPower,
        }));
        using var meter = RedfishMeter.Open(new RedfishOptions { BaseUrl = server.BaseUrl }, TimeProvider.System);

        var channel = Assert.Single(meter.Channels);
        Assert.Equal("redfish:1", channel.Id);
        Assert.Equal(MeterScope.NodeAc, channel.Scope);
        Assert.Equal(ReadingKind.InstantPower, channel.Kind);
        Assert.Equal(1, channel.PowerResolutionWatts);
        Assert.Equal("bmc:127.0.0.1", channel.DeviceKey);
        Assert.Contains(channel.Notes, n => n.Contains("1 min", StringComparison.Ordinal));
        Assert.Equal("redfish:1:average", Assert.Single(meter.Telemetry).Id);
        Assert.True(meter.IsRemote);

        var readings = new MeterReading[1];
        var gauges = new double[1];
        meter.Read(readings, gauges);
        Assert.Equal(ReadStatus.Ok, readings[0].Status);
        Assert.Equal(344, readings[0].Watts);
        Assert.True(double.IsNaN(readings[0].Joules));
        Assert.Equal(320.5, gauges[0]);
        Assert.NotEqual(0, readings[0].SourceUnixMilliseconds); // HttpListener sends a Date header
    }

    [Fact]
    public void Redfish_power_subsystem_energy_counter_is_read_as_a_counter()
    {
        var kwh = "21.375";
        using var server = new LoopbackServer(r => r.Url!.AbsolutePath switch
        {
            "/redfish/v1/Chassis" => new(200, Collection),
            "/redfish/v1/Chassis/1" => new(200, NewChassis),
            "/redfish/v1/Chassis/1/EnvironmentMetrics" => new(200, Environment(1234.5, Volatile.Read(ref kwh))),
            _ => new(404, "{}"),
        });
        using var meter = RedfishMeter.Open(new RedfishOptions { BaseUrl = server.BaseUrl }, TimeProvider.System);

        var channel = Assert.Single(meter.Channels);
        Assert.Equal(ReadingKind.Counter, channel.Kind);
        Assert.True(channel.HasEnergy);
        Assert.True(channel.HasPower);
        Assert.Equal(3600, channel.EnergyResolutionJoules, 9); // 0.001 kWh
        Assert.Equal(0.1, channel.PowerResolutionWatts, 12);
        Assert.Empty(meter.Telemetry);

        var readings = new MeterReading[1];
        meter.Read(readings, []);
        Assert.Equal(ReadStatus.Ok, readings[0].Status);
        Assert.Equal(21.375 * 3.6e6, readings[0].Joules, 3);
        Assert.Equal(1234.5, readings[0].Watts);

        Volatile.Write(ref kwh, "21.376");
        meter.Read(readings, []);
        Assert.Equal(21.376 * 3.6e6, readings[0].Joules, 3);
    }

    [Fact]
    public void Redfish_all_chassis_and_an_explicit_chassis_id_choose_the_channels()
    {
        using var server = new LoopbackServer(Routes(new()
        {
            ["/redfish/v1/Chassis"] = Collection,
            ["/redfish/v1/Chassis/1"] = OldChassis,
            ["/redfish/v1/Chassis/1/Power"] = OldPower,
            ["/redfish/v1/Chassis/Enclosure"] = Enclosure,
            ["/redfish/v1/Chassis/Enclosure/EnvironmentMetrics"] = """{"PowerWatts":{"Reading":2900}}""",
        }));
        using var all = RedfishMeter.Open(new RedfishOptions { BaseUrl = server.BaseUrl, AllChassis = true, Scope = MeterScope.Rack }, TimeProvider.System);
        Assert.Equal(["redfish:1", "redfish:Enclosure"], all.Channels.Select(c => c.Id));
        Assert.Equal(["bmc:127.0.0.1/1", "bmc:127.0.0.1/Enclosure"], all.Channels.Select(c => c.DeviceKey));
        Assert.All(all.Channels, c => Assert.Equal(MeterScope.Rack, c.Scope));
        Assert.Equal(ReadingKind.InstantPower, all.Channels[1].Kind);
        var readings = new MeterReading[2];
        all.Read(readings, new double[1]);
        Assert.Equal([344.0, 2900.0], readings.Select(r => r.Watts));

        using var one = RedfishMeter.Open(new RedfishOptions { BaseUrl = server.BaseUrl, ChassisId = "Enclosure" }, TimeProvider.System);
        Assert.Equal("redfish:Enclosure", Assert.Single(one.Channels).Id);

        var e = Assert.Throws<EnergyToTokenException>(() => RedfishMeter.Open(new RedfishOptions { BaseUrl = server.BaseUrl, ChassisId = "nope" }, TimeProvider.System));
        Assert.Contains("404", e.Message, StringComparison.Ordinal);
        Assert.Contains("chassis id 'nope'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Redfish_basic_auth_is_sent_and_a_401_is_refused_clearly()
    {
        var variable = "E2T_TEST_REDFISH_" + Guid.NewGuid().ToString("N");
        System.Environment.SetEnvironmentVariable(variable, "s3cret");
        try
        {
            var expected = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("admin:s3cret"));
            var routes = Routes(new()
            {
                ["/redfish/v1/Chassis"] = Collection,
                ["/redfish/v1/Chassis/1"] = OldChassis,
                ["/redfish/v1/Chassis/1/Power"] = OldPower,
            });
            using var server = new LoopbackServer(r => r.Headers["Authorization"] == expected ? routes(r) : new LoopbackServer.Answer(401, """{"error":"unauthorized"}"""));

            using var meter = RedfishMeter.Open(new RedfishOptions { BaseUrl = server.BaseUrl, User = "admin", PasswordVariable = variable }, TimeProvider.System);
            var readings = new MeterReading[1];
            meter.Read(readings, new double[1]);
            Assert.Equal(ReadStatus.Ok, readings[0].Status);

            var e = Assert.Throws<EnergyToTokenException>(() => RedfishMeter.Open(new RedfishOptions { BaseUrl = server.BaseUrl }, TimeProvider.System));
            Assert.Contains("refused an unauthenticated request", e.Message, StringComparison.Ordinal);
            Assert.Contains("401", e.Message, StringComparison.Ordinal);

            System.Environment.SetEnvironmentVariable(variable, "wrong");
            e = Assert.Throws<EnergyToTokenException>(() => RedfishMeter.Open(new RedfishOptions { BaseUrl = server.BaseUrl, User = "admin", PasswordVariable = variable }, TimeProvider.System));
            Assert.Contains("refused user 'admin'", e.Message, StringComparison.Ordinal);

            // Credentials revoked during the run: the read says so, it does not throw.
            server.Handler = _ => new LoopbackServer.Answer(401, "{}");
            meter.Read(readings, new double[1]);
            Assert.Equal(ReadStatus.PermissionDenied, readings[0].Status);

            System.Environment.SetEnvironmentVariable(variable, null);
            e = Assert.Throws<EnergyToTokenException>(() => RedfishMeter.Open(new RedfishOptions { BaseUrl = server.BaseUrl, User = "admin", PasswordVariable = variable }, TimeProvider.System));
            Assert.Contains(variable, e.Message, StringComparison.Ordinal);
        }
        finally
        {
            System.Environment.SetEnvironmentVariable(variable, null);
        }
    }

    [Fact]
    public void Redfish_read_failures_are_unavailable_with_a_reason()
    {
        var routes = Routes(new()
        {
            ["/redfish/v1/Chassis"] = Collection,
            ["/redfish/v1/Chassis/1"] = OldChassis,
            ["/redfish/v1/Chassis/1/Power"] = OldPower,
        });
        using var server = new LoopbackServer(routes);
        // A timeout of 3 s: long enough that a loaded two-core machine (the suite runs tests in parallel) answers the
        // quick replies within it, short enough against the 20 s delay below to show the read gives up on time.
        using var meter = RedfishMeter.Open(new RedfishOptions { BaseUrl = server.BaseUrl, Timeout = TimeSpan.FromSeconds(3) }, TimeProvider.System);
        var readings = new MeterReading[1];
        var gauges = new double[1];

        server.Handler = _ => new LoopbackServer.Answer(503, """{"error":"busy"}""");
        meter.Read(readings, gauges);
        Assert.Equal(ReadStatus.Unavailable, readings[0].Status);
        Assert.Contains("503", meter.FailureDetail(0), StringComparison.Ordinal);

        server.Handler = _ => new LoopbackServer.Answer(200, """{"PowerControl":[{"PowerConsumedWatts":3""");
        meter.Read(readings, gauges);
        Assert.Equal(ReadStatus.Unavailable, readings[0].Status);
        Assert.Contains("not valid JSON", meter.FailureDetail(0), StringComparison.Ordinal);

        server.Handler = _ => new LoopbackServer.Answer(200, """{"PowerControl":[{"PowerConsumedWatts":null}]}""");
        meter.Read(readings, gauges);
        Assert.Equal(ReadStatus.Unavailable, readings[0].Status);
        Assert.Contains("PowerConsumedWatts is missing or null", meter.FailureDetail(0), StringComparison.Ordinal);

        server.Handler = r => routes(r) with { Delay = TimeSpan.FromSeconds(20) };
        var watch = System.Diagnostics.Stopwatch.StartNew();
        meter.Read(readings, gauges);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"took {watch.Elapsed}");
        Assert.Equal(ReadStatus.Unavailable, readings[0].Status);
        Assert.Contains("within 3 s", meter.FailureDetail(0), StringComparison.Ordinal);

        server.Handler = routes;
        meter.Read(readings, gauges);
        Assert.Equal(ReadStatus.Ok, readings[0].Status);
        Assert.Equal(344, readings[0].Watts);
    }

    [Fact]
    public void Redfish_open_explains_a_service_without_power_or_without_an_answer()
    {
        using var server = new LoopbackServer(Routes(new()
        {
            ["/redfish/v1/Chassis"] = """{"Members":[{"@odata.id":"/redfish/v1/Chassis/Backplane"}]}""",
            ["/redfish/v1/Chassis/Backplane"] = """{"Id":"Backplane","ChassisType":"StorageEnclosure"}""",
        }));
        var e = Assert.Throws<EnergyToTokenException>(() => RedfishMeter.Open(new RedfishOptions { BaseUrl = server.BaseUrl }, TimeProvider.System));
        Assert.Contains("No Redfish chassis", e.Message, StringComparison.Ordinal);
        Assert.Contains("Backplane (StorageEnclosure", e.Message, StringComparison.Ordinal);

        server.Handler = _ => new LoopbackServer.Answer(200, "<html>not redfish</html>", "text/html");
        e = Assert.Throws<EnergyToTokenException>(() => RedfishMeter.Open(new RedfishOptions { BaseUrl = server.BaseUrl }, TimeProvider.System));
        Assert.Contains("not valid JSON", e.Message, StringComparison.Ordinal);

        e = Assert.Throws<EnergyToTokenException>(() => RedfishMeter.Open(new RedfishOptions { BaseUrl = new Uri("ftp://bmc") }, TimeProvider.System));
        Assert.Contains("http(s)", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("21.375", 0.001)]
    [InlineData("344", 1)]
    [InlineData("344.0", 0.1)]
    [InlineData("1.5e3", 100)]
    [InlineData("2E-2", 0.01)]
    public void Redfish_resolution_follows_the_decimals_written(string raw, double expected) =>
        Assert.Equal(expected, RedfishJson.ResolutionOf(raw), 12);
}
