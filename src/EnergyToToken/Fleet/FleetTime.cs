using System.Globalization;
using EnergyToToken.Scenarios;

namespace EnergyToToken.Fleet;

/// <summary>
/// The range's ends as Prometheus's API takes them: RFC 3339 (2026-11-26T05:00:00Z) or Unix seconds, and for the
/// command line also <c>now</c> and <c>now-DURATION</c> (now-1h). Pure: "now" is passed in.
/// </summary>
public static class FleetTime
{
    /// <summary>Seconds since the Unix epoch, or an explained failure naming <paramref name="what"/>.</summary>
    public static double Parse(string text, string what, DateTimeOffset now)
    {
        var t = text.Trim();
        var nowSeconds = now.ToUnixTimeMilliseconds() / 1000.0;
        if (t == "now") return nowSeconds;
        if (t.StartsWith("now-", StringComparison.Ordinal))
            return nowSeconds - Quantities.ParseDuration(t[4..], what).TotalSeconds;
        // To the millisecond, Prometheus's resolution, so the grid asked for is the grid answered.
        if (double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var unix) && double.IsFinite(unix))
            return Math.Round(unix, 3);
        if (DateTimeOffset.TryParse(t, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var instant))
            return instant.ToUnixTimeMilliseconds() / 1000.0;
        throw new EnergyToTokenException($"{what}: '{text}' is not a time. Use RFC 3339 (2026-11-26T05:00:00Z), Unix seconds, now, or now-DURATION (now-1h).");
    }
}
