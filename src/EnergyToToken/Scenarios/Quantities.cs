using System.Globalization;
using System.Text.RegularExpressions;

namespace EnergyToToken.Scenarios;

/// <summary>Parses the numbers people type: <c>989.4e12</c>, <c>989.4T</c>, <c>1.2M</c>, and durations like <c>24h</c>.</summary>
public static partial class Quantities
{
    private static readonly Dictionary<char, double> Prefixes = new()
    {
        ['k'] = 1e3, ['K'] = 1e3, ['M'] = 1e6, ['G'] = 1e9, ['T'] = 1e12, ['P'] = 1e15, ['E'] = 1e18,
    };

    /// <summary>
    /// A number with an optional SI prefix letter (k, M, G, T, P, E), invariant culture. <paramref name="what"/> names
    /// the value in the error, e.g. "--c-eff".
    /// </summary>
    public static double ParseNumber(string text, string what)
    {
        var t = text.Trim();
        var scale = 1.0;
        if (t.Length > 1 && Prefixes.TryGetValue(t[^1], out var prefix))
        {
            scale = prefix;
            t = t[..^1];
        }
        if (double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value * scale))
            return value * scale;
        throw new EnergyToTokenException(
            $"{what}: '{text}' is not a number. Write it with a dot for decimals, optionally with an exponent or an SI prefix: 989.4e12, 989.4T, 1.2M.");
    }

    /// <summary>A duration: a number with a unit (s, m, h, d, w), several joined (1d12h), or plain seconds.</summary>
    public static TimeSpan ParseDuration(string text, string what)
    {
        var t = text.Trim();
        if (double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var plainSeconds) && double.IsFinite(plainSeconds))
            return Seconds(plainSeconds, text, what);
        var matches = DurationPart().Matches(t);
        if (matches.Count > 0 && string.Concat(matches.Select(m => m.Value)) == t.Replace(" ", "", StringComparison.Ordinal))
        {
            var seconds = 0.0;
            foreach (Match m in matches)
            {
                var n = double.Parse(m.Groups["n"].Value, NumberStyles.Float, CultureInfo.InvariantCulture);
                seconds += n * m.Groups["u"].Value switch
                {
                    "ms" => 1e-3, "s" => 1, "m" or "min" => 60, "h" => 3600, "d" => 86_400, "w" => 604_800,
                    _ => throw new InvalidOperationException("the pattern admits no other unit"),
                };
            }
            return Seconds(seconds, text, what);
        }
        throw new EnergyToTokenException(
            $"{what}: '{text}' is not a duration. Use a number with a unit: 90s, 15m, 24h, 7d, or combined like 1d12h.");
    }

    // TimeSpan holds about 29,000 years; beyond that FromSeconds throws OverflowException, which is a typo to explain.
    private static TimeSpan Seconds(double seconds, string text, string what)
    {
        try
        {
            return TimeSpan.FromSeconds(seconds);
        }
        catch (OverflowException e)
        {
            throw new EnergyToTokenException(
                $"{what}: '{text}' is longer than a duration can be (about 29,000 years). Use a number with a unit: 90s, 15m, 24h, 7d, or combined like 1d12h.", e);
        }
    }

    [GeneratedRegex(@"(?<n>\d+(\.\d+)?)(?<u>ms|min|s|m|h|d|w)")]
    private static partial Regex DurationPart();
}
