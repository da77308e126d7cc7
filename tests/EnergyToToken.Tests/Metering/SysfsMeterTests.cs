using System.Globalization;
using System.Text.Json;
using EnergyToToken.Metering;
using EnergyToToken.Metering.CpuModel;
using EnergyToToken.Metering.Hwmon;
using EnergyToToken.Metering.Rapl;
using EnergyToToken.Metering.Sysfs;
using Microsoft.Extensions.Time.Testing;

namespace EnergyToToken.Tests.Metering;

public class SysfsMeterTests
{
    [Fact]
    public void Rapl_reads_package_dram_and_psys_and_skips_core_uncore_and_mmio()
    {
        using var tree = new SysfsTree();
        tree.Zone("intel-rapl:0", "package-0", 1_000_000);
        tree.Zone("intel-rapl:0:0", "core", 500_000);
        tree.Zone("intel-rapl:0:1", "uncore", 100_000);
        tree.Zone("intel-rapl:0:2", "dram", 200_000, 65_532_610_987);
        tree.Zone("intel-rapl:1", "psys", 3_000_000);
        tree.Zone("intel-rapl-mmio:0", "package-0", 1_000_000);

        using var meter = RaplMeter.Open(new RaplOptions { Root = tree.Root }, TimeProvider.System);

        Assert.Equal(["rapl:package-0", "rapl:dram-0", "rapl:psys"], meter.Channels.Select(c => c.Id));
        Assert.Equal([MeterScope.CpuPackage, MeterScope.Dram, MeterScope.Platform], meter.Channels.Select(c => c.Scope));
        Assert.Equal(65_532.610987, meter.Channels[1].WrapJoules!.Value, 9);
        var readings = new MeterReading[3];
        meter.Read(readings, []);
        Assert.Equal([1.0, 0.2, 3.0], readings.Select(r => r.Joules));
    }

    [Fact]
    public void Rapl_energy_is_exact_across_a_wrap_and_a_vanished_file_is_a_lost_channel_that_keeps_what_it_measured()
    {
        using var tree = new SysfsTree();
        var energy = tree.Zone("intel-rapl:0", "package-0", 999_000_000, maxRange: 1_000_000_000);
        var time = new FakeTimeProvider();
        using var meter = RaplMeter.Open(new RaplOptions { Root = tree.Root }, time);
        using var sampler = new PowerSampler([meter], new SamplerOptions(), time);
        var values = new ulong[] { 999_000_000, 999_500_000, 200_000, 700_000 }; // wraps at 1000 J between the 2nd and 3rd read
        foreach (var v in values)
        {
            File.WriteAllText(energy, v.ToString(CultureInfo.InvariantCulture));
            sampler.SampleOnce();
            time.Advance(TimeSpan.FromMilliseconds(100));
        }
        File.Delete(energy);
        // The descriptor is re-opened every SysfsFile.ReopenEvery reads: the vanished file is noticed within that many.
        for (var i = 0; i < SysfsFile.ReopenEvery; i++) sampler.SampleOnce();
        var track = Assert.Single(sampler.Tracks);
        Assert.Equal(1.7, track.Energy[^1], 9); // 0.5 + (1000 − 999.5 + 0.2) + 0.5 J
        Assert.Contains(track.Events, e => e.Kind == MeterEventKind.Wrap);
        Assert.Contains(track.Events, e => e.Kind == MeterEventKind.Lost);
        Assert.Equal(1.7, EnergyWindow.Integrate(track, 0, 0.3).Joules, 9); // first to last good read
    }

    [Fact]
    public void Rapl_without_powercap_says_why()
    {
        using var tree = new SysfsTree();
        var e = Assert.Throws<EnergyToTokenException>(() => RaplMeter.Open(new RaplOptions { Root = tree.Root }, TimeProvider.System));
        Assert.Contains("powercap does not exist", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void Rapl_root_only_energy_uj_gets_a_message_that_says_what_to_do()
    {
        using var tree = new SysfsTree();
        var energy = tree.Zone("intel-rapl:0", "package-0", 1_000_000);
        File.SetUnixFileMode(energy, UnixFileMode.UserRead); // 0400 root, as patched kernels ship it
        if (Environment.UserName != "root")
        {
            var e = Assert.Throws<EnergyToTokenException>(() => RaplMeter.Open(new RaplOptions { Root = tree.Root }, TimeProvider.System));
            Assert.Contains("readable only by root", e.Message, StringComparison.Ordinal);
            return;
        }
        // As root the file is readable whatever its mode, so run the real tool as an unprivileged user.
        File.SetUnixFileMode(tree.Root, (UnixFileMode)0b111_101_101);
        foreach (var dir in Directory.GetDirectories(tree.Root, "*", SearchOption.AllDirectories)) File.SetUnixFileMode(dir, (UnixFileMode)0b111_101_101);
        var (exit, stdout, _) = E2tProcess.Run(new Dictionary<string, string> { ["E2T_SYSFS_ROOT"] = tree.Root }, asNobody: true, "meters", "--json", "--probe-time", "0");
        Assert.Equal(0, exit);
        using var json = JsonDocument.Parse(stdout);
        var rapl = json.RootElement.GetProperty("meters").EnumerateArray().Single(m => m.GetProperty("meter").GetString() == "rapl");
        Assert.False(rapl.GetProperty("available").GetBoolean());
        Assert.Contains("readable only by root", rapl.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Contains("chmod o+r", rapl.GetProperty("reason").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Hwmon_reads_energy_power_and_averaged_power_with_scopes_and_skips_per_core_energy()
    {
        using var tree = new SysfsTree();
        tree.Write("sys/class/hwmon/hwmon0/name", "amdgpu");
        tree.Write("sys/class/hwmon/hwmon0/power1_average", "245000000");
        tree.Write("sys/class/hwmon/hwmon0/power1_average_interval", "1000");
        tree.Write("sys/class/hwmon/hwmon1/name", "acpi_power_meter");
        tree.Write("sys/class/hwmon/hwmon1/power1_input", "612000000");
        tree.Write("sys/class/hwmon/hwmon2/name", "amd_energy");
        tree.Write("sys/class/hwmon/hwmon2/energy1_input", "5000000");
        tree.Write("sys/class/hwmon/hwmon2/energy1_label", "Ecore000");
        tree.Write("sys/class/hwmon/hwmon2/energy65_input", "90000000");
        tree.Write("sys/class/hwmon/hwmon2/energy65_label", "Esocket0");
        tree.Write("sys/class/hwmon/hwmon3/name", "k10temp");
        tree.Write("sys/class/hwmon/hwmon3/temp1_input", "45000");

        using var meter = HwmonMeter.Open(new HwmonOptions { Root = tree.Root }, TimeProvider.System);

        Assert.Equal(["hwmon:hwmon0:amdgpu:power1:average", "hwmon:hwmon1:acpi_power_meter:power1:input", "hwmon:hwmon2:amd_energy:Esocket0:input"], meter.Channels.Select(c => c.Id));
        Assert.Equal([MeterScope.Accelerator, MeterScope.NodeAc, MeterScope.CpuPackage], meter.Channels.Select(c => c.Scope));
        Assert.Equal([ReadingKind.AveragedPower, ReadingKind.InstantPower, ReadingKind.Counter], meter.Channels.Select(c => c.Kind));
        Assert.Equal(TimeSpan.FromSeconds(1), meter.Channels[0].AveragingWindow);
        var readings = new MeterReading[3];
        meter.Read(readings, []);
        Assert.Equal(245, readings[0].Watts, 9);
        Assert.Equal(612, readings[1].Watts, 9);
        Assert.Equal(90, readings[2].Joules, 9);
    }

    [Fact]
    public void Hwmon_scope_of_an_unknown_driver_is_assumed_and_noted_unless_given()
    {
        using var tree = new SysfsTree();
        tree.Write("sys/class/hwmon/hwmon0/name", "xgene_hwmon");
        tree.Write("sys/class/hwmon/hwmon0/power1_input", "10000000");
        using var assumed = HwmonMeter.Open(new HwmonOptions { Root = tree.Root }, TimeProvider.System);
        Assert.Equal(MeterScope.Platform, assumed.Channels[0].Scope);
        Assert.Contains(assumed.Channels[0].Notes, n => n.Contains("--hwmon-scope xgene_hwmon=SCOPE", StringComparison.Ordinal));
        using var given = HwmonMeter.Open(new HwmonOptions { Root = tree.Root, Scopes = new Dictionary<string, MeterScope> { ["xgene_hwmon"] = MeterScope.CpuPackage } }, TimeProvider.System);
        Assert.Equal(MeterScope.CpuPackage, given.Channels[0].Scope);
        Assert.Empty(given.Channels[0].Notes);
    }

    [Fact]
    public void Cpu_model_turns_busy_cpu_time_into_modeled_energy_and_says_it_is_modeled()
    {
        using var tree = new SysfsTree();
        tree.Write("proc/cpuinfo", "processor\t: 0\nmodel name\t: AMD EPYC 7763 64-Core Processor\nphysical id\t: 0\n\nprocessor\t: 1\nmodel name\t: AMD EPYC 7763 64-Core Processor\nphysical id\t: 0");
        var stat = tree.Write("proc/stat", "cpu  100 0 50 1000 20 5 5 0 0 0\ncpu0 50 0 25 500 10 2 3 0 0 0");
        var time = new FakeTimeProvider();
        using var meter = CpuModelMeter.Open(new CpuModelOptions { Root = tree.Root }, time);
        var channel = Assert.Single(meter.Channels);
        Assert.True(channel.Modeled);
        Assert.Contains("280 W per socket", channel.Description, StringComparison.Ordinal);
        using var sampler = new PowerSampler([meter], new SamplerOptions(), time);
        sampler.SampleOnce();
        time.Advance(TimeSpan.FromSeconds(1));
        File.WriteAllText(stat, "cpu  250 0 100 1050 20 5 5 0 0 0\n"); // 200 busy ticks = 2 CPU-seconds
        sampler.SampleOnce();
        var window = EnergyMeasurement.Summarize(sampler, 0, 1);
        Assert.Equal(2 * 280.0 / 2, window.Total.Joules, 9); // 2 CPU-s × 280 W ÷ 2 CPUs
        Assert.True(window.Total.Modeled);
        Assert.Contains("modeled, not measured", window.Total.Boundary, StringComparison.Ordinal);
        Assert.Null(window.StaticJoules);
    }

    [Fact]
    public void Cpu_model_of_an_unknown_cpu_asks_for_its_tdp()
    {
        using var tree = new SysfsTree();
        tree.Write("proc/cpuinfo", "processor\t: 0\nmodel name\t: Imaginary CPU 9000");
        tree.Write("proc/stat", "cpu  1 0 1 1 0 0 0 0 0 0");
        var e = Assert.Throws<EnergyToTokenException>(() => CpuModelMeter.Open(new CpuModelOptions { Root = tree.Root }, TimeProvider.System));
        Assert.Contains("Pass --cpu-tdp", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("1234 (my prog) S 1 2 3 4 5 6 7 8 9 10 300 40 5 6 20 0", 351)]
    [InlineData("cpu  10 1 5 100 7 1 2 3 0 0", 22)]
    public void Busy_ticks_are_parsed_from_proc_stat_lines(string line, ulong expected)
    {
        Assert.True(CpuModelMeter.TryBusyTicks(System.Text.Encoding.ASCII.GetBytes(line), line.StartsWith("1234", StringComparison.Ordinal), out var ticks));
        Assert.Equal(expected, ticks);
    }
}
