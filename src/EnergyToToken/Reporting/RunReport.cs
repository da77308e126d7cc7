using System.Text.Json;
using EnergyToToken.Analysis;
using EnergyToToken.Load;
using static EnergyToToken.Reporting.ReportDocument;
using static EnergyToToken.Reporting.ResultJson;

namespace EnergyToToken.Reporting;

/// <summary>
/// A run's report, <c>report.md</c> and <c>report.html</c>, written with every run and by <c>e2t report RUN_DIR</c>.
/// Every figure comes from the run's <c>result.json</c> (so the report says exactly what the result says, and renders
/// the same bytes whenever it is made); the charts come from the timelines. Documented in docs/reports.md.
/// </summary>
public static class RunReport
{
    public const string MarkdownFile = "report.md";
    public const string HtmlFile = "report.html";

    /// <summary>report.md and report.html of a run, from its result.json text and its timelines, to write beside them.</summary>
    public static IReadOnlyList<(string File, string Text)> Render(RunData run, string resultJson)
    {
        using var result = JsonDocument.Parse(resultJson);
        var document = Build(result.RootElement, run);
        return [(MarkdownFile, document.ToMarkdown()), (HtmlFile, document.ToHtml())];
    }

    /// <summary>The report of a result; <paramref name="run"/> adds the time charts (null: the figures only).</summary>
    internal static ReportDocument Build(JsonElement result, RunData? run) => RunAnalysis.Invariant(() => BuildCore(result, run));

    private static ReportDocument BuildCore(JsonElement r, RunData? run)
    {
        var name = Text(r, "name") ?? "run";
        var blocks = new List<ReportBlock>();
        var simulated = Bool(r, "simulated") == true;
        blocks.Add(new ParagraphBlock(string.Join(" ", new[]
        {
            $"Started {Text(r, "startedUtc")} UTC; {Text(r, "target.model") ?? "model not disclosed"} at {Text(r, "target.endpoint") ?? "an endpoint not recorded"};",
            $"{(Bool(r, "complete") == true ? "complete" : "INCOMPLETE: cut short, what was measured is kept")}, {(Bool(r, "valid") == true ? "valid" : "INVALID (see problems)")}.",
            simulated ? "SIMULATED: the embedded twin's power is modelled, not measured on hardware; its figures show the method, not a machine." : "",
            $"e2t {Text(r, "toolVersion")}, result schema {Text(r, "schemaVersion") ?? "—"}.",
        }.Where(s => s.Length > 0))));
        blocks.Add(new FlagsBlock(Strings(r, "flags")));

        blocks.Add(new HeadingBlock(1, "Headline", "headline"));
        blocks.Add(new CardBlock(Card(r)));
        foreach (var (label, key) in new[] { ("Problems", "problems"), ("Notes", "notes") })
        {
            var items = Strings(r, key);
            if (items.Count > 0) blocks.Add(new ParagraphBlock($"{label}: {string.Join("; ", items)}."));
        }

        blocks.Add(new HeadingBlock(1, "Ceilings and the binding constraint", "ceilings"));
        blocks.AddRange(CeilingBlocks(r));

        blocks.Add(new HeadingBlock(1, "Power, load and throughput over time", "timeline"));
        blocks.AddRange(TimelineBlocks(r, run));

        blocks.Add(new HeadingBlock(1, "Latency at the operating point", "latency"));
        blocks.AddRange(LatencyBlocks(r, run));

        blocks.Add(new HeadingBlock(1, "Energy by phase and per request", "attribution"));
        blocks.AddRange(AttributionBlocks(r));

        blocks.Add(new HeadingBlock(1, "Disclosure", "disclosure"));
        blocks.Add(new ParagraphBlock("The six dimensions that make results comparable (spec §6). An item the run could not know is shown as \"not disclosed\"."));
        foreach (var (key, title) in Dimensions)
        {
            if (!At(r, $"disclosure.{key}").HasValue) continue;
            blocks.Add(new TableBlock(["item", "value"], [.. At(r, $"disclosure.{key}")!.Value.EnumerateObject().Select(p => (IReadOnlyList<string>)[Label(p.Name), Text(r, $"disclosure.{key}.{p.Name}") ?? ResultReport.NotDisclosed])], title));
        }

        blocks.Add(new HeadingBlock(1, "Metrics and their formulas", "formulas"));
        blocks.Add(new ParagraphBlock("Every figure above, its value in this run and the formula it comes from (docs/analysis.md and docs/load.md give the details), so a reader can check it."));
        blocks.Add(new TableBlock(["metric", "value", "formula"], [.. Formulas(r).Select(f => (IReadOnlyList<string>)[f.Metric, f.Value, f.Formula])]));
        return new ReportDocument($"e2t run report: {name}", blocks);
    }

    private static readonly string[] LatencyStatistics = ["mean", "p50", "p90", "p95", "p99", "p99_9", "max"];
    private static readonly string[] RequestStatistics = ["mean", "p50", "p90", "p99", "max"];

    private static readonly (string Key, string Title)[] Dimensions =
    [
        ("operatingPoint", "1. Operating point"),
        ("workload", "2. Workload"),
        ("modelAndSoftware", "3. Model and software"),
        ("hardwareAndBoundary", "4. Hardware and energy-accounting boundary"),
        ("ceilings", "5. Ceilings and binding constraint"),
        ("utilizationAndOutput", "6. Utilization and output"),
    ];

    private static List<CardItem> Card(JsonElement r)
    {
        var window = Text(r, "metrics.window") ?? "whole";
        var seconds = Double(r, $"windows.{window}.seconds");
        var boundary = Text(r, "disclosure.hardwareAndBoundary.boundary") ?? ResultReport.NotDisclosed;
        var headline = Text(r, "production.headlineConvention");
        var conventions = Conventions(r);
        var main = conventions.FirstOrDefault(c => c.Convention == headline);
        var items = new List<CardItem>
        {
            new("J per output token (gross)", Number(Double(r, "metrics.joulesPerOutputToken.gross"), "J"),
                $"{window} window, {Number(seconds, "s")}; ± {Number(Double(r, "metrics.joulesPerOutputToken.meterUncertainty"))} meter bound, ± {Number(Double(r, "metrics.joulesPerOutputToken.bootstrapStd"))} bootstrap std; {boundary}"),
            new("J per output token (dynamic)", Number(Double(r, "metrics.joulesPerOutputToken.dynamic"), "J"), "idle power × window subtracted"),
            new("J per total token", $"{Number(Double(r, "metrics.joulesPerTotalToken.gross"), "J")} / {Number(Double(r, "metrics.joulesPerTotalToken.dynamic"), "J")}", "gross / dynamic, over input + output tokens"),
            new("Prefill J per input token", $"{Number(Double(r, "metrics.prefillJoulesPerInputToken.gross"), "J")} / {Number(Double(r, "metrics.prefillJoulesPerInputToken.dynamic"), "J")}", "gross / dynamic, from the per-request attribution"),
            new("Decode J per output token", $"{Number(Double(r, "metrics.decodeJoulesPerOutputToken.gross"), "J")} / {Number(Double(r, "metrics.decodeJoulesPerOutputToken.dynamic"), "J")}", "gross / dynamic, from the per-request attribution"),
            new("Binding constraint", main is null ? ResultReport.NotDisclosed : $"{main.Binding} ({main.Convention})",
                string.Join("; ", conventions.Select(c => $"{c.Convention}: {c.Binding}, compute ceiling {Number(c.Compute, "tok/s")}, power ceiling {Number(c.Power, "tok/s")}")) is { Length: > 0 } both ? both : "needs κ, ε, C_eff and P_IT"),
            new("Delivered IT power P_IT", Number(Double(r, "production.pItWatts"), "W"), Text(r, "production.pItSource") ?? ResultReport.NotDisclosed),
            new("PUE-adjusted facility power", Number(Double(r, "production.pFacilityWatts"), "W"),
                Double(r, "production.pFacilityWatts") is null ? "no PUE given (--pue, --pue-series or --p-facility)" : $"P_IT × PUE; facility J per output token {Number(Double(r, "metrics.joulesPerOutputToken.facility"), "J")}"),
            new("Utilization-adjusted output", Number(Double(r, "production.utilizationAdjustedTokensPerSecond"), "tok/s"),
                $"U = {Number(Double(r, "production.utilization.value"), 3)} ({Text(r, "production.utilization.source")}) × the lower ceiling"),
            new("Throughput", Number(Double(r, "metrics.throughput.outputTokensPerSecond"), "tok/s"),
                $"output tokens per second, {window} window; goodput {Number(Double(r, "metrics.goodputRequestsPerSecond"), "req/s")}"),
            new("Quality at the operating point", Text(r, "disclosure.operatingPoint.quality") ?? ResultReport.NotDisclosed, Bool(r, "operatingPoint.qualityMet") switch
            {
                true => "target q* met",
                false => "target q* MISSED",
                null => "no declared target with a tolerance to check",
            }),
            new("Latency at the operating point", Bool(r, "operatingPoint.latencyMet") switch { true => "SLO met", false => "SLO MISSED", null => "no SLO given" },
                $"{(Text(r, "operatingPoint.latency") is { } spec ? $"s* {spec}; " : "")}TTFT p99 {Number(Double(r, "metrics.latency.ttftMs.p99"), "ms")}, TPOT p99 {Number(Double(r, "metrics.latency.tpotMs.p99"), "ms")}"),
        };
        return items;
    }

    private sealed record ConventionRow(string Convention, double? ComputeFlops, double? ItWatts, double? Compute, double? Power, string Binding, double? Headroom, double? Phi, double? Sigma, double? Adjusted, string Explanation);

    private static List<ConventionRow> Conventions(JsonElement r) =>
        At(r, "production.conventions") is { ValueKind: JsonValueKind.Array } array
            ? [.. array.EnumerateArray().Select(c => new ConventionRow(Text(c, "convention")!, Double(c, "computeFlopPerSecond"), Double(c, "itPowerWatts"),
                Double(c, "computeCeilingTokensPerSecond"), Double(c, "powerCeilingTokensPerSecond"), Text(c, "bindingConstraint")!, Double(c, "headroom"),
                Double(c, "phiJoulesPerFlop"), Double(c, "sigmaJoulesPerFlop"), Double(c, "utilizationAdjustedTokensPerSecond"), Text(c, "explanation") ?? ""))]
            : [];

    private static IEnumerable<ReportBlock> CeilingBlocks(JsonElement r)
    {
        var conventions = Conventions(r);
        var headline = Text(r, "production.headlineConvention");
        if (conventions.Count == 0)
        {
            yield return new ParagraphBlock($"No ceilings: the production function needs {string.Join(", ", Strings(r, "production.missing").DefaultIfEmpty("its inputs"))}.");
            yield break;
        }
        yield return new ParagraphBlock("Compute ceiling = C / κ; power ceiling = P_IT / ε; the lower one binds. The realized convention (C_eff = κ × R_sat) is the headline where R_sat is known; the peak convention (C_peak from the spec sheet) is an upper bound only.");
        var emphasis = new HashSet<int>(conventions.Select((c, i) => (c, i)).Where(x => x.c.Convention == headline).Select(x => x.i));
        yield return new TableBlock(["convention", "C (FLOP/s)", "P_IT (W)", "compute ceiling (tok/s)", "power ceiling (tok/s)", "binding", "headroom σ/φ", "φ (J/FLOP)", "σ (J/FLOP)", "U-adjusted output (tok/s)"],
            [.. conventions.Select(c => (IReadOnlyList<string>)[c.Convention + (c.Convention == headline ? " (headline)" : ""), Number(c.ComputeFlops), Number(c.ItWatts), Number(c.Compute), Number(c.Power), c.Binding, Number(c.Headroom), Number(c.Phi), Number(c.Sigma), Number(c.Adjusted)])],
            Emphasis: emphasis);
        foreach (var c in conventions) yield return new ParagraphBlock($"{c.Convention}: {c.Explanation}");
        var missing = Strings(r, "production.missing");
        if (missing.Count > 0) yield return new ParagraphBlock($"Not computed: {string.Join("; ", missing)}.");
        yield return new ChartBlock("chart-ceilings", "The two ceilings under each convention",
            Charts.Ceilings([.. conventions.Select(c => ($"{c.Convention} convention (binding: {c.Binding})", c.Compute, c.Power, c.Binding))], Double(r, "metrics.throughput.outputTokensPerSecond")),
            "Bars: compute ceiling C/κ and power ceiling P_IT/ε in tokens/s; the binding one is drawn solid. The grey line: the throughput measured over the headline window.");
        yield return new ChartBlock("chart-crossover", "Crossover map: φ against σ",
            Charts.Crossover([.. conventions.Where(c => c.Phi is not null && c.Sigma is not null).Select(c => (c.Convention, c.Phi!.Value, c.Sigma!.Value, c.Binding))]),
            "Above the diagonal (σ > φ) the deployment is compute-bound, below it power-bound. The run is placed under each convention: the same demand φ = ε/κ, a supply σ = P_IT/C that depends on which C is used.");
    }

    private static IEnumerable<ReportBlock> TimelineBlocks(JsonElement r, RunData? run)
    {
        var rows = new List<IReadOnlyList<string>>();
        foreach (var name in new[] { "whole", "steady" })
        {
            if (At(r, $"windows.{name}") is not { ValueKind: JsonValueKind.Object } w)
            {
                rows.Add([name, "none", "", "", "", "", "", ""]);
                continue;
            }
            rows.Add([name, $"{Number(Double(w, "fromSeconds"))} → {Number(Double(w, "toSeconds"))} s", Number(Double(w, "seconds"), "s"), Number(Double(w, "outputTokensPerSecond"), "tok/s"),
                Number(Double(w, "grossJoules"), "J"), Number(Double(w, "meanWatts"), "W"), Number(Double(w, "grossJoulesPerOutputToken"), "J"), Text(w, "rule") ?? ""]);
        }
        var headline = Text(r, "metrics.window");
        yield return new TableBlock(["window", "span (run clock)", "length", "output tok/s", "gross energy", "mean power", "gross J/output token", "rule"], rows,
            $"Windows (headline: {headline})", new HashSet<int>(headline == "steady" ? [1] : [0]));
        var phases = Phases(r, run);
        string? power = null, rate = null;
        if (run is not null)
        {
            var channels = run.Meters.Select(m => (m.Channel.Id, m.At, m.Watts)).ToList();
            var (t, n) = InFlight(run.Requests);
            power = Charts.Power(channels, t, n, phases);
            var (bins, tokens) = OutputRate(run.Requests, run.Window);
            rate = Charts.Rate(bins, tokens, phases);
        }
        var shaded = string.Join("; ", phases.Select(p => $"{p.Label} {Number(p.From)}–{Number(p.To)} s"));
        yield return new ChartBlock("chart-power", "Power over time with requests in flight", power,
            $"Each meter channel's power (left axis) and the requests in flight (right axis, grey steps). Shaded: {shaded}.");
        yield return new ChartBlock("chart-throughput", "Output tokens per second over time", rate,
            "Output tokens in bins (a chunk carries its request's tokens ÷ its chunks), same shading.");
    }

    /// <summary>The run's phases on its clock: idle before, ramp-up (whole window before the steady one), steady, drain, idle after.</summary>
    private static List<Phase> Phases(JsonElement r, RunData? run)
    {
        var phases = new List<Phase>();
        if (run?.IdleBefore is { } before) phases.Add(new Phase("idle before", before.From, before.To));
        var (from, to) = (Double(r, "windows.whole.fromSeconds") ?? 0, Double(r, "windows.whole.toSeconds") ?? 0);
        if (Double(r, "windows.steady.fromSeconds") is { } sf && Double(r, "windows.steady.toSeconds") is { } st)
        {
            phases.Add(new Phase("ramp-up", from, sf));
            phases.Add(new Phase("steady window", sf, st));
            phases.Add(new Phase("drain", st, to));
        }
        else
        {
            phases.Add(new Phase("whole window", from, to));
        }
        if (run?.IdleAfter is { } after) phases.Add(new Phase("idle after", after.From, after.To));
        return phases;
    }

    /// <summary>Requests in flight as a step series: its value after each send or end.</summary>
    private static (double[] T, double[] N) InFlight(RequestTimeline t)
    {
        var events = RunAnalysis.InFlightEvents(t);
        var (times, levels) = (new double[events.Count], new double[events.Count]);
        var level = 0;
        for (var i = 0; i < events.Count; i++)
        {
            level += events[i].Delta;
            (times[i], levels[i]) = (events[i].T, level);
        }
        return (times, levels);
    }

    /// <summary>Output tokens per second in bins of 1 s (longer for long runs: at most 600 bins) from the window's start to its end.</summary>
    private static (double[] Start, double[] Rate) OutputRate(RequestTimeline t, (double From, double To) window)
    {
        var (from, to) = window;
        if (!(to > from)) return ([], []);
        var width = Math.Max(1, Math.Ceiling((to - from) / 600));
        var count = (int)Math.Ceiling((to - from) / width);
        var tokens = new double[count];
        for (var r = 0; r < t.Count; r++)
        {
            var chunks = t.Chunks(r);
            if (chunks.Length == 0) continue;
            var perChunk = (double)t.OutputTokens[r] / chunks.Length;
            foreach (var c in chunks)
            {
                var bin = (int)Math.Floor((c - from) / width);
                if (bin >= 0 && bin < count) tokens[bin] += perChunk;
            }
        }
        // The last bin may be shorter than the others: its rate is over the time it covers.
        return ([.. Enumerable.Range(0, count).Select(b => from + b * width)], [.. tokens.Select((x, b) => x / Math.Min(width, to - (from + b * width)))]);
    }

    private static IEnumerable<ReportBlock> LatencyBlocks(JsonElement r, RunData? run)
    {
        var rows = new List<IReadOnlyList<string>>();
        foreach (var (key, label) in new[] { ("ttftMs", "TTFT"), ("tpotMs", "TPOT"), ("itlMs", "ITL"), ("e2eMs", "E2E"), ("scheduleLagMs", "schedule lag") })
        {
            var s = $"metrics.latency.{key}";
            rows.Add([label, Count(Double(r, $"{s}.count")), .. LatencyStatistics.Select(stat => Number(Double(r, $"{s}.{stat}")))]);
        }
        yield return new TableBlock(["latency (ms)", "count", "mean", "p50", "p90", "p95", "p99", "p99.9", "max"], rows);
        var targets = At(r, "slo.targets") is { ValueKind: JsonValueKind.Array } array ? array.EnumerateArray().ToList() : [];
        if (targets.Count > 0)
        {
            var failed = new HashSet<int>(targets.Select((t, i) => (t, i)).Where(x => Bool(x.t, "met") != true).Select(x => x.i));
            yield return new TableBlock(["SLO target", "limit", "measured", "met"],
                [.. targets.Select(t => (IReadOnlyList<string>)[$"{Text(t, "metric")} {Text(t, "statistic")}", Number(Double(t, "limitMs"), "ms"), Number(Double(t, "valueMs"), "ms"), Bool(t, "met") == true ? "met" : "MISSED"])],
                $"SLO s* = {Text(r, "slo.spec")}: {(Bool(r, "slo.met") == true ? "met" : "missed")}", failed);
        }
        else
        {
            yield return new ParagraphBlock("No SLO was given (bench --slo): latency is reported, not judged, and goodput is not defined.");
        }
        var latencies = new List<(double Ttft, double E2e, double? Tpot)>();
        if (run is not null)
        {
            for (var i = 0; i < run.Requests.Count; i++)
            {
                if (!run.Requests.Warmup[i] && RunMetrics.Latency(run.Requests, i) is { } l) latencies.Add(l);
            }
        }
        List<(string, double)> Limits(string metric) => [.. targets.Where(t => Text(t, "metric") == metric).Select(t => ($"{metric} {Text(t, "statistic")}", Double(t, "limitMs") ?? double.NaN))];
        foreach (var (metric, label, values) in new[]
        {
            ("ttft", "TTFT", latencies.Select(l => l.Ttft * 1000)),
            ("tpot", "TPOT", latencies.Where(l => l.Tpot is not null).Select(l => l.Tpot!.Value * 1000)),
            ("e2e", "E2E", latencies.Select(l => l.E2e * 1000)),
        })
        {
            yield return new ChartBlock($"chart-cdf-{metric}", $"{label} distribution", run is null ? null : Charts.Cdf(label, [.. values], Limits(metric)),
                $"Share of measured requests with {label} at or below each value; red: the SLO limits on {label}.", Half: true);
        }
    }

    private static IEnumerable<ReportBlock> AttributionBlocks(JsonElement r)
    {
        var rows = new List<IReadOnlyList<string>>();
        foreach (var (key, label) in new[] { ("prefillJoulesPerInputToken", "prefill, J per input token"), ("decodeJoulesPerOutputToken", "decode, J per output token") })
            rows.Add([label, Number(Double(r, $"metrics.{key}.gross")), Number(Double(r, $"metrics.{key}.dynamic")), Number(Double(r, $"metrics.{key}.marginal")), Number(Double(r, $"metrics.{key}.marginalStdError"))]);
        yield return new TableBlock(["phase", "gross", "dynamic", "marginal", "marginal std error"], rows);
        if (At(r, "attribution") is not { ValueKind: JsonValueKind.Object } a)
        {
            yield return new ParagraphBlock("No attribution: the run has no reportable energy.");
            yield break;
        }
        yield return new ParagraphBlock($"Attribution model: {Text(a, "model")} (coefficients from {Text(a, "coefficientsSource")}; R² {Number(Double(a, "rSquared"))}; {Count(Double(a, "intervals"))} meter intervals). Per-request energies sum to the measured total within {Number(Double(a, "conservationError"))} (relative).");
        var perRequest = new List<IReadOnlyList<string>>();
        foreach (var (key, label) in new[] { ("grossJoules", "gross J per request"), ("dynamicJoules", "dynamic J per request"), ("grossJoulesPerOutputToken", "gross J per output token, per request") })
        {
            var s = $"perRequest.{key}";
            perRequest.Add([label, Count(Double(a, $"{s}.count")), .. RequestStatistics.Select(stat => Number(Double(a, $"{s}.{stat}")))]);
        }
        yield return new TableBlock(["per request", "count", "mean", "p50", "p90", "p99", "max"], perRequest);
    }

    private static IEnumerable<(string Metric, string Value, string Formula)> Formulas(JsonElement r)
    {
        var window = Text(r, "metrics.window") ?? "whole";
        return
        [
            ("J per output token, gross", Number(Double(r, "metrics.joulesPerOutputToken.gross"), "J"), $"E_gross / N_out over the {window} window; E from each channel's energy counter (or trapezoid over power) inside the boundary"),
            ("J per output token, dynamic", Number(Double(r, "metrics.joulesPerOutputToken.dynamic"), "J"), "(E_gross − P_idle × T) / N_out; P_idle measured before and after the run"),
            ("meter uncertainty", Number(Double(r, "metrics.joulesPerOutputToken.meterUncertainty"), "J"), "the channels' energy bound (counter resolution, one update period at the mean power, gaps and reset bridges: docs/meters.md) / N_out"),
            ("bootstrap std", Number(Double(r, "metrics.joulesPerOutputToken.bootstrapStd"), "J"), "std of J per output token over resamples of the meter intervals (seeded)"),
            ("J per total token", $"{Number(Double(r, "metrics.joulesPerTotalToken.gross"), "J")} / {Number(Double(r, "metrics.joulesPerTotalToken.dynamic"), "J")}", "gross / dynamic energy / (N_in + N_out)"),
            ("facility J per output token", Number(Double(r, "metrics.joulesPerOutputToken.facility"), "J"), $"facility energy / N_out: E_gross × PUE (declared or a series), or the facility meter's own energy ({Text(r, $"windows.{window}.facilitySource") ?? ResultReport.NotDisclosed})"),
            ("prefill J per input token", Number(Double(r, "metrics.prefillJoulesPerInputToken.gross"), "J"), "Σ over requests of their attributed prefill energy (dynamic by the attribution model, plus static by time in flight before the first chunk) / N_in"),
            ("decode J per output token", Number(Double(r, "metrics.decodeJoulesPerOutputToken.gross"), "J"), "Σ over requests of their attributed decode energy (dynamic, plus static by time in flight after the first chunk) / Σ (output tokens − 1)"),
            ("marginal prefill, decode J per token", $"{Number(Double(r, "metrics.prefillJoulesPerInputToken.marginal"), "J")}, {Number(Double(r, "metrics.decodeJoulesPerOutputToken.marginal"), "J")}", "the attribution model's coefficients (regression over meter intervals, or calibration), ± their std errors"),
            ("attribution R², conservation", $"{Number(Double(r, "attribution.rSquared"))}, {Number(Double(r, "attribution.conservationError"))}", "fit of modelled to measured dynamic energy per interval; |Σ per-request energy − measured| / measured (checked ≤ 1e-9)"),
            ("output tokens/s", Number(Double(r, "metrics.throughput.outputTokensPerSecond")), "N_out in the window / T (a chunk carries its request's tokens ÷ chunks)"),
            ("goodput", Number(Double(r, "metrics.goodputRequestsPerSecond"), "req/s"), "requests meeting every SLO target / whole window (DistServe)"),
            ("TTFT p99", Number(Double(r, "metrics.latency.ttftMs.p99"), "ms"), "scheduled send → first chunk carrying output"),
            ("TPOT p99", Number(Double(r, "metrics.latency.tpotMs.p99"), "ms"), "per request (E2E − TTFT) / (output tokens − 1)"),
            ("ITL p99", Number(Double(r, "metrics.latency.itlMs.p99"), "ms"), "every gap between consecutive output chunks, pooled"),
            ("E2E p99", Number(Double(r, "metrics.latency.e2eMs.p99"), "ms"), "scheduled send → last chunk"),
            ("schedule lag p99", Number(Double(r, "metrics.latency.scheduleLagMs.p99"), "ms"), "scheduled send → actual send (the client's own lateness)"),
            ("error rate", Number(Double(r, "requests.errorRate")), "failed measured requests / measured requests"),
            ("κ", Number(Double(r, "production.kappaFlopPerToken"), "FLOP/token"), $"FLOP per token of the catalog model at the run's mean context ({Text(r, "production.kappaSource")})"),
            ("ε", Number(Double(r, "production.epsilonJoulesPerToken"), "J/token"), "the headline gross J per output token"),
            ("C_eff (realized)", Number(Double(r, "production.effectiveComputeFlopPerSecond"), "FLOP/s"), "κ × R_sat (R_sat: highest output tokens/s meeting the SLO)"),
            ("C_peak", Number(Double(r, "production.peakComputeFlopPerSecond"), "FLOP/s"), "catalog dense peak at the precision × devices (upper bound only)"),
            ("P_IT", Number(Double(r, "production.pItWatts"), "W"), "declared budget, or P_facility / PUE, or the devices' power limits"),
            ("compute ceiling", "per convention", "C / κ tokens/s"),
            ("power ceiling", "per convention", "P_IT / ε tokens/s"),
            ("φ, σ, headroom", "per convention", "φ = ε / κ; σ = P_IT / C; H = σ / φ (> 1 compute-bound, < 1 power-bound)"),
            ("U", Number(Double(r, "production.utilization.value")), "R_actual / R_sat, else SM activity / its value at saturation, else 1 (said so)"),
            ("utilization-adjusted output", Number(Double(r, "production.utilizationAdjustedTokensPerSecond"), "tok/s"), "U × min(C / κ, P_IT / ε)"),
            ("PUE-adjusted facility power", Number(Double(r, "production.pFacilityWatts"), "W"), "P_IT × PUE"),
        ];
    }

    private static readonly Dictionary<string, string> Labels = new(StringComparer.Ordinal)
    {
        ["kappa"] = "κ (FLOP/token)",
        ["epsilon"] = "ε (J/output token)",
        ["cEffRealized"] = "C_eff, realized (FLOP/s)",
        ["cPeak"] = "C_peak (FLOP/s)",
        ["pItBudget"] = "P_IT budget",
        ["computeCeiling"] = "compute ceiling (tok/s, headline convention)",
        ["powerCeiling"] = "power ceiling (tok/s, headline convention)",
        ["pueSource"] = "PUE source",
        ["utilizationAdjustedOutput"] = "utilization-adjusted output (tok/s)",
        ["throughput"] = "throughput (output tok/s)",
        ["goodput"] = "goodput (req/s)",
        ["meanContextTokens"] = "mean context (tokens)",
    };

    /// <summary>A disclosure key for a reader: a symbol with its unit where it has one, else the camelCase key in words.</summary>
    private static string Label(string key) => Labels.TryGetValue(key, out var label) ? label
        : string.Concat(key.Select((c, i) => char.IsUpper(c) && i > 0 ? " " + char.ToLowerInvariant(c) : c.ToString()));
}
