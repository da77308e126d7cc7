using System.Text.Json;

namespace EnergyToToken.Reporting;

/// <summary>Reading a result.json tolerantly: a missing or null field is null, never an exception (reports and comparisons).</summary>
internal static class ResultJson
{
    /// <summary>The element at a dotted path; null when any step is missing or JSON null.</summary>
    internal static JsonElement? At(JsonElement e, string path) => At(e, path.Split('.'));

    /// <summary>The element at <paramref name="path"/> below <paramref name="e"/>; null where a step is missing or null.</summary>
    internal static JsonElement? At(JsonElement e, params string[] path)
    {
        foreach (var name in path)
        {
            if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty(name, out e)) return null;
        }
        return e.ValueKind == JsonValueKind.Null ? null : e;
    }

    internal static double? Double(JsonElement e, string path) => At(e, path) is { ValueKind: JsonValueKind.Number } v ? v.GetDouble() : null;

    internal static string? Text(JsonElement e, string path) => At(e, path) switch
    {
        { ValueKind: JsonValueKind.String } v => v.GetString(),
        { ValueKind: JsonValueKind.Number } v => v.GetRawText(),
        _ => null,
    };

    internal static bool? Bool(JsonElement e, string path) => At(e, path) is { ValueKind: JsonValueKind.True or JsonValueKind.False } v ? v.GetBoolean() : null;

    internal static IReadOnlyList<string> Strings(JsonElement e, string path) =>
        At(e, path) is { ValueKind: JsonValueKind.Array } a ? [.. a.EnumerateArray().Select(x => x.GetString() ?? "")] : [];
}
