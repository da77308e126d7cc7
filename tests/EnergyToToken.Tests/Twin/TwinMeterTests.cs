using EnergyToToken.Metering;
using EnergyToToken.Metering.Prometheus;
using EnergyToToken.Twin;

namespace EnergyToToken.Tests.Twin;

/// <summary>The twin's meters, in-process and through its DCGM-compatible endpoint, against the exact power ledger.</summary>
public sealed class TwinMeterTests
{
    private const double Period = 0.1; // the default counter update period, s
    private const double Millijoule = 1e-3;

    private static object Load(int tokens) => new { prompt = "Burn some joules.", max_tokens = tokens, ignore_eos = true, stream = true };

    /// <summary>
    /// The range the deployment's energy (all devices) can have when a counter read between <paramref name="before"/> and
    /// <paramref name="after"/> (twin seconds): the counter holds the ledger's energy at the last update, at most one
    /// period before the read, split evenly over the devices and floored to the millijoule.
    /// </summary>
    private static (double Low, double High) Bracket(TwinServer server, double before, double after, int devices) =>
        (server.Ledger.EnergyAt(before - Period) - devices * Millijoule, server.Ledger.EnergyAt(after));

    private static async Task RunLoadAsync(HttpClient client, int requests, int tokens)
    {
        var streams = await Task.WhenAll(Enumerable.Range(0, requests).Select(_ => TwinHttp.StreamAsync(client, "v1/completions", Load(tokens))));
        Assert.All(streams, s => Assert.True(s.Done));
    }

    [Theory]
    [InlineData("llama-3.1-8b-h100", 1)]
    [InlineData("llama-3.1-70b-h100x4", 4)]
    public async Task The_in_process_meter_has_one_simulated_accelerator_counter_per_device(string profile, int devices)
    {
        await using var server = await TwinHttp.StartAsync(TwinProfiles.Find(profile));
        using var meter = server.CreateMeter();
        Assert.Equal("twin", meter.Name);
        Assert.False(meter.IsRemote);
        Assert.Equal(devices, meter.Channels.Count);
        Assert.All(meter.Channels, c =>
        {
            Assert.True(c.Simulated);
            Assert.False(c.Modeled);
            Assert.Equal(MeterScope.Accelerator, c.Scope);
            Assert.Equal(ReadingKind.Counter, c.Kind);
            Assert.True(c.HasEnergy);
            Assert.True(c.HasPower);
            Assert.Equal(TimeSpan.FromSeconds(Period), c.NominalUpdatePeriod);
            Assert.Matches("^GPU-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", c.DeviceKey);
            Assert.Contains("simulated", c.Description, StringComparison.Ordinal);
            Assert.NotEmpty(c.Notes);
        });
        Assert.Equal(devices, meter.Channels.Select(c => c.DeviceKey).Distinct().Count());
        Assert.Equal(devices, meter.Telemetry.Count);

        var readings = new MeterReading[devices];
        var telemetry = new double[devices];
        meter.Read(readings, telemetry);
        Assert.All(readings, r => Assert.Equal(ReadStatus.Ok, r.Status));
        Assert.All(readings, r => Assert.True(r.After >= r.Before));
        Assert.All(telemetry, a => Assert.InRange(a, 0, 1));
    }

    [Fact]
    public async Task Each_device_of_a_four_device_profile_counts_a_quarter_of_the_energy()
    {
        await using var server = await TwinHttp.StartAsync(TwinProfiles.Find("llama-3.1-70b-h100x4"));
        using var client = TwinHttp.Client(server);
        using var meter = server.CreateMeter();
        var start = new MeterReading[4];
        var end = new MeterReading[4];
        meter.Read(start, []);
        await RunLoadAsync(client, 2, 12);
        await Task.Delay(TimeSpan.FromSeconds(2 * Period));
        meter.Read(end, []);

        // The four counters move together, each by a quarter of the deployment's energy.
        Assert.All(start, r => Assert.Equal(start[0].Joules, r.Joules));
        Assert.All(end, r => Assert.Equal(end[0].Joules, r.Joules));
        var since = new SensorOptions().CounterStartJoules;
        var (low, high) = Bracket(server, server.SecondsAt(end[0].Before), server.SecondsAt(end[0].After), 4);
        Assert.InRange(4 * (end[0].Joules - since), low, high);
        var (low0, high0) = Bracket(server, server.SecondsAt(start[0].Before), server.SecondsAt(start[0].After), 4);
        Assert.InRange(4 * (start[0].Joules - since), low0, high0);
        // Over the window: the four counters' increase against the ledger's, to the counter period.
        var (lowWindow, highWindow) = (low - high0, high - low0);
        Assert.InRange(4 * (end[0].Joules - start[0].Joules), lowWindow, highWindow);
        var window = server.SecondsAt(end[0].Before) - server.SecondsAt(start[0].After);
        Assert.True(server.Ledger.EnergyAt(server.SecondsAt(end[0].Before)) - server.Ledger.EnergyAt(server.SecondsAt(start[0].After)) > server.Ledger.IdleWatts * window * 1.1,
            "no load in the window");
        Assert.Equal(server.Deployment.Step.IdleWatts / 4, server.Deployment.Accelerator.TypicalIdleWatts!.Value, 9);
    }

    [Theory]
    [InlineData("llama-3.1-8b-h100", 1)]
    [InlineData("llama-3.1-70b-h100x4", 4)]
    public async Task The_dcgm_endpoint_read_by_the_prometheus_meter_agrees_with_the_ledger(string profile, int devices)
    {
        await using var server = await TwinHttp.StartAsync(TwinProfiles.Find(profile));
        using var client = TwinHttp.Client(server);
        var text = await client.GetStringAsync(server.DcgmMetricsUrl);
        var uuids = PrometheusText.Parse(text).Where(s => s.Name == "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION").Select(s => s.Label("UUID")).ToList();
        Assert.Equal(devices, uuids.Count);

        using var meter = PrometheusTextMeter.Open(new PrometheusTextOptions { Url = server.DcgmMetricsUrl, UpdatePeriod = TimeSpan.FromSeconds(Period) }, TimeProvider.System);
        using var local = server.CreateMeter();
        Assert.Equal(devices, meter.Channels.Count);
        Assert.All(meter.Channels, c => Assert.Equal(ReadingKind.Counter, c.Kind));
        Assert.All(meter.Channels, c => Assert.Equal(MeterScope.Accelerator, c.Scope));
        Assert.Equal(uuids, meter.Channels.Select(c => c.DeviceKey));
        Assert.All(meter.Channels, c => Assert.True(c.Simulated)); // read from outside, the twin's devices still say so
        Assert.Equal(local.Channels.Select(c => c.DeviceKey), meter.Channels.Select(c => c.DeviceKey)); // the same devices, counted once
        Assert.All(meter.Channels, c => Assert.Contains("e2t twin, simulated", c.Description, StringComparison.Ordinal));
        Assert.Equal(meter.Channels.Select(c => c.Id + ":DCGM_FI_PROF_SM_ACTIVE"), meter.Telemetry.Select(t => t.Id));

        var before = new MeterReading[devices];
        var after = new MeterReading[devices];
        var activity = new double[devices];
        meter.Read(before, activity);
        await RunLoadAsync(client, 3, 20);
        await Task.Delay(TimeSpan.FromSeconds(Period));
        meter.Read(after, activity);
        Assert.All(before.Concat(after), r => Assert.Equal(ReadStatus.Ok, r.Status));
        Assert.All(activity, a => Assert.InRange(a, 0, 1));
        var limit = server.Deployment.Accelerator.PowerLimitWatts;
        Assert.All(after, r => Assert.InRange(r.Watts, 0, limit * 1.1));

        // The window's energy over all devices, from the counters, against the ledger's over the same window.
        var metered = after.Sum(r => r.Joules) - before.Sum(r => r.Joules);
        double B(MeterReading r) => server.SecondsAt(r.Before);
        double A(MeterReading r) => server.SecondsAt(r.After);
        // Exactly: each counter read holds the ledger at an update instant in (read − period, read], to the millijoule.
        var low = server.Ledger.EnergyAt(B(after[0]) - Period) - server.Ledger.EnergyAt(A(before[0])) - devices * Millijoule;
        var high = server.Ledger.EnergyAt(A(after[0])) - server.Ledger.EnergyAt(B(before[0]) - Period) + devices * Millijoule;
        Assert.InRange(metered, low, high);
        // And in the terms a user would check: within two counter periods at full power of the ledger's energy between
        // the reads' midpoints (plus the reads' own durations, during which the instant read is not known).
        var t0 = (B(before[0]) + A(before[0])) / 2;
        var t1 = (B(after[0]) + A(after[0])) / 2;
        var exact = server.Ledger.EnergyAt(t1) - server.Ledger.EnergyAt(t0);
        var maxWatts = limit * devices;
        var latency = A(before[0]) - B(before[0]) + A(after[0]) - B(after[0]);
        Assert.True(Math.Abs(metered - exact) <= 2 * Period * maxWatts + latency * maxWatts + devices * Millijoule,
            $"metered {metered:0.###} J, ledger {exact:0.###} J over {t1 - t0:0.###} s");
        // The window held load: the ledger's energy between the reads is above idle (the counters agree with it above).
        var window = B(after[0]) - A(before[0]);
        Assert.True(server.Ledger.EnergyAt(B(after[0])) - server.Ledger.EnergyAt(A(before[0])) > server.Ledger.IdleWatts * window * 1.1, "no load in the window");
    }
}
