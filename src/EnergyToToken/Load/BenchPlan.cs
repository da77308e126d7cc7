using EnergyToToken.Metering;
namespace EnergyToToken.Load;

/// <summary>What a run was pointed at: an endpoint, or the embedded twin (whose results are simulated).</summary>
/// <param name="Endpoint">The base URL requests went to.</param>
/// <param name="TwinProfile">The twin's profile when the target is the embedded twin; null for a real endpoint.</param>
public sealed record BenchTarget(Uri Endpoint, string Model, ApiKind Api, string? TwinProfile)
{
    public bool Simulated => TwinProfile is not null;
}

/// <summary>Run-level rules that make a run invalid (exit 1) though it completed.</summary>
public sealed record ValidityOptions
{
    /// <summary>Most failed measured requests allowed, as a share. Default: 0.05.</summary>
    public double MaxErrorRate { get; init; } = 0.05;

    /// <summary>Invalid when the client used more than <see cref="BenchResult.ClientLimitedShare"/> of the machine's CPU. Default: false (flagged only).</summary>
    public bool FailOnClientLimited { get; init; }

    /// <summary>Report J/token from modeled energy (a CPU model, no meter). Default: false: refused, energy kept but labelled.</summary>
    public bool AllowModeled { get; init; }
}

/// <summary>Everything one measured run needs, resolved from flags or a scenario file: recorded beside its results.</summary>
public sealed record BenchPlan(
    string Name,
    BenchTarget Target,
    WorkloadOptions Workload,
    ArrivalOptions Arrivals,
    BenchOptions Bench,
    StreamingClientOptions Client,
    ValidityOptions Validity,
    Slo? Slo);

/// <summary>Whether a run stands: problems make it invalid; notes are said beside the result.</summary>
public sealed record BenchVerdict(IReadOnlyList<string> Problems, IReadOnlyList<string> Notes, bool JoulesPerTokenReported)
{
    public bool Valid => Problems.Count == 0;

    public static BenchVerdict Judge(ValidityOptions v, bool simulated, double clientCpuShare, RunMetrics metrics, EnergySummary? energySummary)
    {
        var problems = new List<string>();
        var notes = new List<string>();
        if (metrics.MeasuredRequests == 0) problems.Add("no measured request was sent");
        else if (metrics.States.GetValueOrDefault(TerminalState.Ok) == 0) problems.Add("no measured request succeeded");
        if (metrics.ErrorRate > v.MaxErrorRate)
            problems.Add($"error rate {metrics.ErrorRate:P1} is above the allowed {v.MaxErrorRate:P1} (--max-error-rate)");
        if (metrics.UsageFallbackRequests > 0)
            notes.Add($"{metrics.UsageFallbackRequests} requests had no usage from the server: their output tokens are counted one per chunk");
        if (clientCpuShare > BenchResult.ClientLimitedShare)
        {
            var text = $"the client used {clientCpuShare:P0} of the machine's CPU{(simulated ? " (with the in-process twin)" : "")}: it may be what limits throughput";
            if (v.FailOnClientLimited) problems.Add(text);
            else notes.Add(text);
        }
        var reported = false;
        if (energySummary is { } energy)
        {
            var tooShort = energy.Channels.Where(c => c.Run.Flags.Any(f => f.Contains("update periods", StringComparison.Ordinal))).Select(c => c.Channel.Id).ToList();
            if (tooShort.Count > 0) problems.Add($"the window holds fewer than 10 updates of {string.Join(", ", tooShort)}, too few for its energy to be trusted: run longer (--duration or --requests)");
            if (double.IsNaN(energy.Total.Joules)) problems.Add("no meter produced a good reading over the window: energy unknown");
            else if (energy.Total.Modeled && !energy.Total.Simulated && !v.AllowModeled)
                notes.Add("J/token is not reported: the energy is modeled, not measured (pass --allow-modeled to report it, labelled modeled)");
            else reported = true;
            if (energy.Total.Simulated) notes.Add("energy is simulated by the embedded twin, not measured");
        }
        else
        {
            notes.Add("no meter: latency and throughput only");
        }
        return new BenchVerdict(problems, notes, reported);
    }
}
