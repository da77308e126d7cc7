namespace EnergyToToken.Tests.Metering;

/// <summary>
/// A fake sysfs/procfs root in a temporary directory, laid out like the kernel's (powercap zones, hwmon devices,
/// /proc/stat), for <c>E2T_SYSFS_ROOT</c>-style tests of the real readers.
/// </summary>
internal sealed class SysfsTree : IDisposable
{
    public SysfsTree() => Directory.CreateDirectory(Root);

    public string Root { get; } = Path.Combine(Path.GetTempPath(), "e2t-sysfs-" + Guid.NewGuid().ToString("N"));

    public string Write(string relative, string content)
    {
        var path = Path.Combine(Root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content + "\n");
        return path;
    }

    /// <summary>A RAPL zone: intel-rapl:0 (package), intel-rapl:0:0 (a sub-domain), with energy and wrap range in µJ.</summary>
    public string Zone(string id, string name, ulong energyMicrojoules, ulong maxRange = 262_143_328_850)
    {
        Write($"sys/class/powercap/{id}/name", name);
        Write($"sys/class/powercap/{id}/max_energy_range_uj", maxRange.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return Write($"sys/class/powercap/{id}/energy_uj", energyMicrojoules.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
