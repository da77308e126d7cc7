namespace EnergyToToken.Twin;

/// <summary>The bundled profiles (<c>e2t twin profiles</c>).</summary>
public static class TwinProfiles
{
    /// <summary>The default: Llama-3.1-8B on one H100 SXM in bf16, vLLM's defaults.</summary>
    public static TwinProfile Default { get; } = new()
    {
        Name = "llama-3.1-8b-h100",
        Description = "Llama-3.1-8B on one H100 SXM, bf16, vLLM V1 defaults",
        Model = "llama-3.1-8b",
        Accelerator = "h100-sxm",
    };

    public static IReadOnlyList<TwinProfile> All { get; } =
    [
        Default,
        new()
        {
            Name = "llama-3.1-70b-h100x4",
            Description = "Llama-3.1-70B on four H100 SXM (tensor parallel), bf16",
            Model = "llama-3.1-70b",
            Accelerator = "h100-sxm",
            Devices = 4,
        },
        new()
        {
            Name = "llama-3.1-8b-a100",
            Description = "Llama-3.1-8B on one A100 SXM 80 GB, bf16",
            Model = "llama-3.1-8b",
            Accelerator = "a100-sxm-80gb",
        },
        new()
        {
            Name = "qwen2.5-7b-h100",
            Description = "Qwen2.5-7B on one H100 SXM, bf16",
            Model = "qwen2.5-7b",
            Accelerator = "h100-sxm",
        },
        new()
        {
            Name = "reasoning-8b-h100",
            Description = "A Llama-3.1-8B-sized reasoning model on one H100 SXM: chat answers stream reasoning_content first",
            Model = "llama-3.1-8b",
            Accelerator = "h100-sxm",
            Output = new OutputOptions { MedianTokens = 1024, ReasoningShare = 0.6 },
        },
    ];

    /// <summary>The bundled profile with this name, or an explained failure that lists them.</summary>
    public static TwinProfile Find(string name) =>
        All.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new EnergyToTokenException($"There is no twin profile named '{name}'. Bundled profiles: {string.Join(", ", All.Select(p => p.Name))} (e2t twin profiles lists them), or compose one with --model, --accelerator and --count.");
}
