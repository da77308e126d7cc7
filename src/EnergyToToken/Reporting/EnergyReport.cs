using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using EnergyToToken.Metering;
using static EnergyToToken.Reporting.ModelReport;

namespace EnergyToToken.Reporting;

/// <summary>
/// JSON of <c>e2t meters --json</c> (<c>kind: e2t.meters</c>) and <c>e2t measure --json</c> (<c>kind: e2t.measure</c>),
/// schema version 1, documented field by field in docs/meters.md. Energies in J, powers in W, times in s; unknown
/// numbers are null.
/// </summary>
public static class EnergyReport
{
    public const int SchemaVersion = 1;

    private static readonly JsonWriterOptions Options = new() { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string MetersJson(IReadOnlyList<MeterProbe> probes) => Write(w =>
    {
        Header(w, "e2t.meters");
        w.WriteStartArray("meters");
        foreach (var p in probes)
        {
            w.WriteStartObject();
            w.WriteString("meter", p.Meter);
            w.WriteBoolean("available", p.Available);
            w.WriteString("reason", p.Reason);
            w.WriteStartArray("channels");
            foreach (var c in p.Channels)
            {
                w.WriteStartObject();
                Channel(w, c);
                Number(w, "measuredUpdatePeriodSeconds", p.MeasuredUpdatePeriods.TryGetValue(c.Id, out var period) ? period : null);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("telemetry");
            foreach (var t in p.Telemetry)
            {
                w.WriteStartObject();
                w.WriteString("id", t.Id);
                w.WriteString("unit", t.Unit);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    });

    /// <param name="command">The measured command line.</param>
    /// <param name="exitCode">The command's exit code; null when it did not finish.</param>
    /// <param name="tokens">Token count for J/token; null when not given.</param>
    /// <param name="incomplete">Why the measurement is incomplete; null when it is complete.</param>
    public static string MeasureJson(EnergySummary summary, IReadOnlyList<string> command, int? exitCode, double? tokens, string? incomplete) => Write(w =>
    {
        Header(w, "e2t.measure");
        w.WriteStartArray("command");
        foreach (var part in command) w.WriteStringValue(part);
        w.WriteEndArray();
        if (exitCode is { } code) w.WriteNumber("exitCode", code);
        else w.WriteNull("exitCode");
        w.WriteBoolean("complete", incomplete is null);
        if (incomplete is not null) w.WriteString("incomplete", incomplete);
        Energy(w, summary, tokens);
        w.WriteEndObject();
    });

    /// <summary>
    /// The energy fields of a summary inside the current object: duration, the boundary total (with J per token when
    /// <paramref name="tokens"/> is known), every channel, gauges and the sampler's lateness. Shared by
    /// <c>e2t measure --json</c> and a bench run's <c>result.json</c>.
    /// </summary>
    internal static void Energy(Utf8JsonWriter w, EnergySummary summary, double? tokens)
    {
        Number(w, "durationSeconds", summary.DurationSeconds);
        w.WriteStartObject("total");
        w.WriteString("boundary", summary.Total.Boundary);
        w.WriteString("scope", Camel(summary.Total.Scope));
        w.WriteString("accounting", summary.Total.Simulated ? "simulated" : summary.Total.Modeled ? "modeled" : "measured");
        Number(w, "grossJoules", summary.Total.Joules);
        Number(w, "uncertaintyJoules", summary.Total.UncertaintyJoules);
        Number(w, "meanWatts", summary.MeanWatts);
        Number(w, "staticJoules", summary.StaticJoules);
        Number(w, "dynamicJoules", summary.DynamicJoules);
        Number(w, "tokens", tokens);
        Number(w, "grossJoulesPerToken", tokens > 0 ? summary.Total.Joules / tokens : null);
        Number(w, "dynamicJoulesPerToken", tokens > 0 ? summary.DynamicJoules / tokens : null);
        Strings(w, "included", summary.Total.Included);
        Strings(w, "excluded", summary.Total.Excluded);
        w.WriteEndObject();
        w.WriteStartArray("channels");
        foreach (var r in summary.Channels)
        {
            w.WriteStartObject();
            Channel(w, r.Channel);
            w.WriteString("method", Camel(r.Run.Method));
            Number(w, "joules", r.Run.Joules);
            Number(w, "uncertaintyJoules", r.Run.UncertaintyJoules);
            Number(w, "meanWatts", r.Run.MeanWatts);
            Number(w, "idleWattsBefore", r.IdleWattsBefore);
            Number(w, "idleWattsAfter", r.IdleWattsAfter);
            Number(w, "staticJoules", r.StaticJoules);
            Number(w, "dynamicJoules", r.DynamicJoules);
            w.WriteNumber("updates", r.Run.Updates);
            Number(w, "crossCheck", r.Run.CrossCheck);
            Number(w, "measuredUpdatePeriodSeconds", r.UpdatePeriod?.TotalSeconds);
            w.WriteBoolean("updatePeriodResolved", r.UpdatePeriodResolved);
            w.WriteNumber("reads", r.Reads);
            Number(w, "meanReadLatencySeconds", r.MeanReadLatencySeconds);
            Number(w, "maxReadLatencySeconds", r.MaxReadLatencySeconds);
            Number(w, "clockOffsetSeconds", r.ClockOffsetSeconds);
            Strings(w, "flags", r.Run.Flags);
            w.WriteStartArray("events");
            foreach (var e in r.Events)
            {
                w.WriteStartObject();
                w.WriteString("kind", Camel(e.Kind));
                Number(w, "fromSeconds", e.From);
                Number(w, "toSeconds", e.To);
                w.WriteString("detail", e.Detail);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("gauges");
        foreach (var g in summary.Gauges)
        {
            w.WriteStartObject();
            w.WriteString("id", g.Id);
            w.WriteString("unit", g.Unit);
            Number(w, "min", g.Min);
            Number(w, "mean", g.Mean);
            Number(w, "max", g.Max);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartObject("sampler");
        Number(w, "latenessP50Seconds", summary.SamplerLateness.P50);
        Number(w, "latenessP99Seconds", summary.SamplerLateness.P99);
        Number(w, "latenessMaxSeconds", summary.SamplerLateness.Max);
        w.WriteEndObject();
    }

    internal static void Header(Utf8JsonWriter w, string kind)
    {
        w.WriteStartObject();
        w.WriteNumber("schemaVersion", SchemaVersion);
        w.WriteString("kind", kind);
    }

    private static void Channel(Utf8JsonWriter w, MeterChannel c)
    {
        w.WriteString("id", c.Id);
        w.WriteString("description", c.Description);
        w.WriteString("scope", Camel(c.Scope));
        w.WriteString("kind", Camel(c.Kind));
        w.WriteBoolean("hasPower", c.HasPower);
        w.WriteBoolean("modeled", c.Modeled);
        w.WriteBoolean("simulated", c.Simulated);
        Number(w, "energyResolutionJoules", c.HasEnergy ? c.EnergyResolutionJoules : null);
        Number(w, "powerResolutionWatts", c.HasPower ? c.PowerResolutionWatts : null);
        Number(w, "wrapJoules", c.WrapJoules);
        Number(w, "nominalUpdatePeriodSeconds", c.NominalUpdatePeriod.TotalSeconds);
        Number(w, "averagingWindowSeconds", c.AveragingWindow > TimeSpan.Zero ? c.AveragingWindow.TotalSeconds : null);
        w.WriteString("deviceKey", c.DeviceKey);
        Strings(w, "notes", c.Notes);
    }

    internal static void Number(Utf8JsonWriter w, string name, double? value)
    {
        if (value is { } v && double.IsFinite(v)) w.WriteNumber(name, v);
        else w.WriteNull(name);
    }

    internal static void Strings(Utf8JsonWriter w, string name, IEnumerable<string> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values) w.WriteStringValue(v);
        w.WriteEndArray();
    }

    internal static string Write(Action<Utf8JsonWriter> body)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, Options)) body(writer);
        return Encoding.UTF8.GetString(stream.ToArray());
    }
}
