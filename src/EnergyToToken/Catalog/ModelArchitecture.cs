namespace EnergyToToken.Catalog;

/// <summary>How a model's attention stores keys and values.</summary>
public enum AttentionKind
{
    /// <summary>Multi-head attention: one key/value head per query head.</summary>
    Mha,

    /// <summary>Grouped-query attention: fewer key/value heads than query heads.</summary>
    Gqa,

    /// <summary>Multi-head latent attention: a compressed latent plus a rotary key is cached per layer.</summary>
    Mla,
}

/// <summary>
/// A transformer's shape, from which κ (FLOP per token) and the KV-cache bytes per token follow.
/// Every entry names its public source (model config, paper).
/// </summary>
public sealed record ModelArchitecture
{
    /// <summary>Gets the lookup name, lower case, e.g. "llama-3.1-8b".</summary>
    public required string Name { get; init; }

    public string? DisplayName { get; init; }

    /// <summary>Gets all parameters, including every expert; sets the weight memory.</summary>
    public required double TotalParameters { get; init; }

    /// <summary>Gets the parameters used per token (equal to total for dense models); sets the weight FLOPs.</summary>
    public required double ActiveParameters { get; init; }

    public required int Layers { get; init; }

    public required int HiddenSize { get; init; }

    /// <summary>Gets the number of query heads.</summary>
    public required int AttentionHeads { get; init; }

    /// <summary>Gets the number of key/value heads (MHA: equal to <see cref="AttentionHeads"/>).</summary>
    public required int KeyValueHeads { get; init; }

    public required int HeadDim { get; init; }

    public required AttentionKind Attention { get; init; }

    /// <summary>Gets the per-head query/key width for the attention FLOPs. Default: <see cref="HeadDim"/>.</summary>
    public int? QueryKeyHeadDim { get; init; }

    /// <summary>Gets the per-head value width for the attention FLOPs. Default: <see cref="HeadDim"/>.</summary>
    public int? ValueHeadDim { get; init; }

    /// <summary>Gets the MLA latent width cached per layer (DeepSeek's kv_lora_rank).</summary>
    public int? KvLatentRank { get; init; }

    /// <summary>Gets the MLA decoupled rotary key width cached per layer (DeepSeek's qk_rope_head_dim).</summary>
    public int? RopeHeadDim { get; init; }

    /// <summary>Gets the attention window, if the model attends to at most this many past tokens.</summary>
    public int? SlidingWindow { get; init; }

    public int? Experts { get; init; }

    public int? ExpertsPerToken { get; init; }

    /// <summary>Gets the longest context the model supports, in tokens.</summary>
    public required int MaxContext { get; init; }

    /// <summary>Gets where the numbers come from.</summary>
    public required string Source { get; init; }

    /// <summary>
    /// κ at a context of <paramref name="contextTokens"/>: FLOP to produce one token that attends to that many tokens,
    /// <c>2·N_active + 2·L·n·h·(d_qk + d_v)</c> with L layers, h query heads and n = min(context, window) tokens
    /// attended (QKᵀ and AV, two FLOP per multiply-add). The project's convention; see docs/production-function.md.
    /// </summary>
    public double KappaFlopPerToken(int contextTokens)
    {
        var attended = SlidingWindow is { } window ? Math.Min(contextTokens, window) : contextTokens;
        return WeightFlopPerToken + AttentionFlopPerToken(attended);
    }

    /// <summary>Gets the weight term <c>2·N_active</c> (one multiply-add per active parameter).</summary>
    public double WeightFlopPerToken => 2 * ActiveParameters;

    /// <summary>The attention term for one token attending to <paramref name="attendedTokens"/> tokens.</summary>
    public double AttentionFlopPerToken(int attendedTokens) =>
        2.0 * Layers * attendedTokens * AttentionHeads * ((QueryKeyHeadDim ?? HeadDim) + (ValueHeadDim ?? HeadDim));

    /// <summary>
    /// KV-cache bytes per token: MHA/GQA cache a key and a value per KV head per layer, <c>2·L·h_kv·d·b</c>; MLA caches
    /// the latent and the rotary key per layer, <c>L·(r + d_rope)·b</c>, with b bytes per element.
    /// </summary>
    public double KvCacheBytesPerToken(double bytesPerElement) => Attention == AttentionKind.Mla
        ? (double)Layers * ((KvLatentRank ?? 0) + (RopeHeadDim ?? 0)) * bytesPerElement
        : 2.0 * Layers * KeyValueHeads * HeadDim * bytesPerElement;

    /// <summary>Gets the bytes the weights take at <paramref name="bytesPerParameter"/>.</summary>
    public double WeightBytes(double bytesPerParameter) => TotalParameters * bytesPerParameter;

    /// <summary>Returns every problem with this entry.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        var who = $"Model '{Name}'";
        if (string.IsNullOrWhiteSpace(Name)) errors.Add("A model entry has no name.");
        if (!(TotalParameters > 0)) errors.Add($"{who}: totalParameters must be positive (was {TotalParameters}).");
        if (!(ActiveParameters > 0) || ActiveParameters > TotalParameters)
            errors.Add($"{who}: activeParameters must be positive and at most totalParameters (was {ActiveParameters} of {TotalParameters}).");
        foreach (var (value, field) in new[] { (Layers, "layers"), (HiddenSize, "hiddenSize"), (AttentionHeads, "attentionHeads"), (KeyValueHeads, "keyValueHeads"), (HeadDim, "headDim"), (MaxContext, "maxContext") })
        {
            if (value <= 0) errors.Add($"{who}: {field} must be a positive integer (was {value}).");
        }
        if (Attention == AttentionKind.Mla && (KvLatentRank is not > 0 || RopeHeadDim is not >= 0))
            errors.Add($"{who}: MLA attention needs kvLatentRank and ropeHeadDim (the cached latent and rotary widths).");
        if (Attention == AttentionKind.Mha && KeyValueHeads != AttentionHeads)
            errors.Add($"{who}: MHA has one key/value head per query head, but keyValueHeads ({KeyValueHeads}) differs from attentionHeads ({AttentionHeads}); use attention: gqa.");
        if (string.IsNullOrWhiteSpace(Source)) errors.Add($"{who}: source is required: name the config or paper the numbers come from.");
        return errors;
    }
}
