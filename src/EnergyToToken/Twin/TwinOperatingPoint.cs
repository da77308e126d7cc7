namespace EnergyToToken.Twin;

/// <summary>The twin's steady state at one load: energy per output token, power and throughput (simulated, not measured).</summary>
/// <param name="JoulesPerOutputToken">Gross energy per output token over the steady state, J (all devices, idle included).</param>
/// <param name="Watts">Mean power of all devices over the steady state, W.</param>
/// <param name="OutputTokensPerSecond">Output tokens per second over the steady state, all devices.</param>
public readonly record struct TwinSteadyState(double JoulesPerOutputToken, double Watts, double OutputTokensPerSecond);

/// <summary>
/// Runs the twin's engine in virtual time at a closed-loop concurrency and reads its steady state, for calibration and
/// for plans that take ε and R_sat from the twin. No HTTP and no waiting: milliseconds to a second.
/// </summary>
public static class TwinOperatingPoint
{
    /// <summary>
    /// A closed loop at <paramref name="concurrency"/> (max sequences set to it, so the batch is the concurrency),
    /// <paramref name="requests"/> requests with prompt lengths uniform over ±50 % of <paramref name="promptTokens"/>
    /// and output lengths uniform from 1 to twice <paramref name="outputTokens"/> (seeded: every run is the same),
    /// measured from the first finish to the last send, while the batch is full.
    /// </summary>
    public static TwinSteadyState Measure(TwinProfile profile, Catalog.Catalogs catalogs, int concurrency,
        int promptTokens, int outputTokens, int requests)
    {
        var deployment = TwinDeployment.Create(profile with { Engine = profile.Engine with { MaxSequences = concurrency } }, catalogs);
        var random = new Random(11);
        var work = Enumerable.Range(0, requests).Select(_ =>
        {
            // Spread lengths, so prefills do not all land in the same steps as they would with identical requests.
            var prompt = Math.Max(1, (int)(promptTokens * (0.5 + random.NextDouble())));
            return new SimulatedRequest(0, prompt, Math.Max(1, (int)(outputTokens * 2 * random.NextDouble())));
        }).ToList();
        var result = TwinSimulator.RunClosedLoop(deployment, concurrency, work);
        var from = result.Requests.Min(r => r.SampledSeconds[^1]);
        var to = result.Requests.Max(r => r.ArrivalSeconds);
        if (!(to > from))
        {
            throw new EnergyToTokenException(
                $"The twin never reached a steady state at concurrency {concurrency} with {requests} requests: the first request finished after the last was sent. Give more requests (at least 4 × concurrency).");
        }
        var tokens = result.Requests.Sum(r => r.SampledSeconds.Count(s => s > from && s <= to));
        var joules = result.Ledger.EnergyAt(to) - result.Ledger.EnergyAt(from);
        return new TwinSteadyState(joules / tokens, joules / (to - from), tokens / (to - from));
    }
}
