using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using EnergyToToken.Analysis;
using EnergyToToken.Load;
using EnergyToToken.Production;

namespace EnergyToToken.Reporting;

/// <summary>Which way a metric improves, so a reader knows what a delta means.</summary>
public enum MetricPreference
{
    LowerIsBetter,
    HigherIsBetter,

    /// <summary>Neither way is better by itself (a power draw, a budget, a binding constraint).</summary>
    Neither,
}

/// <summary>How a ceiling moved from the reference to a candidate.</summary>
public enum CeilingDirection
{
    Up,
    Down,

    /// <summary>Moved by no more than <see cref="ComparisonOptions.SameWithin"/> of the reference.</summary>
    Unchanged,

    /// <summary>One of the two runs does not report the ceiling under that convention.</summary>
    Unknown,
}

/// <summary>What <c>e2t compare</c> takes besides the runs: overrides of the operating point the reference disclosed.</summary>
public sealed record ComparisonOptions
{
    /// <summary>Form of one <c>--quality-tolerance</c>, for messages and help.</summary>
    public const string QualityToleranceForm = "NAME=POINTS, the largest drop still counted as the same quality, in the metric's own units, e.g. mmlu=0.01";

    /// <summary>
    /// Gets the largest drop, per quality name, still counted as the same quality, in the metric's own units. Replaces the
    /// reference run's declared tolerance of that name. Default: none (the reference's declared tolerances).
    /// </summary>
    public IReadOnlyDictionary<string, double> QualityTolerances { get; init; } = new Dictionary<string, double>();

    /// <summary>Gets the latency targets s*, replacing the reference run's SLO. Default: null (the reference run's SLO).</summary>
    public Slo? Slo { get; init; }

    /// <summary>Gets the largest rise in error rate tolerated, a fraction. Default: 0 (no regression, spec §5).</summary>
    public double ErrorRateIncrease { get; init; }

    /// <summary>Gets the relative move of a ceiling at or below which it counts as unchanged. Default: 0.01 (1 %).</summary>
    public double SameWithin { get; init; } = 0.01;

    /// <summary>Every problem, not just the first, each naming the flag that sets it (as <see cref="Analysis.AnalysisOptions"/> does).</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        foreach (var (name, drop) in QualityTolerances)
        {
            if (!(drop >= 0 && double.IsFinite(drop))) errors.Add($"--quality-tolerance {name}: the tolerance must be a finite number of points ≥ 0 (was {F(drop)}).");
        }
        if (!(ErrorRateIncrease >= 0 && ErrorRateIncrease <= 1))
            errors.Add($"--error-rate-tolerance must be a fraction in [0, 1] (was {F(ErrorRateIncrease)}); give 0.01 for 1 percentage point.");
        if (!(SameWithin >= 0 && SameWithin < 1))
            errors.Add($"--same-within must be a fraction in [0, 1) (was {F(SameWithin)}); give 0.01 for 1 %.");
        return errors;
    }

    /// <summary>Reads one <c>NAME=POINTS</c> with an invariant-culture number (a decimal point, never a comma).</summary>
    public static KeyValuePair<string, double> ParseQualityTolerance(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var eq = text.IndexOf('=', StringComparison.Ordinal);
        var name = eq > 0 ? text[..eq].Trim() : "";
        if (name.Length == 0 || !double.TryParse(text[(eq + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var points)
            || !double.IsFinite(points) || points < 0)
            throw new EnergyToTokenException($"--quality-tolerance {text}: write {QualityToleranceForm}.");
        return new(name, points);
    }

    private static string F(double value) => ProductionInputs.Format(value);
}

/// <summary>
/// <c>e2t compare</c>'s model: runs side by side, each against the first (the reference), with relative deltas, the gain
/// check of spec §5 per candidate with every reason, and which ceiling each change moved. Pure: built from the runs'
/// result.json roots; rendered by <see cref="ComparisonJson"/> and <see cref="ComparisonReport"/> (Markdown and HTML). Numbers are in
/// result.json's units (J, W, tok/s, req/s, ms, fractions); null where a run does not report them.
/// </summary>
public sealed partial record Comparison
{
    /// <summary>Schema version of <c>e2t compare --json</c> (<c>kind: e2t.compare</c>, docs/compare.md).</summary>
    public const int SchemaVersion = 1;

    /// <summary>Gets the runs in the order given; the first is the reference.</summary>
    public required IReadOnlyList<ComparedRun> Runs { get; init; }

    /// <summary>Gets the operating point the candidates are held to: the reference's q* and s*, or the overrides.</summary>
    public required ComparisonOperatingPoint OperatingPoint { get; init; }

    /// <summary>Gets one row per metric, a cell per run (in <see cref="Runs"/>' order).</summary>
    public required IReadOnlyList<MetricRow> Metrics { get; init; }

    /// <summary>Gets one entry per run after the reference.</summary>
    public required IReadOnlyList<CandidateComparison> Candidates { get; init; }

    /// <summary>(b − a) / a; null when a is 0 or either is unknown.</summary>
    public static double? RelativeDelta(double? reference, double? value) =>
        reference is { } a && value is { } b && a != 0 && double.IsFinite(a) && double.IsFinite(b) ? (b - a) / a : null;

    /// <summary>Compares every run with the first.</summary>
    public static Comparison Build(IReadOnlyList<ComparisonInput> inputs, ComparisonOptions options)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(options);
        if (inputs.Count < 2)
            throw new EnergyToTokenException($"A comparison needs at least two runs (got {inputs.Count}): the first is the reference, every other one is compared with it.");
        var errors = options.Validate();
        if (errors.Count > 0) throw new EnergyToTokenException(string.Join(Environment.NewLine, errors));
        // GainCheck and the texts below format numbers; the result must not depend on the machine's locale.
        return RunAnalysis.Invariant(() => BuildCore(inputs, options));
    }

    private static Comparison BuildCore(IReadOnlyList<ComparisonInput> inputs, ComparisonOptions options)
    {
        var runs = inputs.Select((input, i) => new RunView(input, Label(i))).ToList();
        var reference = runs[0];
        var point = OperatingPointOf(reference, options);
        var tolerances = new GainTolerances(
            point.Quality.ToDictionary(q => q.Name, q => q.DropPoints, StringComparer.Ordinal),
            point.Latency.ToDictionary(t => t.Target, t => t.LimitMs, StringComparer.Ordinal),
            options.ErrorRateIncrease);
        return new Comparison
        {
            Runs = [.. runs.Select(Describe)],
            OperatingPoint = point,
            Metrics = [.. Definitions.Select(d => Row(d, runs))],
            Candidates = [.. runs.Skip(1).Select(c => Candidate(reference, c, point, tolerances, options))],
        };
    }

    /// <summary>Run labels A, B, … Z, then #27, #28, …</summary>
    private static string Label(int index) => index < 26 ? ((char)('A' + index)).ToString() : $"#{index + 1}";

    // --- the operating point -------------------------------------------------------------------------------------

    private static ComparisonOperatingPoint OperatingPointOf(RunView reference, ComparisonOptions options)
    {
        // q*: a declared quality with a tolerance (as in result.json's operatingPoint); a --quality-tolerance replaces it.
        var quality = new SortedDictionary<string, QualityTolerance>(StringComparer.Ordinal);
        foreach (var q in reference.Qualities.Where(q => q.Source == "declared" && q.Tolerance is not null))
            quality[q.Name] = new QualityTolerance(q.Name, q.Tolerance!.Value, $"declared by {reference.Label}: {q}");
        foreach (var (name, drop) in options.QualityTolerances)
            quality[name] = new QualityTolerance(name, drop, "compare --quality-tolerance");

        List<LatencyTarget> latency = options.Slo is { } slo
            ? [.. slo.Targets.Select(t => new LatencyTarget($"{t.Metric}-{t.Statistic}", t.Metric, t.Statistic, t.LimitSeconds * 1000, "compare --slo"))]
            : [.. reference.Array("slo", "targets").Select(t => (Metric: Str(t, "metric"), Statistic: Str(t, "statistic"), Limit: Num(t, "limitMs")))
                .Where(t => t.Metric is not null && t.Statistic is not null && t.Limit is not null)
                .Select(t => new LatencyTarget($"{t.Metric}-{t.Statistic}", t.Metric!, t.Statistic!, t.Limit!.Value, $"{reference.Label}'s SLO"))];
        return new ComparisonOperatingPoint([.. quality.Values], latency, options.ErrorRateIncrease, options.SameWithin);
    }

    // --- metrics -------------------------------------------------------------------------------------------------

    private sealed record MetricDefinition(string Key, string Label, string Unit, MetricPreference Preference, Func<RunView, double?>? Number, Func<RunView, string>? Text = null);

    private const MetricPreference Lower = MetricPreference.LowerIsBetter;
    private const MetricPreference Higher = MetricPreference.HigherIsBetter;
    private const MetricPreference Neither = MetricPreference.Neither;

    /// <summary>The compared metrics: the headline figures of spec §6, in result.json's units.</summary>
    private static readonly MetricDefinition[] Definitions =
    [
        new("grossJoulesPerOutputToken", "J/output token, gross", "J", Lower, r => r.Num("metrics", "joulesPerOutputToken", "gross")),
        new("dynamicJoulesPerOutputToken", "J/output token, dynamic (idle subtracted)", "J", Lower, r => r.Num("metrics", "joulesPerOutputToken", "dynamic")),
        new("facilityJoulesPerOutputToken", "J/output token, facility (× PUE)", "J", Lower, r => r.Num("metrics", "joulesPerOutputToken", "facility")),
        new("grossJoulesPerTotalToken", "J/total token, gross", "J", Lower, r => r.Num("metrics", "joulesPerTotalToken", "gross")),
        new("dynamicJoulesPerTotalToken", "J/total token, dynamic", "J", Lower, r => r.Num("metrics", "joulesPerTotalToken", "dynamic")),
        new("prefillJoulesPerInputToken", "prefill J/input token, gross", "J", Lower, r => r.Num("metrics", "prefillJoulesPerInputToken", "gross")),
        new("decodeJoulesPerOutputToken", "decode J/output token, gross", "J", Lower, r => r.Num("metrics", "decodeJoulesPerOutputToken", "gross")),
        new("outputTokensPerSecond", "output tokens/s", "tok/s", Higher, r => r.Num("metrics", "throughput", "outputTokensPerSecond")),
        new("goodputRequestsPerSecond", "goodput (own SLO)", "req/s", Higher, r => r.Num("metrics", "throughput", "goodputRequestsPerSecond")),
        new("ttftP99Ms", "TTFT p99", "ms", Lower, r => r.Num("metrics", "latency", "ttftMs", "p99")),
        new("tpotP99Ms", "TPOT p99", "ms", Lower, r => r.Num("metrics", "latency", "tpotMs", "p99")),
        new("e2eP99Ms", "E2E p99", "ms", Lower, r => r.Num("metrics", "latency", "e2eMs", "p99")),
        new("errorRate", "error rate", "fraction", Lower, r => r.Num("requests", "errorRate")),
        new("meanWatts", "mean power", "W", Neither, r => r.Str("metrics", "window") is { } window ? r.Num("windows", window, "meanWatts") : null),
        new("pItWatts", "P_IT budget", "W", Neither, r => r.Num("production", "pItWatts")),
        new("utilization", "utilization U", "fraction", Higher, r => r.Num("production", "utilization", "value")),
        new("utilizationAdjustedTokensPerSecond", "utilization-adjusted output", "tok/s", Higher, r => r.Num("production", "utilizationAdjustedTokensPerSecond")),
        new("kappaFlopPerToken", "κ", "FLOP/token", Lower, r => r.Num("production", "kappaFlopPerToken")),
        new("effectiveComputeFlopPerSecond", "C_eff (realized)", "FLOP/s", Higher, r => r.Num("production", "effectiveComputeFlopPerSecond")),
        new("peakComputeFlopPerSecond", "C_peak", "FLOP/s", Higher, r => r.Num("production", "peakComputeFlopPerSecond")),
        new("computeCeilingRealized", "compute ceiling, realized", "tok/s", Higher, r => r.Ceiling("realized", "compute")),
        new("powerCeilingRealized", "power ceiling, realized", "tok/s", Higher, r => r.Ceiling("realized", "power")),
        new("bindingConstraintRealized", "binding constraint, realized", "", Neither, null, r => r.Binding("realized")),
        new("computeCeilingPeak", "compute ceiling, peak", "tok/s", Higher, r => r.Ceiling("peak", "compute")),
        new("powerCeilingPeak", "power ceiling, peak", "tok/s", Higher, r => r.Ceiling("peak", "power")),
        new("bindingConstraintPeak", "binding constraint, peak", "", Neither, null, r => r.Binding("peak")),
    ];

    private static MetricRow Row(MetricDefinition d, IReadOnlyList<RunView> runs)
    {
        if (d.Text is { } text) return new MetricRow(d.Key, d.Label, d.Unit, d.Preference, [.. runs.Select(r => new MetricCell(null, text(r), null))]);
        var values = runs.Select(r => d.Number!(r)).ToList();
        return new MetricRow(d.Key, d.Label, d.Unit, d.Preference,
            [.. values.Select((v, i) => new MetricCell(v, null, i == 0 ? null : RelativeDelta(values[0], v)))]);
    }

    // --- one candidate ---------------------------------------------------------------------------------------------

    private static CandidateComparison Candidate(RunView reference, RunView candidate, ComparisonOperatingPoint point, GainTolerances tolerances, ComparisonOptions options)
    {
        var verdict = GainCheck.Evaluate(Observe(reference, point), Observe(candidate, point), tolerances);
        var notes = new List<string>();
        List<GainCheckItem> checks = [.. Validity(reference, candidate), .. verdict.Checks, .. Workload(reference, candidate, notes), .. Boundary(reference, candidate, notes)];

        foreach (var name in candidate.Qualities.Select(q => q.Name).Distinct().Where(n => !reference.Qualities.Any(q => q.Name == n)).Order(StringComparer.Ordinal))
            notes.Add($"{candidate.Label} reports quality '{name}', which {reference.Label} does not: not compared.");
        var (sloA, sloB) = (reference.Str("slo", "spec"), candidate.Str("slo", "spec"));
        if (options.Slo is null && reference.Bool("slo", "met") == false)
            notes.Add($"{reference.Label} itself missed its SLO ({sloA}): the envelope the candidate is held to is not where the reference ran.");
        if (sloA != sloB)
            notes.Add($"Goodput counts requests within each run's own SLO ({reference.Label}: {sloA ?? "none"}; {candidate.Label}: {sloB ?? "none"}), so its delta compares different things.");

        var ceilings = new List<CeilingChange>();
        var bindings = new List<BindingChange>();
        foreach (var convention in Conventions)
        {
            foreach (var ceiling in new[] { "compute", "power" })
                ceilings.Add(Move(convention, ceiling, reference.Ceiling(convention, ceiling), candidate.Ceiling(convention, ceiling), options.SameWithin));
            var (a, b) = (reference.Binding(convention), candidate.Binding(convention));
            bindings.Add(new BindingChange(convention, a, b, a != ResultReport.NotDisclosed && b != ResultReport.NotDisclosed && a != b));
        }
        return new CandidateComparison
        {
            Label = candidate.Label,
            Counts = checks.All(c => c.Passed),
            Checks = checks,
            EpsilonRatio = verdict.EpsilonRatio,
            ThroughputRatio = verdict.ThroughputRatio,
            Ceilings = ceilings,
            BindingConstraints = bindings,
            Summary = Summary(ceilings, bindings),
            Notes = notes,
        };
    }

    private static readonly string[] Conventions = ["realized", "peak"];

    private static OperatingPointObservation Observe(RunView run, ComparisonOperatingPoint point)
    {
        // A quality measured by the run (a quality set) is its value; one only declared (measured elsewhere) stands in.
        var quality = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var q in run.Qualities.OrderBy(q => q.Source != "declared" ? 1 : 0)) quality[q.Name] = q.Value;
        var latency = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var t in point.Latency)
        {
            // result.json spells p99.9 as p99_9 (a JSON name); the SLO as the flag writes it.
            if (run.Num("metrics", "latency", t.Metric + "Ms", t.Statistic.Replace('.', '_')) is { } ms) latency[t.Target] = ms;
        }
        return new OperatingPointObservation(run.Label, quality, latency, run.Num("requests", "errorRate")!.Value,
            Positive(run.Num("production", "epsilonJoulesPerToken")), Positive(run.Num("metrics", "throughput", "outputTokensPerSecond")));
    }

    private static double? Positive(double? value) => value > 0 ? value : null;

    /// <summary>A run that was cut short or judged invalid shows nothing either way.</summary>
    private static IEnumerable<GainCheckItem> Validity(RunView reference, RunView candidate)
    {
        var problems = new List<string>();
        foreach (var run in new[] { reference, candidate })
        {
            if (run.Bool("complete") != true) problems.Add($"{run.Label} is incomplete (interrupted): its figures cover part of the planned load.");
            if (run.Bool("valid") != true)
            {
                var why = run.Array("problems").Select(p => p.GetString()).OfType<string>().ToList();
                problems.Add($"{run.Label} is not a valid run{(why.Count > 0 ? $" ({string.Join("; ", why)})" : "")}.");
            }
        }
        yield return problems.Count == 0
            ? new GainCheckItem("valid runs", true, $"{reference.Label} and {candidate.Label} are complete and valid.")
            : new GainCheckItem("valid runs", false, string.Join(" ", problems) + " A result that is not valid cannot show a gain.");
    }

    /// <summary>What the run served: these differ → different work, the figures do not compare directly.</summary>
    private static readonly (string Section, string Field, string Label)[] WorkloadFields =
    [
        ("workload", "inputTokens", "input lengths"),
        ("workload", "outputTokens", "output lengths"),
        ("workload", "fixedOutput", "fixed output lengths (ignore_eos)"),
        ("workload", "sharedPrefixTokens", "shared prefix (tokens)"),
        ("workload", "dataset", "dataset"),
        ("workload", "datasetFormat", "dataset format"),
        ("arrivals", "kind", "arrival process"),
        ("arrivals", "concurrency", "concurrency"),
        ("arrivals", "rate", "rate (requests/s)"),
        ("arrivals", "rampTo", "ramp to"),
        ("arrivals", "burstiness", "burstiness"),
        ("arrivals", "traceSpeed", "trace speed"),
    ];

    /// <summary>How the load was measured, not what it was: a difference is noted, not a reason.</summary>
    private static readonly (string Section, string Field, string Label)[] MeasurementFields =
    [
        ("arrivals", "durationSeconds", "duration (s)"),
        ("arrivals", "count", "measured requests"),
        ("workload", "seed", "seed (same distributions, other draws)"),
        ("workload", "warmupRequests", "warm-up requests"),
        ("workload", "drainSeconds", "drain (s)"),
    ];

    private static List<GainCheckItem> Workload(RunView reference, RunView candidate, List<string> notes)
    {
        var items = new List<GainCheckItem>();
        foreach (var (section, field, label) in WorkloadFields)
        {
            var (a, b) = (reference.Raw(section, field), candidate.Raw(section, field));
            if (a != b)
                items.Add(new($"{section} {field}", false, $"Different {label}: {a} in {reference.Label}, {b} in {candidate.Label}. The runs served different work, so they do not compare directly."));
        }
        foreach (var (section, field, label) in MeasurementFields)
        {
            var (a, b) = (reference.Raw(section, field), candidate.Raw(section, field));
            if (a != b) notes.Add($"Not a workload difference: {label} {a} in {reference.Label}, {b} in {candidate.Label}.");
        }
        if (items.Count == 0)
        {
            var lengths = $"input {reference.Raw("workload", "inputTokens")}, output {reference.Raw("workload", "outputTokens")}";
            items.Add(new("workload", true, $"Same workload ({lengths}, shared prefix {reference.Raw("workload", "sharedPrefixTokens")}, dataset {reference.Raw("workload", "dataset")}) and arrivals ({reference.Str("disclosure", "workload", "arrivalProcess") ?? "not disclosed"})."));
        }
        return items;
    }

    /// <summary>Device counts stripped from a boundary's text: "2 × accelerator" and "1 × accelerator" are the same kind of boundary.</summary>
    private static string Kind(string boundary) => DeviceCount().Replace(boundary, "");

    [GeneratedRegex(@"\d+ × ")]
    private static partial Regex DeviceCount();

    private static IEnumerable<GainCheckItem> Boundary(RunView reference, RunView candidate, List<string> notes)
    {
        var (a, b) = (reference.Str("energy", "total", "boundary"), candidate.Str("energy", "total", "boundary"));
        if (a is null || b is null)
        {
            var without = string.Join(" and ", new[] { a is null ? reference.Label : null, b is null ? candidate.Label : null }.OfType<string>());
            yield return new("boundary", false, $"{without} measured no energy (energy is null), so J/token has no boundary to compare.");
        }
        else if (Kind(a) != Kind(b))
        {
            yield return new("boundary", false, $"The energy-accounting boundary differs: '{a}' in {reference.Label}, '{b}' in {candidate.Label}. Energy inside different boundaries does not compare; measure both at the same one.");
        }
        else
        {
            if (a != b) notes.Add($"The same kind of boundary around a different number of devices: '{a}' in {reference.Label}, '{b}' in {candidate.Label}.");
            yield return new("boundary", true, $"Same energy-accounting boundary: {a}.");
        }

        var (accountingA, accountingB) = (reference.Str("energy", "total", "accounting"), candidate.Str("energy", "total", "accounting"));
        if (accountingA is not null && accountingB is not null)
        {
            yield return accountingA == accountingB
                ? new("accounting", true, $"Both {accountingA}.")
                : new("accounting", false, $"Energy is {accountingA} in {reference.Label} but {accountingB} in {candidate.Label}: a simulated or modeled figure does not compare with a measured one.");
        }

        var (windowA, windowB) = (reference.Str("metrics", "window"), candidate.Str("metrics", "window"));
        yield return windowA == windowB
            ? new("headline window", true, $"Both headline figures over the {windowA} window.")
            : new("headline window", false, $"The headline window differs: {windowA ?? "none"} in {reference.Label}, {windowB ?? "none"} in {candidate.Label}. Analyse both over one, e.g. e2t analyze RUN_DIR --window {windowA ?? "steady"} --write.");

        var (pueA, pueB) = (reference.Str("disclosure", "hardwareAndBoundary", "pueSource"), candidate.Str("disclosure", "hardwareAndBoundary", "pueSource"));
        if (pueA != pueB) notes.Add($"The PUE source differs ({reference.Label}: {pueA ?? "not disclosed"}; {candidate.Label}: {pueB ?? "not disclosed"}): facility J/token compares different conversions.");
    }

    private static CeilingChange Move(string convention, string ceiling, double? a, double? b, double sameWithin)
    {
        var delta = RelativeDelta(a, b);
        var direction = (a, b) switch
        {
            (null, _) or (_, null) => CeilingDirection.Unknown,
            _ when a == b || Math.Abs(delta ?? double.PositiveInfinity) <= sameWithin => CeilingDirection.Unchanged,
            _ => b > a ? CeilingDirection.Up : CeilingDirection.Down,
        };
        return new CeilingChange(convention, ceiling, a, b, delta, direction);
    }

    /// <summary>"power ceiling down 61.7 % (realized), ..." in one line, for a summary.</summary>
    private static string Summary(IReadOnlyList<CeilingChange> ceilings, IReadOnlyList<BindingChange> bindings)
    {
        var parts = new List<string>();
        foreach (var group in ceilings.GroupBy(c => c.Ceiling))
        {
            var known = group.Where(c => c.Direction != CeilingDirection.Unknown).ToList();
            if (known.Count == 0) continue;
            parts.Add($"{group.Key} ceiling " + string.Join(", ", known.Select(c => c.Direction switch
            {
                CeilingDirection.Unchanged => $"unchanged ({c.Convention})",
                _ => $"{(c.Direction == CeilingDirection.Up ? "up" : "down")} {Percent(c.RelativeChange)} ({c.Convention})",
            })));
        }
        foreach (var b in bindings.Where(b => b.Reference != ResultReport.NotDisclosed || b.Candidate != ResultReport.NotDisclosed))
            parts.Add($"binding constraint ({b.Convention}) " + (b.Reference == b.Candidate ? $"stays {b.Reference}" : $"{b.Reference} → {b.Candidate}"));
        return parts.Count == 0 ? "no ceiling reported by both runs" : string.Join("; ", parts);
    }

    private static string Percent(double? fraction) =>
        fraction is { } f ? (Math.Abs(f) * 100).ToString("0.0", CultureInfo.InvariantCulture) + " %" : "by an unknown amount";

    private static ComparedRun Describe(RunView r) => new()
    {
        Label = r.Label,
        Source = r.Input.Source,
        Name = r.Str("name") ?? ResultReport.NotDisclosed,
        StartedUtc = r.Str("startedUtc"),
        ToolVersion = r.Str("toolVersion"),
        Model = r.Str("disclosure", "modelAndSoftware", "model") ?? ResultReport.NotDisclosed,
        Devices = r.Str("disclosure", "hardwareAndBoundary", "devices") ?? ResultReport.NotDisclosed,
        Precision = r.Str("disclosure", "modelAndSoftware", "precision") ?? ResultReport.NotDisclosed,
        PowerLimits = r.Str("disclosure", "hardwareAndBoundary", "powerLimits") ?? ResultReport.NotDisclosed,
        Engine = r.Str("disclosure", "modelAndSoftware", "engine") ?? ResultReport.NotDisclosed,
        Lengths = $"{r.Str("disclosure", "workload", "inputLengths") ?? ResultReport.NotDisclosed} in, {r.Str("disclosure", "workload", "outputLengths") ?? ResultReport.NotDisclosed} out",
        Arrivals = r.Str("disclosure", "workload", "arrivalProcess") ?? ResultReport.NotDisclosed,
        Boundary = r.Str("energy", "total", "boundary") ?? "no energy measured",
        Accounting = r.Str("energy", "total", "accounting") ?? ResultReport.NotDisclosed,
        Window = r.Str("metrics", "window") ?? ResultReport.NotDisclosed,
        Slo = r.Str("slo", "spec"),
        Quality = [.. r.Qualities.Select(q => $"{q} ({q.Source})")],
        Simulated = r.Bool("simulated") == true,
        Complete = r.Bool("complete") == true,
        Valid = r.Bool("valid") == true,
        Flags = [.. r.Array("flags").Select(f => f.GetString()).OfType<string>()],
    };

    // --- reading result.json ---------------------------------------------------------------------------------------

    internal static JsonElement? At(JsonElement e, params string[] path) => ResultJson.At(e, path);

    private static double? Num(JsonElement e, params string[] path) => At(e, path) is { ValueKind: JsonValueKind.Number } v ? v.GetDouble() : null;

    private static string? Str(JsonElement e, params string[] path) => At(e, path) is { ValueKind: JsonValueKind.String } v ? v.GetString() : null;

    /// <summary>One run's result with the readings the comparison needs; unknown numbers and texts are null.</summary>
    private sealed class RunView(ComparisonInput input, string label)
    {
        public ComparisonInput Input { get; } = input;

        public string Label { get; } = label;

        public IReadOnlyList<QualityDeclaration> Qualities { get; } =
            [.. Items(input.Result, "operatingPoint", "quality")
                .Where(q => Comparison.Str(q, "name") is not null && Comparison.Num(q, "value") is not null)
                .Select(q => new QualityDeclaration(Comparison.Str(q, "name")!, Comparison.Num(q, "value")!.Value, Comparison.Num(q, "tolerance"), Comparison.Str(q, "source") ?? "declared"))];

        public double? Num(params string[] path) => Comparison.Num(Input.Result, path);

        public string? Str(params string[] path) => Comparison.Str(Input.Result, path);

        public bool? Bool(params string[] path) => At(Input.Result, path) is { ValueKind: JsonValueKind.True or JsonValueKind.False } v ? v.GetBoolean() : null;

        public List<JsonElement> Array(params string[] path) => Items(Input.Result, path);

        /// <summary>A field as JSON text (strings unquoted), "none" when absent or null: what the workload comparison compares and shows.</summary>
        public string Raw(string section, string field) => At(Input.Result, section, field) switch
        {
            null => "none",
            { ValueKind: JsonValueKind.String } s => s.GetString()!,
            { } v => v.GetRawText(),
        };

        public double? Ceiling(string convention, string ceiling) =>
            Array("production", "conventions").FirstOrDefault(c => Comparison.Str(c, "convention") == convention) is { ValueKind: JsonValueKind.Object } c
                ? Comparison.Num(c, ceiling + "CeilingTokensPerSecond")
                : null;

        public string Binding(string convention) => Str("production", "bindingConstraint", convention) ?? ResultReport.NotDisclosed;

        private static List<JsonElement> Items(JsonElement root, params string[] path) =>
            At(root, path) is { ValueKind: JsonValueKind.Array } a ? [.. a.EnumerateArray()] : [];
    }
}

/// <summary>One run as the comparison shows it: its identity and the facts that decide whether runs compare.</summary>
public sealed record ComparedRun
{
    /// <summary>Gets A, B, C, …; A is the reference.</summary>
    public required string Label { get; init; }

    /// <summary>Gets the run as it was named on the command line (a directory or a result.json).</summary>
    public required string Source { get; init; }

    public required string Name { get; init; }

    public string? StartedUtc { get; init; }

    public string? ToolVersion { get; init; }

    public required string Model { get; init; }

    public required string Devices { get; init; }

    public required string Precision { get; init; }

    public required string PowerLimits { get; init; }

    public required string Engine { get; init; }

    /// <summary>Gets the input and output length distributions, e.g. "fixed:256 in, fixed:64 out".</summary>
    public required string Lengths { get; init; }

    /// <summary>Gets the arrival process in words, e.g. "closed loop, concurrency 16, 4 s".</summary>
    public required string Arrivals { get; init; }

    /// <summary>Gets the energy-accounting boundary, or "no energy measured".</summary>
    public required string Boundary { get; init; }

    /// <summary>Gets measured, modeled or simulated.</summary>
    public required string Accounting { get; init; }

    /// <summary>Gets the headline window: steady or whole.</summary>
    public required string Window { get; init; }

    /// <summary>Gets the run's own SLO as written, null without one.</summary>
    public string? Slo { get; init; }

    /// <summary>Gets each quality at the operating point as "NAME=VALUE[±TOL] (source)".</summary>
    public required IReadOnlyList<string> Quality { get; init; }

    public bool Simulated { get; init; }

    public bool Complete { get; init; }

    public bool Valid { get; init; }

    public required IReadOnlyList<string> Flags { get; init; }
}

/// <summary>The operating point every candidate is held to (spec §5).</summary>
/// <param name="Quality">q*: per quality, the largest drop from the reference still counted as the same quality.</param>
/// <param name="Latency">s*: the latency targets the candidate must meet.</param>
/// <param name="ErrorRateIncrease">The largest rise in error rate tolerated, a fraction.</param>
/// <param name="SameWithin">The relative move of a ceiling at or below which it counts as unchanged.</param>
public sealed record ComparisonOperatingPoint(
    IReadOnlyList<QualityTolerance> Quality,
    IReadOnlyList<LatencyTarget> Latency,
    double ErrorRateIncrease,
    double SameWithin);

/// <summary>One quality's tolerance: a drop of at most <paramref name="DropPoints"/> (the metric's units) counts as the same.</summary>
/// <param name="Source">Where it came from: the reference's declaration or <c>--quality-tolerance</c>.</param>
public sealed record QualityTolerance(string Name, double DropPoints, string Source);

/// <summary>One latency target of s*: the candidate's <paramref name="Statistic"/> of <paramref name="Metric"/> at most <paramref name="LimitMs"/>.</summary>
/// <param name="Target">The key, as the SLO flag writes it: <c>ttft-p99</c>.</param>
/// <param name="Source">Where it came from: the reference run's SLO or <c>--slo</c>.</param>
public sealed record LatencyTarget(string Target, string Metric, string Statistic, double LimitMs, string Source);

/// <summary>One metric across the runs.</summary>
/// <param name="Key">A stable camelCase name, e.g. <c>grossJoulesPerOutputToken</c>.</param>
/// <param name="Unit">J, W, tok/s, req/s, ms, FLOP/token, FLOP/s, fraction; empty for a text row.</param>
/// <param name="Cells">One per run, in the comparison's run order.</param>
public sealed record MetricRow(string Key, string Label, string Unit, MetricPreference Preference, IReadOnlyList<MetricCell> Cells);

/// <summary>One run's value of a metric: a number or, for a text row (a binding constraint), a text.</summary>
/// <param name="RelativeDelta">(value − reference) / reference; null for the reference, a text, a zero reference or an unknown value.</param>
public sealed record MetricCell(double? Value, string? Text, double? RelativeDelta);

/// <summary>One candidate against the reference: whether the change counts as a gain, why, and what it moved.</summary>
public sealed record CandidateComparison
{
    public required string Label { get; init; }

    /// <summary>Gets whether every check held: the operating point was preserved and the runs compare directly (spec §5).</summary>
    public bool Counts { get; init; }

    /// <summary>Gets every check made, passed or not: validity, quality, latency, error rate (GainCheck), workload, boundary.</summary>
    public required IReadOnlyList<GainCheckItem> Checks { get; init; }

    /// <summary>Gets ε candidate / ε reference when both are known (below 1: fewer joules per token).</summary>
    public double? EpsilonRatio { get; init; }

    /// <summary>Gets output tokens/s candidate / reference when both are known.</summary>
    public double? ThroughputRatio { get; init; }

    /// <summary>Gets each ceiling under each convention: realized compute, realized power, peak compute, peak power.</summary>
    public required IReadOnlyList<CeilingChange> Ceilings { get; init; }

    /// <summary>Gets the binding constraint under each convention: realized, peak.</summary>
    public required IReadOnlyList<BindingChange> BindingConstraints { get; init; }

    /// <summary>Gets which ceilings moved, in one line.</summary>
    public required string Summary { get; init; }

    /// <summary>Gets differences that are not reasons but change how to read the deltas.</summary>
    public required IReadOnlyList<string> Notes { get; init; }

    /// <summary>Gets why the change does not count: the detail of every failed check (empty when it counts).</summary>
    public IEnumerable<string> Reasons => Checks.Where(c => !c.Passed).Select(c => c.Detail);
}

/// <summary>How one ceiling moved.</summary>
/// <param name="Convention">realized or peak.</param>
/// <param name="Ceiling">compute (C / κ) or power (P_IT / ε), tokens/s.</param>
public sealed record CeilingChange(string Convention, string Ceiling, double? Reference, double? Candidate, double? RelativeChange, CeilingDirection Direction);

/// <summary>The binding constraint under one convention in both runs ("not disclosed" where a run has none).</summary>
public sealed record BindingChange(string Convention, string Reference, string Candidate, bool Changed);
