using EnergyToToken.Metering;
using EnergyToToken.Metering.AmdSmi;

namespace EnergyToToken.Tests.Metering;

/// <summary>The real AMD SMI interop path against a fake libamd_smi.so built from C (Fixtures/fake-amdsmi/fake_amdsmi.c).</summary>
[Collection("native meters")]
public class AmdSmiMeterTests
{
    private static readonly string FakeLibrary = Path.Combine(AppContext.BaseDirectory, "fake-amdsmi", "libamd_smi.so");
    private static readonly string Script = Path.Combine(AppContext.BaseDirectory, "fake-amdsmi", "fake-amdsmi.script");

    private static AmdSmiMeter Open(string script)
    {
        File.WriteAllText(Script, script);
        return AmdSmiMeter.Open(new AmdSmiOptions { Library = FakeLibrary }, TimeProvider.System);
    }

    [Fact]
    public void Every_gpu_with_an_energy_accumulator_is_a_counter_in_joules_with_socket_power()
    {
        using var meter = Open("gpus 2\nenergy 0 1000 2000\nresolution 0 15.25\npower 0 550 480\nenergy 1 4000000\nresolution 1 1\npower 1 4294967295 320\n");
        Assert.Equal(["amdsmi:0", "amdsmi:1"], meter.Channels.Select(c => c.Id));
        Assert.All(meter.Channels, c => Assert.Equal(ReadingKind.Counter, c.Kind));
        Assert.Equal(15.25e-6, meter.Channels[0].EnergyResolutionJoules, 12);
        var readings = new MeterReading[2];
        meter.Read(readings, []);
        // Open() took the first accumulator value while probing; 2000 counts × 15.25 µJ.
        Assert.Equal(2000 * 15.25e-6, readings[0].Joules, 12);
        Assert.Equal(550, readings[0].Watts);
        Assert.Equal(4.0, readings[1].Joules, 12);
        Assert.Equal(320, readings[1].Watts); // current socket power unsupported (UINT32_MAX): the average is used
    }

    [Fact]
    public void A_gpu_read_by_amd_smi_and_by_hwmon_is_keyed_by_its_pci_address_and_counted_once()
    {
        using var meter = Open("gpus 1\nenergy 0 1000 2000\n");
        Assert.Equal("pci:0000:03:00.0", meter.Channels[0].DeviceKey);
        using var tree = new SysfsTree();
        tree.Write("sys/devices/pci0000:00/0000:03:00.0/uevent", "DRIVER=amdgpu");
        tree.Write("sys/class/hwmon/hwmon0/name", "amdgpu");
        tree.Write("sys/class/hwmon/hwmon0/power1_average", "245000000");
        File.CreateSymbolicLink(Path.Combine(tree.Root, "sys/class/hwmon/hwmon0/device"), Path.Combine(tree.Root, "sys/devices/pci0000:00/0000:03:00.0"));
        using var hwmon = EnergyToToken.Metering.Hwmon.HwmonMeter.Open(new EnergyToToken.Metering.Hwmon.HwmonOptions { Root = tree.Root }, TimeProvider.System);
        Assert.Equal("pci:0000:03:00.0", hwmon.Channels[0].DeviceKey);
        var total = Boundary.Total([.. meter.Channels, .. hwmon.Channels], _ => (10, 1));
        Assert.Equal(["amdsmi:0"], total.Included);
        Assert.Contains(total.Excluded, e => e.Contains("already counted", StringComparison.Ordinal));
    }

    [Fact]
    public void A_failed_initialisation_is_explained()
    {
        var e = Assert.Throws<EnergyToTokenException>(() => Open("init 8"));
        Assert.Contains("initialisation failed with status 8", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Gpus_without_an_energy_counter_are_explained()
    {
        var e = Assert.Throws<EnergyToTokenException>(() => Open("gpus 1\n"));
        Assert.Contains("no GPU with an energy counter", e.Message, StringComparison.Ordinal);
    }
}
