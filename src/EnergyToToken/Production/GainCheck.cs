namespace EnergyToToken.Production;

/// <summary>One measured operating point: quality, latency, reliability and the production figures.</summary>
/// <param name="Name">A label, e.g. "fp16-baseline".</param>
/// <param name="Quality">Quality metrics by name, higher is better, in points (e.g. "mmlu" → 68.9).</param>
/// <param name="LatencyMilliseconds">Latency percentiles by name (e.g. "ttft_p99" → 410).</param>
/// <param name="ErrorRate">Failed requests over issued requests, in [0, 1].</param>
/// <param name="EpsilonJoulesPerToken">Measured ε, if known.</param>
/// <param name="TokensPerSecond">Measured token throughput, if known.</param>
public sealed record OperatingPointObservation(
    string Name,
    IReadOnlyDictionary<string, double> Quality,
    IReadOnlyDictionary<string, double> LatencyMilliseconds,
    double ErrorRate,
    double? EpsilonJoulesPerToken = null,
    double? TokensPerSecond = null);

/// <summary>The disclosed tolerances that define "the same operating point" (spec section 5).</summary>
/// <param name="QualityDropPoints">Per quality metric, the largest drop from the baseline still counted as equal quality.</param>
/// <param name="LatencyTargetsMilliseconds">The service target s*: each named percentile must stay at or below its target.</param>
/// <param name="ErrorRateIncrease">The largest rise in error rate tolerated. Default: 0 (no regression).</param>
public sealed record GainTolerances(
    IReadOnlyDictionary<string, double> QualityDropPoints,
    IReadOnlyDictionary<string, double> LatencyTargetsMilliseconds,
    double ErrorRateIncrease = 0);

/// <summary>One check of the gain test and whether it held.</summary>
public sealed record GainCheckItem(string Check, bool Passed, string Detail);

/// <summary>The verdict: the change counts as a production gain only if every check holds.</summary>
/// <param name="Counts">Whether the operating point was preserved, so the two runs compare directly.</param>
/// <param name="Checks">Every check made, passed or not.</param>
/// <param name="EpsilonRatio">ε candidate / ε baseline, when both are known (below 1 is a gain).</param>
/// <param name="ThroughputRatio">Throughput candidate / baseline, when both are known.</param>
public sealed record GainVerdict(bool Counts, IReadOnlyList<GainCheckItem> Checks, double? EpsilonRatio, double? ThroughputRatio)
{
    /// <summary>Gets why the change does not count: every failed check (empty when it counts).</summary>
    public IEnumerable<string> Reasons => Checks.Where(c => !c.Passed).Select(c => c.Detail);
}

/// <summary>Spec section 5: does a change count as a production gain?</summary>
public static class GainCheck
{
    public static GainVerdict Evaluate(OperatingPointObservation baseline, OperatingPointObservation candidate,
        GainTolerances tolerances)
    {
        var errors = Validate(baseline, candidate, tolerances);
        if (errors.Count > 0) throw new EnergyToTokenException(string.Join(Environment.NewLine, errors));

        var checks = new List<GainCheckItem>();
        foreach (var (metric, drop) in tolerances.QualityDropPoints.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            var check = $"quality {metric}";
            if (!baseline.Quality.TryGetValue(metric, out var before))
                checks.Add(new(check, false, $"Quality '{metric}' has a tolerance but the baseline '{baseline.Name}' did not report it; without it the operating point cannot be compared."));
            else if (!candidate.Quality.TryGetValue(metric, out var after))
                checks.Add(new(check, false, $"Quality '{metric}' was not reported for '{candidate.Name}'; an unmeasured quality cannot be shown to hold."));
            else
            {
                var change = after - before;
                var ok = change >= -drop;
                checks.Add(new(check, ok, ok
                    ? $"Quality '{metric}' {F(before)} → {F(after)} ({Signed(change)} points) is within the tolerance of −{F(drop)} points."
                    : $"Quality '{metric}' fell {F(-change)} points ({F(before)} → {F(after)}), more than the tolerance of {F(drop)} points: the operating point moved."));
            }
        }
        foreach (var metric in baseline.Quality.Keys.Where(k => !tolerances.QualityDropPoints.ContainsKey(k)).Order(StringComparer.Ordinal))
            checks.Add(new($"quality {metric}", false, $"Quality '{metric}' was measured but no tolerance was disclosed for it; disclose one (e.g. 1 point) so the comparison is falsifiable."));
        // Spec §5: a gain needs quality shown to hold; with nothing measured there is nothing that shows it.
        if (tolerances.QualityDropPoints.Count == 0 && baseline.Quality.Count == 0)
            checks.Add(new("quality", false, $"No quality was measured or declared for '{baseline.Name}' and no tolerance was disclosed: quality is not shown to hold, so the change cannot count as a gain. Measure one (an evaluation harness or a quality set) and disclose its tolerance."));

        foreach (var (metric, target) in tolerances.LatencyTargetsMilliseconds.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            var check = $"latency {metric}";
            if (!candidate.LatencyMilliseconds.TryGetValue(metric, out var value))
                checks.Add(new(check, false, $"Latency '{metric}' has a target of {F(target)} ms but '{candidate.Name}' did not report it."));
            else
            {
                var ok = value <= target;
                checks.Add(new(check, ok, ok
                    ? $"Latency '{metric}' {F(value)} ms meets the target of {F(target)} ms."
                    : $"Latency '{metric}' {F(value)} ms misses the target of {F(target)} ms: the service envelope s* was left."));
            }
        }
        if (tolerances.LatencyTargetsMilliseconds.Count == 0)
            checks.Add(new("latency", false, "No latency target s* was disclosed: latency is not shown to stay within the service envelope, so the change cannot count as a gain. Give the targets, e.g. ttft-p99 at most 500 ms."));
        var errorRise = candidate.ErrorRate - baseline.ErrorRate;
        var reliable = errorRise <= tolerances.ErrorRateIncrease;
        checks.Add(new("error rate", reliable, reliable
            ? $"Error rate {Percent(baseline.ErrorRate)} → {Percent(candidate.ErrorRate)} did not regress beyond {Percent(tolerances.ErrorRateIncrease)}."
            : $"Error rate rose from {Percent(baseline.ErrorRate)} to {Percent(candidate.ErrorRate)}, more than the {Percent(tolerances.ErrorRateIncrease)} tolerated: reliability regressed."));

        double? epsilonRatio = candidate.EpsilonJoulesPerToken / baseline.EpsilonJoulesPerToken;
        double? throughputRatio = candidate.TokensPerSecond / baseline.TokensPerSecond;
        return new GainVerdict(checks.All(c => c.Passed), checks, epsilonRatio, throughputRatio);
    }

    private static List<string> Validate(OperatingPointObservation baseline, OperatingPointObservation candidate, GainTolerances tolerances)
    {
        var errors = new List<string>();
        foreach (var point in new[] { baseline, candidate })
        {
            if (!(point.ErrorRate >= 0 && point.ErrorRate <= 1))
                errors.Add($"The error rate of '{point.Name}' must be a fraction in [0, 1] (was {F(point.ErrorRate)}); give 0.02 for 2 %.");
            if (point.EpsilonJoulesPerToken is { } e && !(e > 0))
                errors.Add($"ε of '{point.Name}' must be positive (was {F(e)} J/token).");
            if (point.TokensPerSecond is { } r && !(r > 0))
                errors.Add($"The throughput of '{point.Name}' must be positive (was {F(r)} tokens/s).");
        }
        foreach (var (metric, drop) in tolerances.QualityDropPoints)
        {
            if (!(drop >= 0)) errors.Add($"The quality tolerance for '{metric}' must be zero or more points (was {F(drop)}).");
        }
        foreach (var (metric, target) in tolerances.LatencyTargetsMilliseconds)
        {
            if (!(target > 0)) errors.Add($"The latency target for '{metric}' must be positive milliseconds (was {F(target)}).");
        }
        if (!(tolerances.ErrorRateIncrease >= 0 && tolerances.ErrorRateIncrease <= 1))
            errors.Add($"The tolerated error-rate increase must be a fraction in [0, 1] (was {F(tolerances.ErrorRateIncrease)}).");
        return errors;
    }

    private static string F(double value) => ProductionInputs.Format(value);

    private static string Signed(double value) => (value >= 0 ? "+" : "−") + F(Math.Abs(value));

    private static string Percent(double fraction) => F(fraction * 100) + " %";
}
