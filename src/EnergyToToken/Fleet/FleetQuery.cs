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
        return FleetEvaluator.Evaluate(options, new FleetData(prompt, generation, energy, power, sm, pue));
    }
}
