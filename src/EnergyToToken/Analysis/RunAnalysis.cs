using EnergyToToken.Load;
using EnergyToToken.Metering;
using EnergyToToken.Production;

namespace EnergyToToken.Analysis;

/// <summary>Which window the headline figures come from.</summary>
public enum HeadlineWindow
{
    /// <summary>The steady state: batch full until the drain starts (falls back to the whole run when there is none).</summary>
    Steady,

    /// <summary>The whole measured run: first scheduled send to last end.</summary>
    Whole,
}

/// <summary>How a run is analysed. Every default is the documented one (docs/analysis.md).</summary>
public sealed record AnalysisOptions
{
    /// <summary>The window headline J/token and throughput come from. Default: steady.</summary>
    public HeadlineWindow Headline { get; init; } = HeadlineWindow.Steady;

    /// <summary>An explicit steady-state window, s on the run's clock; null: detected.</summary>
    public (double From, double To)? Steady { get; init; }

    /// <summary>κ, FLOP per token; null: from the catalog model at the run's mean context.</summary>
    public double? Kappa { get; init; }

    /// <summary>Overrides of the run's deployment (a catalog model, an accelerator, the device count and precision).</summary>
    public string? ModelArchitecture { get; init; }

    public string? Accelerator { get; init; }

    public int? Devices { get; init; }

    public string? Precision { get; init; }

    /// <summary>R_sat, output tokens/s sustained at s* when fully loaded (from an SLO search or a sweep); null: unknown.</summary>
    public Saturation? Saturation { get; init; }

    /// <summary>The delivered IT power budget, W.</summary>
    public double? ItPowerWatts { get; init; }

    /// <summary>The delivered facility power budget, W; needs a PUE.</summary>
    public double? FacilityPowerWatts { get; init; }

    /// <summary>A constant PUE (≥ 1).</summary>
    public double? Pue { get; init; }

    /// <summary>A PUE series over the run's clock (s) and where it came from.</summary>
    public (Series Series, string Source)? PueSeries { get; init; }

    /// <summary>Measured qualities at the operating point (declared, or from a quality set).</summary>
    public IReadOnlyList<QualityDeclaration> Quality { get; init; } = [];

    /// <summary>Phase coefficients from calibration probes; null: regression on the run's own intervals.</summary>
    public PhaseCoefficients? Calibration { get; init; }

    /// <summary>Bootstrap resamples of the meter intervals for the J/token spread. Default: 200 (seeded, so reproducible).</summary>
    public int BootstrapResamples { get; init; } = 200;

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (Steady is { } s && !(s.To > s.From)) errors.Add($"The steady window must end after it starts (was {s.From}–{s.To} s).");
        if (Kappa is { } k && !(k > 0)) errors.Add($"--kappa must be positive FLOP per token (was {k}).");
        if (Devices is { } d && d < 1) errors.Add($"--devices must be at least 1 (was {d}).");
        if (ItPowerWatts is { } p && !(p > 0)) errors.Add($"--p-it must be positive watts (was {p}).");
        if (FacilityPowerWatts is { } f && !(f > 0)) errors.Add($"--p-facility must be positive watts (was {f}).");
        if (FacilityPowerWatts is not null && Pue is null && PueSeries is null) errors.Add("--p-facility needs a PUE: add --pue (e.g. 1.3) or --pue-series FILE.");
        if (ItPowerWatts is not null && FacilityPowerWatts is not null) errors.Add("Give --p-it or --p-facility, not both.");
        if (Pue is { } pue && !(pue >= 1)) errors.Add($"--pue must be at least 1 (was {pue}).");
        if (Pue is not null && PueSeries is not null) errors.Add("Give --pue or --pue-series, not both.");
        if (BootstrapResamples < 0) errors.Add("Bootstrap resamples must be at least 0.");
        return errors;
    }
}

/// <summary>Energy and tokens over one window.</summary>
/// <param name="Energy">The meters' summary over the window; null without a meter.</param>
/// <param name="BootstrapStdJoulesPerToken">Std of gross J/output token over bootstrap resamples of the meter intervals; NaN when not computed.</param>
/// <param name="FacilityJoules">Energy at the facility boundary (IT × PUE, or a facility meter); null when no PUE is known.</param>
public sealed record WindowFigures(
    string Name,
    double From,
    double To,
    string Rule,
    EnergySummary? Energy,
    double OutputTokens,
    double InputTokens,
    double BootstrapStdJoulesPerToken,
    double? FacilityJoules,
    string? FacilitySource)
{
    public double Seconds => To - From;

    public double OutputTokensPerSecond => OutputTokens / Seconds;

    public double? GrossJoulesPerOutputToken => Energy is { } e && OutputTokens > 0 ? e.Total.Joules / OutputTokens : null;

    public double? DynamicJoulesPerOutputToken => Energy?.DynamicJoules is { } d && OutputTokens > 0 ? d / OutputTokens : null;

    public double? GrossJoulesPerTotalToken => Energy is { } e && OutputTokens + InputTokens > 0 ? e.Total.Joules / (OutputTokens + InputTokens) : null;

    public double? DynamicJoulesPerTotalToken => Energy?.DynamicJoules is { } d && OutputTokens + InputTokens > 0 ? d / (OutputTokens + InputTokens) : null;

    /// <summary>Meter bound ÷ tokens: resolution, update timing, gaps (a bound, not a standard deviation).</summary>
    public double? MeterUncertaintyJoulesPerToken => Energy is { } e && OutputTokens > 0 ? e.Total.UncertaintyJoules / OutputTokens : null;

    public double? FacilityWatts => FacilityJoules / Seconds;

    public double? FacilityJoulesPerOutputToken => FacilityJoules is { } f && OutputTokens > 0 ? f / OutputTokens : null;
}

/// <summary>J per token by phase from the attribution: Σ attributed ÷ tokens.</summary>
public sealed record PhaseFigures(double PrefillDynamic, double PrefillGross, double DecodeDynamic, double DecodeGross, long InputTokens, long DecodeTokens);

/// <summary>Per-request energy as a distribution over the measured requests that ended ok.</summary>
public sealed record RequestEnergyStats(Stats? GrossJoules, Stats? DynamicJoules, Stats? GrossJoulesPerOutputToken);

/// <summary>Everything analysis finds in one run.</summary>
public sealed record RunAnalysisResult(
    RunMetrics Metrics,
    BenchVerdict Verdict,
    WindowFigures Whole,
    WindowFigures? Steady,
    HeadlineWindow HeadlineWindow,
    AttributionResult? Attribution,
    PhaseFigures? Phases,
    RequestEnergyStats? RequestEnergy,
    MeasuredProduction Production,
    IReadOnlyList<QualityDeclaration> Quality,
    IReadOnlyList<string> Flags)
{
    public WindowFigures Headline => HeadlineWindow == HeadlineWindow.Steady && Steady is { } s ? s : Whole;
}

/// <summary>
/// From a run's timelines to its result: windows, energy with uncertainty, the phase split and per-request attribution,
/// the measured production function. Pure: the same run and options give the same result.
/// </summary>
public static class RunAnalysis
{
    /// <summary>The seed of the bootstrap's resampling: fixed, so the same run gives the same spread (recorded in manifest.json).</summary>
    public const int BootstrapSeed = 20_260_511;

    public static RunAnalysisResult Analyze(RunData run, AnalysisOptions options, Catalog.Catalogs catalogs) => Invariant(() => AnalyzeCore(run, options, catalogs));

    /// <summary>
    /// Runs <paramref name="body"/> under the invariant culture: the texts a result carries (flags, sources, problems)
    /// must not depend on the machine's locale, or re-analysis elsewhere would not give the same bytes.
    /// </summary>
    internal static T Invariant<T>(Func<T> body)
    {
        var culture = System.Globalization.CultureInfo.CurrentCulture;
        System.Globalization.CultureInfo.CurrentCulture = System.Globalization.CultureInfo.InvariantCulture;
        try
        {
            return body();
        }
        finally
        {
            System.Globalization.CultureInfo.CurrentCulture = culture;
        }
    }

    private static RunAnalysisResult AnalyzeCore(RunData run, AnalysisOptions options, Catalog.Catalogs catalogs)
    {
        var errors = options.Validate();
        if (errors.Count > 0) throw new EnergyToTokenException(string.Join(Environment.NewLine, errors));
        var t = run.Requests;
        var (from, to) = run.Window;
        var metrics = RunMetrics.Compute(t, to - from, run.Slo);
        var metered = run.Meters.Count > 0;
        var lateness = run.SamplerLateness;
        EnergySummary? Energy(double a, double b) => metered ? EnergyMeasurement.Summarize(run.Meters, run.Telemetry, lateness, a, b, run.IdleBefore, run.IdleAfter) : null;

        var wholeEnergy = Energy(from, to);
        var verdict = BenchVerdict.Judge(run.Validity, run.Simulated, run.ClientCpuShare, metrics, wholeEnergy);
        var inside = wholeEnergy is null ? [] : run.Meters.Where(m => wholeEnergy.Total.Included.Contains(m.Channel.Id)).ToList();
        var idleWatts = wholeEnergy?.StaticJoules is { } s && to > from ? s / (to - from) : 0;
        var minimum = inside.Count > 0 ? Math.Max(inside[0].SamplingInterval.TotalSeconds, inside[0].UpdatePeriod?.TotalSeconds ?? 0) * 0.5 : 0;

        // A window's meter intervals, when its energy is known: the bootstrap, facility energy and attribution read them.
        EnergyIntervals? Intervals(EnergySummary? energy, double a, double b) =>
            energy is not null && double.IsFinite(energy.Total.Joules) ? EnergyIntervals.Build(inside, a, b, idleWatts, minimum) : null;

        WindowFigures Figures(string name, double a, double b, string rule, EnergySummary? energy, EnergyIntervals? intervals, double output, double input)
        {
            var std = double.NaN;
            double? facility = null;
            string? facilitySource = null;
            if (energy is not null && intervals is not null)
            {
                std = Bootstrap(t, intervals, options.BootstrapResamples);
                (facility, facilitySource) = Facility(energy, intervals, options);
            }
            return new WindowFigures(name, a, b, rule, energy, output, input, std, facility, facilitySource);
        }

        var wholeIntervals = Intervals(wholeEnergy, from, to);
        var whole = Figures("whole", from, to, "first measured request scheduled → last measured request ended", wholeEnergy, wholeIntervals, metrics.OutputTokens, metrics.InputTokens);
        var steadySpan = options.Steady ?? SteadyWindow(t, from, to);
        WindowFigures? steady = null;
        if (steadySpan is { } span)
        {
            var (output, input) = TokensIn(t, span.From, span.To);
            var steadyEnergy = Energy(span.From, span.To);
            steady = Figures("steady", span.From, span.To,
                options.Steady is null ? "requests in flight first reach their time-weighted median → last measured request sent (the drain starts)" : "given with --steady",
                steadyEnergy, Intervals(steadyEnergy, span.From, span.To), output, input);
        }

        AttributionResult? attribution = null;
        PhaseFigures? phases = null;
        RequestEnergyStats? perRequest = null;
        if (wholeIntervals is not null && verdict.JoulesPerTokenReported)
        {
            attribution = Attribution.Run(t, wholeIntervals, options.Calibration, Roofline(run, options, catalogs));
            (phases, perRequest) = Summarize(t, attribution);
        }

        var flags = Flags(run, metrics, verdict, wholeEnergy, steady);
        var headline = options.Headline == HeadlineWindow.Steady && steady is not null ? steady : whole;
        if (options.Headline == HeadlineWindow.Steady && steady is null) flags.Add("no steady state was found: headline figures are over the whole run");
        var production = MeasuredProduction.Build(run, options, catalogs, headline, verdict.JoulesPerTokenReported);
        return new RunAnalysisResult(metrics, verdict, whole, steady, steady is null ? HeadlineWindow.Whole : options.Headline, attribution, phases, perRequest,
            production, options.Quality, flags);
    }

    /// <summary>The served model's roofline costs when its architecture is known (options, else the run's deployment); null otherwise.</summary>
    private static RooflineCosts? Roofline(RunData run, AnalysisOptions options, Catalog.Catalogs catalogs)
    {
        var name = options.ModelArchitecture ?? run.Deployment.ModelArchitecture;
        return name is null ? null : RooflineCosts.Of(catalogs.Model(name), options.Precision ?? run.Deployment.Precision ?? "bf16");
    }

    /// <summary>The shortest steady state used, as a share of the whole window.</summary>
    public const double MinimumSteadyShare = 0.2;

    /// <summary>
    /// The steady state (ML.ENERGY's rule, measurement.md §2): from the first instant the requests in flight reach their
    /// time-weighted median over the sending period to the last measured send, when the drain starts. Null when that
    /// leaves less than <see cref="MinimumSteadyShare"/> of the whole window.
    /// </summary>
    internal static (double From, double To)? SteadyWindow(RequestTimeline t, double from, double to)
    {
        var lastSend = double.NegativeInfinity;
        for (var r = 0; r < t.Count; r++)
        {
            if (!t.Warmup[r]) lastSend = Math.Max(lastSend, t.Sent[r]);
        }
        lastSend = Math.Min(lastSend, to);
        if (!(lastSend > from)) return null;
        var events = InFlightEvents(t);
        // Levels over [from, lastSend] with their durations.
        var levels = new List<(int Level, double Seconds, double Start)>();
        var level = 0;
        var at = from;
        foreach (var (time, delta) in events)
        {
            if (time > at && time > from)
            {
                var start = Math.Max(at, from);
                var stop = Math.Min(time, lastSend);
                if (stop > start) levels.Add((level, stop - start, start));
                at = time;
            }
            level += delta;
            if (time >= lastSend) break;
        }
        if (at < lastSend) levels.Add((level, lastSend - Math.Max(at, from), Math.Max(at, from)));
        if (levels.Count == 0) return null;
        var total = levels.Sum(l => l.Seconds);
        var sorted = levels.OrderBy(l => l.Level).ToList();
        var median = sorted[^1].Level;
        var cumulative = 0.0;
        foreach (var l in sorted)
        {
            cumulative += l.Seconds;
            if (cumulative >= total / 2)
            {
                median = l.Level;
                break;
            }
        }
        var full = levels.FirstOrDefault(l => l.Level >= Math.Max(1, median));
        // A steady state shorter than a fifth of the run (a closed loop sending all its requests at once) is no steady state.
        return full.Seconds > 0 && lastSend - full.Start >= MinimumSteadyShare * (to - from) ? (full.Start, lastSend) : null;
    }

    /// <summary>
    /// Every request's send (+1) and end (−1; its last chunk, or its send when it has no end), in time order with ends
    /// before sends at the same instant: the running sum is the number of requests in flight.
    /// </summary>
    internal static List<(double T, int Delta)> InFlightEvents(RequestTimeline t)
    {
        var events = new List<(double T, int Delta)>(2 * t.Count);
        for (var r = 0; r < t.Count; r++)
        {
            var chunks = t.Chunks(r);
            var end = double.IsNaN(t.End[r]) ? (chunks.Length > 0 ? chunks[^1] : t.Sent[r]) : t.End[r];
            if (!(end > t.Sent[r])) continue;
            events.Add((t.Sent[r], 1));
            events.Add((end, -1));
        }
        events.Sort((x, y) => x.T != y.T ? x.T.CompareTo(y.T) : x.Delta.CompareTo(y.Delta));
        return events;
    }

    /// <summary>Output tokens whose chunks arrived in [from, to) (a chunk carries its request's tokens ÷ chunks) and input tokens of prompts whose first chunk did.</summary>
    internal static (double Output, double Input) TokensIn(RequestTimeline t, double from, double to)
    {
        double output = 0, input = 0;
        for (var r = 0; r < t.Count; r++)
        {
            var chunks = t.Chunks(r);
            if (chunks.Length == 0) continue;
            var perChunk = t.OutputTokens[r] / (double)chunks.Length;
            var k = 0;
            foreach (var c in chunks)
            {
                if (c >= from && c < to) k++;
            }
            output += k * perChunk;
            if (chunks[0] >= from && chunks[0] < to) input += t.InputTokens(r);
        }
        return (output, input);
    }

    /// <summary>Std of Σ gross ÷ Σ output tokens over intervals drawn with replacement (seeded: the same run gives the same figure).</summary>
    private static double Bootstrap(RequestTimeline t, EnergyIntervals intervals, int resamples)
    {
        var n = intervals.Count;
        if (resamples == 0 || n < 2) return double.NaN;
        var tokens = new double[n];
        for (var r = 0; r < t.Count; r++)
        {
            var chunks = t.Chunks(r);
            if (chunks.Length == 0) continue;
            var perChunk = t.OutputTokens[r] / (double)chunks.Length;
            // A request's chunks come in time order: each one's interval is found by walking on from the previous one's,
            // and a run of chunks in one interval is summed in a local: tokens[k] += perChunk, chunk by chunk, without a
            // store and a reload of tokens[k] per chunk.
            var k = -1;
            var sum = 0.0;
            foreach (var c in chunks)
            {
                var next = intervals.Find(c, k);
                if (next != k)
                {
                    if (k >= 0 && k < n) tokens[k] = sum;
                    k = next;
                    if (k >= 0 && k < n) sum = tokens[k];
                }
                sum += perChunk;
            }
            if (k >= 0 && k < n) tokens[k] = sum;
        }
        var random = new Random(BootstrapSeed);
        var ratios = new List<double>(resamples);
        for (var b = 0; b < resamples; b++)
        {
            double e = 0, o = 0;
            for (var i = 0; i < n; i++)
            {
                var k = random.Next(n);
                e += intervals.Gross[k];
                o += tokens[k];
            }
            if (o > 0) ratios.Add(e / o);
        }
        return Stats.Of(ratios)?.Std ?? double.NaN;
    }

    /// <summary>Facility energy: a facility meter's own; else IT energy × PUE (constant or series); else unknown.</summary>
    private static (double?, string?) Facility(EnergySummary energy, EnergyIntervals intervals, AnalysisOptions options)
    {
        if (energy.Total.Scope == MeterScope.Facility) return (energy.Total.Joules, "facility meter");
        if (options.PueSeries is { } series)
        {
            var joules = 0.0;
            for (var i = 0; i < intervals.Count; i++) joules += intervals.Gross[i] * series.Series.Mean(intervals.Edges[i], intervals.Edges[i + 1]);
            return (joules, $"PUE series {series.Source}");
        }
        if (options.Pue is { } pue) return (energy.Total.Joules * pue, $"declared PUE {pue}");
        return (null, null);
    }

    private static (PhaseFigures, RequestEnergyStats) Summarize(RequestTimeline t, AttributionResult a)
    {
        double pd = 0, pg = 0, dd = 0, dg = 0;
        long input = 0, decode = 0;
        List<double> gross = [], dynamic = [], perToken = [];
        for (var r = 0; r < t.Count; r++)
        {
            if (t.Warmup[r] || t.State[r] != TerminalState.Ok || t.ChunkCount(r) == 0) continue;
            var e = a.Requests[r];
            pd += e.PrefillDynamic;
            pg += e.PrefillDynamic + e.PrefillStatic;
            dd += e.DecodeDynamic;
            dg += e.DecodeDynamic + e.DecodeStatic;
            input += t.InputTokens(r);
            decode += Math.Max(0, t.OutputTokens[r] - 1);
            gross.Add(e.Gross);
            dynamic.Add(e.Dynamic);
            if (t.OutputTokens[r] > 0) perToken.Add(e.Gross / t.OutputTokens[r]);
        }
        return (new PhaseFigures(input > 0 ? pd / input : double.NaN, input > 0 ? pg / input : double.NaN, decode > 0 ? dd / decode : double.NaN,
            decode > 0 ? dg / decode : double.NaN, input, decode), new RequestEnergyStats(Stats.Of(gross), Stats.Of(dynamic), Stats.Of(perToken)));
    }

    private static List<string> Flags(RunData run, RunMetrics metrics, BenchVerdict verdict, EnergySummary? energy, WindowFigures? steady)
    {
        var flags = new List<string>();
        if (!run.Complete) flags.Add("incomplete: the run was cut short; what was measured is kept");
        if (run.Simulated) flags.Add("simulated: the embedded twin, not a measured deployment");
        if (run.ClientCpuShare > BenchResult.ClientLimitedShare) flags.Add($"client-limited: the client used {run.ClientCpuShare:P0} of the machine's CPU");
        if (metrics.ErrorRate > 0) flags.Add($"failed requests: {metrics.ErrorRate:P1} of the measured requests did not end ok");
        if (energy is not null && energy.Total.Modeled && !energy.Total.Simulated) flags.Add("modeled meter: energy is a model's estimate, not measured");
        foreach (var (window, e) in new[] { ("whole", energy), ("steady", steady?.Energy) })
        {
            if (e is null) continue;
            var shortChannels = e.Channels.Where(c => c.Run.Flags.Any(f => f.Contains("update periods", StringComparison.Ordinal))).Select(c => c.Channel.Id).ToList();
            if (shortChannels.Count > 0) flags.Add($"short window: the {window} window holds fewer than 10 counter updates of {string.Join(", ", shortChannels)}");
        }
        if (!verdict.Valid) flags.Add("invalid: " + string.Join("; ", verdict.Problems));
        return flags;
    }
}
