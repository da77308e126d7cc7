namespace EnergyToToken.Fleet;

/// <summary>
/// Folds a fleet's Prometheus series into per-instance step sums as they arrive, chunk by chunk, so that memory grows
/// with instances × steps rather than with every point of every GPU: 1,000 GPUs over a day at 15 s is 23 million
/// points, but 125 instances' sums are a few megabytes. Pure: no I/O, the caller feeds it.
/// </summary>
/// <remarks>
/// Feed in this order, because later kinds depend on earlier ones: tokens (they name the instances and their groups),
/// GPU energy, GPU power (used only for a GPU with no energy counter), SM activity, node energy or power, PUE. A series
/// may come in several pieces (the chunks of a range, in time order); a counter continues across them. Instances are the
/// values of the <see cref="FleetOptions.Match"/> label; a GPU or a node joins the instance whose value it shares.
/// </remarks>
public sealed class FleetAccumulator
{
    private readonly FleetOptions _options;
    private readonly int _steps;
    private readonly SortedDictionary<string, Member> _members = new(StringComparer.Ordinal);
    private readonly Dictionary<string, double> _lastCounter = new(StringComparer.Ordinal);
    private readonly HashSet<string> _gpusWithEnergy = new(StringComparer.Ordinal);
    private readonly List<string> _warnings = [];
    private readonly double[] _pueSum;
    private readonly int[] _pueCount;
    private readonly HashSet<string> _pueSeries = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, long> _skipped = new(StringComparer.Ordinal);
    private bool _anyGpuEnergy;
    private bool _anyNode;

    public FleetAccumulator(FleetOptions options)
    {
        _options = options;
        _steps = options.Steps;
        _pueSum = new double[_steps];
        _pueCount = new int[_steps];
    }

    /// <summary>A prompt (prefill) token counter of one serving instance.</summary>
    public void AddPromptTokens(RangeSeries series) => Counter('p', series, Instance(series).Prompt ??= new double[_steps], 1);

    /// <summary>A generated (output) token counter of one serving instance.</summary>
    public void AddGenerationTokens(RangeSeries series) => Counter('g', series, Instance(series).Output ??= new double[_steps], 1);

    /// <summary>A GPU's energy counter, mJ (the DCGM exporter's).</summary>
    public void AddEnergy(RangeSeries series)
    {
        var (member, gpu) = Gpu(series);
        _gpusWithEnergy.Add(gpu);
        _anyGpuEnergy = true;
        Counter('e', series, member.Energy ??= new double[_steps], 1e-3);
    }

    /// <summary>A GPU's power, W: read only for a GPU with no energy counter, each step's reading standing for the step.</summary>
    public void AddPower(RangeSeries series)
    {
        var (member, gpu) = Gpu(series);
        if (_gpusWithEnergy.Contains(gpu)) return;
        _anyGpuEnergy = true;
        Gauge(series, member.Energy ??= new double[_steps], null, _options.Step);
    }

    /// <summary>A GPU's SM activity, 0–1.</summary>
    public void AddSmActive(RangeSeries series)
    {
        var (member, _) = Gpu(series);
        Gauge(series, member.SmSum ??= new double[_steps], member.SmCount ??= new int[_steps], 1);
    }

    /// <summary>A node's energy counter, J (Kepler's platform joules): the node boundary replaces the GPUs' energy.</summary>
    public void AddNodeEnergy(RangeSeries series)
    {
        _anyNode = true;
        Counter('n', series, Of(series.Label(_options.Match)).Node ??= new double[_steps], 1);
    }

    /// <summary>A node's power, W (a node exporter's hwmon or IPMI reading); several series of one node add up.</summary>
    public void AddNodePower(RangeSeries series)
    {
        _anyNode = true;
        Gauge(series, Of(series.Label(_options.Match)).Node ??= new double[_steps], null, _options.Step);
    }

    /// <summary>A series whose value is the PUE; several are averaged.</summary>
    public void AddPue(RangeSeries series)
    {
        _pueSeries.Add(series.Key);
        // A PUE below 1 is a meter fault (the facility cannot draw less than its IT): left out, like a missing sample.
        var usable = series.Points.Where(p => p.Value >= 1 && double.IsFinite(p.Value)).ToList();
        Skip(Pue, series.Points.Count - usable.Count);
        Gauge(series with { Points = usable }, _pueSum, _pueCount, 1);
    }

    /// <summary>What the PUE's skipped samples are counted under.</summary>
    private const string Pue = "the PUE";

    /// <summary>Counts skipped samples of <paramref name="kind"/> for the warning.</summary>
    private void Skip(string kind, long count = 1)
    {
        if (count > 0) _skipped[kind] = _skipped.GetValueOrDefault(kind) + count;
    }

    /// <summary>A series' name for a warning: its metric name, or what it stands for when an expression dropped the name.</summary>
    private static string Name(RangeSeries series, string otherwise) => series.Label("__name__") is { Length: > 0 } name ? name : otherwise;

    /// <exception cref="EnergyToTokenException">No token series, no energy series, or a group budget names no group.</exception>
    public FleetReport Finish()
    {
        var o = _options;
        var m = o.Metrics;
        var instances = _members.Where(p => p.Value.Group is not null).ToList();
        if (instances.Count == 0)
            throw new EnergyToTokenException($"Prometheus has no token series ({m.PromptTokens}, {m.GenerationTokens}) between the range's start and end: are the serving instances scraped, and does the range cover their samples?");
        var node = o.NodeBoundary;
        if (node ? !_anyNode : !_anyGpuEnergy)
            throw new EnergyToTokenException(node
                ? $"Prometheus has token series but no node energy or power series ({m.NodeEnergy ?? m.NodePower}) in the range: is the node exporter or Kepler scraped?"
                : $"Prometheus has token series but no GPU energy ({m.Energy}) or power ({m.Power}) series in the range: is the DCGM exporter scraped?");

        double[]? Energy(Member member) => node ? member.Node : member.Energy;
        var what = node ? "node energy or power" : "GPU energy or power";
        foreach (var (key, member) in _members.Where(p => p.Value.Group is null && Energy(p.Value) is not null))
            Warn($"{(node ? "Node" : $"{member.Gpus.Count} GPU")} series have {o.Match}=\"{key}\", which no token series has: their energy is in no group's J/token but in the fleet's IT power.");
        foreach (var (kind, count) in _skipped.Where(p => p.Value > 0))
            Warn($"{count} samples of {kind} were skipped: {(kind == Pue ? "a PUE below 1, or not a finite number" : "not finite numbers (NaN or ±Inf)")}.");
        foreach (var (key, _) in instances.Where(p => Energy(p.Value) is null))
            Warn($"Instance {o.Match}=\"{key}\" has token series but no {what} series with the same {o.Match}: its tokens count, its energy is missing (is the exporter scraped, and does --match name a label both carry?).");

        var pue = new double[_steps];
        for (var k = 0; k < _steps; k++) pue[k] = _pueCount[k] > 0 ? _pueSum[k] / _pueCount[k] : o.Pue;
        if (o.PueQuery is { } query)
        {
            if (_pueSeries.Count == 0) Warn($"--pue-query '{query}' returned no series; facility power uses PUE {o.Pue}.");
            else if (_pueSeries.Count > 1) Warn($"--pue-query returned {_pueSeries.Count} series; their mean is the PUE.");
        }

        var groupNames = instances.Select(p => p.Value.Group!).Distinct().Order(StringComparer.Ordinal).ToList();
        var unknown = o.GroupBudgets.Keys.Where(g => !groupNames.Contains(g)).ToList();
        if (unknown.Count > 0)
            throw new EnergyToTokenException($"--group-budget names {string.Join(", ", unknown.Select(g => $"'{g}'"))}, but no group has that name; the groups by '{o.GroupLabel}' are: {string.Join(", ", groupNames)}. Name one of them, or drop the budget.");

        double[] Facility(double[] energy) => [.. energy.Select((e, k) => e / o.Step * pue[k])];
        double[] Load(double[] facility, double? budget) => [.. facility.Select(w => budget is { } b ? w / b : double.NaN)];
        var energies = groupNames.ToDictionary(g => g, g => Sum(instances.Where(p => p.Value.Group == g).Select(p => Energy(p.Value))), StringComparer.Ordinal);

        // The fleet's IT power includes every series, matched or not: the budgets see them all. A group with its own
        // budget (a hall, a feed) is judged against it alone; the rest of the fleet, GPUs matched to no instance
        // included, shares --p-facility; the fleet as a whole has the sum of the budgets.
        var all = _members.Values.ToList();
        var fleetEnergy = Sum(all.Select(Energy));
        var facilityWatts = Facility(fleetEnergy);
        var shared = (double[])facilityWatts.Clone();
        foreach (var name in o.GroupBudgets.Keys)
        {
            var own = Facility(energies[name]);
            for (var k = 0; k < _steps; k++) shared[k] -= own[k];
        }
        var sharedLoad = Load(shared, o.FacilityBudgetWatts);
        var fleetBudget = o.FacilityBudgetWatts is { } p ? p + o.GroupBudgets.Values.Sum()
            : groupNames.All(o.GroupBudgets.ContainsKey) ? o.GroupBudgets.Values.Sum() : (double?)null;

        var groups = new List<FleetGroup>();
        foreach (var name in groupNames)
        {
            var members = instances.Where(p => p.Value.Group == name).ToList();
            var own = o.GroupBudgets.TryGetValue(name, out var b) ? b : (double?)null;
            groups.Add(Summarize(name, [.. members.Select(p => p.Key)], members.Sum(p => p.Value.Gpus.Count), members.Select(p => p.Value).ToList(),
                energies[name], pue, own is { } w ? Load(Facility(energies[name]), w) : sharedLoad, own ?? o.FacilityBudgetWatts));
        }
        var fleet = Summarize("fleet", [.. instances.Select(p => p.Key)], all.Sum(x => x.Gpus.Count), all, fleetEnergy, pue, Load(facilityWatts, fleetBudget), fleetBudget);

        var timeline = new List<FleetStep>(_steps);
        for (var k = 0; k < _steps; k++)
        {
            timeline.Add(new FleetStep(
                o.From + k * o.Step, o.From + (k + 1) * o.Step, fleet.PromptTokensPerStep[k], fleet.OutputTokensPerStep[k], fleetEnergy[k],
                fleetEnergy[k] / o.Step, facilityWatts[k], fleet.UPerStep[k], fleet.Binding[k]));
        }
        return new FleetReport(o, o.From, o.From + _steps * o.Step, o.GroupLabel, fleet, groups, timeline, _warnings);

        void Warn(string text) => _warnings.Add(text);
    }

    private FleetGroup Summarize(string name, IReadOnlyList<string> instances, int gpus, IReadOnlyList<Member> members, double[] energy,
        double[] pue, double[] powerLoad, double? budget)
    {
        var o = _options;
        var steps = _steps;
        var seconds = steps * o.Step;
        var prompt = Sum(members.Select(x => x.Prompt));
        var output = Sum(members.Select(x => x.Output));
        var accelerator = Sum(members.Select(x => x.Energy));
        var u = new double[steps];
        for (var k = 0; k < steps; k++)
        {
            double sum = 0;
            var count = 0;
            foreach (var x in members)
            {
                if (x.SmCount is null) continue;
                sum += x.SmSum![k];
                count += x.SmCount[k];
            }
            u[k] = count > 0 ? sum / count : double.NaN;
        }
        var promptTotal = prompt.Sum();
        var outputTotal = output.Sum();
        var energyTotal = energy.Sum();
        var itWatts = energy.Select(e => e / o.Step).ToArray();

        // Idle is what the group drew in steps where no token was produced: the static power, where the range has such steps.
        var idleSteps = Enumerable.Range(0, steps).Where(k => prompt[k] + output[k] == 0 && energy[k] > 0).ToList();
        double? idleWatts = idleSteps.Count > 0 ? idleSteps.Average(k => itWatts[k]) : null;
        double? dynamicJoules = idleWatts is { } idle ? Math.Max(0, energyTotal - idle * seconds) : null;

        var binding = Enumerable.Range(0, steps)
            .Select(k => gpus == 0 && double.IsNaN(powerLoad[k]) ? FleetConstraint.NoData : FleetEvaluator.Classify(u[k], powerLoad[k], o.Saturation, o.TieTolerance))
            .ToArray();
        var shares = Enum.GetValues<FleetConstraint>().ToDictionary(c => c, c => binding.Count(b => b == c) / (double)steps);
        var uKnown = u.Where(x => !double.IsNaN(x)).ToList();
        return new FleetGroup(
            name, instances, gpus, promptTotal, outputTotal, energyTotal,
            outputTotal / seconds, (promptTotal + outputTotal) / seconds,
            outputTotal > 0 ? energyTotal / outputTotal : double.NaN,
            promptTotal + outputTotal > 0 ? energyTotal / (promptTotal + outputTotal) : double.NaN,
            idleWatts, dynamicJoules, dynamicJoules is { } d && outputTotal > 0 ? d / outputTotal : null,
            uKnown.Count > 0 ? uKnown.Average() : double.NaN,
            energyTotal / seconds, itWatts.Max(), Enumerable.Range(0, steps).Average(k => itWatts[k] * pue[k]),
            shares, binding)
        {
            AcceleratorEnergyJoules = accelerator.Sum(),
            BudgetWatts = budget,
            PromptTokensPerStep = prompt,
            OutputTokensPerStep = output,
            UPerStep = u,
        };
    }

    /// <summary>The instance a token series belongs to, with its group; an instance seen in two groups stays in the first.</summary>
    private Member Instance(RangeSeries series)
    {
        var key = series.Label(_options.Match);
        var group = series.Label(_options.GroupLabel);
        var member = Of(key);
        if (member.Group is null) member.Group = group;
        else if (member.Group != group && member.WarnedGroup.Add(group))
            _warnings.Add($"Instance '{key}' has token series in groups '{member.Group}' and '{group}'; it is counted in '{member.Group}'.");
        return member;
    }

    /// <summary>The instance a GPU series joins, and the GPU's identity: its instance plus its UUID, else its index.</summary>
    private (Member Member, string Gpu) Gpu(RangeSeries series)
    {
        var key = series.Label(_options.Match);
        var device = series.Label("UUID") is { Length: > 0 } uuid ? uuid : series.Label("gpu");
        var id = key + "/" + device;
        var member = Of(key);
        member.Gpus.Add(id);
        return (member, id);
    }

    private Member Of(string key)
    {
        if (!_members.TryGetValue(key, out var member)) _members[key] = member = new Member();
        return member;
    }

    /// <summary>
    /// Adds a counter's increases to the steps that end them: between consecutive samples the increase lands in the step
    /// of the later one, so where samples are missing the increase across the gap lands in the step that ends it and
    /// totals are kept. The series' last value carries from one piece to the next, so an increase across a chunk
    /// boundary is kept too.
    /// </summary>
    private void Counter(char kind, RangeSeries series, double[] into, double scale)
    {
        var key = kind + series.Key;
        var has = _lastCounter.TryGetValue(key, out var previous);
        foreach (var p in series.Points)
        {
            if (!double.IsFinite(p.Value))
            {
                Skip(Name(series, "a counter"));
                continue;
            }
            if (has)
            {
                var k = CounterMath.Index(p.UnixSeconds, _options.From, _options.Step) - 1;
                if (k >= 0 && k < _steps) into[k] += CounterMath.Delta(previous, p.Value) * scale;
            }
            previous = p.Value;
            has = true;
        }
        if (has) _lastCounter[key] = previous;
    }

    /// <summary>Adds a gauge's reading at each step's end (DCGM's readings average the window before them), times <paramref name="scale"/>.</summary>
    private void Gauge(RangeSeries series, double[] sum, int[]? count, double scale)
    {
        foreach (var p in series.Points)
        {
            var k = CounterMath.Index(p.UnixSeconds, _options.From, _options.Step) - 1;
            if (k < 0 || k >= _steps) continue;
            if (!double.IsFinite(p.Value))
            {
                Skip(Name(series, "a gauge"));
                continue;
            }
            sum[k] += p.Value * scale;
            if (count is not null) count[k]++;
        }
    }

    private double[] Sum(IEnumerable<double[]?> arrays)
    {
        var total = new double[_steps];
        foreach (var a in arrays)
        {
            if (a is null) continue;
            for (var k = 0; k < _steps; k++) total[k] += a[k];
        }
        return total;
    }

    /// <summary>One value of the match label: a serving instance (with tokens and a group) or GPUs and nodes that share it.</summary>
    private sealed class Member
    {
        public string? Group;
        public readonly HashSet<string> WarnedGroup = new(StringComparer.Ordinal);
        public readonly HashSet<string> Gpus = new(StringComparer.Ordinal);
        public double[]? Prompt;
        public double[]? Output;
        public double[]? Energy;
        public double[]? Node;
        public double[]? SmSum;
        public int[]? SmCount;
    }
}
