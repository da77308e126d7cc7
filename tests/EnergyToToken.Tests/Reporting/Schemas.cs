using System.Runtime.CompilerServices;
using System.Text.Json;
using Json.Schema;

namespace EnergyToToken.Tests.Reporting;

/// <summary>The JSON Schemas in docs/schemas, applied to what the tool writes (formats asserted, not just annotated).</summary>
internal static class Schemas
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, JsonSchema> Loaded = new(StringComparer.Ordinal);

    public static void AssertValid(string json, string schemaFile, [CallerFilePath] string caller = "")
    {
        var root = Path.GetDirectoryName(caller)!;
        while (!File.Exists(Path.Combine(root, "EnergyToToken.slnx"))) root = Path.GetDirectoryName(root)!;
        // A schema registers its $id once per process.
        var schema = Loaded.GetOrAdd(schemaFile, f => JsonSchema.FromText(File.ReadAllText(Path.Combine(root, "docs", "schemas", f))));
        using var document = JsonDocument.Parse(json);
        var result = schema.Evaluate(document.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List, RequireFormatValidation = true });
        var errors = (result.Details ?? []).Where(d => d.Errors is { Count: > 0 }).SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Value}")).ToList();
        Assert.True(result.IsValid, $"not valid against {schemaFile}:\n{string.Join("\n", errors)}");
    }
}
