namespace EnergyToToken.Twin;

/// <summary>A request for the offline simulator: when it arrives and how long its prompt and output are.</summary>
/// <param name="SharedPrefixTokens">Leading prompt tokens shared with every other request that has the same prefix length (for prefix-cache studies).</param>
public readonly record struct SimulatedRequest(double ArrivalSeconds, int PromptTokens, int OutputTokens, int SharedPrefixTokens = 0);

/// <summary>What an offline simulation produced: every request's ground truth, the power ledger and the span simulated.</summary>
public sealed record SimulationResult(IReadOnlyList<RequestTruth> Requests, PowerLedger Ledger, double Seconds, long Steps, long Preemptions)
{
    public long OutputTokens => Requests.Sum(r => (long)r.OutputTokens);

    public double Joules => Ledger.EnergyAt(Seconds);

    public double OutputTokensPerSecond => Seconds > 0 ? OutputTokens / Seconds : 0;

    /// <summary>Gross energy per output token over the whole span, J (idle included).</summary>
    public double JoulesPerOutputToken => OutputTokens > 0 ? Joules / OutputTokens : double.NaN;
}

/// <summary>
/// Runs the twin's engine in virtual time: no HTTP, no waiting. Steps follow each other exactly as the server would run
/// them, so the calibration and the tests of the physical model see the same engine the server uses, in milliseconds.
/// </summary>
public static class TwinSimulator
{
    /// <summary>Open loop: each request arrives at its own time.</summary>
    public static SimulationResult Run(TwinDeployment deployment, IReadOnlyList<SimulatedRequest> requests, ulong seed = 1) =>
        Simulate(deployment, requests, concurrency: 0, seed);

    /// <summary>
    /// Closed loop: <paramref name="concurrency"/> requests in flight; each finish sends the next request at once
    /// (arrival times in <paramref name="requests"/> are ignored).
    /// </summary>
    public static SimulationResult RunClosedLoop(TwinDeployment deployment, int concurrency, IReadOnlyList<SimulatedRequest> requests, ulong seed = 1)
    {
        if (concurrency < 1) throw new EnergyToTokenException($"Concurrency must be at least 1 (was {concurrency}).");
        return Simulate(deployment, requests, concurrency, seed);
    }

    private static SimulationResult Simulate(TwinDeployment deployment, IReadOnlyList<SimulatedRequest> requests, int concurrency, ulong seed)
    {
        var engine = new TwinEngine(deployment, Enumerable.Range(1000, 1000).ToArray());
        var ledger = new PowerLedger(deployment.Step.IdleWatts, bounded: false);
        var truths = new List<RequestTruth>(requests.Count);
        var closed = concurrency > 0;
        var ordered = requests.Select((r, i) => (Request: r, Index: i)).OrderBy(p => closed ? 0 : p.Request.ArrivalSeconds).ToList();
        var finished = new FinishCounter();
        var inFlight = 0;
        var random = new Random(unchecked((int)seed));
        var next = 0;
        var t = 0.0;
        long steps = 0;
        while (true)
        {
            inFlight -= finished.Take();
            while (next < ordered.Count && (closed ? inFlight < concurrency : ordered[next].Request.ArrivalSeconds <= t))
            {
                inFlight++;
                var (request, index) = ordered[next++];
                Validate(deployment, request, index);
                var prompt = new int[request.PromptTokens];
                for (var i = 0; i < prompt.Length; i++)
                    prompt[i] = i < request.SharedPrefixTokens ? 1 + i % 997 : random.Next(2000, 100_000);
                var truth = new RequestTruth { Id = index, ArrivalSeconds = Math.Max(t, request.ArrivalSeconds), PromptTokens = request.PromptTokens };
                truths.Add(truth);
                engine.Add(new TwinSequence(truth, prompt, request.OutputTokens, false, seed + (ulong)index, finished));
            }
            if (!engine.HasWork)
            {
                if (next == ordered.Count) break;
                t = Math.Max(t, ordered[next].Request.ArrivalSeconds);
                continue;
            }
            engine.TryPlan(out var cost);
            ledger.Step(t, cost.Seconds, cost.Watts, StepModel.ComputeActivity(cost));
            t += cost.Seconds;
            engine.Complete(t);
            steps++;
        }
        truths.Sort((a, b) => a.Id.CompareTo(b.Id));
        return new SimulationResult(truths, ledger, t, steps, engine.Preemptions);
    }

    private static void Validate(TwinDeployment deployment, SimulatedRequest request, int index)
    {
        if (request.PromptTokens < 1 || request.OutputTokens < 1 || request.PromptTokens + request.OutputTokens > deployment.MaxModelLength)
        {
            throw new EnergyToTokenException(
                $"Simulated request {index} has {request.PromptTokens} prompt and {request.OutputTokens} output tokens; each must be at least 1 and together at most the max model length, {deployment.MaxModelLength}.");
        }
    }

    /// <summary>Counts finishes so the closed loop can send the next requests.</summary>
    private sealed class FinishCounter : ITokenSink
    {
        private int _finished;

        public int Take()
        {
            var n = _finished;
            _finished = 0;
            return n;
        }

        public void OnToken(int tokenId, double engineSeconds)
        {
        }

        public void OnFinish(FinishReason reason, double engineSeconds) => _finished++;
    }
}
