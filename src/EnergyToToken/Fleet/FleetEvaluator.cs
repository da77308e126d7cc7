namespace EnergyToToken.Fleet;

/// <summary>The series a fleet evaluation reads, as the range queries returned them.</summary>
public sealed record FleetData(
    IReadOnlyList<RangeSeries> PromptTokens,
    IReadOnlyList<RangeSeries> GenerationTokens,
    IReadOnlyList<RangeSeries> Energy,
    IReadOnlyList<RangeSeries> Power,
    IReadOnlyList<RangeSeries> SmActive,
    IReadOnlyList<RangeSeries> Pue);

/// <summary>Which constraint binds a group in a step (docs/fleet.md, "The binding rule").</summary>
public enum FleetConstraint
{
    /// <summary>Neither arm reaches the saturation threshold: the fleet serves what it is asked; demand binds.</summary>
    Demand,

    /// <summary>SM activity U is at the threshold and above the power load: compute binds.</summary>
    Compute,

    /// <summary>Facility power over budget is at the threshold and above U: power binds.</summary>
    Power,

    /// <summary>Both arms saturated within the tie tolerance of each other.</summary>
    Balanced,

    /// <summary>The step has no samples to judge by.</summary>
    NoData,
}

/// <summary>
/// The fleet's production figures from its Prometheus series: per group and over time, tokens, energy, J/token, U, IT
/// and facility power and the binding constraint. Pure: the series come in, the report goes out.
/// </summary>
public static class FleetEvaluator
{
    public static FleetReport Evaluate(FleetOptions options, FleetData data)
    {
        var step = options.Step;
        var steps = Math.Max(1, (int)Math.Floor((options.To - options.From) / step + 1e-9));
        var warnings = new List<string>();
        var groupLabel = options.GroupBy ?? options.Match;

        // Instances are the token series' match-label values; GPUs join the instance whose value they share.
        var instances = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var s in data.PromptTokens.Concat(data.GenerationTokens))
        {
            var key = s.Label(options.Match);
            var group = s.Label(groupLabel);
            if (instances.TryGetValue(key, out var existing) && existing != group)
                warnings.Add($"Instance '{key}' has token series in groups '{existing}' and '{group}'; it is counted in '{existing}'.");
            else instances[key] = group;
        }
        if (instances.Count == 0)
            throw new EnergyToTokenException($"Prometheus has no token series ({options.Metrics.PromptTokens}, {options.Metrics.GenerationTokens}) between the range's start and end: are the serving instances scraped, and does the range cover their samples?");

        var gpusByInstance = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var gpuEnergy = new Dictionary<string, double[]>(StringComparer.Ordinal);
        foreach (var s in data.Energy)
        {
            var id = GpuId(s, options.Match);
            gpuEnergy[id] = Add(gpuEnergy.GetValueOrDefault(id), CounterMath.StepIncreases(s.Points, options.From, step, steps).Select(mj => mj / 1000).ToArray());
            Attach(gpusByInstance, s.Label(options.Match), id);
        }
        foreach (var s in data.Power)
        {
            var id = GpuId(s, options.Match);
            if (gpuEnergy.ContainsKey(id)) continue;
            // No energy counter for this GPU: power × step, a reading at each step's end standing for the step.
            gpuEnergy[id] = CounterMath.StepGauge(s.Points, options.From, step, steps).Select(w => double.IsNaN(w) ? 0 : w * step).ToArray();
            Attach(gpusByInstance, s.Label(options.Match), id);
        }
        var gpuSm = new Dictionary<string, double[]>(StringComparer.Ordinal);
        foreach (var s in data.SmActive) gpuSm[GpuId(s, options.Match)] = CounterMath.StepGauge(s.Points, options.From, step, steps);

        foreach (var (instance, gpus) in gpusByInstance.Where(g => !instances.ContainsKey(g.Key)))
            warnings.Add($"{gpus.Count} GPU series have {options.Match}=\"{instance}\", which no token series has: their energy is in no group's J/token but in the fleet's IT power.");
        foreach (var instance in instances.Keys.Where(i => !gpusByInstance.ContainsKey(i)))
            warnings.Add($"Instance {options.Match}=\"{instance}\" has token series but no GPU energy or power series with the same {options.Match}: its tokens count, its energy is missing (is the DCGM exporter scraped, and does --match name a label both carry?).");

        var pue = PueSteps(options, data, steps, warnings);

        // Per step, the fleet's IT power includes every GPU, matched or not: the budget sees them all.
        var fleetEnergy = new double[steps];
        foreach (var e in gpuEnergy.Values) Add(fleetEnergy, e);
        var facilityWatts = fleetEnergy.Select((e, k) => e / step * pue[k]).ToArray();
        var powerLoad = facilityWatts.Select(w => options.FacilityBudgetWatts is { } b ? w / b : double.NaN).ToArray();

        var groups = new List<FleetGroup>();
        foreach (var group in instances.GroupBy(i => i.Value, i => i.Key).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var members = group.ToList();
            var gpus = members.SelectMany(i => gpusByInstance.GetValueOrDefault(i) ?? []).ToList();
            var prompt = Sum(data.PromptTokens.Where(s => members.Contains(s.Label(options.Match))), options.From, step, steps);
            var output = Sum(data.GenerationTokens.Where(s => members.Contains(s.Label(options.Match))), options.From, step, steps);
            var energy = new double[steps];
            foreach (var g in gpus) Add(energy, gpuEnergy[g]);
            var u = MeanGauge(gpus.Where(gpuSm.ContainsKey).Select(g => gpuSm[g]).ToList(), steps);
            groups.Add(Summarize(group.Key, members, gpus.Count, prompt, output, energy, u, pue, powerLoad, options, steps));
        }

        var allPrompt = Sum(data.PromptTokens, options.From, step, steps);
        var allOutput = Sum(data.GenerationTokens, options.From, step, steps);
        var allU = MeanGauge(gpuSm.Values.ToList(), steps);
        var fleet = Summarize("fleet", [.. instances.Keys], gpuEnergy.Count, allPrompt, allOutput, fleetEnergy, allU, pue, powerLoad, options, steps);

        var timeline = new List<FleetStep>(steps);
        for (var k = 0; k < steps; k++)
        {
            timeline.Add(new FleetStep(
                options.From + k * step, options.From + (k + 1) * step, allPrompt[k], allOutput[k], fleetEnergy[k],
                fleetEnergy[k] / step, facilityWatts[k], allU[k], fleet.Binding[k],
                groups.ToDictionary(g => g.Name, g => g.Binding[k], StringComparer.Ordinal)));
        }
        return new FleetReport(options, options.From, options.From + steps * step, groupLabel, fleet, groups, timeline, warnings);
    }

    /// <summary>
    /// The binding rule: an arm's load is U (compute) or facility power over the budget (power); below the saturation
    /// threshold on both, demand binds; otherwise the higher load binds, and loads within the tie tolerance are balanced.
    /// </summary>
    public static FleetConstraint Classify(double u, double powerLoad, double saturation, double tieTolerance)
    {
        var hasU = !double.IsNaN(u);
        var hasPower = !double.IsNaN(powerLoad);
        if (!hasU && !hasPower) return FleetConstraint.NoData;
        var uSaturated = hasU && u >= saturation;
        var powerSaturated = hasPower && powerLoad >= saturation;
        if (!uSaturated && !powerSaturated) return FleetConstraint.Demand;
        if (uSaturated && powerSaturated && Math.Abs(u - powerLoad) <= tieTolerance) return FleetConstraint.Balanced;
        if (uSaturated && (!powerSaturated || u > powerLoad)) return FleetConstraint.Compute;
        return FleetConstraint.Power;
    }

    private static FleetGroup Summarize(string name, IReadOnlyList<string> instances, int gpus, double[] prompt, double[] output,
        double[] energy, double[] u, double[] pue, double[] powerLoad, FleetOptions options, int steps)
    {
        var seconds = steps * options.Step;
        var promptTotal = prompt.Sum();
        var outputTotal = output.Sum();
        var energyTotal = energy.Sum();
        var itWatts = energy.Select(e => e / options.Step).ToArray();

        // Idle is what the GPUs drew in steps where no token was produced: the static power, where the range has such steps.
        var idleSteps = Enumerable.Range(0, steps).Where(k => prompt[k] + output[k] == 0 && energy[k] > 0).ToList();
        double? idleWatts = idleSteps.Count > 0 ? idleSteps.Average(k => itWatts[k]) : null;
        double? dynamicJoules = idleWatts is { } idle ? Math.Max(0, energyTotal - idle * seconds) : null;

        var binding = Enumerable.Range(0, steps)
            .Select(k => gpus == 0 && double.IsNaN(powerLoad[k]) ? FleetConstraint.NoData : Classify(u[k], powerLoad[k], options.Saturation, options.TieTolerance))
            .ToArray();
        var shares = Enum.GetValues<FleetConstraint>()
            .ToDictionary(c => c, c => binding.Count(b => b == c) / (double)steps);
        var uKnown = u.Where(x => !double.IsNaN(x)).ToList();
        return new FleetGroup(
            name, instances, gpus, promptTotal, outputTotal, energyTotal,
            outputTotal / seconds, (promptTotal + outputTotal) / seconds,
            outputTotal > 0 ? energyTotal / outputTotal : double.NaN,
            promptTotal + outputTotal > 0 ? energyTotal / (promptTotal + outputTotal) : double.NaN,
            idleWatts, dynamicJoules, dynamicJoules is { } d && outputTotal > 0 ? d / outputTotal : null,
            uKnown.Count > 0 ? uKnown.Average() : double.NaN,
            energyTotal / seconds, itWatts.Max(), Enumerable.Range(0, steps).Average(k => itWatts[k] * pue[k]),
            shares, binding);
    }

    private static double[] PueSteps(FleetOptions options, FleetData data, int steps, List<string> warnings)
    {
        var pue = new double[steps];
        Array.Fill(pue, options.Pue);
        if (options.PueQuery is null) return pue;
        if (data.Pue.Count == 0)
        {
            warnings.Add($"--pue-query '{options.PueQuery}' returned no series; facility power uses PUE {options.Pue}.");
            return pue;
        }
        if (data.Pue.Count > 1) warnings.Add($"--pue-query returned {data.Pue.Count} series; their mean is the PUE.");
        var mean = MeanGauge(data.Pue.Select(s => CounterMath.StepGauge(s.Points, options.From, options.Step, steps)).ToList(), steps);
        for (var k = 0; k < steps; k++) if (!double.IsNaN(mean[k])) pue[k] = mean[k];
        return pue;
    }

    private static string GpuId(RangeSeries s, string match)
    {
        // A GPU is its instance plus whichever identity the exporter gives (UUID, else the index).
        var device = s.Label("UUID") is { Length: > 0 } uuid ? uuid : s.Label("gpu");
        return s.Label(match) + "/" + device;
    }

    private static void Attach(Dictionary<string, List<string>> byInstance, string instance, string gpu)
    {
        if (!byInstance.TryGetValue(instance, out var list)) byInstance[instance] = list = [];
        if (!list.Contains(gpu)) list.Add(gpu);
    }

    private static double[] Sum(IEnumerable<RangeSeries> series, double from, double step, int steps)
    {
        var total = new double[steps];
        foreach (var s in series) Add(total, CounterMath.StepIncreases(s.Points, from, step, steps));
        return total;
    }

    private static double[] Add(double[]? into, double[] more)
    {
        if (into is null) return more;
        for (var k = 0; k < into.Length; k++) into[k] += more[k];
        return into;
    }

    private static double[] MeanGauge(IReadOnlyList<double[]> series, int steps)
    {
        var mean = new double[steps];
        for (var k = 0; k < steps; k++)
        {
            var known = series.Select(s => s[k]).Where(v => !double.IsNaN(v)).ToList();
            mean[k] = known.Count > 0 ? known.Average() : double.NaN;
        }
        return mean;
    }
}
