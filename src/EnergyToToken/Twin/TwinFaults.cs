using System.Globalization;
using EnergyToToken.Scenarios;

namespace EnergyToToken.Twin;

/// <summary>The faults the twin can inject, for testing clients.</summary>
public enum TwinFault
{
    /// <summary>An HTTP error status (5xx by default) with an OpenAI-style body, before any stream starts.</summary>
    Error,

    /// <summary>The connection is reset halfway through the answer.</summary>
    Reset,

    /// <summary>Writing pauses halfway through the answer (the engine keeps generating).</summary>
    Stall,

    /// <summary>The stream ends after the last token without the usage chunk and <c>data: [DONE]</c>.</summary>
    NoDone,

    /// <summary>Every event is written in two flushes, split inside its JSON.</summary>
    Split,

    /// <summary>Valid but unusual SSE framing: CRLF line ends, <c>data:</c> without a space, comment lines between events.</summary>
    Odd,
}

/// <summary>
/// Fault rates, each the probability that a request gets that fault. A request's draw depends only on the seed, its
/// ordinal and the fault, so a run with the same seed and order injects the same faults; the response header
/// <c>x-e2t-twin-faults</c> names the faults each request got.
/// </summary>
public sealed record FaultOptions
{
    public static FaultOptions None { get; } = new();

    public IReadOnlyDictionary<TwinFault, double> Rates { get; init; } = new Dictionary<TwinFault, double>();

    /// <summary>HTTP status of <see cref="TwinFault.Error"/>. Default: 503.</summary>
    public int ErrorStatus { get; init; } = 503;

    /// <summary>How long a <see cref="TwinFault.Stall"/> pauses. Default: 2 s.</summary>
    public TimeSpan StallDuration { get; init; } = TimeSpan.FromSeconds(2);

    public ulong Seed { get; init; } = 1;

    public static string Names => "error[:STATUS], reset, stall[:DURATION], no-done, split, odd, seed";

    /// <summary>Whether request <paramref name="ordinal"/> gets <paramref name="fault"/>.</summary>
    public bool Hits(long ordinal, TwinFault fault)
    {
        if (!Rates.TryGetValue(fault, out var rate) || rate <= 0) return false;
        if (rate >= 1) return true;
        return new TwinRandom(KvCache.Chain(Seed, [(int)ordinal, (int)(ordinal >> 32), (int)fault])).NextDouble() < rate;
    }

    /// <summary>Parses <c>error=0.05:500,reset=0.01,stall=0.02:3s,no-done=0.1,split=0.2,odd=0.1,seed=7</c>.</summary>
    public static FaultOptions Parse(string text)
    {
        var rates = new Dictionary<TwinFault, double>();
        var options = new FaultOptions();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            var name = eq < 0 ? part : part[..eq];
            var value = eq < 0 ? "" : part[(eq + 1)..];
            if (name == "seed")
            {
                if (!ulong.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seed))
                    throw new EnergyToTokenException($"Fault seed '{value}' is not a whole number ≥ 0. Write seed=7.");
                options = options with { Seed = seed };
                continue;
            }
            TwinFault fault = name switch
            {
                "error" => TwinFault.Error,
                "reset" => TwinFault.Reset,
                "stall" => TwinFault.Stall,
                "no-done" => TwinFault.NoDone,
                "split" => TwinFault.Split,
                "odd" => TwinFault.Odd,
                _ => throw new EnergyToTokenException($"Unknown fault '{name}' in --faults '{text}'. Faults: {Names}; write them as NAME=RATE, e.g. reset=0.05,stall=0.1:2s."),
            };
            var pieces = value.Split(':', 2);
            if (!double.TryParse(pieces[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var rate) || !(rate is >= 0 and <= 1))
                throw new EnergyToTokenException($"Fault rate '{pieces[0]}' for {name} is not a probability in [0, 1]. Write {name}=0.05.");
            rates[fault] = rate;
            if (pieces.Length == 2)
            {
                if (fault == TwinFault.Error)
                {
                    if (!int.TryParse(pieces[1], NumberStyles.None, CultureInfo.InvariantCulture, out var status) || status is < 400 or > 599)
                        throw new EnergyToTokenException($"Error status '{pieces[1]}' is not an HTTP error status (400–599). Write error=0.05:503.");
                    options = options with { ErrorStatus = status };
                }
                else if (fault == TwinFault.Stall)
                {
                    options = options with { StallDuration = Quantities.ParseDuration(pieces[1], "stall duration") };
                }
                else
                {
                    throw new EnergyToTokenException($"Fault {name} takes only a rate (was '{part}'). Only error takes :STATUS and stall :DURATION.");
                }
            }
        }
        return options with { Rates = rates };
    }
}
