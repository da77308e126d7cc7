using EnergyToToken.Load;
using EnergyToToken.Metering;
using EnergyToToken.Tests.Twin;

namespace EnergyToToken.Tests.Load;

/// <summary>The benchmark sequence against the twin, measured with the twin's own meter and checked against its power ledger.</summary>
public class BenchSessionTests
{
    [Fact]
    public async Task The_measured_window_energy_matches_the_twins_ledger_within_its_bound_and_says_it_is_simulated()
    {
        await using var server = await TwinHttp.StartAsync();
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        var runner = new LoadRunner(new StreamingClient(http, new StreamingClientOptions(), TimeProvider.System), server.ModelName, TimeProvider.System);
        using var meter = server.CreateMeter();
        var options = new BenchOptions
        {
            // 15 counter periods each: shorter idle windows carry the counter's quantization (measurement.md §3.2).
            IdleBefore = TimeSpan.FromMilliseconds(1500),
            IdleAfter = TimeSpan.FromMilliseconds(1500),
            Sampler = new SamplerOptions { LocalInterval = TimeSpan.FromMilliseconds(20) },
        };
        var workload = new WorkloadOptions { InputTokens = LengthDistribution.Parse("fixed:500"), OutputTokens = LengthDistribution.Parse("fixed:64"), WarmupRequests = 4 };
        var result = await BenchSession.RunAsync(runner, workload, new ArrivalOptions { Kind = ArrivalKind.Closed, Concurrency = 16, Count = 48 },
            [meter], options, TimeProvider.System, CancellationToken.None);

        Assert.True(result.Complete);
        Assert.Equal(52, result.Requests.Count);
        Assert.Equal(48 * 64, result.OutputTokens);
        Assert.All(result.Requests, r => Assert.Equal(TerminalState.Ok, r.Record.State));
        var energy = result.Energy!;
        Assert.True(energy.Total.Simulated);
        Assert.Equal(MeterScope.Accelerator, energy.Total.Scope);
        Assert.True(energy.DurationSeconds > 0.3, $"window {energy.DurationSeconds} s");

        // The twin's exact energy over the same window, converted from the sampler's clock to the twin's.
        var ticks = TimeProvider.System.TimestampFrequency;
        var samplerOrigin = result.Clock.Origin;
        var truth = server.Ledger.EnergyAt(server.SecondsAt(samplerOrigin + (long)(energy.ToSeconds * ticks)))
            - server.Ledger.EnergyAt(server.SecondsAt(samplerOrigin + (long)(energy.FromSeconds * ticks)));
        Assert.InRange(energy.Total.Joules, truth - energy.Total.UncertaintyJoules - 1, truth + energy.Total.UncertaintyJoules + 1);
        Assert.True(energy.Total.UncertaintyJoules < 0.1 * truth, $"bound {energy.Total.UncertaintyJoules:0.#} J of {truth:0.#} J");

        // Idle before and after is the twin's idle power; static and dynamic split the total.
        var channel = Assert.Single(energy.Channels);
        Assert.Equal(70, channel.IdleWattsBefore!.Value, 2.0);
        Assert.Equal(70, channel.IdleWattsAfter!.Value, 2.0);
        Assert.Equal(energy.Total.Joules, energy.StaticJoules!.Value + energy.DynamicJoules!.Value, 1e-6);
        Assert.Equal(energy.Total.Joules / result.OutputTokens, result.JoulesPerOutputToken, 12);
    }
}
