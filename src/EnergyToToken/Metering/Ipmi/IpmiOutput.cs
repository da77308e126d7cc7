using System.Globalization;
using System.Text.RegularExpressions;

namespace EnergyToToken.Metering.Ipmi;

/// <summary>What <c>ipmitool dcmi power reading</c> printed.</summary>
/// <param name="Watts">"Instantaneous power reading" (integer watts; some BMCs average it).</param>
/// <param name="MinimumWatts">"Minimum during sampling period"; NaN when absent.</param>
/// <param name="MaximumWatts">"Maximum during sampling period"; NaN when absent.</param>
/// <param name="AverageWatts">"Average power reading over sample period"; NaN when absent.</param>
/// <param name="TimestampUnixMilliseconds">"IPMI timestamp", the BMC's clock; 0 when absent or unreadable.</param>
/// <param name="SamplingPeriod">"Sampling period", the window of min/max/average; null when absent.</param>
/// <param name="Activated">"Power reading state is: activated"; false when deactivated (the values are then meaningless).</param>
public sealed record IpmiPowerReading(double Watts, double MinimumWatts, double MaximumWatts, double AverageWatts,
    long TimestampUnixMilliseconds, TimeSpan? SamplingPeriod, bool Activated);

/// <summary>
/// Pure parsing of ipmitool's DCMI power reading output and its failure messages (ipmitool 1.8.x, <c>lib/ipmi_dcmi.c</c>):
/// <code>
///     Instantaneous power reading:                   245 Watts
///     Minimum during sampling period:                 98 Watts
///     Maximum during sampling period:                412 Watts
///     Average power reading over sample period:      231 Watts
///     IPMI timestamp:                           Wed May  1 12:00:00 2024
///     Sampling period:                          00000001 Seconds.
///     Power reading state is:                   activated
/// </code>
/// The timestamp is printed with <c>ctime</c> (older releases) or as <c>MM/dd/yyyy HH:mm:ss</c> (1.8.19), in the client's local time zone.
/// </summary>
public static partial class IpmiOutput
{
    /// <summary>Parses the output; null when it has no "Instantaneous power reading" line.</summary>
    /// <param name="zone">The zone ipmitool printed the timestamp in (its host's local zone). Default: <see cref="TimeZoneInfo.Local"/>.</param>
    public static IpmiPowerReading? Parse(string text, TimeZoneInfo? zone = null)
    {
        var watts = Watts(text, "Instantaneous power reading");
        if (double.IsNaN(watts)) return null;
        TimeSpan? period = null;
        var p = SamplingPeriodPattern().Match(text);
        if (p.Success && long.TryParse(p.Groups[1].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)) period = TimeSpan.FromSeconds(seconds);
        var state = StatePattern().Match(text);
        var activated = !state.Success || state.Groups[1].Value.Equals("activated", StringComparison.OrdinalIgnoreCase);
        var stamp = TimestampPattern().Match(text);
        var unixMs = stamp.Success ? ParseTimestamp(stamp.Groups[1].Value.Trim(), zone ?? TimeZoneInfo.Local) : 0;
        return new IpmiPowerReading(watts, Watts(text, "Minimum during sampling period"), Watts(text, "Maximum during sampling period"),
            Watts(text, "Average power reading over sample period"), unixMs, period, activated);
    }

    /// <summary>Turns a failed run's exit code and messages into a read status and a reason with a next step.</summary>
    public static (ReadStatus Status, string Reason) Classify(int exitCode, string stdout, string stderr)
    {
        var text = (stderr + "\n" + stdout).Trim();
        var first = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? $"exit code {exitCode}";
        if (text.Contains("Permission denied", StringComparison.OrdinalIgnoreCase))
            return (ReadStatus.PermissionDenied, $"{first} (in-band access to /dev/ipmi0 needs root; run as root or read the BMC over the network with -I lanplus -H HOST -U USER -E)");
        if (text.Contains("Could not open device", StringComparison.OrdinalIgnoreCase))
            return (ReadStatus.NotSupported, $"{first} (no local BMC: load the ipmi_si and ipmi_devintf kernel modules, or read the BMC over the network with -I lanplus -H HOST)");
        if (text.Contains("Unauthorized name", StringComparison.OrdinalIgnoreCase) || text.Contains("password", StringComparison.OrdinalIgnoreCase) && text.Contains("invalid", StringComparison.OrdinalIgnoreCase))
            return (ReadStatus.PermissionDenied, $"{first} (check the user and the password in IPMI_PASSWORD for -E)");
        if (text.Contains("Invalid command", StringComparison.OrdinalIgnoreCase) || text.Contains("not supported", StringComparison.OrdinalIgnoreCase)
            || text.Contains("DCMI request failed", StringComparison.OrdinalIgnoreCase))
            return (ReadStatus.NotSupported, $"{first} (this BMC does not implement DCMI power readings; try the redfish meter)");
        return (ReadStatus.Unavailable, first);
    }

    private static double Watts(string text, string label)
    {
        var m = Regex.Match(text, Regex.Escape(label) + @"\s*:\s*(-?\d+(?:\.\d+)?)\s*Watts", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        return m.Success ? double.Parse(m.Groups[1].ValueSpan, CultureInfo.InvariantCulture) : double.NaN;
    }

    private static long ParseTimestamp(string text, TimeZoneInfo zone)
    {
        var collapsed = string.Join(' ', text.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        string[] formats = ["ddd MMM d HH:mm:ss yyyy", "MM/dd/yyyy HH:mm:ss", "yyyy-MM-dd HH:mm:ss"];
        if (!DateTime.TryParseExact(collapsed, formats, CultureInfo.InvariantCulture, DateTimeStyles.None, out var local)) return 0;
        var offset = zone.GetUtcOffset(local);
        return new DateTimeOffset(local, offset).ToUnixTimeMilliseconds();
    }

    [GeneratedRegex(@"Sampling period\s*:\s*(\d+)\s*Seconds", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex SamplingPeriodPattern();

    [GeneratedRegex(@"Power reading state is\s*:\s*(\w+)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex StatePattern();

    [GeneratedRegex(@"IPMI timestamp\s*:\s*([^\r\n]+)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex TimestampPattern();
}
