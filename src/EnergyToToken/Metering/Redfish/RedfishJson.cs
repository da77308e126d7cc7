using System.Globalization;
using System.Text.Json;

namespace EnergyToToken.Metering.Redfish;

/// <summary>Where a chassis publishes power: the newer EnvironmentMetrics resource, the older Power resource, or both.</summary>
internal sealed record RedfishChassis(string Id, string Name, string ChassisType, string? EnvironmentMetrics, string? Power, string? PowerSubsystem);

/// <summary>The older <c>Chassis/{id}/Power</c> resource: the first <c>PowerControl</c> entry that has a reading.</summary>
/// <param name="WattsText">The reading as the JSON wrote it, to infer its resolution.</param>
/// <param name="AverageWatts">PowerMetrics.AverageConsumedWatts over <paramref name="IntervalMinutes"/>; NaN when absent.</param>
internal sealed record RedfishPower(double Watts, string WattsText, double AverageWatts, double IntervalMinutes, string ControlName);

/// <summary>The newer <c>EnvironmentMetrics</c> resource: PowerWatts.Reading and, when present, EnergykWh.Reading.</summary>
internal sealed record RedfishEnvironment(double Watts, string WattsText, double KilowattHours, string KilowattHoursText);

/// <summary>Pure readers of the Redfish JSON the meter needs (DMTF schemas Chassis, Power, EnvironmentMetrics). No I/O.</summary>
internal static class RedfishJson
{
    /// <summary>The <c>@odata.id</c> of every member of a collection (<c>/redfish/v1/Chassis</c>).</summary>
    public static IReadOnlyList<string> Members(string json) => Use(json, "a resource collection", root =>
    {
        var members = new List<string>();
        if (root.TryGetProperty("Members", out var list) && list.ValueKind == JsonValueKind.Array)
        {
            foreach (var m in list.EnumerateArray())
            {
                if (Link(m) is { } id) members.Add(id);
            }
        }
        return members;
    });

    public static RedfishChassis Chassis(string json, string fallbackId) => Use(json, "a Chassis resource", root => new RedfishChassis(
        Text(root, "Id") ?? fallbackId,
        Text(root, "Name") ?? "",
        Text(root, "ChassisType") ?? "",
        root.TryGetProperty("EnvironmentMetrics", out var env) ? Link(env) : null,
        root.TryGetProperty("Power", out var power) ? Link(power) : null,
        root.TryGetProperty("PowerSubsystem", out var sub) ? Link(sub) : null));

    /// <summary>Reads the older Power resource; null when no PowerControl entry has a numeric PowerConsumedWatts.</summary>
    public static RedfishPower? Power(string json) => Use(json, "a Power resource", root =>
    {
        if (!root.TryGetProperty("PowerControl", out var controls) || controls.ValueKind != JsonValueKind.Array) return null;
        foreach (var c in controls.EnumerateArray())
        {
            if (c.ValueKind != JsonValueKind.Object || !c.TryGetProperty("PowerConsumedWatts", out var w) || w.ValueKind != JsonValueKind.Number) continue;
            double average = double.NaN, interval = double.NaN;
            if (c.TryGetProperty("PowerMetrics", out var m) && m.ValueKind == JsonValueKind.Object)
            {
                average = Number(m, "AverageConsumedWatts");
                interval = Number(m, "IntervalInMin");
            }
            return new RedfishPower(w.GetDouble(), w.GetRawText(), average, interval, Text(c, "Name") ?? Text(c, "MemberId") ?? "");
        }
        return null;
    });

    /// <summary>Reads EnvironmentMetrics; null when PowerWatts.Reading is absent or null. kWh is NaN when EnergykWh is absent.</summary>
    public static RedfishEnvironment? Environment(string json) => Use(json, "an EnvironmentMetrics resource", root =>
    {
        if (!root.TryGetProperty("PowerWatts", out var pw) || pw.ValueKind != JsonValueKind.Object
            || !pw.TryGetProperty("Reading", out var w) || w.ValueKind != JsonValueKind.Number)
        {
            return null;
        }
        double kwh = double.NaN;
        var kwhText = "";
        if (root.TryGetProperty("EnergykWh", out var e) && e.ValueKind == JsonValueKind.Object && e.TryGetProperty("Reading", out var r) && r.ValueKind == JsonValueKind.Number)
        {
            kwh = r.GetDouble();
            kwhText = r.GetRawText();
        }
        return new RedfishEnvironment(w.GetDouble(), w.GetRawText(), kwh, kwhText);
    });

    /// <summary>
    /// The step a number written like <paramref name="raw"/> resolves: <c>21.375</c> → 0.001, <c>344</c> → 1, <c>1.5e3</c> → 100.
    /// A trailing zero the source dropped makes the estimate coarser, never finer.
    /// </summary>
    public static double ResolutionOf(string raw)
    {
        var text = raw.Trim();
        var exponent = 0;
        var e = text.IndexOfAny(['e', 'E']);
        if (e >= 0)
        {
            exponent = int.Parse(text[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            text = text[..e];
        }
        var dot = text.IndexOf('.', StringComparison.Ordinal);
        var decimals = dot < 0 ? 0 : text.Length - dot - 1;
        return Math.Pow(10, exponent - decimals);
    }

    private static T Use<T>(string json, string what, Func<JsonElement, T> read)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new EnergyToTokenException($"Expected {what} (a JSON object), got a JSON {doc.RootElement.ValueKind.ToString().ToLowerInvariant()}.");
            return read(doc.RootElement);
        }
        catch (JsonException x)
        {
            var start = json.Length > 80 ? json[..80] + "…" : json;
            throw new EnergyToTokenException($"Expected {what} but the body is not valid JSON ({x.Message}); it starts with '{start}'.", x);
        }
    }

    private static string? Link(JsonElement e) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty("@odata.id", out var id) && id.ValueKind == JsonValueKind.String ? id.GetString() : null;

    private static string? Text(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static double Number(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : double.NaN;
}
