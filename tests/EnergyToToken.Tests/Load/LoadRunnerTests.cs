using EnergyToToken.Load;
using EnergyToToken.Tests.Twin;
using EnergyToToken.Twin;

namespace EnergyToToken.Tests.Load;

/// <summary>The run driver against the twin: closed and open loops, warm-up, the end of sending, and issued = Σ states.</summary>
public class LoadRunnerTests
{
    private static LoadRunner Runner(TwinServer server, StreamingClientOptions? options = null) =>
        new(new StreamingClient(new HttpClient { BaseAddress = server.BaseAddress }, options ?? new StreamingClientOptions(), TimeProvider.System), server.ModelName, TimeProvider.System);

    private static WorkloadOptions Small => new() { InputTokens = LengthDistribution.Parse("uniform:20-60"), OutputTokens = LengthDistribution.Parse("fixed:6") };

    [Fact]
    public async Task A_closed_loop_keeps_its_concurrency_and_every_request_ends_ok_with_its_lengths()
    {
        await using var server = await TwinHttp.StartAsync();
        var run = await Runner(server).RunAsync(Small with { WarmupRequests = 2 }, new ArrivalOptions { Kind = ArrivalKind.Closed, Concurrency = 4, Count = 12 }, CancellationToken.None);
        Assert.Equal(14, run.Count);
        Assert.Equal(Enumerable.Range(0, 14), run.Select(r => r.Index));
        Assert.Equal(2, run.Count(r => r.Warmup));
        Assert.All(run, r => Assert.Equal(TerminalState.Ok, r.Record.State));
        Assert.All(run, r => Assert.Equal(6, r.Record.OutputTokens));
        // The server counted the prompts the factory built: exactly the drawn lengths.
        Assert.All(run, r => Assert.Equal(r.InputTokens, r.Record.PromptTokens));
        Assert.All(run, r => Assert.InRange(r.InputTokens, 20, 60));
        // Never more than four in flight: the first four went at the start, each later one after a finish.
        Assert.Equal(4, run.Count(r => r.ScheduledTimestamp == run[0].ScheduledTimestamp));
    }

    [Fact]
    public async Task An_open_loop_sends_on_its_schedule_and_records_its_lag()
    {
        await using var server = await TwinHttp.StartAsync();
        var arrivals = new ArrivalOptions { Kind = ArrivalKind.Poisson, Rate = 40, Count = 30, Seed = 5 };
        var run = await Runner(server).RunAsync(Small, arrivals, CancellationToken.None);
        var schedule = ArrivalSchedule.OpenLoop(arrivals);
        Assert.Equal(30, run.Count);
        var origin = run[0].ScheduledTimestamp - (long)(schedule[0] * TimeProvider.System.TimestampFrequency);
        for (var i = 0; i < run.Count; i++)
        {
            // Scheduled times are the schedule's, to the tick; lag is how late each actually left.
            Assert.Equal(schedule[i], (run[i].ScheduledTimestamp - origin) / (double)TimeProvider.System.TimestampFrequency, 6);
            Assert.True(run[i].ScheduleLagSeconds(TimeProvider.System) >= 0);
        }
        Assert.All(run, r => Assert.Equal(TerminalState.Ok, r.Record.State));
    }

    [Fact]
    public async Task When_sending_stops_running_requests_get_the_drain_then_end_as_cancelled_and_none_is_lost()
    {
        await using var server = await TwinHttp.StartAsync();
        var workload = Small with { OutputTokens = LengthDistribution.Parse("fixed:100000"), Drain = TimeSpan.FromMilliseconds(200) };
        var run = await Runner(server).RunAsync(workload, new ArrivalOptions { Kind = ArrivalKind.Closed, Concurrency = 3, Count = null, Duration = TimeSpan.FromMilliseconds(300) }, CancellationToken.None);
        Assert.Equal(3, run.Count); // issued = Σ states
        Assert.All(run, r => Assert.Equal(TerminalState.CancelledEndOfRun, r.Record.State));
        Assert.All(run, r => Assert.True(r.Record.OutputChunkTimestamps.Count > 0));
    }

    [Fact]
    public async Task Failures_are_counted_in_their_states_not_dropped()
    {
        await using var server = await TwinHttp.StartAsync(new TwinServerOptions { Faults = FaultOptions.Parse("error=0.5,seed=3") });
        var run = await Runner(server).RunAsync(Small, new ArrivalOptions { Kind = ArrivalKind.Closed, Concurrency = 2, Count = 20 }, CancellationToken.None);
        Assert.Equal(20, run.Count);
        var errors = run.Count(r => r.Record.State == TerminalState.HttpError);
        Assert.Equal(server.FaultsInjected(TwinFault.Error), errors);
        Assert.Equal(20 - errors, run.Count(r => r.Record.State == TerminalState.Ok));
        Assert.InRange(errors, 1, 19);
    }
}
