using System.Text.RegularExpressions;
using EnergyToToken.Metering.Sysfs;

namespace EnergyToToken.Metering.Rapl;

/// <summary>Options of the RAPL meter.</summary>
public sealed record RaplOptions
{
    /// <summary>Root under which <c>sys/class/powercap</c> is read. Default: <c>E2T_SYSFS_ROOT</c>, else <c>/</c>.</summary>
    public string Root { get; init; } = SysfsFile.DefaultRoot;
}

/// <summary>
/// Intel and AMD RAPL through the powercap sysfs tree: package, DRAM and psys domains as counters in µJ that wrap at
/// <c>max_energy_range_uj</c>. Core and uncore sub-domains are skipped because the package already contains them,
/// and <c>intel-rapl-mmio</c> zones because they repeat the package through another interface.
/// </summary>
public sealed partial class RaplMeter : IPowerMeter
{
    private readonly SysfsFile[] _files;
    private readonly TimeProvider _time;

    private RaplMeter(IReadOnlyList<MeterChannel> channels, SysfsFile[] files, TimeProvider time)
    {
        Channels = channels;
        _files = files;
        _time = time;
    }

    public string Name => "rapl";

    public bool IsRemote => false;

    public IReadOnlyList<MeterChannel> Channels { get; }

    public IReadOnlyList<TelemetryChannel> Telemetry => [];

    public static RaplMeter Open(RaplOptions options, TimeProvider time)
    {
        var powercap = Path.Combine(options.Root, "sys", "class", "powercap");
        if (!Directory.Exists(powercap))
            throw new EnergyToTokenException($"RAPL: {powercap} does not exist (no powercap driver: most VMs and non-x86 machines). Use another meter; 'e2t meters' lists them.");
        var channels = new List<MeterChannel>();
        var files = new List<SysfsFile>();
        var denied = new List<string>();
        foreach (var zone in Directory.GetDirectories(powercap).Order(StringComparer.Ordinal))
        {
            var id = Path.GetFileName(zone);
            var match = ZoneName().Match(id);
            if (!match.Success) continue;
            var name = SysfsFile.ReadText(Path.Combine(zone, "name")) ?? id;
            var isChild = match.Groups["child"].Success;
            MeterScope? scope = name switch
            {
                _ when name.StartsWith("package", StringComparison.Ordinal) && !isChild => MeterScope.CpuPackage,
                "dram" => MeterScope.Dram,
                "psys" when !isChild => MeterScope.Platform,
                _ => null, // core, uncore: already inside the package
            };
            if (scope is null) continue;
            var energy = new SysfsFile(Path.Combine(zone, "energy_uj"));
            var status = energy.TryRead(out _);
            if (status != ReadStatus.Ok)
            {
                energy.Dispose();
                if (status == ReadStatus.PermissionDenied) denied.Add(energy.Path);
                continue;
            }
            using var rangeFile = new SysfsFile(Path.Combine(zone, "max_energy_range_uj"));
            double? wrap = rangeFile.TryRead(out var range) == ReadStatus.Ok && range > 0 ? range / 1e6 : null;
            var socket = match.Groups["socket"].Value;
            channels.Add(new MeterChannel($"rapl:{name}{(scope == MeterScope.Dram ? "-" + socket : "")}", $"RAPL {name} ({id})", scope.Value, ReadingKind.Counter)
            {
                HasPower = false,
                EnergyResolutionJoules = 1e-6,
                WrapJoules = wrap,
                NominalUpdatePeriod = TimeSpan.FromMilliseconds(1),
                DeviceKey = $"rapl:{id}",
                Notes = scope == MeterScope.Platform ? ["psys covers the platform (CPU packages, DRAM, the SoC's rails), not discrete accelerators"] : [],
            });
            files.Add(energy);
        }
        if (channels.Count == 0 && denied.Count > 0)
        {
            throw new EnergyToTokenException(
                $"RAPL: {denied[0]} is readable only by root on this kernel (a fix for CVE-2020-8694). Run as root, or allow reading until the next boot with " +
                "'sudo chmod o+r /sys/class/powercap/intel-rapl:*/energy_uj /sys/class/powercap/intel-rapl:*:*/energy_uj'.");
        }
        if (channels.Count == 0)
            throw new EnergyToTokenException($"RAPL: {powercap} has no readable package, DRAM or psys domain. Use another meter; 'e2t meters' lists them.");
        return new RaplMeter(channels, [.. files], time);
    }

    public void Read(Span<MeterReading> readings, Span<double> telemetry)
    {
        for (var i = 0; i < _files.Length; i++)
        {
            var before = _time.GetTimestamp();
            var status = _files[i].TryRead(out var microjoules);
            var after = _time.GetTimestamp();
            readings[i] = status == ReadStatus.Ok
                ? new MeterReading(before, after, microjoules / 1e6, double.NaN, ReadStatus.Ok)
                : MeterReading.Failed(before, after, status);
        }
    }

    public void Dispose()
    {
        foreach (var file in _files) file.Dispose();
    }

    [GeneratedRegex(@"^intel-rapl:(?<socket>\d+)(:(?<child>\d+))?$")]
    private static partial Regex ZoneName();
}
