namespace EnergyToToken.Load;

/// <summary>How requests are sent: a fixed number in flight (closed loop), or at a rate whatever the server does (open loop).</summary>
public enum ArrivalKind
{
    /// <summary>Closed loop: <see cref="ArrivalOptions.Concurrency"/> requests in flight; each finish sends the next.</summary>
    Closed,

    /// <summary>Open loop, evenly spaced at the rate.</summary>
    Constant,

    /// <summary>Open loop, exponential gaps (a Poisson process) at the rate.</summary>
    Poisson,

    /// <summary>Open loop, gamma gaps at the rate: burstiness below 1 is burstier than Poisson, above 1 more regular (vLLM's convention).</summary>
    Gamma,

    /// <summary>Open loop at a trace's own send times (<see cref="ArrivalOptions.TraceOffsets"/>), sped up by <see cref="ArrivalOptions.TraceSpeed"/>.</summary>
    Trace,
}

/// <summary>The arrival process and how long it lasts. Defaults: Poisson at 1 request/s for 100 requests, seed 1.</summary>
public sealed record ArrivalOptions
{
    public ArrivalKind Kind { get; init; } = ArrivalKind.Poisson;

    /// <summary>Requests per second for open loops (the start rate of a ramp).</summary>
    public double Rate { get; init; } = 1;

    /// <summary>When set, the rate moves linearly from <see cref="Rate"/> to this over the run (open loops with a duration).</summary>
    public double? RampTo { get; init; }

    /// <summary>Requests in flight for the closed loop.</summary>
    public int Concurrency { get; init; } = 1;

    /// <summary>Gamma shape for <see cref="ArrivalKind.Gamma"/>: 1 is Poisson.</summary>
    public double Burstiness { get; init; } = 1;

    /// <summary>Stop after this many requests (null: only the duration limits the run).</summary>
    public int? Count { get; init; } = 100;

    /// <summary>Stop sending after this long (null: only the count limits the run).</summary>
    public TimeSpan? Duration { get; init; }

    public ulong Seed { get; init; } = 1;

    /// <summary>The trace's send times, seconds from its start (<see cref="ArrivalKind.Trace"/>); filled from the trace file.</summary>
    public IReadOnlyList<double>? TraceOffsets { get; init; }

    /// <summary>How much faster than recorded a trace is replayed: 2 halves every gap. Default: 1.</summary>
    public double TraceSpeed { get; init; } = 1;

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (Kind == ArrivalKind.Closed && Concurrency < 1) errors.Add($"Concurrency must be at least 1 (was {Concurrency}).");
        if (Kind != ArrivalKind.Closed && !(Rate > 0 && double.IsFinite(Rate))) errors.Add($"The request rate must be a positive number per second (was {Rate}).");
        if (RampTo is { } to && !(to > 0 && double.IsFinite(to))) errors.Add($"The ramp's end rate must be positive (was {to}).");
        if (RampTo is not null && Duration is null) errors.Add("A ramp needs a duration to ramp over (--duration).");
        if (RampTo is not null && Kind == ArrivalKind.Closed) errors.Add("A ramp applies to open loops (a rate), not to a closed loop.");
        if (!(Burstiness > 0 && double.IsFinite(Burstiness))) errors.Add($"Burstiness must be positive (was {Burstiness}).");
        if (Count is < 1) errors.Add($"The request count must be at least 1 (was {Count}).");
        if (Duration is { } d && d <= TimeSpan.Zero) errors.Add("The duration must be positive.");
        if (Count is null && Duration is null && Kind != ArrivalKind.Trace) errors.Add("Give a request count, a duration or both: the run must end.");
        if (!(TraceSpeed > 0 && double.IsFinite(TraceSpeed))) errors.Add($"The trace speed must be positive (was {TraceSpeed}).");
        if (RampTo is not null && Kind == ArrivalKind.Trace) errors.Add("A ramp applies to generated arrivals, not to a trace's own times.");
        return errors;
    }
}

/// <summary>
/// The send times of an open loop, in seconds from the start, computed before the run from the seed alone: the same
/// seed and options give the same schedule, byte for byte. Latency is later measured from these scheduled times, not
/// from when a request actually left.
/// </summary>
public static class ArrivalSchedule
{
    public static IReadOnlyList<double> OpenLoop(ArrivalOptions options)
    {
        var errors = options.Validate();
        if (errors.Count > 0) throw new EnergyToTokenException(string.Join(Environment.NewLine, errors));
        if (options.Kind == ArrivalKind.Closed) throw new EnergyToTokenException("A closed loop has no schedule: each finish sends the next request.");
        var limit = options.Duration?.TotalSeconds ?? double.PositiveInfinity;
        var count = options.Count ?? int.MaxValue;
        if (options.Kind == ArrivalKind.Trace)
            return [.. (options.TraceOffsets ?? []).Select(t => t / options.TraceSpeed).TakeWhile(t => t < limit).Take(count)];
        var random = new Random(PromptFactory.Mix(options.Seed, 0x5c4ed));
        var peak = Math.Max(options.Rate, options.RampTo ?? options.Rate);
        var times = new List<double>();
        var t = 0.0;
        while (times.Count < count)
        {
            // A ramp is a Poisson process thinned from its peak rate; the other kinds draw the gap at the (constant) rate.
            t += options.RampTo is null ? Gap(options, options.Rate, random) : Exponential(random) / peak;
            if (t >= limit) break;
            if (options.RampTo is { } to && random.NextDouble() * peak > options.Rate + (to - options.Rate) * t / limit) continue;
            times.Add(t);
        }
        return times;
    }

    private static double Gap(ArrivalOptions options, double rate, Random random) => options.Kind switch
    {
        ArrivalKind.Constant => 1 / rate,
        ArrivalKind.Poisson => Exponential(random) / rate,
        _ => Gamma(options.Burstiness, random) / (options.Burstiness * rate),
    };

    private static double Exponential(Random random) => -Math.Log(1 - random.NextDouble());

    /// <summary>A gamma draw with shape k and scale 1 (Marsaglia and Tsang; shapes below 1 boosted by U^(1/k)).</summary>
    private static double Gamma(double shape, Random random)
    {
        if (shape < 1) return Gamma(shape + 1, random) * Math.Pow(1 - random.NextDouble(), 1 / shape);
        var d = shape - 1.0 / 3;
        var c = 1 / Math.Sqrt(9 * d);
        while (true)
        {
            double x, v;
            do
            {
                x = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
                v = 1 + c * x;
            }
            while (v <= 0);
            v = v * v * v;
            var u = random.NextDouble();
            if (u < 1 - 0.0331 * x * x * x * x || Math.Log(u) < 0.5 * x * x + d * (1 - v + Math.Log(v))) return d * v;
        }
    }
}
