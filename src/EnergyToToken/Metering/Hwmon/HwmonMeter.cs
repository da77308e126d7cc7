using System.Text.RegularExpressions;
using EnergyToToken.Metering.Sysfs;

namespace EnergyToToken.Metering.Hwmon;

/// <summary>Options of the hwmon meter.</summary>
public sealed record HwmonOptions
{
    /// <summary>Root under which <c>sys/class/hwmon</c> is read. Default: <c>E2T_SYSFS_ROOT</c>, else <c>/</c>.</summary>
    public string Root { get; init; } = SysfsFile.DefaultRoot;

    /// <summary>
    /// Scope per hwmon driver name, over the built-in guesses (amdgpu → accelerator; acpi_power_meter, power_meter →
    /// node AC; amd_energy, zenpower → CPU package; anything else → platform, which never swallows accelerators).
    /// </summary>
    public IReadOnlyDictionary<string, MeterScope> Scopes { get; init; } = new Dictionary<string, MeterScope>();
}

/// <summary>
/// hwmon power and energy sensors: <c>energyN_input</c> (µJ counter), <c>powerN_input</c> (µW, instantaneous) and
/// <c>powerN_average</c> (µW over <c>powerN_average_interval</c> ms). Per-core energy sensors (labels starting with
/// <c>Ecore</c>) are skipped because the socket sensor already contains them.
/// </summary>
public sealed partial class HwmonMeter : IPowerMeter
{
    private readonly SysfsFile[] _files;
    private readonly TimeProvider _time;

    private HwmonMeter(IReadOnlyList<MeterChannel> channels, SysfsFile[] files, TimeProvider time)
    {
        Channels = channels;
        _files = files;
        _time = time;
    }

    public string Name => "hwmon";

    public bool IsRemote => false;

    public IReadOnlyList<MeterChannel> Channels { get; }

    public IReadOnlyList<TelemetryChannel> Telemetry => [];

    public static HwmonMeter Open(HwmonOptions options, TimeProvider time)
    {
        var hwmon = Path.Combine(options.Root, "sys", "class", "hwmon");
        if (!Directory.Exists(hwmon)) throw new EnergyToTokenException($"hwmon: {hwmon} does not exist. Use another meter; 'e2t meters' lists them.");
        var channels = new List<MeterChannel>();
        var files = new List<SysfsFile>();
        var denied = new List<string>();
        foreach (var device in Directory.GetDirectories(hwmon).Order(StringComparer.Ordinal))
        {
            var id = Path.GetFileName(device);
            var driver = SysfsFile.ReadText(Path.Combine(device, "name")) ?? id;
            var pciKey = PciKey(Path.Combine(device, "device"));
            var scope = options.Scopes.TryGetValue(driver, out var chosen) ? chosen : driver switch
            {
                "amdgpu" => MeterScope.Accelerator,
                "acpi_power_meter" or "power_meter" => MeterScope.NodeAc,
                "amd_energy" or "zenpower" => MeterScope.CpuPackage,
                _ => MeterScope.Platform,
            };
            foreach (var file in Directory.GetFiles(device).Order(StringComparer.Ordinal))
            {
                var match = Sensor().Match(Path.GetFileName(file));
                if (!match.Success) continue;
                var kind = match.Groups["kind"].Value;
                var index = match.Groups["n"].Value;
                var label = SysfsFile.ReadText(Path.Combine(device, $"{kind}{index}_label"));
                if (label?.StartsWith("Ecore", StringComparison.Ordinal) == true) continue;
                var sensor = new SysfsFile(file);
                var status = sensor.TryRead(out _);
                if (status != ReadStatus.Ok)
                {
                    sensor.Dispose();
                    if (status == ReadStatus.PermissionDenied) denied.Add(file);
                    continue;
                }
                var readingKind = kind == "energy" ? ReadingKind.Counter
                    : match.Groups["what"].Value == "average" ? ReadingKind.AveragedPower : ReadingKind.InstantPower;
                using var intervalFile = new SysfsFile(Path.Combine(device, $"power{index}_average_interval"));
                var window = readingKind == ReadingKind.AveragedPower && intervalFile.TryRead(out var ms) == ReadStatus.Ok
                    ? TimeSpan.FromMilliseconds(ms) : TimeSpan.Zero;
                var what = label ?? $"{kind}{index}";
                channels.Add(new MeterChannel($"hwmon:{id}:{driver}:{what}:{match.Groups["what"].Value}", $"hwmon {driver} {what} ({id})", scope, readingKind)
                {
                    HasPower = kind == "power",
                    EnergyResolutionJoules = 1e-6,
                    PowerResolutionWatts = 1e-6,
                    AveragingWindow = window,
                    NominalUpdatePeriod = window > TimeSpan.Zero ? window : TimeSpan.FromMilliseconds(100),
                    // A PCI device (a GPU) is keyed by its bus address, which AMD SMI reports too: one GPU counts once.
                    DeviceKey = pciKey ?? $"hwmon:{id}:{what}",
                    Notes = options.Scopes.ContainsKey(driver) || driver is "amdgpu" or "acpi_power_meter" or "power_meter" or "amd_energy" or "zenpower"
                        ? [] : [$"scope of '{driver}' assumed platform (not containing accelerators); set it with --hwmon-scope {driver}=SCOPE"],
                });
                files.Add(sensor);
            }
        }
        if (channels.Count == 0)
        {
            throw new EnergyToTokenException(denied.Count > 0
                ? $"hwmon: {denied[0]} is not readable by this user. Run as root or grant read access to it."
                : $"hwmon: no power or energy sensor under {hwmon}. Use another meter; 'e2t meters' lists them.");
        }
        return new HwmonMeter(channels, [.. files], time);
    }

    public void Read(Span<MeterReading> readings, Span<double> telemetry)
    {
        for (var i = 0; i < _files.Length; i++)
        {
            var before = _time.GetTimestamp();
            var status = _files[i].TryRead(out var micro);
            var after = _time.GetTimestamp();
            readings[i] = status != ReadStatus.Ok ? MeterReading.Failed(before, after, status)
                : Channels[i].HasEnergy ? new MeterReading(before, after, micro / 1e6, double.NaN, ReadStatus.Ok)
                : new MeterReading(before, after, double.NaN, micro / 1e6, ReadStatus.Ok);
        }
    }

    public void Dispose()
    {
        foreach (var file in _files) file.Dispose();
    }

    /// <summary><c>pci:DDDD:BB:DD.F</c> when the hwmon device is a PCI function, else null.</summary>
    private static string? PciKey(string deviceLink)
    {
        try
        {
            var target = new FileInfo(deviceLink).ResolveLinkTarget(returnFinalTarget: true)?.Name ?? new DirectoryInfo(deviceLink).ResolveLinkTarget(true)?.Name;
            return target is not null && PciAddress().IsMatch(target) ? $"pci:{target}" : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    [GeneratedRegex(@"^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$")]
    private static partial Regex PciAddress();

    [GeneratedRegex(@"^(?<kind>power|energy)(?<n>\d+)_(?<what>input|average)$")]
    private static partial Regex Sensor();
}
