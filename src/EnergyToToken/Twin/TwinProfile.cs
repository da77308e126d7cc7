using EnergyToToken.Catalog;

namespace EnergyToToken.Twin;

/// <summary>
/// Engine settings of the simulated server, named and defaulted as vLLM's (V1 engine, online serving on an H100).
/// </summary>
public sealed record EngineOptions
{
    /// <summary>Most sequences in one batch (vLLM <c>--max-num-seqs</c>). Default: 256.</summary>
    public int MaxSequences { get; init; } = 256;

    /// <summary>
    /// Most tokens one step processes (vLLM <c>--max-num-batched-tokens</c>). Null: 8,192 with chunked prefill, and
    /// without it the larger of the maximum model length and 2,048 (vLLM's rule), so any prompt fits one step.
    /// </summary>
    public int? MaxBatchedTokens { get; init; }

    /// <summary>Tokens per KV-cache block (vLLM <c>--block-size</c>). Default: 16.</summary>
    public int BlockTokens { get; init; } = 16;

    /// <summary>Share of device memory the engine may use (vLLM <c>--gpu-memory-utilization</c>). Default: 0.9.</summary>
    public double MemoryUtilization { get; init; } = 0.9;

    /// <summary>Memory per device kept for activations and the CUDA graphs, bytes; vLLM measures it, the twin assumes it. Default: 2 GiB.</summary>
    public double ActivationReserveBytes { get; init; } = 2.0 * (1 << 30);

    /// <summary>KV-cache capacity in tokens; null computes it from the memory left after weights and the reserve. Default: null.</summary>
    public int? KvCacheTokens { get; init; }

    /// <summary>Longest prompt + output a request may have (vLLM <c>--max-model-len</c>); null: the model's context, capped by the KV cache.</summary>
    public int? MaxModelLength { get; init; }

    /// <summary>Chunked prefill (vLLM V1 default): prompts are split across steps and mixed with decodes. Off: separate prefill and decode steps (V0). Default: on.</summary>
    public bool ChunkedPrefill { get; init; } = true;

    /// <summary>Automatic prefix caching: full KV blocks with the same token prefix are reused. Default: on.</summary>
    public bool PrefixCache { get; init; } = true;

    /// <summary>Requests waiting for admission beyond which new ones get 429 (0 refuses every request: for testing clients). Default: 4,096.</summary>
    public int MaxWaiting { get; init; } = 4096;

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (MaxSequences < 1) errors.Add($"Max sequences must be at least 1 (was {MaxSequences}).");
        if (MaxBatchedTokens is < 1) errors.Add($"Max batched tokens must be at least 1 (was {MaxBatchedTokens}).");
        if (BlockTokens < 1) errors.Add($"The KV block size must be at least 1 token (was {BlockTokens}).");
        if (!(MemoryUtilization is > 0 and <= 1)) errors.Add($"Memory utilization must be in (0, 1] (was {MemoryUtilization}).");
        if (!(ActivationReserveBytes >= 0)) errors.Add($"The activation reserve must be at least 0 bytes (was {ActivationReserveBytes}).");
        if (KvCacheTokens is < 1) errors.Add($"The KV cache must hold at least 1 token (was {KvCacheTokens}).");
        if (MaxModelLength is < 2) errors.Add($"The max model length must be at least 2 tokens (was {MaxModelLength}).");
        if (MaxWaiting < 0) errors.Add($"Max waiting must be at least 0 (was {MaxWaiting}).");
        return errors;
    }
}

/// <summary>How the twin chooses output lengths and content when the client does not fix them.</summary>
public sealed record OutputOptions
{
    /// <summary>Median length of an answer that ends on its own (end of sequence), tokens. Default: 256.</summary>
    public double MedianTokens { get; init; } = 256;

    /// <summary>Spread (σ of the log) of natural answer lengths: lognormal. Default: 0.8.</summary>
    public double LogSigma { get; init; } = 0.8;

    /// <summary>Share of a chat answer streamed as <c>reasoning_content</c> before the content; 0 for a plain model. Default: 0.</summary>
    public double ReasoningShare { get; init; }

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (!(MedianTokens >= 1)) errors.Add($"The median output length must be at least 1 token (was {MedianTokens}).");
        if (!(LogSigma >= 0)) errors.Add($"The output length spread must be at least 0 (was {LogSigma}).");
        if (!(ReasoningShare is >= 0 and < 1)) errors.Add($"The reasoning share must be in [0, 1) (was {ReasoningShare}).");
        return errors;
    }
}

/// <summary>
/// A simulated deployment: a catalog model on a number of catalog accelerators at a precision, with engine settings
/// and the physical model's coefficients.
/// </summary>
public sealed record TwinProfile
{
    /// <summary>The profile's name, e.g. <c>llama-3.1-8b-h100</c>; also the model name the server reports.</summary>
    public required string Name { get; init; }

    public string Description { get; init; } = "";

    /// <summary>A model in the catalog, e.g. <c>llama-3.1-8b</c>.</summary>
    public required string Model { get; init; }

    /// <summary>An accelerator in the catalog, e.g. <c>h100-sxm</c>.</summary>
    public required string Accelerator { get; init; }

    /// <summary>Devices serving one replica (tensor parallel). Default: 1.</summary>
    public int Devices { get; init; } = 1;

    /// <summary>Weights, activations and KV cache precision. Default: bf16.</summary>
    public string Precision { get; init; } = "bf16";

    public EngineOptions Engine { get; init; } = new();

    public StepModelOptions Step { get; init; } = TwinCalibration.Coefficients;

    public OutputOptions Output { get; init; } = new();
}

/// <summary>A profile bound to its catalog entries, with the KV capacity and limits that follow from them.</summary>
public sealed class TwinDeployment
{
    private TwinDeployment(TwinProfile profile, ModelArchitecture model, Accelerator accelerator, StepModel step,
        int kvBlocks, int maxModelLength, int maxBatchedTokens)
    {
        Profile = profile;
        Model = model;
        Accelerator = accelerator;
        Step = step;
        KvBlocks = kvBlocks;
        MaxModelLength = maxModelLength;
        MaxBatchedTokens = maxBatchedTokens;
    }

    public TwinProfile Profile { get; }

    public ModelArchitecture Model { get; }

    public Accelerator Accelerator { get; }

    public StepModel Step { get; }

    /// <summary>KV-cache blocks across all devices.</summary>
    public int KvBlocks { get; }

    public int KvCacheTokens => KvBlocks * Profile.Engine.BlockTokens;

    public int MaxModelLength { get; }

    public int MaxBatchedTokens { get; }

    /// <summary>Resolves the profile against the catalogs; every problem is listed in one message.</summary>
    public static TwinDeployment Create(TwinProfile profile, Catalogs catalogs)
    {
        var errors = new List<string>();
        errors.AddRange(profile.Engine.Validate());
        errors.AddRange(profile.Output.Validate());
        if (profile.Devices < 1) errors.Add($"Device count must be at least 1 (was {profile.Devices}).");
        if (errors.Count > 0) throw new EnergyToTokenException($"Twin profile '{profile.Name}' is invalid:{Environment.NewLine}{string.Join(Environment.NewLine, errors)}");
        var model = catalogs.Model(profile.Model);
        var accelerator = catalogs.Accelerator(profile.Accelerator);
        var step = new StepModel(model, accelerator, profile.Devices, profile.Precision, profile.Step);
        var engine = profile.Engine;
        var bytes = Precisions.Bytes(profile.Precision);
        var usable = accelerator.MemoryBytes * engine.MemoryUtilization * profile.Devices;
        var free = usable - model.WeightBytes(bytes) - engine.ActivationReserveBytes * profile.Devices;
        var kvTokens = engine.KvCacheTokens ?? (int)Math.Min(int.MaxValue / 2, Math.Floor(free / model.KvCacheBytesPerToken(bytes)));
        var blocks = kvTokens / engine.BlockTokens;
        if (blocks < 1)
        {
            throw new EnergyToTokenException(
                $"Twin profile '{profile.Name}': {model.DisplayName ?? model.Name} in {profile.Precision} ({model.WeightBytes(bytes) / 1e9:0.#} GB of weights) leaves no room for a KV cache on {profile.Devices} × {accelerator.DisplayName ?? accelerator.Name} ({accelerator.MemoryBytes / 1e9:0.#} GB each, {engine.MemoryUtilization:0.##} usable). Use more devices (--count), a smaller precision or a smaller model.");
        }
        var maxModelLength = engine.MaxModelLength ?? Math.Min(model.MaxContext, blocks * engine.BlockTokens);
        if (maxModelLength > blocks * engine.BlockTokens)
        {
            throw new EnergyToTokenException(
                $"Twin profile '{profile.Name}': a max model length of {maxModelLength} tokens does not fit the KV cache of {blocks * engine.BlockTokens} tokens. Lower the max model length or add devices.");
        }
        var maxBatched = engine.MaxBatchedTokens ?? (engine.ChunkedPrefill ? 8192 : Math.Max(maxModelLength, 2048));
        if (!engine.ChunkedPrefill && maxBatched < maxModelLength)
        {
            // Without chunking a prompt runs in one step; a longer one could never be admitted (vLLM refuses this too).
            throw new EnergyToTokenException(
                $"Twin profile '{profile.Name}': without chunked prefill, max batched tokens ({maxBatched}) must be at least the max model length ({maxModelLength}), or a long prompt could never run. Raise --max-batched-tokens, lower --max-model-len, or turn chunked prefill on.");
        }
        return new TwinDeployment(profile, model, accelerator, step, blocks, maxModelLength, maxBatched);
    }
}
