using System.Text.Json;
using EnergyToToken.Analysis;
using EnergyToToken.Load;
using EnergyToToken.Production;
using static EnergyToToken.Reporting.EnergyReport;
using static EnergyToToken.Reporting.ModelReport;

namespace EnergyToToken.Reporting;

/// <summary>
/// A run's <c>result.json</c> (<c>kind: e2t.bench</c>, schema version <see cref="SchemaVersion"/>, documented field by
/// field in docs/analysis.md): the run's facts as recorded, its metrics over the headline window, both windows, the
/// phase split and attribution, the measured production function, the operating point, the six disclosure dimensions
/// and the flags. camelCase; times in s unless the name says ms; energies in J; unknown numbers null.
/// </summary>
public static class ResultReport
{
    public const int SchemaVersion = 2;

    public const string NotDisclosed = "not disclosed";

    /// <summary>Sections of <c>run.json</c> copied into the result as recorded.</summary>
    private static readonly string[] CopiedFacts = ["point", "target", "deployment", "workload", "arrivals"];

    /// <summary>The result as text, ending in a newline (so a file and a terminal get the same bytes).</summary>
    public static string Json(RunData run, RunAnalysisResult a) => RunAnalysis.Invariant(() => Body(run, a) + "\n");

    private static string Body(RunData run, RunAnalysisResult a) => Write(w =>
    {
        var facts = run.Facts;
        var m = a.Metrics;
        var v = a.Verdict;
        w.WriteStartObject();
        w.WriteNumber("schemaVersion", SchemaVersion);
        w.WriteString("kind", "e2t.bench");
        w.WriteString("toolVersion", BenchReport.ToolVersion);
        w.WriteString("name", run.Name);
        w.WritePropertyName("startedUtc");
        facts.GetProperty("startedUtc").WriteTo(w);
        w.WriteBoolean("complete", run.Complete);
        w.WriteBoolean("valid", v.Valid);
        Strings(w, "problems", v.Problems);
        Strings(w, "notes", v.Notes);
        Strings(w, "flags", a.Flags);
        w.WriteBoolean("simulated", run.Simulated);
        foreach (var name in CopiedFacts)
        {
            w.WritePropertyName(name);
            facts.GetProperty(name).WriteTo(w);
        }

        w.WriteStartObject("window");
        w.WriteNumber("fromSeconds", a.Whole.From);
        w.WriteNumber("toSeconds", a.Whole.To);
        w.WriteNumber("seconds", m.WindowSeconds);
        w.WriteString("headline", Camel(a.HeadlineWindow));
        w.WriteEndObject();

        w.WriteStartObject("requests");
        w.WriteNumber("issued", m.Issued);
        w.WriteNumber("warmup", m.WarmupRequests);
        w.WriteNumber("measured", m.MeasuredRequests);
        w.WriteStartObject("states");
        foreach (var (state, count) in m.States) w.WriteNumber(Camel(state), count);
        w.WriteEndObject();
        Number(w, "errorRate", m.ErrorRate);
        w.WriteNumber("usageFallback", m.UsageFallbackRequests);
        w.WriteEndObject();

        Metrics(w, a);

        if (run.Slo is { } slo)
        {
            w.WriteStartObject("slo");
            w.WriteString("spec", slo.ToString());
            w.WriteBoolean("met", m.SloMet);
            w.WriteStartArray("targets");
            foreach (var c in m.SloChecks)
            {
                w.WriteStartObject();
                w.WriteString("metric", c.Target.Metric);
                w.WriteString("statistic", c.Target.Statistic);
                w.WriteNumber("limitMs", c.Target.LimitSeconds * 1000);
                Number(w, "valueMs", c.Value * 1000);
                w.WriteBoolean("met", c.Met);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        else
        {
            w.WriteNull("slo");
        }

        w.WriteStartObject("client");
        Number(w, "cpuShare", run.ClientCpuShare);
        w.WriteBoolean("clientLimited", run.ClientCpuShare > BenchResult.ClientLimitedShare);
        w.WritePropertyName("logicalCores");
        facts.GetProperty("client").GetProperty("logicalCores").WriteTo(w);
        w.WriteEndObject();

        w.WriteStartObject("serverMetrics");
        var samples = run.ServerMetrics;
        w.WriteNumber("samples", samples.Count);
        Number(w, "meanRunning", samples.Count > 0 ? samples.Average(s => s[1]) : null);
        Number(w, "maxWaiting", samples.Count > 0 ? samples.Max(s => s[2]) : null);
        Number(w, "maxKvCacheUsage", samples.Count > 0 ? samples.Max(s => s[3]) : null);
        Number(w, "preemptions", samples.Count > 1 ? samples[^1][6] - samples[0][6] : null);
        w.WriteEndObject();

        if (a.Whole.Energy is { } energy)
        {
            w.WriteStartObject("energy");
            Energy(w, energy, v.JoulesPerTokenReported ? m.OutputTokens : null);
            w.WriteEndObject();
        }
        else
        {
            w.WriteNull("energy");
        }

        w.WriteStartObject("windows");
        Window(w, "whole", a.Whole, v.JoulesPerTokenReported);
        if (a.Steady is { } steady) Window(w, "steady", steady, v.JoulesPerTokenReported);
        else w.WriteNull("steady");
        w.WriteEndObject();

        Attribution(w, a);
        Production(w, a.Production);
        OperatingPoint(w, run, a);
        Disclosure(w, run, a);
        w.WriteEndObject();
    });

    private static void Metrics(Utf8JsonWriter w, RunAnalysisResult a)
    {
        var m = a.Metrics;
        var h = a.Headline;
        var reported = a.Verdict.JoulesPerTokenReported;
        w.WriteStartObject("metrics");
        w.WriteString("window", h.Name);
        w.WriteStartObject("joulesPerOutputToken");
        Number(w, "gross", reported ? h.GrossJoulesPerOutputToken : null);
        Number(w, "dynamic", reported ? h.DynamicJoulesPerOutputToken : null);
        Number(w, "meterUncertainty", reported ? h.MeterUncertaintyJoulesPerToken : null);
        Number(w, "bootstrapStd", reported ? h.BootstrapStdJoulesPerToken : null);
        Number(w, "facility", reported ? h.FacilityJoulesPerOutputToken : null);
        w.WriteEndObject();
        w.WriteStartObject("joulesPerTotalToken");
        Number(w, "gross", reported ? h.GrossJoulesPerTotalToken : null);
        Number(w, "dynamic", reported ? h.DynamicJoulesPerTotalToken : null);
        w.WriteEndObject();
        var p = a.Phases;
        w.WriteStartObject("prefillJoulesPerInputToken");
        Number(w, "gross", p?.PrefillGross);
        Number(w, "dynamic", p?.PrefillDynamic);
        Number(w, "marginal", a.Attribution?.Coefficients.PrefillJoulesPerToken);
        Number(w, "marginalStdError", a.Attribution?.Coefficients.PrefillStdError);
        w.WriteEndObject();
        w.WriteStartObject("decodeJoulesPerOutputToken");
        Number(w, "gross", p?.DecodeGross);
        Number(w, "dynamic", p?.DecodeDynamic);
        Number(w, "marginal", a.Attribution?.Coefficients.DecodeJoulesPerToken);
        Number(w, "marginalStdError", a.Attribution?.Coefficients.DecodeStdError);
        w.WriteEndObject();
        w.WriteNumber("inputTokens", m.InputTokens);
        w.WriteNumber("outputTokens", m.OutputTokens);
        w.WriteNumber("reasoningTokens", m.ReasoningTokens);
        Number(w, "outputTokensPerSecond", m.OutputTokensPerSecond);
        Number(w, "inputTokensPerSecond", m.InputTokensPerSecond);
        Number(w, "requestsPerSecond", m.RequestsPerSecond);
        Number(w, "goodputRequestsPerSecond", m.GoodputRequestsPerSecond);
        w.WriteStartObject("throughput");
        w.WriteString("window", h.Name);
        Number(w, "outputTokensPerSecond", h.OutputTokensPerSecond);
        Number(w, "inputTokensPerSecond", h.InputTokens / h.Seconds);
        Number(w, "wholeRunOutputTokensPerSecond", m.OutputTokensPerSecond);
        Number(w, "goodputRequestsPerSecond", m.GoodputRequestsPerSecond);
        w.WriteEndObject();
        w.WriteStartObject("latency");
        BenchReport.Latency(w, "ttftMs", m.Ttft);
        BenchReport.Latency(w, "tpotMs", m.Tpot);
        BenchReport.Latency(w, "itlMs", m.Itl);
        BenchReport.Latency(w, "e2eMs", m.E2e);
        BenchReport.Latency(w, "scheduleLagMs", m.ScheduleLag);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void Window(Utf8JsonWriter w, string name, WindowFigures f, bool reported)
    {
        w.WriteStartObject(name);
        w.WriteNumber("fromSeconds", f.From);
        w.WriteNumber("toSeconds", f.To);
        w.WriteNumber("seconds", f.Seconds);
        w.WriteString("rule", f.Rule);
        Number(w, "outputTokens", f.OutputTokens);
        Number(w, "inputTokens", f.InputTokens);
        Number(w, "outputTokensPerSecond", f.OutputTokensPerSecond);
        Number(w, "grossJoules", f.Energy?.Total.Joules);
        Number(w, "staticJoules", f.Energy?.StaticJoules);
        Number(w, "dynamicJoules", f.Energy?.DynamicJoules);
        Number(w, "uncertaintyJoules", f.Energy?.Total.UncertaintyJoules);
        Number(w, "meanWatts", f.Energy?.MeanWatts);
        Number(w, "grossJoulesPerOutputToken", reported ? f.GrossJoulesPerOutputToken : null);
        Number(w, "dynamicJoulesPerOutputToken", reported ? f.DynamicJoulesPerOutputToken : null);
        Number(w, "grossJoulesPerTotalToken", reported ? f.GrossJoulesPerTotalToken : null);
        Number(w, "dynamicJoulesPerTotalToken", reported ? f.DynamicJoulesPerTotalToken : null);
        Number(w, "meterUncertaintyJoulesPerToken", reported ? f.MeterUncertaintyJoulesPerToken : null);
        Number(w, "bootstrapStdJoulesPerToken", reported ? f.BootstrapStdJoulesPerToken : null);
        Number(w, "facilityJoules", f.FacilityJoules);
        Number(w, "facilityWatts", f.FacilityWatts);
        w.WriteString("facilitySource", f.FacilitySource ?? NotDisclosed);
        Strings(w, "flags", f.Energy?.Channels.SelectMany(c => c.Run.Flags.Select(x => $"{c.Channel.Id}: {x}")) ?? []);
        w.WriteEndObject();
    }

    private static void Attribution(Utf8JsonWriter w, RunAnalysisResult a)
    {
        if (a.Attribution is not { } at)
        {
            w.WriteNull("attribution");
            return;
        }
        w.WriteStartObject("attribution");
        w.WriteString("method", "per meter interval: dynamic energy by each request's modelled energy in it (see model), static by time in flight (docs/analysis.md)");
        w.WriteString("model", at.Model);
        w.WriteString("coefficientsSource", at.Coefficients.Source);
        Number(w, "joulesPerFlop", at.JoulesPerFlop);
        Number(w, "joulesPerByte", at.JoulesPerByte);
        Number(w, "stepJoules", at.StepTerms?.Step);
        Number(w, "tokenJoules", at.StepTerms?.Token);
        Number(w, "contextTokenJoules", at.StepTerms?.Context);
        Number(w, "prefillJoulesPerToken", at.Coefficients.PrefillJoulesPerToken);
        Number(w, "decodeJoulesPerToken", at.Coefficients.DecodeJoulesPerToken);
        w.WriteNumber("intervals", at.Coefficients.Intervals);
        Number(w, "rSquared", at.Coefficients.RSquared);
        Number(w, "measuredDynamicJoules", at.MeasuredDynamicJoules);
        Number(w, "measuredStaticJoules", at.MeasuredStaticJoules);
        Number(w, "unattributedDynamicJoules", at.UnattributedDynamicJoules);
        Number(w, "unattributedStaticJoules", at.UnattributedStaticJoules);
        Number(w, "conservationError", at.ConservationError);
        w.WriteStartObject("perRequest");
        Distribution(w, "grossJoules", a.RequestEnergy?.GrossJoules);
        Distribution(w, "dynamicJoules", a.RequestEnergy?.DynamicJoules);
        Distribution(w, "grossJoulesPerOutputToken", a.RequestEnergy?.GrossJoulesPerOutputToken);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void Distribution(Utf8JsonWriter w, string name, Stats? s)
    {
        if (s is null)
        {
            w.WriteNull(name);
            return;
        }
        w.WriteStartObject(name);
        w.WriteNumber("count", s.Count);
        foreach (var (key, value) in new[] { ("mean", s.Mean), ("std", s.Std), ("min", s.Min), ("p50", s.P50), ("p90", s.P90), ("p99", s.P99), ("max", s.Max) })
            Number(w, key, value);
        w.WriteEndObject();
    }

    private static void Production(Utf8JsonWriter w, MeasuredProduction p)
    {
        w.WriteStartObject("production");
        Number(w, "kappaFlopPerToken", p.KappaFlopPerToken);
        w.WriteString("kappaSource", p.KappaFlopPerToken is null ? NotDisclosed : p.KappaSource);
        Number(w, "meanContextTokens", p.MeanContextTokens);
        Number(w, "epsilonJoulesPerToken", p.EpsilonJoulesPerToken);
        w.WriteString("epsilonSource", p.EpsilonSource);
        Number(w, "saturationOutputTokensPerSecond", p.Saturation?.OutputTokensPerSecond);
        w.WriteString("saturationSource", p.Saturation?.Source ?? NotDisclosed);
        Number(w, "effectiveComputeFlopPerSecond", p.EffectiveComputeFlopPerSecond);
        Number(w, "peakComputeFlopPerSecond", p.PeakComputeFlopPerSecond);
        w.WriteString("peakSource", p.PeakSource ?? NotDisclosed);
        w.WriteStartObject("utilization");
        Number(w, "value", p.Utilization);
        w.WriteString("source", p.UtilizationSource);
        Number(w, "fromSaturation", p.UtilizationFromSaturation);
        Number(w, "fromSmActivity", p.UtilizationFromSmActivity);
        Number(w, "smActivity", p.SmActivity);
        Number(w, "smActivityAtSaturation", p.Saturation?.SmActivity);
        w.WriteEndObject();
        Number(w, "pItWatts", p.ItPowerWatts);
        w.WriteString("pItSource", p.ItPowerSource ?? NotDisclosed);
        Number(w, "pFacilityWatts", p.Result?.FacilityPowerWatts);
        Number(w, "drawnWatts", p.DrawnWatts);
        Number(w, "kernelEfficiency", p.Result?.KernelEfficiency);
        var headline = p.Result?.Headline;
        w.WriteString("headlineConvention", headline is null ? null : Camel(headline.Convention));
        Number(w, "utilizationAdjustedTokensPerSecond", headline?.UtilizationAdjustedTokensPerSecond);
        w.WriteStartObject("bindingConstraint");
        foreach (var convention in new[] { Convention.Realized, Convention.Peak })
        {
            var c = p.Result?.Conventions.FirstOrDefault(x => x.Convention == convention);
            w.WriteString(Camel(convention), c is null ? NotDisclosed : Camel(c.BindingConstraint));
        }
        w.WriteEndObject();
        w.WriteStartArray("conventions");
        foreach (var c in p.Result?.Conventions ?? [])
        {
            w.WriteStartObject();
            w.WriteString("convention", Camel(c.Convention));
            Number(w, "computeFlopPerSecond", c.ComputeFlopPerSecond);
            Number(w, "itPowerWatts", c.ItPowerWatts);
            Number(w, "computeCeilingTokensPerSecond", c.ComputeCeilingTokensPerSecond);
            Number(w, "powerCeilingTokensPerSecond", c.PowerCeilingTokensPerSecond);
            w.WriteString("bindingConstraint", Camel(c.BindingConstraint));
            Number(w, "headroom", c.Headroom);
            Number(w, "phiJoulesPerFlop", c.PhiJoulesPerFlop);
            Number(w, "sigmaJoulesPerFlop", c.SigmaJoulesPerFlop);
            Number(w, "utilizationAdjustedTokensPerSecond", c.UtilizationAdjustedTokensPerSecond);
            w.WriteString("explanation", c.Explanation);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        Strings(w, "missing", p.Missing);
        w.WriteEndObject();
    }

    private static void OperatingPoint(Utf8JsonWriter w, RunData run, RunAnalysisResult a)
    {
        w.WriteStartObject("operatingPoint");
        Qualities(w, "quality", a.Quality);
        w.WriteString("latency", run.Slo?.ToString());
        if (run.Slo is null) w.WriteNull("latencyMet");
        else w.WriteBoolean("latencyMet", a.Metrics.SloMet);
        w.WriteBoolean("qualityDeclared", a.Quality.Count > 0);
        // q*: a declared quality with a tolerance is the target; a quality set of the same name measured here meets it or not.
        var checks = QualityChecks(a.Quality);
        if (checks.Count == 0) w.WriteNull("qualityMet");
        else w.WriteBoolean("qualityMet", checks.All(c => c.Met));
        w.WriteStartArray("qualityChecks");
        foreach (var c in checks)
        {
            w.WriteStartObject();
            w.WriteString("name", c.Target.Name);
            w.WriteString("target", c.Target.ToString());
            w.WriteNumber("measured", c.Measured.Value);
            w.WriteBoolean("met", c.Met);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>Qualities as an array of <c>{name, value, tolerance, source}</c>: in result.json and in run.json's options.</summary>
    internal static void Qualities(Utf8JsonWriter w, string name, IReadOnlyList<QualityDeclaration> qualities)
    {
        w.WriteStartArray(name);
        foreach (var q in qualities)
        {
            w.WriteStartObject();
            w.WriteString("name", q.Name);
            w.WriteNumber("value", q.Value);
            Number(w, "tolerance", q.Tolerance);
            w.WriteString("source", q.Source);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    /// <summary>Each declared target (a declared quality with a tolerance) against a quality measured by this run under the same name.</summary>
    internal static List<(QualityDeclaration Target, QualityDeclaration Measured, bool Met)> QualityChecks(IReadOnlyList<QualityDeclaration> qualities) =>
        [.. from target in qualities
            where target.Source == "declared" && target.Tolerance is not null
            from measured in qualities
            where measured.Source != "declared" && measured.Name == target.Name
            select (target, measured, measured.Within(target))];

    /// <summary>The six dimensions of spec §6: every item filled, or "not disclosed".</summary>
    private static void Disclosure(Utf8JsonWriter w, RunData run, RunAnalysisResult a)
    {
        var f = run.Facts;
        var d = run.Deployment;
        var p = a.Production;
        var h = a.Headline;
        string Or(string? value) => string.IsNullOrEmpty(value) ? NotDisclosed : value;
        string N(double? value, string format = "G6") => value is { } x && double.IsFinite(x) ? x.ToString(format, System.Globalization.CultureInfo.InvariantCulture) : NotDisclosed;
        w.WriteStartObject("disclosure");

        Dimension("operatingPoint", [
            ("quality", a.Quality.Count > 0 ? string.Join("; ", a.Quality.Select(q => $"{q} ({q.Source})")) : NotDisclosed),
            ("latency", Or(run.Slo?.ToString())),
            ("met", Met(run.Slo is null ? null : a.Metrics.SloMet, QualityChecks(a.Quality) is { Count: > 0 } checks ? checks.All(c => c.Met) : null)),
        ]);
        var workload = f.GetProperty("workload");
        var arrivals = f.GetProperty("arrivals");
        Dimension("workload", [
            ("promptSource", RunFactsText(workload, "dataset") is { } ds ? $"dataset {ds} ({RunFactsText(workload, "datasetFormat")})" : "synthetic prompts"),
            ("inputLengths", Or(RunFactsText(workload, "inputTokens"))),
            ("outputLengths", Or(RunFactsText(workload, "outputTokens"))),
            ("arrivalProcess", Arrivals(arrivals)),
            ("meanContextTokens", N(p.MeanContextTokens, "0")),
            ("batching", run.Simulated ? "twin engine: continuous batching, chunked prefill" : NotDisclosed),
            ("prefixCaching", $"shared prefix of {workload.GetProperty("sharedPrefixTokens").GetInt32()} tokens; server setting {(run.Simulated ? "on (twin)" : NotDisclosed)}"),
        ]);
        Dimension("modelAndSoftware", [
            ("model", Or(f.GetProperty("target").GetProperty("model").GetString())),
            ("weightsHash", NotDisclosed),
            ("architecture", Or(d.ModelArchitecture)),
            ("precision", Or(d.Precision)),
            ("engine", Or(d.Engine)),
            ("serverArguments", NotDisclosed),
        ]);
        var energy = h.Energy;
        Dimension("hardwareAndBoundary", [
            ("devices", d.Accelerator is null ? NotDisclosed : $"{d.Devices ?? 1} × {d.Accelerator}"),
            ("powerLimits", d.PowerLimitWatts is { } limit ? $"{limit} W per device (enforced)" : p.ItPowerSource?.Contains("power limit", StringComparison.Ordinal) == true ? p.ItPowerSource : NotDisclosed),
            ("meters", energy is null ? NotDisclosed : string.Join(", ", energy.Channels.Select(c => $"{c.Channel.Id} ({c.Run.Method})"))),
            ("boundary", energy is null ? NotDisclosed : $"{energy.Total.Boundary}; {(energy.Total.Simulated ? "simulated" : energy.Total.Modeled ? "modeled" : "measured")}"),
            ("samplingIntervals", run.Meters.Count == 0 ? NotDisclosed : string.Join(", ", run.Meters.Select(m => $"{m.Channel.Id} {m.SamplingInterval.TotalMilliseconds:0.###} ms read, {(m.UpdatePeriod is { } u ? $"{u.TotalMilliseconds:0.###} ms update" : "update unknown")}"))),
            ("idleHandling", energy?.StaticJoules is null ? "gross only: no idle baseline" : "gross and idle-subtracted (idle measured before and after the run)"),
            ("pueSource", h.FacilitySource ?? NotDisclosed),
        ]);
        var r = p.Result;
        var realized = r?.Conventions.FirstOrDefault(c => c.Convention == Convention.Realized);
        var peak = r?.Conventions.FirstOrDefault(c => c.Convention == Convention.Peak);
        Dimension("ceilings", [
            ("kappa", N(p.KappaFlopPerToken)),
            ("epsilon", N(p.EpsilonJoulesPerToken)),
            ("cEffRealized", N(p.EffectiveComputeFlopPerSecond)),
            ("cPeak", N(p.PeakComputeFlopPerSecond)),
            ("pItBudget", p.ItPowerWatts is { } it ? $"{it.ToString("G6", System.Globalization.CultureInfo.InvariantCulture)} W ({p.ItPowerSource})" : NotDisclosed),
            ("computeCeiling", N(r?.Headline.ComputeCeilingTokensPerSecond)),
            ("powerCeiling", N(r?.Headline.PowerCeilingTokensPerSecond)),
            ("bindingRealized", realized is null ? NotDisclosed : Camel(realized.BindingConstraint)),
            ("bindingPeak", peak is null ? NotDisclosed : Camel(peak.BindingConstraint)),
            ("headroom", N(r?.Headline.Headroom)),
            ("convention", r is null ? NotDisclosed : $"headline {Camel(r.Headline.Convention)}; peak is an upper bound only"),
        ]);
        Dimension("utilizationAndOutput", [
            ("utilization", $"{p.Utilization.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)} ({p.UtilizationSource})"),
            ("utilizationAdjustedOutput", N(r?.Headline.UtilizationAdjustedTokensPerSecond)),
            ("tokensProduced", a.Metrics.OutputTokens.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("throughput", N(h.OutputTokensPerSecond)),
            ("goodput", N(a.Metrics.GoodputRequestsPerSecond)),
        ]);
        w.WriteEndObject();

        void Dimension(string name, (string Item, string Value)[] items)
        {
            w.WriteStartObject(name);
            foreach (var (item, value) in items) w.WriteString(item, value);
            w.WriteEndObject();
        }
    }

    private static string Met(bool? latency, bool? quality) => (latency, quality) switch
    {
        (null, null) => NotDisclosed,
        _ => string.Join("; ", new[]
        {
            latency is { } l ? (l ? "latency met" : "latency missed") : null,
            quality is { } q ? (q ? "quality met" : "quality missed") : null,
        }.OfType<string>()),
    };

    /// <summary>The arrival process in words: "closed loop, concurrency 16, 30 s".</summary>
    private static string Arrivals(JsonElement a)
    {
        string? N(string name) => a.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble().ToString("0.###", System.Globalization.CultureInfo.InvariantCulture) : null;
        var kind = a.GetProperty("kind").GetString();
        var parts = new List<string>
        {
            kind switch
            {
                "closed" => $"closed loop, concurrency {N("concurrency")}",
                "trace" => $"trace replay at {N("traceSpeed")}× speed",
                _ => $"{kind} arrivals at {N("rate")} requests/s",
            },
        };
        if (N("rampTo") is { } ramp) parts.Add($"ramping to {ramp}");
        if (N("burstiness") is { } b) parts.Add($"burstiness {b}");
        if (N("count") is { } count) parts.Add($"{count} requests");
        if (N("durationSeconds") is { } seconds) parts.Add($"{seconds} s");
        return string.Join(", ", parts);
    }

    private static string? RunFactsText(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
