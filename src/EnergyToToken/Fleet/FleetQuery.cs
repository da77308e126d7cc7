namespace EnergyToToken.Fleet;

/// <summary>The I/O half of a fleet evaluation: asks Prometheus for each series, then hands them to <see cref="FleetEvaluator"/>.</summary>
public static class FleetQuery
{
    /// <exception cref="EnergyToTokenException">The options are unusable (every problem listed), Prometheus fails, or there is nothing to evaluate.</exception>
    public static async Task<FleetReport> RunAsync(FleetOptions options, HttpClient http, CancellationToken cancellationToken = default)
    {
        var problems = options.Validate();
        if (problems.Count > 0) throw new EnergyToTokenException(string.Join(Environment.NewLine, problems));
        var client = new PrometheusRangeClient(http, options.Prometheus);
        var steps = Math.Max(1, (int)Math.Floor((options.To - options.From) / options.Step + 1e-9));
        var end = options.From + steps * options.Step;

        // One query first, so an unreachable server is one message rather than six.
        Task<IReadOnlyList<RangeSeries>> Query(string q) => client.QueryRangeAsync(q, options.From, end, options.Step, cancellationToken);
        var m = options.Metrics;
        var prompt = await Query(m.PromptTokens);
        var generation = await Query(m.GenerationTokens);
        var energy = await Query(m.Energy);
        var power = await Query(m.Power);
        var sm = await Query(m.SmActive);
        var pue = options.PueQuery is { } pq ? await Query(pq) : [];
        if (energy.Count == 0 && power.Count == 0 && prompt.Count + generation.Count > 0)
            throw new EnergyToTokenException($"Prometheus has token series but no GPU energy ({m.Energy}) or power ({m.Power}) series in the range: is the DCGM exporter scraped?");
        var up = await Query("up");
        var report = FleetEvaluator.Evaluate(options, new FleetData(prompt, generation, energy, power, sm, pue));
        return report with { Warnings = [.. DownTargets(up), .. report.Warnings] };
    }

    /// <summary>
    /// Targets whose <c>up</c> was 0 in some steps: their series have gaps or are missing there, so the figures
    /// undercount; named so that the reader knows which.
    /// </summary>
    public static IEnumerable<string> DownTargets(IReadOnlyList<RangeSeries> up) =>
        up.Where(s => s.Points.Any(p => p.Value == 0))
            .OrderBy(s => s.Label("job"), StringComparer.Ordinal).ThenBy(s => s.Label("instance"), StringComparer.Ordinal)
            .Select(s => $"Target job=\"{s.Label("job")}\" instance=\"{s.Label("instance")}\" was down in {s.Points.Count(p => p.Value == 0)} of {s.Points.Count} steps: its series are missing there and the figures undercount.");
}
