using System.Text.Json;
using System.Text.Json.Serialization;
using EnergyToToken.Production;

namespace EnergyToToken.Scenarios;

/// <summary>
/// A deployment described for <c>e2t model</c>, as written in a YAML or JSON scenario file (docs/model.md) or
/// assembled from flags. Every field is optional here; <see cref="ModelScenarioResolver"/> says what is missing.
/// </summary>
public sealed record ModelScenario
{
    public string? Name { get; init; }

    /// <summary>Gets a catalog model name; κ then follows from <see cref="Context"/>.</summary>
    public string? Model { get; init; }

    /// <summary>Gets the context length in tokens for κ from the model. Default: the model's maximum context.</summary>
    public int? Context { get; init; }

    /// <summary>Gets κ in FLOP per token, overriding the model's.</summary>
    public double? Kappa { get; init; }

    /// <summary>Gets ε in J per token.</summary>
    public double? Epsilon { get; init; }

    /// <summary>Gets the realized C_eff in FLOP/s.</summary>
    public SeriesSpec? EffectiveCompute { get; init; }

    /// <summary>Gets the saturation token rate R_sat in tokens/s; C_eff = κ · R_sat.</summary>
    public SeriesSpec? SaturationTokensPerSecond { get; init; }

    public string? Accelerator { get; init; }

    /// <summary>Gets the number of accelerators. Default: 1.</summary>
    public int? Count { get; init; }

    /// <summary>Gets the precision for the peak and the weight memory. Default: bf16.</summary>
    public string? Precision { get; init; }

    /// <summary>Gets the peak compute in FLOP/s, overriding the accelerator's.</summary>
    public double? PeakCompute { get; init; }

    /// <summary>Gets the delivered IT power budget in W. Default with an accelerator: the sum of device power limits.</summary>
    public SeriesSpec? ItPower { get; init; }

    /// <summary>Gets where the IT power comes from: declared, deviceLimits or drawn. Default: declared.</summary>
    public ItPowerSource? ItPowerSource { get; init; }

    public SeriesSpec? FacilityPower { get; init; }

    public SeriesSpec? Pue { get; init; }

    public double? CoolingCapacity { get; init; }

    public SeriesSpec? Utilization { get; init; }

    public double? DrawnPower { get; init; }

    /// <summary>Gets the horizon, e.g. "24h". Default: 24h.</summary>
    public string? Horizon { get; init; }

    public double? TieTolerance { get; init; }

    /// <summary>Gets the share of counted tokens that are prefill tokens, for blending per-phase mechanisms. Default: 0.</summary>
    public double? PrefillShare { get; init; }

    public IReadOnlyList<MechanismSpec>? Mechanisms { get; init; }

    /// <summary>Gets catalog files to load before resolving names.</summary>
    public IReadOnlyList<string>? Catalogs { get; init; }

    /// <summary>Overlays <paramref name="over"/>'s set fields on this scenario (flags over a file).</summary>
    public ModelScenario With(ModelScenario over) => new()
    {
        Name = over.Name ?? Name,
        Model = over.Model ?? Model,
        Context = over.Context ?? Context,
        Kappa = over.Kappa ?? Kappa,
        Epsilon = over.Epsilon ?? Epsilon,
        EffectiveCompute = over.EffectiveCompute ?? EffectiveCompute,
        SaturationTokensPerSecond = over.SaturationTokensPerSecond ?? SaturationTokensPerSecond,
        Accelerator = over.Accelerator ?? Accelerator,
        Count = over.Count ?? Count,
        Precision = over.Precision ?? Precision,
        PeakCompute = over.PeakCompute ?? PeakCompute,
        ItPower = over.ItPower ?? ItPower,
        ItPowerSource = over.ItPowerSource ?? ItPowerSource,
        FacilityPower = over.FacilityPower ?? FacilityPower,
        Pue = over.Pue ?? Pue,
        CoolingCapacity = over.CoolingCapacity ?? CoolingCapacity,
        Utilization = over.Utilization ?? Utilization,
        DrawnPower = over.DrawnPower ?? DrawnPower,
        Horizon = over.Horizon ?? Horizon,
        TieTolerance = over.TieTolerance ?? TieTolerance,
        PrefillShare = over.PrefillShare ?? PrefillShare,
        Mechanisms = over.Mechanisms ?? Mechanisms,
        Catalogs = [.. Catalogs ?? [], .. over.Catalogs ?? []],
    };

    /// <summary>Reads a scenario file (YAML or JSON).</summary>
    public static ModelScenario Read(string path)
    {
        var scenario = StructuredFile.Read(path, ScenarioJsonContext.Default.ModelScenario);
        // Catalog paths in a file are relative to the file, as a reader of the file would expect.
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        return scenario with { Catalogs = scenario.Catalogs?.Select(c => Path.Combine(directory, c)).ToList() };
    }
}

/// <summary>A series as written: a number, or steps <c>[{at: 0h, value: 1.2}, {at: 18h, value: 1.4}]</c>.</summary>
[JsonConverter(typeof(SeriesSpecConverter))]
public sealed record SeriesSpec(IReadOnlyList<SeriesPoint> Points)
{
    public static SeriesSpec Constant(double value) => new([new SeriesPoint(0, value)]);

    public Series ToSeries(string name)
    {
        var errors = Series.Validate(Points, name);
        return errors.Count > 0 ? throw new EnergyToTokenException(string.Join(" ", errors)) : Series.Steps(Points);
    }
}

/// <summary>A mechanism as written: <c>kappaGain</c>/<c>epsilonGain</c> for both phases, or per phase.</summary>
public sealed record MechanismSpec
{
    public string? Name { get; init; }

    public double? KappaGain { get; init; }

    public double? EpsilonGain { get; init; }

    public PhaseGainsSpec? Prefill { get; init; }

    public PhaseGainsSpec? Decode { get; init; }

    public string? Source { get; init; }

    public EfficiencyMechanism ToMechanism()
    {
        PhaseGains Phase(PhaseGainsSpec? phase) => new(phase?.KappaGain ?? KappaGain ?? 1, phase?.EpsilonGain ?? EpsilonGain ?? 1);
        return new EfficiencyMechanism(Name ?? "", Phase(Prefill), Phase(Decode), Source);
    }
}

public sealed record PhaseGainsSpec
{
    public double? KappaGain { get; init; }

    public double? EpsilonGain { get; init; }
}

internal sealed class SeriesSpecConverter : JsonConverter<SeriesSpec>
{
    public override SeriesSpec Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Number:
                return SeriesSpec.Constant(reader.GetDouble());
            case JsonTokenType.String:
                return SeriesSpec.Constant(Number(reader.GetString()!));
            case JsonTokenType.StartArray:
                var points = new List<SeriesPoint>();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (reader.TokenType != JsonTokenType.StartObject) throw new JsonException("A series step must be an object {at, value}.");
                    double? at = null, value = null;
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
                    {
                        var property = reader.GetString();
                        reader.Read();
                        switch (property)
                        {
                            case "at":
                                at = reader.TokenType == JsonTokenType.Number
                                    ? reader.GetDouble()
                                    : Duration(reader.GetString() ?? "");
                                break;
                            case "value":
                                value = reader.TokenType == JsonTokenType.Number ? reader.GetDouble() : Number(reader.GetString() ?? "");
                                break;
                            default:
                                throw new JsonException($"A series step has 'at' and 'value', not '{property}'.");
                        }
                    }
                    if (at is null || value is null) throw new JsonException("A series step needs both 'at' (a duration from the start) and 'value'.");
                    points.Add(new SeriesPoint(at.Value, value.Value));
                }
                return new SeriesSpec(points);
            default:
                throw new JsonException("A series is a number or a list of steps [{at: 0h, value: 1.2}, ...].");
        }
    }

    public override void Write(Utf8JsonWriter writer, SeriesSpec value, JsonSerializerOptions options)
    {
        writer.WriteStartArray();
        foreach (var p in value.Points)
        {
            writer.WriteStartObject();
            writer.WriteNumber("at", p.AtSeconds);
            writer.WriteNumber("value", p.Value);
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
    }

    private static double Number(string text)
    {
        try { return Quantities.ParseNumber(text, "series value"); }
        catch (EnergyToTokenException e) { throw new JsonException(e.Message); }
    }

    private static double Duration(string text)
    {
        try { return Quantities.ParseDuration(text, "series step time").TotalSeconds; }
        catch (EnergyToTokenException e) { throw new JsonException(e.Message); }
    }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    UseStringEnumConverter = true,
    ReadCommentHandling = JsonCommentHandling.Skip,
    AllowTrailingCommas = true)]
[JsonSerializable(typeof(ModelScenario))]
internal sealed partial class ScenarioJsonContext : JsonSerializerContext;
