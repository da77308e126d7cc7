using System.Globalization;

namespace EnergyToToken.Fleet;

/// <summary>What <c>e2t fleet</c> asks Prometheus and how it reads the answer (docs/fleet.md).</summary>
public sealed record FleetOptions
{
    /// <summary>The Prometheus server's root URL.</summary>
    public required Uri Prometheus { get; init; }

    /// <summary>Start of the range, seconds since the Unix epoch.</summary>
    public required double From { get; init; }

    /// <summary>End of the range, seconds since the Unix epoch.</summary>
    public required double To { get; init; }

    /// <summary>The query step, s: the timeline's resolution. Default: 15 s (Prometheus's default scrape interval).</summary>
    public double Step { get; init; } = 15;

    /// <summary>The label whose value ties a serving instance's token series to its GPUs' series. Default: instance.</summary>
    public string Match { get; init; } = "instance";

    /// <summary>The label of the token series that groups instances; null groups by <see cref="Match"/> (each instance its own group).</summary>
    public string? GroupBy { get; init; }

    /// <summary>Power usage effectiveness, facility power over IT power. Default: 1 (facility power = IT power).</summary>
    public double Pue { get; init; } = 1;

    /// <summary>A PromQL query whose value is the PUE over time; replaces <see cref="Pue"/> where given.</summary>
    public string? PueQuery { get; init; }

    /// <summary>The facility power budget, W; null when there is none (the power arm is then not judged).</summary>
    public double? FacilityBudgetWatts { get; init; }

    /// <summary>An arm binds only when its load (U, or facility power over budget) reaches this. Default: 0.9.</summary>
    public double Saturation { get; init; } = 0.9;

    /// <summary>Loads within this of each other bind together (balanced), as the production core's tie tolerance. Default: 0.05.</summary>
    public double TieTolerance { get; init; } = 0.05;

    /// <summary>The metric names queried: the DCGM exporter's and vLLM's by default.</summary>
    public FleetMetrics Metrics { get; init; } = new();

    /// <summary>Every problem with the options at once; empty when they are usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (!(To > From)) problems.Add($"--to ({Format(To)}) must be after --from ({Format(From)}).");
        if (!(Step > 0) || double.IsInfinity(Step)) problems.Add($"--step must be a positive duration; got {Format(Step)} s.");
        else if (To > From && (To - From) / Step > 1_000_000) problems.Add($"--step {Format(Step)} s over {Format(To - From)} s gives more than 1,000,000 steps; use a longer step.");
        if (string.IsNullOrWhiteSpace(Match)) problems.Add("--match must name a label.");
        if (GroupBy is { } g && string.IsNullOrWhiteSpace(g)) problems.Add("--group-by must name a label.");
        if (!(Pue >= 1) || double.IsInfinity(Pue)) problems.Add($"--pue must be at least 1; got {Format(Pue)}.");
        if (FacilityBudgetWatts is { } b && (!(b > 0) || double.IsInfinity(b))) problems.Add($"--p-facility must be a positive power in W; got {Format(b)}.");
        if (!(Saturation is > 0 and <= 1)) problems.Add($"The saturation threshold must be in (0, 1]; got {Format(Saturation)}.");
        return problems;
    }

    private static string Format(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);
}

/// <summary>The metric names the fleet queries. Defaults: the DCGM exporter's and vLLM's.</summary>
public sealed record FleetMetrics
{
    /// <summary>GPU energy counter, mJ. Default: DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION.</summary>
    public string Energy { get; init; } = "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION";

    /// <summary>GPU power, W, used where a GPU has no energy counter. Default: DCGM_FI_DEV_POWER_USAGE.</summary>
    public string Power { get; init; } = "DCGM_FI_DEV_POWER_USAGE";

    /// <summary>SM activity, 0–1. Default: DCGM_FI_PROF_SM_ACTIVE.</summary>
    public string SmActive { get; init; } = "DCGM_FI_PROF_SM_ACTIVE";

    /// <summary>Prompt (prefill) token counter. Default: vllm:prompt_tokens_total.</summary>
    public string PromptTokens { get; init; } = "vllm:prompt_tokens_total";

    /// <summary>Generated (output) token counter. Default: vllm:generation_tokens_total.</summary>
    public string GenerationTokens { get; init; } = "vllm:generation_tokens_total";
}
