using System.Text.Json;
using static EnergyToToken.Reporting.EnergyReport;
using static EnergyToToken.Reporting.ModelReport;

namespace EnergyToToken.Reporting;

/// <summary>
/// <c>e2t compare --json</c>: <c>kind: e2t.compare</c>, schema version <see cref="Comparison.SchemaVersion"/>, documented
/// field by field in docs/compare.md. camelCase; numbers in result.json's units; unknown numbers null.
/// </summary>
public static class ComparisonJson
{
    /// <summary>The comparison as text, ending in a newline (so a file and a terminal get the same bytes).</summary>
    public static string Write(Comparison comparison)
    {
        ArgumentNullException.ThrowIfNull(comparison);
        return EnergyReport.Write(w => Body(w, comparison)) + "\n";
    }

    private static void Body(Utf8JsonWriter w, Comparison c)
    {
        w.WriteStartObject();
        w.WriteNumber("schemaVersion", Comparison.SchemaVersion);
        w.WriteString("kind", "e2t.compare");
        w.WriteString("reference", c.Runs[0].Label);

        w.WriteStartArray("runs");
        foreach (var r in c.Runs)
        {
            w.WriteStartObject();
            w.WriteString("label", r.Label);
            w.WriteString("source", r.Source);
            w.WriteString("name", r.Name);
            w.WriteString("startedUtc", r.StartedUtc);
            w.WriteString("toolVersion", r.ToolVersion);
            w.WriteString("model", r.Model);
            w.WriteString("devices", r.Devices);
            w.WriteString("precision", r.Precision);
            w.WriteString("powerLimits", r.PowerLimits);
            w.WriteString("engine", r.Engine);
            w.WriteString("lengths", r.Lengths);
            w.WriteString("arrivals", r.Arrivals);
            w.WriteString("boundary", r.Boundary);
            w.WriteString("accounting", r.Accounting);
            w.WriteString("window", r.Window);
            w.WriteString("slo", r.Slo);
            Strings(w, "quality", r.Quality);
            w.WriteBoolean("simulated", r.Simulated);
            w.WriteBoolean("complete", r.Complete);
            w.WriteBoolean("valid", r.Valid);
            Strings(w, "flags", r.Flags);
            w.WriteEndObject();
        }
        w.WriteEndArray();

        var p = c.OperatingPoint;
        w.WriteStartObject("operatingPoint");
        w.WriteStartArray("quality");
        foreach (var q in p.Quality)
        {
            w.WriteStartObject();
            w.WriteString("name", q.Name);
            w.WriteNumber("dropPoints", q.DropPoints);
            w.WriteString("source", q.Source);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("latency");
        foreach (var t in p.Latency)
        {
            w.WriteStartObject();
            w.WriteString("target", t.Target);
            w.WriteString("metric", t.Metric);
            w.WriteString("statistic", t.Statistic);
            w.WriteNumber("limitMs", t.LimitMs);
            w.WriteString("source", t.Source);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteNumber("errorRateIncrease", p.ErrorRateIncrease);
        w.WriteNumber("sameWithin", p.SameWithin);
        w.WriteEndObject();

        w.WriteStartArray("metrics");
        foreach (var m in c.Metrics)
        {
            w.WriteStartObject();
            w.WriteString("key", m.Key);
            w.WriteString("label", m.Label);
            w.WriteString("unit", m.Unit);
            w.WriteString("preference", Camel(m.Preference));
            w.WriteStartArray("values");
            foreach (var cell in m.Cells)
            {
                if (cell.Text is { } text) w.WriteStringValue(text);
                else if (cell.Value is { } v && double.IsFinite(v)) w.WriteNumberValue(v);
                else w.WriteNullValue();
            }
            w.WriteEndArray();
            w.WriteStartArray("relativeDeltas");
            foreach (var cell in m.Cells)
            {
                if (cell.RelativeDelta is { } d && double.IsFinite(d)) w.WriteNumberValue(d);
                else w.WriteNullValue();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();

        w.WriteStartArray("candidates");
        foreach (var k in c.Candidates)
        {
            w.WriteStartObject();
            w.WriteString("label", k.Label);
            w.WriteBoolean("counts", k.Counts);
            Strings(w, "reasons", k.Reasons);
            w.WriteStartArray("checks");
            foreach (var check in k.Checks)
            {
                w.WriteStartObject();
                w.WriteString("check", check.Check);
                w.WriteBoolean("passed", check.Passed);
                w.WriteString("detail", check.Detail);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            Number(w, "epsilonRatio", k.EpsilonRatio);
            Number(w, "throughputRatio", k.ThroughputRatio);
            w.WriteStartArray("ceilings");
            foreach (var m in k.Ceilings)
            {
                w.WriteStartObject();
                w.WriteString("convention", m.Convention);
                w.WriteString("ceiling", m.Ceiling);
                Number(w, "referenceTokensPerSecond", m.Reference);
                Number(w, "candidateTokensPerSecond", m.Candidate);
                Number(w, "relativeChange", m.RelativeChange);
                w.WriteString("direction", Camel(m.Direction));
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("bindingConstraints");
            foreach (var b in k.BindingConstraints)
            {
                w.WriteStartObject();
                w.WriteString("convention", b.Convention);
                w.WriteString("reference", b.Reference);
                w.WriteString("candidate", b.Candidate);
                w.WriteBoolean("changed", b.Changed);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteString("summary", k.Summary);
            Strings(w, "notes", k.Notes);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }
}
