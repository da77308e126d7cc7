namespace EnergyToToken.Fleet;

/// <summary>
/// The I/O half of a fleet evaluation: asks Prometheus for each series over the range, in chunks, and folds every chunk
/// into a <see cref="FleetAccumulator"/> as it arrives, so memory stays bounded however large the fleet and the range.
/// </summary>
public static class FleetQuery
{
    /// <exception cref="EnergyToTokenException">The options are unusable (every problem listed), Prometheus fails, or there is nothing to evaluate.</exception>
    public static async Task<FleetReport> RunAsync(FleetOptions options, HttpClient http, CancellationToken cancellationToken = default) =>
        await RunAsync(options, new PrometheusRangeClient(http, options.Prometheus), cancellationToken);

    /// <inheritdoc cref="RunAsync(FleetOptions, HttpClient, CancellationToken)"/>
    public static async Task<FleetReport> RunAsync(FleetOptions options, PrometheusRangeClient client, CancellationToken cancellationToken = default)
    {
        var problems = options.Validate();
        if (problems.Count > 0) throw new EnergyToTokenException(string.Join(Environment.NewLine, problems));
        var end = options.From + options.Steps * options.Step;
        var fleet = new FleetAccumulator(options);

        // In the order the accumulator needs: tokens name the instances, energy before the power that stands in for it.
        Task Query(string query, Action<RangeSeries> fold) => client.QueryRangeAsync(query, options.From, end, options.Step, fold, cancellationToken);
        var m = options.Metrics;
        await Query(m.PromptTokens, fleet.AddPromptTokens);
        await Query(m.GenerationTokens, fleet.AddGenerationTokens);
        await Query(m.Energy, fleet.AddEnergy);
        // Power only where a GPU has no energy counter: Prometheus leaves the others out, so a fleet of DCGM exporters
        // (which export both) does not send every GPU twice. The accumulator skips them too, should labels differ.
        await Query($"({m.Power}) unless on({options.Match}, UUID, gpu) ({m.Energy})", fleet.AddPower);
        await Query(m.SmActive, fleet.AddSmActive);
        if (m.NodeEnergy is { } nodeEnergy) await Query(nodeEnergy, fleet.AddNodeEnergy);
        if (m.NodePower is { } nodePower) await Query(nodePower, fleet.AddNodePower);
        if (options.PueQuery is { } pue) await Query(pue, fleet.AddPue);
        // How often each target was down, counted by Prometheus in one instant query: one number per target that was
        // ever down, however long the range and however many targets there are.
        var range = (long)Math.Round((end - options.From) * 1000);
        var step = (long)Math.Round(options.Step * 1000);
        var down = await client.QueryInstantAsync($"count_over_time((up == 0)[{range}ms:{step}ms])", end, cancellationToken);
        var report = fleet.Finish();
        return report with
        {
            Warnings = [.. client.Warnings, .. DownTargets([.. down.Select(d => (d, (int)d.Points.Sum(p => p.Value)))], options.Steps), .. report.Warnings],
        };
    }

    /// <summary>
    /// Targets whose <c>up</c> was 0 at some of the range's <paramref name="steps"/> steps: their series have gaps or are
    /// missing there, so the figures undercount; named so that the reader knows which.
    /// </summary>
    public static IEnumerable<string> DownTargets(IReadOnlyList<(RangeSeries Labels, int Steps)> down, int steps) =>
        down.Where(d => d.Steps > 0)
            .OrderBy(d => d.Labels.Label("job"), StringComparer.Ordinal).ThenBy(d => d.Labels.Label("instance"), StringComparer.Ordinal)
            .Select(d => $"Target job=\"{d.Labels.Label("job")}\" instance=\"{d.Labels.Label("instance")}\" was down in {d.Steps} of the range's {steps} steps: its series are missing there and the figures undercount.");
}
