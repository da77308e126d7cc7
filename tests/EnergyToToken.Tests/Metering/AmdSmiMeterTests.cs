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
