using EnergyToToken.Catalog;
using EnergyToToken.Production;
using EnergyToToken.Runs;

namespace EnergyToToken.Analysis;

/// <summary>The highest load that met the SLO, from a search or a sweep: the saturated throughput R_sat at s*.</summary>
/// <param name="Source">Where it came from: this search, or the run directory given with --saturation.</param>
/// <param name="SmActivity">Mean SM activity over that run, when a meter reported it: the ideal-batch reference U from SM activity is divided by.</param>
public sealed record Saturation(string Parameter, double Value, double OutputTokensPerSecond, double GoodputRequestsPerSecond, string Source = "this search", double? SmActivity = null)
{
    /// <summary>Mean SM activity over a window's gauges (DCGM_FI_PROF_SM_ACTIVE, the twin's sm-active); null when none reported it.</summary>
    public static double? MeanSmActivity(Metering.EnergySummary? energy)
    {
        var gauges = energy?.Gauges.Where(g => IsSmActivity(g.Id)).ToList();
        return gauges is { Count: > 0 } ? gauges.Average(g => g.Mean) : null;
    }

    /// <summary>Whether a gauge is SM activity: DCGM_FI_PROF_SM_ACTIVE, or the twin's <c>sm-active</c>.</summary>
    internal static bool IsSmActivity(string gaugeId) => gaugeId.Replace('-', '_').Contains("SM_ACTIVE", StringComparison.OrdinalIgnoreCase);
}

/// <summary>
/// What a run's hardware is, the command line's flags over the run's recorded deployment: the one precedence that both
/// the analysis and the live metrics read, so that a live figure and the run's result name the same κ, C_peak and P_IT.
/// </summary>
internal sealed record ResolvedDeployment(string? ModelName, string? AcceleratorName, int Devices, string Precision, double? EnforcedLimitWatts)
{
    public static ResolvedDeployment Of(Deployment deployment, AnalysisOptions options) => new(
        options.ModelArchitecture ?? deployment.ModelArchitecture,
        options.Accelerator ?? deployment.Accelerator,
        options.Devices ?? deployment.Devices ?? 1,
        options.Precision ?? deployment.Precision ?? "bf16",
        deployment.PowerLimitWatts);

    /// <summary>The devices' power limit each: the enforced one where the run recorded it, else the catalog's spec.</summary>
    public double LimitWatts(Accelerator accelerator) => EnforcedLimitWatts ?? accelerator.PowerLimitWatts;
}

/// <summary>
/// The production function with the run's own measurements in it (spec §3, issue 6): κ from the catalog at the run's
/// mean context, ε the headline gross J per output token, C_eff = κ·R_sat, C_peak from the catalog, U from
/// R_actual/R_sat (or SM activity), P_IT from a declared budget, a facility budget over PUE, or the devices' power
/// limits. Every input names its source; what is missing is listed instead of guessed.
/// </summary>
public sealed record MeasuredProduction(
    ProductionResult? Result,
    double? KappaFlopPerToken,
    string KappaSource,
    double? MeanContextTokens,
    double? EpsilonJoulesPerToken,
    string EpsilonSource,
    Saturation? Saturation,
    double? PeakComputeFlopPerSecond,
    string? PeakSource,
    double? UtilizationFromSaturation,
    double? UtilizationFromSmActivity,
    double? SmActivity,
    double Utilization,
    string UtilizationSource,
    double? ItPowerWatts,
    string? ItPowerSource,
    double? DrawnWatts,
    IReadOnlyList<string> Missing)
{
    public double? EffectiveComputeFlopPerSecond => KappaFlopPerToken * Saturation?.OutputTokensPerSecond;

    internal static MeasuredProduction Build(RunData run, AnalysisOptions options, Catalogs catalogs, WindowFigures headline, bool energyReported)
    {
        var missing = new List<string>();
        var deployment = run.Deployment;
        var t = run.Requests;

        // Mean context over the tokens produced: a request's output tokens see its prompt plus half its output on average.
        double contextSum = 0, outputSum = 0;
        for (var r = 0; r < t.Count; r++)
        {
            if (t.Warmup[r] || t.OutputTokens[r] <= 0) continue;
            contextSum += t.OutputTokens[r] * (t.InputTokens(r) + t.OutputTokens[r] / 2.0);
            outputSum += t.OutputTokens[r];
        }
        double? meanContext = outputSum > 0 ? contextSum / outputSum : null;

        var hardware = ResolvedDeployment.Of(deployment, options);
        var modelName = hardware.ModelName;
        double? kappa = options.Kappa;
        var kappaSource = "--kappa";
        if (kappa is null)
        {
            if (modelName is null) missing.Add("κ: the model's architecture is unknown; pass --model-arch NAME (e2t model list) or --kappa FLOP");
            else if (meanContext is null) missing.Add("κ: no output token was produced, so the mean context is unknown");
            else
            {
                var model = catalogs.Model(modelName);
                kappa = model.KappaFlopPerToken((int)Math.Round(meanContext.Value));
                kappaSource = $"catalog model {model.Name} at the run's mean context of {meanContext.Value:0} tokens";
            }
        }

        double? epsilon = energyReported ? headline.GrossJoulesPerOutputToken : null;
        var epsilonSource = $"gross J per output token over the {headline.Name} window, inside the boundary '{headline.Energy?.Total.Boundary}'";
        if (epsilon is null) missing.Add("ε: no reportable energy (no meter, an invalid run, or a modeled meter without --allow-modeled)");

        var (devices, precision) = (hardware.Devices, hardware.Precision);
        Accelerator? accelerator = hardware.AcceleratorName is null ? null : catalogs.Accelerator(hardware.AcceleratorName);
        double? peak = null;
        string? peakSource = null;
        if (accelerator is not null)
        {
            peak = accelerator.PeakFlopPerSecond(precision) * devices;
            peakSource = $"{devices} × {accelerator.DisplayName ?? accelerator.Name} dense {precision} peak (catalog)";
        }
        else
        {
            missing.Add("C_peak: the accelerator is unknown; pass --accelerator NAME (e2t catalog accelerators) and --devices N");
        }

        var saturation = options.Saturation;
        if (saturation is null) missing.Add("C_eff (realized): no saturation throughput; run e2t bench --find-max-goodput, or pass --saturation RUN_DIR");
        double? uSaturation = saturation is { OutputTokensPerSecond: > 0 } s ? Math.Min(1, headline.OutputTokensPerSecond / s.OutputTokensPerSecond) : null;
        // SM activity is a utilization only against its ideal-batch reference: the activity at the saturation point.
        var sm = Saturation.MeanSmActivity(headline.Energy);
        double? uSm = sm is { } activity && saturation?.SmActivity is { } reference && reference > 0 ? Math.Min(1, activity / reference) : null;
        var (u, uSource) = (uSaturation, uSm) switch
        {
            ({ } a, _) when a > 0 => (a, "R_actual / R_sat"),
            (_, { } b) when b > 0 => (b, "mean SM activity ÷ SM activity at R_sat"),
            _ => (1.0, "not measured: 1 assumed"),
        };

        double? itPower = null;
        string? itSource = null;
        var source = Production.ItPowerSource.Declared;
        Series? facility = null;
        Series? pue = options.Pue is { } p ? Series.Constant(p) : options.PueSeries?.Series;
        if (options.ItPowerWatts is { } declared)
        {
            itPower = declared;
            itSource = "--p-it (declared budget)";
        }
        else if (options.FacilityPowerWatts is { } f && pue is not null)
        {
            facility = Series.Constant(f);
            source = Production.ItPowerSource.FacilityOverPue;
            itSource = "--p-facility over PUE";
        }
        else if (accelerator is not null)
        {
            var limit = hardware.LimitWatts(accelerator);
            itPower = limit * devices;
            source = Production.ItPowerSource.DeviceLimits;
            itSource = $"{devices} × {limit:0.#} W {(hardware.EnforcedLimitWatts is null ? "spec power limit" : "enforced power limit")}";
        }
        else
        {
            missing.Add("P_IT: no power budget; pass --p-it W, or --p-facility W with --pue, or --accelerator for its power limits");
        }

        ProductionResult? result = null;
        var drawn = headline.Energy is { } e && double.IsFinite(e.Total.Joules) ? e.Total.Joules / headline.Seconds : (double?)null;
        if (kappa is { } k && epsilon is { } eps && (peak is not null || saturation is not null) && (itPower is not null || facility is not null))
        {
            result = ProductionModel.Evaluate(new ProductionInputs
            {
                KappaFlopPerToken = k,
                EpsilonJoulesPerToken = eps,
                EffectiveComputeFlopPerSecond = saturation is { } sat ? Series.Constant(k * sat.OutputTokensPerSecond) : null,
                PeakComputeFlopPerSecond = peak,
                ItPowerWatts = itPower is { } w ? Series.Constant(w) : null,
                ItPowerSource = source,
                FacilityPowerWatts = facility,
                Pue = pue,
                Utilization = Series.Constant(u),
                DrawnPowerWatts = drawn,
                HorizonSeconds = 3600,
            });
            itPower ??= result.ItPowerWatts;
        }
        return new MeasuredProduction(result, kappa, kappaSource, meanContext, epsilon, epsilonSource, saturation, peak, peakSource, uSaturation, uSm, sm, u, uSource,
            itPower, itSource, drawn, missing);
    }
}
