using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace EnergyToToken.Scenarios;

/// <summary>
/// Reads a YAML or JSON document into a typed record through one schema: YAML is first turned into the JSON it
/// denotes, so both formats share System.Text.Json's source-generated, reflection-free contracts and its error paths.
/// </summary>
public static class StructuredFile
{
    /// <summary>Reads and deserializes <paramref name="path"/>; YAML when it ends in .yaml or .yml, JSON otherwise.</summary>
    public static T Read<T>(string path, JsonTypeInfo<T> typeInfo)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new EnergyToTokenException($"Cannot read '{path}': {e.Message}", e);
        }
        var yaml = path.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".yml", StringComparison.OrdinalIgnoreCase);
        return Parse(text, yaml, typeInfo, path);
    }

    /// <summary>Deserializes <paramref name="text"/>; <paramref name="origin"/> names it in error messages.</summary>
    public static T Parse<T>(string text, bool yaml, JsonTypeInfo<T> typeInfo, string origin)
    {
        try
        {
            var node = yaml ? YamlToJson(text) : JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            var value = node is null ? default : node.Deserialize(typeInfo);
            return value ?? throw new EnergyToTokenException($"'{origin}' is empty; see docs/ for the format and an example.");
        }
        catch (JsonException e)
        {
            var where = e.Path is { Length: > 0 } p ? $" at {p}" : "";
            throw new EnergyToTokenException($"'{origin}' does not match the expected format{where}: {Clean(e.Message)} See docs/ for the format and an example.", e);
        }
        catch (YamlException e)
        {
            throw new EnergyToTokenException($"'{origin}' is not valid YAML (line {e.Start.Line}, column {e.Start.Column}): {e.Message}", e);
        }
    }

    /// <summary>Turns a YAML document into the JSON tree it denotes (YAML 1.2 core schema for plain scalars).</summary>
    public static JsonNode? YamlToJson(string yaml)
    {
        var stream = new YamlStream();
        using (var reader = new StringReader(yaml)) stream.Load(reader);
        return stream.Documents.Count == 0 ? null : Convert(stream.Documents[0].RootNode);
    }

    private static JsonNode? Convert(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children.Select(pair =>
            KeyValuePair.Create(((YamlScalarNode)pair.Key).Value ?? "", Convert(pair.Value)))),
        YamlSequenceNode list => new JsonArray(list.Children.Select(Convert).ToArray()),
        YamlScalarNode scalar => Scalar(scalar),
        _ => throw new YamlException(node.Start, node.End, "Aliases and other YAML node kinds are not supported here."),
    };

    private static JsonValue? Scalar(YamlScalarNode scalar)
    {
        var text = scalar.Value ?? "";
        if (scalar.Style is not ScalarStyle.Plain) return JsonValue.Create(text);
        switch (text)
        {
            case "" or "~" or "null" or "Null" or "NULL": return null;
            case "true" or "True" or "TRUE": return JsonValue.Create(true);
            case "false" or "False" or "FALSE": return JsonValue.Create(false);
        }
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number))
            return JsonValue.Create(number);
        return JsonValue.Create(text);
    }

    // System.Text.Json's messages end with a hint about the path we already give; keep the first sentence.
    private static string Clean(string message)
    {
        var cut = message.IndexOf(" Path: ", StringComparison.Ordinal);
        return (cut > 0 ? message[..cut] : message).TrimEnd('.') + ".";
    }
}
