using System.Globalization;
using System.Text.Json;
using EnergyToToken.Production;

namespace EnergyToToken.Analysis;

/// <summary>Inputs of the analysis that live in files: R_sat from an earlier run, a PUE series.</summary>
public static class AnalysisInputs
{
    /// <summary>
    /// R_sat from an earlier run directory: a search's or sweep's <c>result.json</c> (its <c>saturation</c>), or a single
    /// run that met its SLO (its headline output tokens/s).
    /// </summary>
    public static Saturation ReadSaturation(string directory)
    {
        var path = Path.Combine(directory, "result.json");
        if (!File.Exists(path)) throw new EnergyToTokenException($"--saturation {directory}: no result.json there. Give the directory of an e2t bench --find-max-goodput (or --sweep) run, or of a run that met its --slo.");
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = doc.RootElement;
            if (root.TryGetProperty("saturation", out var s))
            {
                if (s.ValueKind != JsonValueKind.Object)
                    throw new EnergyToTokenException($"--saturation {directory}: that series found no load that met its SLO, so it has no saturation throughput. Search again with a looser --slo or lower loads.");
                return new Saturation(s.GetProperty("parameter").GetString()!, s.GetProperty("value").GetDouble(), s.GetProperty("outputTokensPerSecond").GetDouble(),
                    s.GetProperty("goodputRequestsPerSecond").ValueKind == JsonValueKind.Number ? s.GetProperty("goodputRequestsPerSecond").GetDouble() : double.NaN, $"--saturation {directory}",
                    Runs.RunFacts.OptionalDouble(s, "smActivity"));
            }
            if (!root.TryGetProperty("slo", out var slo) || slo.ValueKind != JsonValueKind.Object || !slo.GetProperty("met").GetBoolean())
                throw new EnergyToTokenException($"--saturation {directory}: that run did not meet an SLO, so its throughput is not a saturation point. Give a --find-max-goodput run, or a run that met its --slo.");
            var throughput = root.GetProperty("metrics").GetProperty("throughput");
            var goodput = root.GetProperty("metrics").GetProperty("goodputRequestsPerSecond");
            // The run's SM activity, from its gauges, is the reference U from SM activity is divided by.
            double? sm = null;
            if (root.TryGetProperty("energy", out var energy) && energy.ValueKind == JsonValueKind.Object)
            {
                var gauges = energy.GetProperty("gauges").EnumerateArray()
                    .Where(g => Saturation.IsSmActivity(g.GetProperty("id").GetString()!)).Select(g => g.GetProperty("mean").GetDouble()).ToList();
                if (gauges.Count > 0) sm = gauges.Average();
            }
            return new Saturation("run", double.NaN, throughput.GetProperty("outputTokensPerSecond").GetDouble(),
                goodput.ValueKind == JsonValueKind.Number ? goodput.GetDouble() : double.NaN, $"--saturation {directory}", sm);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new EnergyToTokenException($"--saturation {directory}: its result.json is not an e2t bench result ({e.Message}).");
        }
    }

    /// <summary>A PUE series: CSV <c>t_s,pue</c> with a header, times in s on the run's clock, each value holding until the next.</summary>
    public static Series ReadPueSeries(string path)
    {
        if (!File.Exists(path)) throw new EnergyToTokenException($"--pue-series {path}: no such file. Give a CSV with a header and rows t_s,pue (seconds on the run's clock).");
        var points = new List<SeriesPoint>();
        var errors = new List<string>();
        var line = 0;
        foreach (var text in File.ReadLines(path))
        {
            line++;
            if (line == 1 || text.Trim().Length == 0) continue;
            var parts = text.Split(',');
            if (parts.Length != 2 || !double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var t)
                || !double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var pue))
            {
                errors.Add($"line {line}: '{text}' is not t_s,pue");
                continue;
            }
            if (!(pue >= 1)) errors.Add($"line {line}: PUE {pue} is below 1");
            points.Add(new SeriesPoint(t, pue));
        }
        if (points.Count == 0 && errors.Count == 0) errors.Add("no rows after the header");
        if (points.Count > 0) errors.AddRange(Series.Validate(points, "PUE series"));
        if (errors.Count > 0) throw new EnergyToTokenException($"--pue-series {path}: {string.Join("; ", errors)}.");
        return Series.Steps(points);
    }
}
