using System.Text.Json;
using System.Text.Json.Serialization;
using EnergyToToken.Scenarios;

namespace EnergyToToken.Catalog;

/// <summary>A catalog file: model architectures and/or accelerators (the bundled ones and users' own share the format).</summary>
public sealed record CatalogFile
{
    public IReadOnlyList<ModelArchitecture>? Models { get; init; }

    public IReadOnlyList<Accelerator>? Accelerators { get; init; }
}

/// <summary>
/// The model and accelerator catalogs: the bundled entries plus any user files, where a user entry with a bundled
/// name replaces the bundled one (so a measured figure can override a datasheet).
/// </summary>
public sealed class Catalogs
{
    private readonly Dictionary<string, ModelArchitecture> _models;
    private readonly Dictionary<string, Accelerator> _accelerators;

    private Catalogs(Dictionary<string, ModelArchitecture> models, Dictionary<string, Accelerator> accelerators)
    {
        _models = models;
        _accelerators = accelerators;
    }

    public IEnumerable<ModelArchitecture> Models => _models.Values.OrderBy(m => m.Name, StringComparer.Ordinal);

    public IEnumerable<Accelerator> Accelerators => _accelerators.Values.OrderBy(a => a.Name, StringComparer.Ordinal);

    /// <summary>Loads the bundled catalogs, then each user file in order (JSON or YAML).</summary>
    public static Catalogs Load(IEnumerable<string>? userFiles = null)
    {
        var models = new Dictionary<string, ModelArchitecture>(StringComparer.OrdinalIgnoreCase);
        var accelerators = new Dictionary<string, Accelerator>(StringComparer.OrdinalIgnoreCase);
        Add(Bundled("models.json"), "bundled models.json", models, accelerators);
        Add(Bundled("accelerators.json"), "bundled accelerators.json", models, accelerators);
        foreach (var file in userFiles ?? [])
            Add(StructuredFile.Read(file, CatalogJsonContext.Default.CatalogFile), file, models, accelerators);
        return new Catalogs(models, accelerators);
    }

    /// <summary>The model named <paramref name="name"/> (case-insensitive), or an explained failure listing the known ones.</summary>
    public ModelArchitecture Model(string name) =>
        _models.TryGetValue(name.Trim(), out var model)
            ? model
            : throw new EnergyToTokenException(
                $"Unknown model '{name}'. Known models: {string.Join(", ", _models.Keys.Order(StringComparer.Ordinal))}. Add your own with --catalog FILE (see docs/catalogs.md) or give --kappa directly.");

    /// <summary>The accelerator named <paramref name="name"/> (case-insensitive), or an explained failure listing the known ones.</summary>
    public Accelerator Accelerator(string name) =>
        _accelerators.TryGetValue(name.Trim(), out var accelerator)
            ? accelerator
            : throw new EnergyToTokenException(
                $"Unknown accelerator '{name}'. Known accelerators: {string.Join(", ", _accelerators.Keys.Order(StringComparer.Ordinal))}. Add your own with --catalog FILE (see docs/catalogs.md) or give --c-peak directly.");

    private static CatalogFile Bundled(string file)
    {
        using var stream = typeof(Catalogs).Assembly.GetManifestResourceStream($"EnergyToToken.Catalog.{file}")
            ?? throw new InvalidOperationException($"The bundled catalog {file} is missing from the assembly.");
        return JsonSerializer.Deserialize(stream, CatalogJsonContext.Default.CatalogFile)!;
    }

    private static void Add(CatalogFile file, string origin, Dictionary<string, ModelArchitecture> models,
        Dictionary<string, Accelerator> accelerators)
    {
        var fileModels = file.Models ?? [];
        var fileAccelerators = file.Accelerators ?? [];
        var errors = fileModels.SelectMany(m => m.Validate()).Concat(fileAccelerators.SelectMany(a => a.Validate())).ToList();
        if (errors.Count > 0)
            throw new EnergyToTokenException($"The catalog '{origin}' has problems:{Environment.NewLine}{string.Join(Environment.NewLine, errors)}");
        foreach (var model in fileModels) models[model.Name] = model;
        foreach (var accelerator in fileAccelerators)
        {
            accelerators[accelerator.Name] = accelerator with
            {
                PeakDenseFlopPerSecond = accelerator.PeakDenseFlopPerSecond.ToDictionary(p => Precisions.Normalize(p.Key), p => p.Value, StringComparer.Ordinal),
            };
        }
    }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    UseStringEnumConverter = true,
    ReadCommentHandling = JsonCommentHandling.Skip,
    AllowTrailingCommas = true)]
[JsonSerializable(typeof(CatalogFile))]
internal sealed partial class CatalogJsonContext : JsonSerializerContext;
