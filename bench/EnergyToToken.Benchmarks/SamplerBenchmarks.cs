using BenchmarkDotNet.Attributes;
using EnergyToToken.Metering;
using EnergyToToken.Metering.Hwmon;
using EnergyToToken.Metering.Rapl;
using EnergyToToken.Metering.Synthetic;

namespace EnergyToToken.Benchmarks;

/// <summary>
/// One sample of every local meter, the sampler's steady-state work: two synthetic channels, three RAPL zones and two
/// hwmon sensors read through libc from a sysfs-shaped tree on disk, each appended to its track.
/// </summary>
[MemoryDiagnoser]
public class SamplerBenchmarks : IDisposable
{
    private const int Invocations = 20_000;
    private FakeSysfs _tree = null!;
    private IPowerMeter[] _meters = null!;
    private PowerSampler _sampler = null!;

    [GlobalSetup]
    public void Setup()
    {
        _tree = new FakeSysfs();
        var time = TimeProvider.System;
        _meters =
        [
            new SyntheticMeter(new SyntheticOptions(), time),
            new SyntheticMeter(new SyntheticOptions { Kind = ReadingKind.InstantPower }, time),
            RaplMeter.Open(new RaplOptions { Root = _tree.Root }, time),
            HwmonMeter.Open(new HwmonOptions { Root = _tree.Root }, time),
        ];
    }

    [IterationSetup]
    public void NewSampler() =>
        // Storage sized for the iteration, as the CLI sizes it for the run: steady state, not growth.
        _sampler = new PowerSampler(_meters, new SamplerOptions { ExpectedDuration = TimeSpan.FromMilliseconds(100) * (Invocations * 2) }, TimeProvider.System);

    [Benchmark(Description = "SampleOnce: 7 channels, 4 meters")]
    [InvocationCount(Invocations)]
    public void SampleOnce() => _sampler.SampleOnce();

    [IterationCleanup]
    public void Cleanup() => _sampler.Dispose();

    [GlobalCleanup]
    public void Dispose()
    {
        foreach (var m in _meters) m.Dispose();
        _tree.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>A powercap and hwmon tree in a temporary directory (the same layout the tests use).</summary>
internal sealed class FakeSysfs : IDisposable
{
    public FakeSysfs()
    {
        Write("sys/class/powercap/intel-rapl:0/name", "package-0");
        Write("sys/class/powercap/intel-rapl:0/energy_uj", "123456789");
        Write("sys/class/powercap/intel-rapl:0/max_energy_range_uj", "262143328850");
        Write("sys/class/powercap/intel-rapl:0:0/name", "dram");
        Write("sys/class/powercap/intel-rapl:0:0/energy_uj", "23456789");
        Write("sys/class/powercap/intel-rapl:1/name", "package-1");
        Write("sys/class/powercap/intel-rapl:1/energy_uj", "98765432");
        Write("sys/class/hwmon/hwmon0/name", "amdgpu");
        Write("sys/class/hwmon/hwmon0/power1_average", "245000000");
        Write("sys/class/hwmon/hwmon1/name", "acpi_power_meter");
        Write("sys/class/hwmon/hwmon1/power1_input", "612000000");
    }

    public string Root { get; } = Path.Combine(Path.GetTempPath(), "e2t-bench-sysfs-" + Guid.NewGuid().ToString("N"));

    private void Write(string relative, string content)
    {
        var path = Path.Combine(Root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content + "\n");
    }

    public void Dispose() => Directory.Delete(Root, recursive: true);
}
