using System.Globalization;
using System.Text.Json;
using EnergyToToken.Load;
using EnergyToToken.Metering;
using static EnergyToToken.Reporting.EnergyReport;
using static EnergyToToken.Reporting.ModelReport;

namespace EnergyToToken.Runs;

/// <summary>
/// What served the run, for the production function and the disclosure: the model's architecture (for κ), the
/// accelerators (for the peak compute and the power limits) and the engine. Every field may be unknown (null) for an
/// endpoint whose hardware was not declared; the twin knows all of them.
/// </summary>
/// <param name="ModelArchitecture">A catalog model (e2t model list), for κ.</param>
/// <param name="Accelerator">A catalog accelerator, for C_peak and the power limits.</param>
/// <param name="PowerLimitWatts">Enforced power limit per device, W; null: the accelerator's spec limit.</param>
public sealed record Deployment(string? ModelArchitecture, string? Accelerator, int? Devices, string? Precision, double? PowerLimitWatts, string? Engine)
{
    public static readonly Deployment Unknown = new(null, null, null, null, null, null);
}

/// <summary>
/// <c>run.json</c>: the facts of a run that analysis needs beside the timelines (the plan, the deployment, the idle
/// baselines and the window, the meters' descriptions and events, the client's CPU). Written once by the bench;
/// read by <c>e2t analyze</c>; copied into <c>result.json</c>.
/// </summary>
public static class RunFacts
{
    public const string File = "run.json";
    public const int SchemaVersion = 1;

    /// <summary>The JSON of <c>run.json</c>.</summary>
    public static string Json(BenchPlan plan, BenchResult result, DateTimeOffset startedUtc, (string Parameter, double Value)? point, Deployment deployment, Analysis.AnalysisOptions analysis) => Write(w =>
    {
        w.WriteStartObject();
        w.WriteString("kind", "e2t.run");
        w.WriteNumber("schemaVersion", SchemaVersion);
        w.WriteString("toolVersion", Reporting.BenchReport.ToolVersion);
        w.WriteString("name", plan.Name);
        w.WriteString("startedUtc", startedUtc.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
        w.WriteBoolean("complete", result.Complete);
        w.WriteBoolean("simulated", plan.Target.Simulated);
        if (point is { } p)
        {
            w.WriteStartObject("point");
            w.WriteString("parameter", p.Parameter);
            w.WriteNumber("value", p.Value);
            w.WriteEndObject();
        }
        else
        {
            w.WriteNull("point");
        }

        w.WriteStartObject("target");
        w.WriteString("endpoint", plan.Target.Endpoint.ToString());
        w.WriteString("model", plan.Target.Model);
        w.WriteString("api", Camel(plan.Target.Api));
        w.WriteString("twinProfile", plan.Target.TwinProfile);
        w.WriteEndObject();

        w.WriteStartObject("deployment");
        w.WriteString("modelArchitecture", deployment.ModelArchitecture);
        w.WriteString("accelerator", deployment.Accelerator);
        if (deployment.Devices is { } devices) w.WriteNumber("devices", devices);
        else w.WriteNull("devices");
        w.WriteString("precision", deployment.Precision);
        Number(w, "powerLimitWatts", deployment.PowerLimitWatts);
        w.WriteString("engine", deployment.Engine);
        w.WriteEndObject();

        var workload = plan.Workload;
        w.WriteStartObject("workload");
        w.WriteString("inputTokens", workload.Dataset is null ? workload.InputTokens.Text : null);
        w.WriteString("outputTokens", workload.OutputTokens.Text);
        w.WriteBoolean("fixedOutput", workload.FixedOutput);
        w.WriteNumber("sharedPrefixTokens", workload.SharedPrefixTokens);
        w.WriteNumber("warmupRequests", workload.WarmupRequests);
        w.WriteNumber("seed", workload.Seed);
        w.WriteString("dataset", workload.Dataset?.Path);
        w.WriteString("datasetFormat", workload.Dataset is { } d ? Camel(d.Format) : null);
        Number(w, "drainSeconds", workload.Drain.TotalSeconds);
        w.WriteEndObject();

        var arrivals = plan.Arrivals;
        w.WriteStartObject("arrivals");
        w.WriteString("kind", Camel(arrivals.Kind));
        if (arrivals.Kind == ArrivalKind.Closed) w.WriteNumber("concurrency", arrivals.Concurrency);
        else if (arrivals.Kind != ArrivalKind.Trace) w.WriteNumber("rate", arrivals.Rate);
        Number(w, "rampTo", arrivals.RampTo);
        if (arrivals.Kind == ArrivalKind.Gamma) w.WriteNumber("burstiness", arrivals.Burstiness);
        if (arrivals.Kind == ArrivalKind.Trace) w.WriteNumber("traceSpeed", arrivals.TraceSpeed);
        Number(w, "count", arrivals.Count);
        Number(w, "durationSeconds", arrivals.Duration?.TotalSeconds);
        w.WriteEndObject();

        w.WriteString("slo", plan.Slo?.ToString());
        w.WriteStartObject("validity");
        w.WriteNumber("maxErrorRate", plan.Validity.MaxErrorRate);
        w.WriteBoolean("failOnClientLimited", plan.Validity.FailOnClientLimited);
        w.WriteBoolean("allowModeled", plan.Validity.AllowModeled);
        w.WriteEndObject();

        w.WriteStartObject("marks");
        Span("idleBefore", result.IdleBefore);
        Span("idleAfter", result.IdleAfter);
        Span("window", (result.WindowFromSeconds, result.WindowToSeconds));
        w.WriteEndObject();

        w.WriteStartObject("client");
        Number(w, "cpuShare", result.ClientCpuShare);
        w.WriteNumber("logicalCores", Environment.ProcessorCount);
        w.WriteEndObject();

        w.WriteStartObject("sampler");
        Number(w, "latenessP50Seconds", result.SamplerLateness.P50);
        Number(w, "latenessP99Seconds", result.SamplerLateness.P99);
        Number(w, "latenessMaxSeconds", result.SamplerLateness.Max);
        w.WriteEndObject();

        Analysis(w, analysis);

        w.WriteStartArray("meters");
        foreach (var m in result.Samples)
        {
            var c = m.Channel;
            w.WriteStartObject();
            w.WriteString("id", c.Id);
            w.WriteString("description", c.Description);
            w.WriteString("scope", Camel(c.Scope));
            w.WriteString("kind", Camel(c.Kind));
            w.WriteBoolean("hasPower", c.HasPower);
            w.WriteNumber("energyResolutionJoules", c.EnergyResolutionJoules);
            w.WriteNumber("powerResolutionWatts", c.PowerResolutionWatts);
            Number(w, "wrapJoules", c.WrapJoules);
            w.WriteNumber("nominalUpdatePeriodSeconds", c.NominalUpdatePeriod.TotalSeconds);
            w.WriteNumber("averagingWindowSeconds", c.AveragingWindow.TotalSeconds);
            w.WriteString("deviceKey", c.DeviceKey);
            w.WriteBoolean("modeled", c.Modeled);
            w.WriteBoolean("simulated", c.Simulated);
            Strings(w, "notes", c.Notes);
            w.WriteNumber("samplingIntervalSeconds", m.SamplingInterval.TotalSeconds);
            Number(w, "updatePeriodSeconds", m.UpdatePeriod?.TotalSeconds);
            w.WriteBoolean("updatePeriodResolved", m.UpdatePeriodResolved);
            w.WriteNumber("reads", m.Reads);
            w.WriteNumber("meanReadLatencySeconds", m.MeanReadLatencySeconds);
            w.WriteNumber("maxReadLatencySeconds", m.MaxReadLatencySeconds);
            Number(w, "clockOffsetSeconds", m.ClockOffsetSeconds);
            w.WriteStartArray("events");
            foreach (var e in m.Events)
            {
                w.WriteStartObject();
                w.WriteString("kind", Camel(e.Kind));
                w.WriteNumber("from", e.From);
                w.WriteNumber("to", e.To);
                w.WriteString("detail", e.Detail);
                w.WriteNumber("estimatedJoules", e.EstimatedJoules);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();

        w.WriteStartArray("telemetry");
        foreach (var t in result.Telemetry)
        {
            w.WriteStartArray();
            foreach (var n in t.Names)
            {
                w.WriteStartObject();
                w.WriteString("id", n.Id);
                w.WriteString("unit", n.Unit);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        w.WriteEndArray();
        w.WriteEndObject();

        void Span(string name, (double From, double To)? span)
        {
            if (span is not { } s)
            {
                w.WriteNull(name);
                return;
            }
            w.WriteStartArray(name);
            w.WriteNumberValue(s.From);
            w.WriteNumberValue(s.To);
            w.WriteEndArray();
        }
    });

    /// <summary>The analysis options the bench used, so <c>e2t analyze</c> repeats them unless told otherwise.</summary>
    private static void Analysis(Utf8JsonWriter w, Analysis.AnalysisOptions o)
    {
        w.WriteStartObject("analysis");
        w.WriteString("window", Camel(o.Headline));
        if (o.Steady is { } s)
        {
            w.WriteStartArray("steady");
            w.WriteNumberValue(s.From);
            w.WriteNumberValue(s.To);
            w.WriteEndArray();
        }
        else
        {
            w.WriteNull("steady");
        }
        Number(w, "kappa", o.Kappa);
        w.WriteString("modelArch", o.ModelArchitecture);
        w.WriteString("accelerator", o.Accelerator);
        Number(w, "devices", o.Devices);
        w.WriteString("precision", o.Precision);
        if (o.Saturation is { } sat)
        {
            w.WriteStartObject("saturation");
            w.WriteString("parameter", sat.Parameter);
            Number(w, "value", sat.Value);
            w.WriteNumber("outputTokensPerSecond", sat.OutputTokensPerSecond);
            Number(w, "goodputRequestsPerSecond", sat.GoodputRequestsPerSecond);
            w.WriteString("source", sat.Source);
            Number(w, "smActivity", sat.SmActivity);
            w.WriteEndObject();
        }
        else
        {
            w.WriteNull("saturation");
        }
        Number(w, "pIt", o.ItPowerWatts);
        Number(w, "pFacility", o.FacilityPowerWatts);
        Number(w, "pue", o.Pue);
        if (o.PueSeries is { } series)
        {
            w.WriteStartObject("pueSeries");
            w.WriteString("source", series.Source);
            w.WriteStartArray("points");
            foreach (var p in series.Series.Points)
            {
                w.WriteStartArray();
                w.WriteNumberValue(p.AtSeconds);
                w.WriteNumberValue(p.Value);
                w.WriteEndArray();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        else
        {
            w.WriteNull("pueSeries");
        }
        Reporting.ResultReport.Qualities(w, "quality", o.Quality);
        if (o.Calibration is { } c)
        {
            w.WriteStartObject("calibration");
            w.WriteNumber("prefillJoulesPerToken", c.PrefillJoulesPerToken);
            w.WriteNumber("decodeJoulesPerToken", c.DecodeJoulesPerToken);
            Number(w, "prefillStdError", c.PrefillStdError);
            Number(w, "decodeStdError", c.DecodeStdError);
            w.WriteNumber("intervals", c.Intervals);
            Number(w, "rSquared", c.RSquared);
            w.WriteEndObject();
        }
        else
        {
            w.WriteNull("calibration");
        }
        w.WriteEndObject();
    }

    /// <summary>The analysis options recorded in <c>run.json</c>.</summary>
    internal static Analysis.AnalysisOptions ReadAnalysis(JsonElement facts)
    {
        var a = facts.GetProperty("analysis");
        double D(JsonElement e, string name) => e.GetProperty(name).ValueKind == JsonValueKind.Number ? e.GetProperty(name).GetDouble() : double.NaN;
        return new Analysis.AnalysisOptions
        {
            Headline = Enum.Parse<Analysis.HeadlineWindow>(a.GetProperty("window").GetString()!, ignoreCase: true),
            Steady = OptionalSpan(a, "steady"),
            Kappa = OptionalDouble(a, "kappa"),
            ModelArchitecture = OptionalString(a, "modelArch"),
            Accelerator = OptionalString(a, "accelerator"),
            Devices = OptionalDouble(a, "devices") is { } n ? (int)n : null,
            Precision = OptionalString(a, "precision"),
            Saturation = a.GetProperty("saturation") is { ValueKind: JsonValueKind.Object } s
                ? new Analysis.Saturation(s.GetProperty("parameter").GetString()!, D(s, "value"), D(s, "outputTokensPerSecond"), D(s, "goodputRequestsPerSecond"), s.GetProperty("source").GetString()!, OptionalDouble(s, "smActivity"))
                : null,
            ItPowerWatts = OptionalDouble(a, "pIt"),
            FacilityPowerWatts = OptionalDouble(a, "pFacility"),
            Pue = OptionalDouble(a, "pue"),
            PueSeries = a.GetProperty("pueSeries") is { ValueKind: JsonValueKind.Object } ps
                ? (Production.Series.Steps(ps.GetProperty("points").EnumerateArray().Select(p => new Production.SeriesPoint(p[0].GetDouble(), p[1].GetDouble()))), ps.GetProperty("source").GetString()!)
                : null,
            Quality = [.. a.GetProperty("quality").EnumerateArray().Select(q => new QualityDeclaration(q.GetProperty("name").GetString()!, q.GetProperty("value").GetDouble(), OptionalDouble(q, "tolerance"), q.GetProperty("source").GetString()!))],
            Calibration = a.GetProperty("calibration") is { ValueKind: JsonValueKind.Object } c
                ? new Analysis.PhaseCoefficients(c.GetProperty("prefillJoulesPerToken").GetDouble(), c.GetProperty("decodeJoulesPerToken").GetDouble(), "calibration",
                    D(c, "prefillStdError"), D(c, "decodeStdError"), c.GetProperty("intervals").GetInt32(), D(c, "rSquared"))
                : null,
        };
    }

    private static string Write(Action<Utf8JsonWriter> body) => Reporting.EnergyReport.Write(body) + "\n";

    /// <summary>The meters' channels, rebuilt from <c>run.json</c>, keyed by id.</summary>
    internal static MeterChannel Channel(JsonElement m) => new(
        m.GetProperty("id").GetString()!, m.GetProperty("description").GetString()!,
        Enum.Parse<MeterScope>(m.GetProperty("scope").GetString()!, ignoreCase: true), Enum.Parse<ReadingKind>(m.GetProperty("kind").GetString()!, ignoreCase: true))
    {
        HasPower = m.GetProperty("hasPower").GetBoolean(),
        EnergyResolutionJoules = m.GetProperty("energyResolutionJoules").GetDouble(),
        PowerResolutionWatts = m.GetProperty("powerResolutionWatts").GetDouble(),
        WrapJoules = OptionalDouble(m, "wrapJoules"),
        NominalUpdatePeriod = Duration(m.GetProperty("nominalUpdatePeriodSeconds").GetDouble()),
        AveragingWindow = Duration(m.GetProperty("averagingWindowSeconds").GetDouble()),
        DeviceKey = m.GetProperty("deviceKey").GetString()!,
        Modeled = m.GetProperty("modeled").GetBoolean(),
        Simulated = m.GetProperty("simulated").GetBoolean(),
        Notes = [.. m.GetProperty("notes").EnumerateArray().Select(n => n.GetString()!)],
    };

    internal static IReadOnlyList<MeterEvent> Events(JsonElement m, string channel) =>
        [.. m.GetProperty("events").EnumerateArray().Select(e => new MeterEvent(channel, Enum.Parse<MeterEventKind>(e.GetProperty("kind").GetString()!, ignoreCase: true),
            e.GetProperty("from").GetDouble(), e.GetProperty("to").GetDouble(), e.GetProperty("detail").GetString()!) { EstimatedJoules = e.GetProperty("estimatedJoules").GetDouble() })];

    /// <summary>
    /// A duration read back from seconds, to the nearest tick: TimeSpan.FromSeconds truncates, so 0.100168 s (1,001,680
    /// ticks written) would come back one tick short and a re-analysis would no longer give the same bytes.
    /// </summary>
    internal static TimeSpan Duration(double seconds) => TimeSpan.FromTicks((long)Math.Round(seconds * TimeSpan.TicksPerSecond));

    internal static double? OptionalDouble(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;

    internal static string? OptionalString(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    internal static (double From, double To)? OptionalSpan(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Array ? (v[0].GetDouble(), v[1].GetDouble()) : null;
}
