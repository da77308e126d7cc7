using System.Threading.Channels;

namespace EnergyToToken.Load;

/// <summary>What each request asks for: prompt and output lengths, API, and the switches a benchmark fixes.</summary>
public sealed record WorkloadOptions
{
    public ApiKind Api { get; init; } = ApiKind.Completions;

    public LengthDistribution InputTokens { get; init; } = LengthDistribution.Parse("fixed:512");

    public LengthDistribution OutputTokens { get; init; } = LengthDistribution.Parse("fixed:256");

    /// <summary>Ask for exactly the drawn output length (<c>ignore_eos</c>). Default: true.</summary>
    public bool FixedOutput { get; init; } = true;

    /// <summary>Leading prompt tokens every request shares (0: every prompt unique).</summary>
    public int SharedPrefixTokens { get; init; }

    /// <summary>Requests sent first and recorded as warm-up, outside the measured set. Default: 0.</summary>
    public int WarmupRequests { get; init; }

    /// <summary>How long requests still running when sending stops may take to finish before they are cancelled. Default: 60 s.</summary>
    public TimeSpan Drain { get; init; } = TimeSpan.FromSeconds(60);

    public ulong Seed { get; init; } = 1;

    /// <summary>Prompts from a file instead of synthetic ones (null: synthetic). A trace also gives the send times, replayed with <see cref="ArrivalKind.Trace"/>.</summary>
    public Dataset? Dataset { get; init; }
}

/// <summary>One request of a run: what was asked, when it was scheduled and sent, and what came back.</summary>
/// <param name="Index">Its place in the run, warm-up included.</param>
/// <param name="ScheduledTimestamp">When it was due (the run's start for a closed loop's first requests, else the previous finish or the schedule); latency counts from here.</param>
/// <param name="Warmup">True for warm-up requests, which results exclude and record.</param>
public sealed record RunRequest(int Index, int InputTokens, int OutputTokens, long ScheduledTimestamp, bool Warmup, RequestRecord Record)
{
    /// <summary>How late it was sent after it was due, s (a closed loop's slot or an open loop's schedule).</summary>
    public double ScheduleLagSeconds(TimeProvider time) => time.GetElapsedTime(ScheduledTimestamp, Record.SentTimestamp).TotalSeconds;
}

/// <summary>
/// Drives a workload through the streaming client: a closed loop of N in flight, or an open loop on a precomputed
/// schedule. Every issued request comes back with exactly one terminal state; when sending stops, requests still
/// running get <see cref="WorkloadOptions.Drain"/> to finish and are then cancelled as <see cref="TerminalState.CancelledEndOfRun"/>.
/// </summary>
public sealed class LoadRunner(StreamingClient client, string model, TimeProvider time)
{
    /// <param name="finished">Called as each request finishes, from the thread that finished it (progress, the run's event log).</param>
    public async Task<IReadOnlyList<RunRequest>> RunAsync(WorkloadOptions workload, ArrivalOptions arrivals, CancellationToken cancellationToken, Action<RunRequest>? finished = null)
    {
        var errors = arrivals.Validate().ToList();
        if (workload.WarmupRequests < 0) errors.Add($"Warm-up requests must be at least 0 (was {workload.WarmupRequests}).");
        if (workload.SharedPrefixTokens < 0) errors.Add($"Shared prefix tokens must be at least 0 (was {workload.SharedPrefixTokens}).");
        if (arrivals.Kind == ArrivalKind.Trace && workload.Dataset?.Format != DatasetFormat.Trace) errors.Add("Trace arrivals replay a trace file's send times: give the trace with --trace.");
        if (errors.Count > 0) throw new EnergyToTokenException(string.Join(Environment.NewLine, errors));
        var source = new RequestSource(workload);
        using var endOfRun = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var start = time.GetTimestamp();
        var results = new List<RunRequest>();
        // Finishes arrive through a channel, so a closed loop of thousands waits on one read, not on WhenAny over all.
        var running = new HashSet<Task<RunRequest>>();
        var finishes = Channel.CreateUnbounded<Task<RunRequest>>(new UnboundedChannelOptions { SingleReader = true });
        var index = 0;

        // Requests are built in index order on this thread, so the seed alone decides every prompt and length.
        Task<RunRequest> Send(long scheduled)
        {
            var i = index++;
            var planned = source.Create(i);
            var request = new GenerationRequest
            {
                Api = workload.Api,
                Model = model,
                Prompt = planned.Prompt,
                MaxTokens = planned.OutputTokens,
                IgnoreEos = workload.FixedOutput,
                Seed = PromptFactory.Mix(workload.Seed, i),
            };
            return Run(i, planned.InputTokens, planned.OutputTokens, scheduled, i < workload.WarmupRequests, request, finished, endOfRun.Token);
        }

        void Start(long scheduled)
        {
            var task = Send(scheduled);
            running.Add(task);
            task.ContinueWith(static (done, writer) => ((ChannelWriter<Task<RunRequest>>)writer!).TryWrite(done), finishes.Writer,
                CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        var total = arrivals.Count is { } n ? n + workload.WarmupRequests : int.MaxValue;
        var stopSending = arrivals.Duration is { } d ? start + (long)(d.TotalSeconds * time.TimestampFrequency) : long.MaxValue;
        if (arrivals.Kind == ArrivalKind.Closed)
        {
            for (var k = 0; k < Math.Min(arrivals.Concurrency, total); k++) Start(start);
            while (running.Count > 0)
            {
                Task<RunRequest> next;
                if (stopSending == long.MaxValue)
                {
                    next = await finishes.Reader.ReadAsync(CancellationToken.None).ConfigureAwait(false);
                }
                else
                {
                    // Past the duration, stop waiting for finishes to refill slots: what runs goes to the drain.
                    var left = time.GetElapsedTime(time.GetTimestamp(), stopSending);
                    if (left <= TimeSpan.Zero) break;
                    using var sending = new CancellationTokenSource(left, time);
                    try
                    {
                        next = await finishes.Reader.ReadAsync(sending.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        break;
                    }
                }
                running.Remove(next);
                results.Add(await next.ConfigureAwait(false));
                var now = time.GetTimestamp();
                if (index < total && now < stopSending && !cancellationToken.IsCancellationRequested) Start(now);
            }
        }
        else
        {
            var schedule = ArrivalSchedule.OpenLoop(arrivals with
            {
                Count = arrivals.Count is { } c ? c + workload.WarmupRequests : null,
                TraceOffsets = arrivals.Kind == ArrivalKind.Trace ? workload.Dataset!.Offsets : null,
            });
            foreach (var offset in schedule)
            {
                var due = start + (long)(offset * time.TimestampFrequency);
                try
                {
                    // Task.Delay counts on a coarse tick and can end a few ms early: wait until the due time has passed.
                    for (var wait = time.GetElapsedTime(time.GetTimestamp(), due); wait > TimeSpan.Zero; wait = time.GetElapsedTime(time.GetTimestamp(), due))
                        await Task.Delay(TimeSpan.FromMilliseconds(Math.Ceiling(wait.TotalMilliseconds)), time, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
                Start(due);
            }
        }
        // Sending has stopped: what is still running gets the drain time, then the end of the run.
        if (running.Count > 0)
        {
            endOfRun.CancelAfter(workload.Drain);
            results.AddRange(await Task.WhenAll(running).ConfigureAwait(false));
        }
        results.Sort((a, b) => a.Index.CompareTo(b.Index));
        return results;
    }

    private async Task<RunRequest> Run(int index, int input, int output, long scheduled, bool warmup, GenerationRequest request, Action<RunRequest>? finished, CancellationToken endOfRun)
    {
        await Task.Yield(); // the sender goes on at once; this request runs on its own
        var record = await client.SendAsync(request, endOfRun).ConfigureAwait(false);
        var done = new RunRequest(index, input, output, scheduled, warmup, record);
        finished?.Invoke(done);
        return done;
    }
}
