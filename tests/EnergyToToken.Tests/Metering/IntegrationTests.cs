using EnergyToToken.Metering;
using EnergyToToken.Metering.Synthetic;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Microsoft.Extensions.Time.Testing;

namespace EnergyToToken.Tests.Metering;

public class IntegrationTests
{
    private static readonly MeterChannel PowerChannel = new("test:power", "test", MeterScope.Accelerator, ReadingKind.InstantPower);
    private static readonly MeterChannel CounterChannel = new("test:counter", "test", MeterScope.Accelerator, ReadingKind.Counter) { HasPower = false };

    [Fact]
    public void Rapl_delta_is_exact_across_one_wrap()
    {
        Assert.Equal(30ul, EnergyCounter.DeltaMicrojoules(100, 130, 262_143_328_850));
        Assert.Equal(262_143_328_850ul - 262_143_328_800ul + 25, EnergyCounter.DeltaMicrojoules(262_143_328_800, 25, 262_143_328_850));
    }

    [Fact]
    public void A_decrease_without_a_wrap_range_is_a_reset_that_keeps_the_energy_since_the_reset()
    {
        Assert.Equal((4.0, CounterStep.Reset), EnergyCounter.Delta(1000, 4, null));
        Assert.Equal((10 - 9.5 + 4, CounterStep.Wrap), EnergyCounter.Delta(9.5, 4, 10));
        Assert.Equal((0.5, CounterStep.Normal), EnergyCounter.Delta(9.5, 10, 10));
        // A previous value above the wrap range cannot have wrapped: it is a reset.
        Assert.Equal(CounterStep.Reset, EnergyCounter.Delta(12, 4, 10).Step);
    }

    [Property]
    public Property Wrap_delta_is_exact_for_any_pair_across_one_wrap(ulong range, ulong previous, ulong added) =>
        Prop.When(range > 1, () =>
        {
            var p = previous % range;
            var step = added % range;
            var current = (p + step) % range;
            return EnergyCounter.DeltaMicrojoules(p, current, range) == step;
        });

    [Property]
    public Property Constant_power_integrates_to_power_times_duration(PositiveInt wattsRaw, PositiveInt samples, PositiveInt spanMs) =>
        Prop.ToProperty(Check(wattsRaw.Get % 2000 + 0.5, samples.Get % 500 + 2, spanMs.Get % 100_000 / 1000.0 + 0.01));

    private static bool Check(double watts, int n, double seconds)
    {
        var t = Enumerable.Range(0, n).Select(i => i * seconds / (n - 1)).ToArray();
        var power = EnergyCurve.FromPower(t, Enumerable.Repeat(watts, n).ToArray());
        var counter = EnergyCurve.FromCounter(t, t.Select(x => watts * x).ToArray(), t.Select((_, i) => i > 0).ToArray(), 0);
        var expected = watts * seconds;
        return Close(power.Between(0, seconds), expected) && Close(counter.Between(0, seconds), expected);
    }

    [Property]
    public Property Integration_is_additive_at_any_split_point(NonEmptyArray<NormalFloat> powers, NormalFloat splitRaw)
    {
        var p = powers.Get.Select(x => Math.Abs(x.Get) % 1000).Append(100).ToArray();
        var t = p.Select((_, i) => i * 0.1).ToArray();
        var curve = EnergyCurve.FromPower(t, p);
        var end = t[^1];
        var split = Math.Abs(splitRaw.Get) % (end + 1e-9);
        return Prop.ToProperty(Close(curve.Between(0, split) + curve.Between(split, end), curve.Between(0, end)));
    }

    [Property]
    public Property Accumulated_energy_never_decreases_whatever_the_counter_does(NonEmptyArray<NormalFloat> raw)
    {
        var time = new FakeTimeProvider();
        var track = new ChannelTrack(CounterChannel with { WrapJoules = 1000 }, TimeSpan.FromMilliseconds(100), time.GetTimestamp(), time.TimestampFrequency, 16);
        foreach (var v in raw.Get)
        {
            time.Advance(TimeSpan.FromMilliseconds(100));
            var now = time.GetTimestamp();
            track.Add(new MeterReading(now, now, Math.Abs(v.Get) % 2000, double.NaN, ReadStatus.Ok));
        }
        var energy = track.Energy.ToArray();
        return Prop.ToProperty(energy.Zip(energy.Skip(1)).All(pair => pair.Second >= pair.First) && energy.All(e => e >= 0));
    }

    [Fact]
    public void A_counter_reset_is_bridged_from_power_and_flagged_never_a_silent_zero()
    {
        var time = new FakeTimeProvider();
        var channel = CounterChannel with { HasPower = true };
        var track = new ChannelTrack(channel, TimeSpan.FromSeconds(1), time.GetTimestamp(), time.TimestampFrequency, 16);
        void Read(double joules, double watts)
        {
            var now = time.GetTimestamp();
            track.Add(new MeterReading(now, now, joules, watts, ReadStatus.Ok));
            time.Advance(TimeSpan.FromSeconds(1));
        }
        Read(5000, 100);
        Read(5100, 100);
        Read(30, 100); // driver reload: the counter restarted and has counted 30 J since
        Read(130, 100);
        Assert.Equal([0, 100, 200, 300], track.Energy.ToArray());
        var reset = Assert.Single(track.Events, e => e.Kind == MeterEventKind.Reset);
        Assert.Equal(70, reset.EstimatedJoules, 9);
        var window = EnergyWindow.Integrate(track, 0, 3);
        Assert.Equal(300, window.Joules, 9);
        Assert.True(window.UncertaintyJoules >= 70);
        Assert.Contains(window.Flags, f => f.Contains("reset", StringComparison.Ordinal));
    }

    [Fact]
    public void A_small_step_back_is_a_glitch_not_a_reset_that_would_add_the_counters_lifetime()
    {
        var time = new FakeTimeProvider();
        var track = new ChannelTrack(CounterChannel, TimeSpan.FromSeconds(1), time.GetTimestamp(), time.TimestampFrequency, 16);
        foreach (var joules in new[] { 44_442_000_000.0, 44_442_000_300.0, 44_441_996_400.0, 44_442_000_600.0 })
        {
            var now = time.GetTimestamp();
            track.Add(new MeterReading(now, now, joules, double.NaN, ReadStatus.Ok));
            time.Advance(TimeSpan.FromSeconds(1));
        }
        Assert.Equal([0, 300, 300, 600], track.Energy.ToArray());
        Assert.Single(track.Events, e => e.Kind == MeterEventKind.Backstep);
        Assert.DoesNotContain(track.Events, e => e.Kind == MeterEventKind.Reset);
    }

    [Fact]
    public void A_window_no_reading_reaches_has_unknown_energy_and_is_left_out_of_the_total()
    {
        var time = new FakeTimeProvider();
        var track = new ChannelTrack(CounterChannel, TimeSpan.FromMilliseconds(100), time.GetTimestamp(), time.TimestampFrequency, 16);
        for (var i = 0; i < 20; i++)
        {
            var now = time.GetTimestamp();
            track.Add(i < 10 ? new MeterReading(now, now, 30.0 * i, double.NaN, ReadStatus.Ok) : MeterReading.Failed(now, now, ReadStatus.Lost));
            time.Advance(TimeSpan.FromMilliseconds(100));
        }
        Assert.Single(track.Events, e => e.Kind == MeterEventKind.Lost);
        var late = EnergyWindow.Integrate(track, 1.5, 1.9);
        Assert.True(double.IsNaN(late.Joules));
        Assert.Contains(late.Flags, f => f.StartsWith("no reading reaches this window", StringComparison.Ordinal));
        var partly = EnergyWindow.Integrate(track, 0.2, 1.5);
        Assert.Contains(partly.Flags, f => f.Contains("after the last reading", StringComparison.Ordinal));
        Assert.True(partly.UncertaintyJoules >= 300 * 0.3, "the uncovered 0.3 s or more is bounded by the channel's highest power");
        var total = Boundary.Total([CounterChannel], _ => (late.Joules, late.UncertaintyJoules));
        Assert.True(double.IsNaN(total.Joules));
        Assert.Contains(total.Excluded, e => e.Contains("energy unknown", StringComparison.Ordinal));
    }

    [Fact]
    public void Failed_reads_become_a_gap_and_the_counter_still_accounts_for_the_energy_across_it()
    {
        var time = new FakeTimeProvider();
        var track = new ChannelTrack(CounterChannel, TimeSpan.FromMilliseconds(100), time.GetTimestamp(), time.TimestampFrequency, 4);
        for (var i = 0; i <= 30; i++)
        {
            var now = time.GetTimestamp();
            var failed = i is > 10 and < 20;
            track.Add(failed ? MeterReading.Failed(now, now, ReadStatus.Unavailable) : new MeterReading(now, now, 50.0 * i * 0.1, double.NaN, ReadStatus.Ok), 0, failed ? "HTTP 503" : "");
            time.Advance(TimeSpan.FromMilliseconds(100));
        }
        Assert.Equal(22, track.Count); // 31 reads, 9 failed; storage grew past its capacity of 4 without losing a read
        Assert.Contains(track.Events, e => e.Kind == MeterEventKind.ReadError && e.Detail.Contains("HTTP 503", StringComparison.Ordinal));
        var gap = Assert.Single(track.Events, e => e.Kind == MeterEventKind.Gap);
        Assert.Equal(1.0, gap.To - gap.From, 9);
        var window = EnergyWindow.Integrate(track, 0, 3);
        Assert.Equal(150, window.Joules, 6);
        Assert.Contains(window.Flags, f => f.Contains("gap", StringComparison.Ordinal));
    }

    [Fact]
    public void Sampling_a_synthetic_counter_recovers_the_true_energy_within_the_stated_bound()
    {
        var time = new FakeTimeProvider();
        var meter = new SyntheticMeter(new SyntheticOptions { Profile = PowerProfile.Parse("650W:1.3s,120W:0.7s,400W:2s") }, time);
        using var sampler = new PowerSampler([meter], new SamplerOptions { LocalInterval = TimeSpan.FromMilliseconds(10) }, time);
        var offset = (sampler.Origin - meter.Start) / (double)time.TimestampFrequency;
        for (var i = 0; i < 3000; i++)
        {
            time.Advance(TimeSpan.FromMilliseconds(10));
            sampler.SampleOnce();
        }
        var track = Assert.Single(sampler.Tracks);
        Assert.Equal(0.1, track.UpdatePeriod!.Value.TotalSeconds, 3);
        Assert.True(track.UpdatePeriodResolved);
        foreach (var (from, to) in new[] { (1.0, 2.0), (0.55, 13.37), (5.0, 29.0), (2.5, 3.5) })
        {
            var window = EnergyWindow.Integrate(track, from, to);
            var truth = meter.TrueJoules(from + offset, to + offset);
            Assert.True(Math.Abs(window.Joules - truth) <= window.UncertaintyJoules, $"[{from}, {to}]: {window.Joules} vs {truth} ± {window.UncertaintyJoules}");
            Assert.True(Math.Abs(window.Joules - truth) / truth < 0.02, $"[{from}, {to}]: {window.Joules} vs {truth}");
            Assert.NotNull(window.CrossCheck);
        }
        Assert.Contains(EnergyWindow.Integrate(track, 1.0, 1.5).Flags, f => f.Contains("shorter than 10 update periods", StringComparison.Ordinal));
    }

    [Fact]
    public void A_window_without_a_counter_update_takes_power_and_says_so_never_a_silent_zero()
    {
        var time = new FakeTimeProvider();
        var meter = new SyntheticMeter(new SyntheticOptions { Profile = PowerProfile.Parse("300W:10s"), UpdatePeriod = TimeSpan.FromSeconds(1) }, time);
        using var sampler = new PowerSampler([meter], new SamplerOptions { LocalInterval = TimeSpan.FromMilliseconds(10) }, time);
        for (var i = 0; i < 300; i++)
        {
            time.Advance(TimeSpan.FromMilliseconds(10));
            sampler.SampleOnce();
        }
        var window = EnergyWindow.Integrate(Assert.Single(sampler.Tracks), 1.2, 1.3);
        Assert.Equal(EnergyMethod.PowerIntegral, window.Method);
        Assert.Equal(30, window.Joules, 6);
        Assert.Contains(window.Flags, f => f.StartsWith("no counter update inside the window", StringComparison.Ordinal));
    }

    [Fact]
    public void Power_only_channels_are_trapezoid_integrated_and_say_so()
    {
        var time = new FakeTimeProvider();
        var meter = new SyntheticMeter(new SyntheticOptions { Kind = ReadingKind.InstantPower, Profile = PowerProfile.Parse("200W:10s"), UpdatePeriod = TimeSpan.Zero }, time);
        using var sampler = new PowerSampler([meter], new SamplerOptions(), time);
        for (var i = 0; i < 100; i++)
        {
            time.Advance(TimeSpan.FromMilliseconds(100));
            sampler.SampleOnce();
        }
        var window = EnergyWindow.Integrate(Assert.Single(sampler.Tracks), 1, 9);
        Assert.Equal(EnergyMethod.PowerIntegral, window.Method);
        Assert.Equal(1600, window.Joules, 6);
        Assert.Null(window.CrossCheck);
    }

    [Fact]
    public void Averaged_power_is_moved_back_by_half_its_window()
    {
        // A step from 100 W to 300 W at t = 5 s, reported as a 1 s trailing average: the average reaches 300 W at 6 s.
        var t = Enumerable.Range(0, 101).Select(i => i * 0.1).ToArray();
        var averaged = t.Select(x => x <= 5 ? 100 : x >= 6 ? 300 : 100 + 200 * (x - 5)).ToArray();
        var shifted = EnergyCurve.FromPower(t, averaged, 0.5);
        var unshifted = EnergyCurve.FromPower(t, averaged);
        const double truth = 100 * 3 + 300 * 3; // the true step signal over [2, 8]
        Assert.Equal(truth, shifted.Between(2, 8), 6);
        Assert.NotEqual(truth, unshifted.Between(2, 8), 0);
    }

    [Fact]
    public void Nested_scopes_are_never_added_and_one_device_is_counted_once()
    {
        var gpu = new MeterChannel("nvml:0", "GPU", MeterScope.Accelerator, ReadingKind.Counter) { DeviceKey = "GPU-1" };
        var dcgm = new MeterChannel("prometheus:0", "GPU via DCGM", MeterScope.Accelerator, ReadingKind.Counter) { DeviceKey = "GPU-1" };
        var cpu = new MeterChannel("rapl:package-0", "CPU", MeterScope.CpuPackage, ReadingKind.Counter) { DeviceKey = "rapl:0" };
        var node = new MeterChannel("ipmi:dcmi", "node", MeterScope.NodeAc, ReadingKind.InstantPower) { DeviceKey = "bmc" };
        var joules = new Dictionary<string, double> { ["nvml:0"] = 100, ["prometheus:0"] = 101, ["rapl:package-0"] = 30, ["ipmi:dcmi"] = 400 };

        var components = Boundary.Total([gpu, dcgm, cpu], c => (joules[c.Id], 1));
        Assert.Equal(130, components.Joules);
        Assert.Equal(["nvml:0", "rapl:package-0"], components.Included);
        Assert.Contains(components.Excluded, e => e.StartsWith("prometheus:0", StringComparison.Ordinal));

        var withNode = Boundary.Total([gpu, cpu, node], c => (joules[c.Id], 1));
        Assert.Equal(400, withNode.Joules);
        Assert.Equal(MeterScope.NodeAc, withNode.Scope);
        Assert.Equal(2, withNode.Excluded.Count);
    }

    [Fact]
    public void The_platform_holds_cpu_packages_and_dram_but_not_accelerators()
    {
        var gpu = new MeterChannel("nvml:0", "GPU", MeterScope.Accelerator, ReadingKind.Counter) { DeviceKey = "GPU-1" };
        var package = new MeterChannel("rapl:package-0", "CPU", MeterScope.CpuPackage, ReadingKind.Counter);
        var dram = new MeterChannel("rapl:dram-0", "DRAM", MeterScope.Dram, ReadingKind.Counter);
        var psys = new MeterChannel("rapl:psys", "platform", MeterScope.Platform, ReadingKind.Counter);
        var joules = new Dictionary<string, double> { ["nvml:0"] = 100, ["rapl:package-0"] = 30, ["rapl:dram-0"] = 5, ["rapl:psys"] = 50 };
        var total = Boundary.Total([gpu, package, dram, psys], c => (joules[c.Id], 1));
        Assert.Equal(150, total.Joules);
        Assert.Equal(["nvml:0", "rapl:psys"], total.Included);
        Assert.Equal(2, total.Excluded.Count);
        Assert.Equal("1 × accelerator + 1 × platform (components only; the rest of the node is outside)", total.Boundary);
    }

    private static bool Close(double a, double b) => Math.Abs(a - b) <= 1e-9 * Math.Max(1, Math.Abs(b));
}
