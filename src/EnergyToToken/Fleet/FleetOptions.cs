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

    /// <summary>
    /// Facility power budgets of single groups, W, by group name: a group named here is judged against its own budget
    /// (a hall, a power feed); the others share <see cref="FacilityBudgetWatts"/>. Default: none.
    /// </summary>
    public IReadOnlyDictionary<string, double> GroupBudgets { get; init; } = new Dictionary<string, double>();

    /// <summary>The metric names queried: the DCGM exporter's and vLLM's by default.</summary>
    public FleetMetrics Metrics { get; init; } = new();

    /// <summary>The label groups are named by: <see cref="GroupBy"/>, else <see cref="Match"/>.</summary>
    public string GroupLabel => GroupBy ?? Match;

    /// <summary>Whether energy is the nodes' (node exporter, Kepler) rather than the GPUs' boards'.</summary>
    public bool NodeBoundary => Metrics.NodeEnergy is not null || Metrics.NodePower is not null;

    /// <summary>The accounting boundary of the energy, said with every figure.</summary>
    public string Boundary => NodeBoundary
        ? $"node (whole servers: {Metrics.NodeEnergy ?? Metrics.NodePower}), measured"
        : $"accelerator (GPU boards: {Metrics.Energy}, else {Metrics.Power} × step), measured";

    /// <summary>The whole steps in the range: the timeline's length.</summary>
    public int Steps => Math.Max(1, (int)Math.Floor((To - From) / Step + 1e-9));

    /// <summary>Every problem with the options at once; empty when they are usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (!(To > From)) problems.Add($"--to ({Format(To)}) must be after --from ({Format(From)}).");
        if (!(Step > 0) || double.IsInfinity(Step)) problems.Add($"--step must be a positive duration; got {Format(Step)} s.");
        else if (To > From && (To - From) / Step > 1_000_000) problems.Add($"--step {Format(Step)} s over {Format(To - From)} s gives more than 1,000,000 steps; use a longer step.");
        else if (Step < 0.001 || Math.Abs(Step * 1000 - Math.Round(Step * 1000)) > 1e-6) problems.Add($"--step must be a whole number of milliseconds (Prometheus's resolution), at least 1ms; got {Step.ToString("R", CultureInfo.InvariantCulture)} s.");
        // The match label goes into PromQL (on(...)), so it must be a label name PromQL can write bare.
        if (!System.Text.RegularExpressions.Regex.IsMatch(Match, "^[a-zA-Z_][a-zA-Z0-9_]*$")) problems.Add($"--match: '{Match}' is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*); relabel a dotted name at scrape time.");
        if (GroupBy is { } g && string.IsNullOrWhiteSpace(g)) problems.Add("--group-by must name a label.");
        if (!(Pue >= 1) || double.IsInfinity(Pue)) problems.Add($"--pue must be at least 1; got {Format(Pue)}.");
        if (FacilityBudgetWatts is { } b && (!(b > 0) || double.IsInfinity(b))) problems.Add($"--p-facility must be a positive power in W; got {Format(b)}.");
        foreach (var (group, watts) in GroupBudgets)
            if (!(watts > 0) || double.IsInfinity(watts)) problems.Add($"--group-budget {group}={Format(watts)}: the budget must be a positive power in W.");
        if (!(Saturation is > 0 and <= 1)) problems.Add($"--saturation must be in (0, 1]; got {Format(Saturation)}.");
        if (!(TieTolerance is >= 0 and < 1)) problems.Add($"--tie-tolerance must be in [0, 1); got {Format(TieTolerance)}.");
        if (Metrics.NodeEnergy is not null && Metrics.NodePower is not null) problems.Add("Give --node-energy or --node-power, not both.");
        foreach (var (flag, name) in Metrics.Named())
            if (string.IsNullOrWhiteSpace(name)) problems.Add($"{flag} must name a metric or a PromQL expression.");
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

    /// <summary>A node energy counter, J (Kepler: kepler_node_platform_joules_total); sets the node boundary. Default: none.</summary>
    public string? NodeEnergy { get; init; }

    /// <summary>A node power gauge, W (node exporter hwmon, IPMI exporter); sets the node boundary. Default: none.</summary>
    public string? NodePower { get; init; }

    /// <summary>Each metric with the flag that sets it, for validation messages.</summary>
    public IEnumerable<(string Flag, string? Name)> Named() =>
    [
        ("--energy-metric", Energy), ("--power-metric", Power), ("--sm-metric", SmActive),
        ("--prompt-metric", PromptTokens), ("--generation-metric", GenerationTokens),
        .. NodeEnergy is null ? Array.Empty<(string, string?)>() : [("--node-energy", NodeEnergy)],
        .. NodePower is null ? Array.Empty<(string, string?)>() : [("--node-power", NodePower)],
    ];
}
