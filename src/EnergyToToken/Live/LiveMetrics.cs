using System.Text;
using EnergyToToken.Catalog;
using EnergyToToken.Metering.Prometheus;
using EnergyToToken.Production;

namespace EnergyToToken.Live;

/// <summary>
/// One cumulative reading of a run in progress, on the run's clock. Cumulative rather than rates so that any window's
/// rate is a difference of two readings, and a missed update loses nothing.
/// </summary>
/// <param name="ElapsedSeconds">Seconds since the load (or the twin) started.</param>
/// <param name="EnergyJoules">Energy inside the meters' boundary since then; NaN without a meter.</param>
/// <param name="Watts">Mean power inside the boundary over the last couple of seconds; NaN without a meter.</param>
/// <param name="MeanContextTokens">Mean context an output token saw (prompt plus half the output, weighted by output tokens); null before any output.</param>
internal readonly record struct LiveReading(double ElapsedSeconds, long OutputTokens, long InputTokens, double EnergyJoules, double Watts, double? MeanContextTokens = null);

/// <summary>What the source is, for the info metric: a bench run or the twin, and whether its figures are simulated.</summary>
public sealed record LiveSource(string Source, bool Simulated, string Model);

/// <summary>
/// What the production function needs beyond the reading (spec §2–3): κ (a fixed value, or the catalog model at the
/// live mean context), the compute throughput (realized κ·R_sat when a saturation throughput is known, else the
/// catalog peak) and the IT power budget. Any of them may be missing; the ceilings are then left out, not guessed.
/// </summary>
public sealed record LiveProductionInputs
{
    /// <summary>A fixed κ, FLOP per token (e.g. --kappa); wins over <see cref="Model"/>.</summary>
    public double? KappaFlopPerToken { get; init; }

    /// <summary>The model whose κ is taken at the reading's mean context.</summary>
    public ModelArchitecture? Model { get; init; }

    /// <summary>C_peak, FLOP/s: devices × the accelerator's dense peak at the precision.</summary>
    public double? PeakComputeFlopPerSecond { get; init; }

    /// <summary>R_sat, output tokens/s at the saturation point; when given, C_eff = κ·R_sat is realized compute.</summary>
    public double? SaturationOutputTokensPerSecond { get; init; }

    /// <summary>P_IT, W: a declared budget or the devices' power limits.</summary>
    public double? ItPowerWatts { get; init; }

    /// <summary>|H − 1| at or below this is balanced. Default: 0.01, as the planner's.</summary>
    public double TieTolerance { get; init; } = 0.01;

    /// <summary>The trailing window of the "recent" figures. Default: 10 s.</summary>
    public TimeSpan RecentWindow { get; init; } = TimeSpan.FromSeconds(10);

    public static LiveProductionInputs None { get; } = new();
}

/// <summary>The figures of one scrape: NaN (or null) where the inputs do not determine them.</summary>
internal sealed record LiveFigures(
    LiveReading Reading,
    double RecentSeconds,
    double JoulesPerOutputToken,
    double RecentJoulesPerOutputToken,
    double MeanWatts,
    double OutputTokensPerSecond,
    double RecentOutputTokensPerSecond,
    double? KappaFlopPerToken,
    double? ComputeFlopPerSecond,
    string? ComputeConvention,
    double? ItPowerWatts,
    double? ComputeCeiling,
    double? PowerCeiling,
    BindingConstraint? Binding,
    double? Utilization);

/// <summary>
/// e2t's own live figures (J/token, both ceilings, the binding constraint, utilization) for Prometheus: updated as a
/// run progresses, rendered on each scrape. The arithmetic (<see cref="Compute"/>) and the text (<see cref="Render(LiveFigures, LiveSource, string)"/>)
/// are pure; this class only keeps the readings of the recent window, behind a lock so a scrape sees one consistent set.
/// </summary>
public sealed class LiveMetrics(LiveSource source, LiveProductionInputs inputs)
{
    private readonly Queue<LiveReading> _recent = new();
    private readonly Lock _gate = new();
    private LiveReading _latest;
    private string _phase = "";

    public LiveSource Source => source;

    internal void Update(LiveReading reading, string phase = "")
    {
        lock (_gate)
        {
            // A reading older than the latest (a restarted run's clock) starts the window afresh.
            if (reading.ElapsedSeconds < _latest.ElapsedSeconds) _recent.Clear();
            _latest = reading;
            _phase = phase;
            _recent.Enqueue(reading);
            // Keep one reading at or before the window's start, so the window covers the whole span once it can.
            while (_recent.Count > 1 && _recent.ElementAt(1).ElapsedSeconds <= reading.ElapsedSeconds - inputs.RecentWindow.TotalSeconds) _recent.Dequeue();
        }
    }

    /// <summary>A bench's progress report (about once a second) as a reading: the load's clock, tokens and energy since it began.</summary>
    /// <remarks>Before the load a metered run reports no energy (NaN); it is 0 J since the load began, so that the first recent window has a start.</remarks>
    public void Update(Load.BenchProgress progress) => Update(new LiveReading(progress.ElapsedSeconds, progress.OutputTokens, progress.InputTokens,
        progress.ElapsedSeconds <= 0 && double.IsFinite(progress.Watts) ? 0 : progress.Joules, progress.Watts, progress.MeanContextTokens), progress.Phase);

    internal LiveFigures Figures()
    {
        lock (_gate) return Compute(_latest, _recent.Count > 0 ? _recent.Peek() : null, inputs);
    }

    public string Render()
    {
        string phase;
        LiveFigures figures;
        lock (_gate)
        {
            figures = Compute(_latest, _recent.Count > 0 ? _recent.Peek() : null, inputs);
            phase = _phase;
        }
        return Render(figures, source, phase);
    }

    /// <summary>
    /// The figures from the latest reading and the one at the recent window's start. ε is the run's J per output
    /// token so far (the headline's definition); the power ceiling is P_IT/ε, the compute ceiling C/κ; U is the recent
    /// output rate over the lower ceiling (Eq. 1 read backwards), capped at 1.
    /// </summary>
    internal static LiveFigures Compute(LiveReading now, LiveReading? windowStart, LiveProductionInputs inputs)
    {
        var start = windowStart ?? now;
        var recentSeconds = now.ElapsedSeconds - start.ElapsedSeconds;
        var recentTokens = now.OutputTokens - start.OutputTokens;
        var epsilon = now.OutputTokens > 0 ? now.EnergyJoules / now.OutputTokens : double.NaN;
        var recentEpsilon = recentTokens > 0 ? (now.EnergyJoules - start.EnergyJoules) / recentTokens : double.NaN;
        var meanWatts = now.ElapsedSeconds > 0 ? now.EnergyJoules / now.ElapsedSeconds : double.NaN;
        var rate = now.ElapsedSeconds > 0 ? now.OutputTokens / now.ElapsedSeconds : 0;
        var recentRate = recentSeconds > 0 ? recentTokens / recentSeconds : rate;

        var kappa = inputs.KappaFlopPerToken
            ?? (inputs.Model is { } model && now.MeanContextTokens is { } context ? model.KappaFlopPerToken((int)Math.Round(context)) : null);
        double? compute = null;
        string? convention = null;
        if (kappa is { } k && inputs.SaturationOutputTokensPerSecond is { } sat)
        {
            compute = k * sat;
            convention = "realized";
        }
        else if (inputs.PeakComputeFlopPerSecond is { } peak)
        {
            compute = peak;
            convention = "peak";
        }
        double? computeCeiling = kappa is { } k2 && k2 > 0 && compute is { } c ? TokenProductionFunction.ComputeCeiling(c, k2) : null;
        double? powerCeiling = inputs.ItPowerWatts is { } p && epsilon > 0 && double.IsFinite(epsilon) ? TokenProductionFunction.PowerCeiling(p, epsilon) : null;
        BindingConstraint? binding = computeCeiling is { } cc && powerCeiling is { } pc && cc > 0
            ? TokenProductionFunction.Classify(cc, pc, inputs.TieTolerance)
            : null;
        double? utilization = computeCeiling is { } a && powerCeiling is { } b && Math.Min(a, b) > 0 ? Math.Min(1, recentRate / Math.Min(a, b)) : null;
        return new LiveFigures(now, recentSeconds, epsilon, recentEpsilon, meanWatts, rate, recentRate, kappa, compute, convention,
            inputs.ItPowerWatts, computeCeiling, powerCeiling, binding, utilization);
    }

    /// <summary>The Prometheus text exposition (0.0.4) of the figures; a figure that is not known is left out rather than written as NaN.</summary>
    internal static string Render(LiveFigures f, LiveSource source, string phase = "")
    {
        var text = new StringBuilder(4096);
        var r = f.Reading;
        Metric(text, "e2t_info", "gauge", "Always 1; the labels say what the figures come from (simulated=\"true\": the e2t twin, not hardware).",
            [($"source=\"{Escape(source.Source)}\",model=\"{Escape(source.Model)}\",simulated=\"{(source.Simulated ? "true" : "false")}\"", 1)]);
        if (phase.Length > 0) Metric(text, "e2t_run_phase", "gauge", "1 for the phase the bench is in: idle before, load, idle after.", [($"phase=\"{Escape(phase)}\"", 1)]);
        Metric(text, "e2t_elapsed_seconds", "gauge", "Seconds since the load (or the twin) started.", [("", r.ElapsedSeconds)]);
        Metric(text, "e2t_output_tokens_total", "counter", "Output tokens produced since the load (or the twin) started: a bench counts a request's tokens when it finishes, the twin each token as it is generated.", [("", r.OutputTokens)]);
        Metric(text, "e2t_input_tokens_total", "counter", "Prompt tokens of the requests since the load (or the twin) started: a bench counts them when a request finishes, the twin at its first token.", [("", r.InputTokens)]);
        Metric(text, "e2t_energy_joules_total", "counter", "Energy measured inside the meters' boundary since the load (or the twin) started, J.", [("", r.EnergyJoules)]);
        Metric(text, "e2t_joules_per_output_token", "gauge", "Gross energy per output token, J: window=\"run\" since the load started, window=\"recent\" over the trailing window.",
            [("window=\"run\"", f.JoulesPerOutputToken), ("window=\"recent\"", f.RecentJoulesPerOutputToken)]);
        Metric(text, "e2t_power_watts", "gauge", "Power inside the meters' boundary, W: window=\"instant\" over the last couple of seconds, window=\"run\" the mean since the load started.",
            [("window=\"instant\"", r.Watts), ("window=\"run\"", f.MeanWatts)]);
        Metric(text, "e2t_output_tokens_per_second", "gauge", "Output token rate, tokens/s: window=\"run\" since the load started, window=\"recent\" over the trailing window.",
            [("window=\"run\"", f.OutputTokensPerSecond), ("window=\"recent\"", f.RecentOutputTokensPerSecond)]);
        Metric(text, "e2t_recent_window_seconds", "gauge", "Length of the trailing window of the window=\"recent\" figures, s.", [("", f.RecentSeconds)]);
        Optional(text, "e2t_kappa_flop_per_token", "FLOP per output token (kappa) at the run's mean context.", "", f.KappaFlopPerToken);
        Optional(text, "e2t_compute_flop_per_second", "Compute throughput C in the compute ceiling, FLOP/s: convention=\"peak\" (catalog) or \"realized\" (kappa x R_sat).",
            $"convention=\"{f.ComputeConvention}\"", f.ComputeFlopPerSecond);
        Optional(text, "e2t_it_power_watts", "IT power budget P_IT, W: a declared budget or the devices' power limits.", "", f.ItPowerWatts);
        Optional(text, "e2t_compute_ceiling_tokens_per_second", "Compute ceiling C/kappa, tokens/s.", $"convention=\"{f.ComputeConvention}\"", f.ComputeCeiling);
        Optional(text, "e2t_power_ceiling_tokens_per_second", "Power ceiling P_IT/epsilon with epsilon the run's J per output token, tokens/s.", "", f.PowerCeiling);
        if (f.ComputeCeiling is { } cc && f.PowerCeiling is { } pc)
            Metric(text, "e2t_headroom_ratio", "gauge", "Headroom H = power ceiling / compute ceiling: above 1 compute-bound, below 1 power-bound.", [("", TokenProductionFunction.Headroom(cc, pc))]);
        if (f.Binding is { } binding)
        {
            Metric(text, "e2t_binding_constraint", "gauge", "1 for the arm of min(C/kappa, P_IT/epsilon) that binds, 0 for the others.",
                [.. new[] { BindingConstraint.Compute, BindingConstraint.Power, BindingConstraint.Balanced, BindingConstraint.Degenerate }
                    .Select(c => ($"constraint=\"{c.ToString().ToLowerInvariant()}\"", c == binding ? 1.0 : 0.0))]);
        }
        Optional(text, "e2t_utilization_ratio", "Utilization U: the recent output rate over the lower ceiling, capped at 1.", "", f.Utilization);
        return text.ToString();
    }

    private static void Optional(StringBuilder text, string name, string help, string labels, double? value)
    {
        if (value is { } v) Metric(text, name, "gauge", help, [(labels, v)]);
    }

    /// <summary>One metric family; samples whose value is NaN are left out (Prometheus reads an absent series as unknown, a NaN as a number).</summary>
    private static void Metric(StringBuilder text, string name, string type, string help, IReadOnlyList<(string Labels, double Value)> samples)
    {
        var known = samples.Where(s => !double.IsNaN(s.Value)).ToList();
        if (known.Count > 0) PrometheusText.AppendFamily(text, name, type, help, known);
    }

    private static string Escape(string value) => PrometheusText.EscapeLabelValue(value);
}
