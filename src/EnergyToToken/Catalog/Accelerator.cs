namespace EnergyToToken.Catalog;

/// <summary>An accelerator's spec-sheet figures. Every entry names its public source.</summary>
public sealed record Accelerator
{
    /// <summary>Gets the lookup name, lower case, e.g. "h100-sxm".</summary>
    public required string Name { get; init; }

    public string? DisplayName { get; init; }

    public string? Vendor { get; init; }

    /// <summary>Gets the peak dense (no sparsity) throughput per precision name, in FLOP/s (OP/s for integers).</summary>
    public required IReadOnlyDictionary<string, double> PeakDenseFlopPerSecond { get; init; }

    public required double MemoryBytes { get; init; }

    public required double MemoryBandwidthBytesPerSecond { get; init; }

    /// <summary>Gets the board power limit (TDP/TBP) in W: the default delivered budget per device.</summary>
    public required double PowerLimitWatts { get; init; }

    /// <summary>Gets an approximate idle power in W for planning; measured idle always replaces it.</summary>
    public double? TypicalIdleWatts { get; init; }

    /// <summary>Gets where the numbers come from.</summary>
    public required string Source { get; init; }

    /// <summary>Gets where the idle figure comes from.</summary>
    public string? IdleSource { get; init; }

    /// <summary>The peak at a precision, or an explained failure naming the precisions this device has.</summary>
    public double PeakFlopPerSecond(string precision)
    {
        if (PeakDenseFlopPerSecond.TryGetValue(Precisions.Normalize(precision), out var peak)) return peak;
        throw new EnergyToTokenException(
            $"The {DisplayName ?? Name} has no listed peak for precision '{precision}'. Its precisions are: {string.Join(", ", PeakDenseFlopPerSecond.Keys.Order(StringComparer.Ordinal))}. Pass one of them with --precision, or give --c-peak in FLOP/s.");
    }

    /// <summary>Returns every problem with this entry.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        var who = $"Accelerator '{Name}'";
        if (string.IsNullOrWhiteSpace(Name)) errors.Add("An accelerator entry has no name.");
        if (PeakDenseFlopPerSecond is null || PeakDenseFlopPerSecond.Count == 0)
            errors.Add($"{who}: peakDenseFlopPerSecond needs at least one precision, e.g. bf16: 989.4e12.");
        else
        {
            foreach (var (precision, value) in PeakDenseFlopPerSecond)
            {
                if (!Precisions.IsKnown(precision))
                    errors.Add($"{who}: unknown precision '{precision}'; known: {string.Join(", ", Precisions.Names)}.");
                if (!(value > 0)) errors.Add($"{who}: the {precision} peak must be positive FLOP/s (was {value}).");
            }
        }
        if (!(MemoryBytes > 0)) errors.Add($"{who}: memoryBytes must be positive (was {MemoryBytes}).");
        if (!(MemoryBandwidthBytesPerSecond > 0)) errors.Add($"{who}: memoryBandwidthBytesPerSecond must be positive (was {MemoryBandwidthBytesPerSecond}).");
        if (!(PowerLimitWatts > 0)) errors.Add($"{who}: powerLimitWatts must be positive (was {PowerLimitWatts}).");
        if (TypicalIdleWatts is { } idle && !(idle >= 0 && idle < PowerLimitWatts))
            errors.Add($"{who}: typicalIdleWatts must be between 0 and the power limit (was {idle}).");
        if (string.IsNullOrWhiteSpace(Source)) errors.Add($"{who}: source is required: name the datasheet the numbers come from.");
        return errors;
    }
}

/// <summary>Numeric precisions: their names and storage widths.</summary>
public static class Precisions
{
    private static readonly Dictionary<string, double> BytesPerElement = new(StringComparer.Ordinal)
    {
        ["fp64"] = 8, ["fp32"] = 4, ["tf32"] = 4, ["bf16"] = 2, ["fp16"] = 2,
        ["fp8"] = 1, ["int8"] = 1, ["fp6"] = 0.75, ["fp4"] = 0.5, ["int4"] = 0.5,
    };

    /// <summary>Gets every precision name the catalogs accept.</summary>
    public static IEnumerable<string> Names => BytesPerElement.Keys;

    public static string Normalize(string precision) => precision.Trim().ToLowerInvariant();

    public static bool IsKnown(string precision) => BytesPerElement.ContainsKey(Normalize(precision));

    /// <summary>Bytes one element takes at <paramref name="precision"/>, or an explained failure.</summary>
    public static double Bytes(string precision) =>
        BytesPerElement.TryGetValue(Normalize(precision), out var bytes)
            ? bytes
            : throw new EnergyToTokenException($"Unknown precision '{precision}'. Known precisions: {string.Join(", ", Names)}.");
}
