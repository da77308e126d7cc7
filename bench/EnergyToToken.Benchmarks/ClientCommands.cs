using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using EnergyToToken.Catalog;
using EnergyToToken.Load;
using EnergyToToken.Twin;

namespace EnergyToToken.Benchmarks;

/// <summary>
/// The streaming client measured against the twin.
/// <list type="bullet">
/// <item><c>client-timestamp-error CONCURRENCY REQUESTS</c>: how far the client's chunk time stamps are from when the
/// twin wrote each token to its socket (its ground-truth emission log), on the same monotonic clock, in one process as
/// <c>e2t bench</c> runs the twin. Target (issue 5): p50 ≤ 200 µs, p99 ≤ 1 ms.</item>
/// <item><c>client-throughput STREAMS SECONDS [DEVICES]</c> and <c>client-paced STREAMS TOKENS_PER_S SECONDS</c>: the
/// client end to end over loopback (measurement.md §6: ≥ 60 k streamed tokens/s per client core; ≥ 2048 open streams;
/// 512 streams at 50 tok/s each). The twin runs in a child process, so this process's CPU time is the client's.</item>
/// </list>
/// </summary>
internal static class ClientCommands
{
    /// <summary>Prompt tokens per request: short, so the client's work is the stream, not the upload.</summary>
    private const int PromptTokens = 32;

    /// <summary>Output tokens per request (fixed, <c>ignore_eos</c>): long, so a run is mostly streaming, with some churn.</summary>
    private const int OutputTokens = 2048;

    /// <summary>KV room per stream the twin is given: prompt and output with slack, so no stream is ever preempted.</summary>
    private const int ContextTokens = 2560;

    /// <summary>
    /// Simulated devices for the paced case: on 64 H100s a decode step of 512 short-context sequences is about 2–3 ms
    /// of roofline and collectives, so a fixed step overhead sets the step time, and with it every stream's rate, to
    /// within a few percent over the whole run as contexts grow.
    /// </summary>
    private const int PacedDevices = 64;

    /// <summary>Ticks per second of the run's clock (<see cref="TimeProvider.System"/>).</summary>
    private static readonly double Frequency = TimeProvider.System.TimestampFrequency;

    public static async Task TimestampError(int concurrency, int requests)
    {
        var server = await TwinServer.StartAsync(new TwinServerOptions(), Catalogs.Load([]));
        await using (server)
        {
            var client = new EnergyToToken.Load.StreamingClient(new HttpClient { BaseAddress = server.BaseAddress }, new EnergyToToken.Load.StreamingClientOptions(), TimeProvider.System);
            var runner = new EnergyToToken.Load.LoadRunner(client, server.ModelName, TimeProvider.System);
            var workload = new EnergyToToken.Load.WorkloadOptions
            {
                InputTokens = EnergyToToken.Load.LengthDistribution.Parse("uniform:100-1000"),
                OutputTokens = EnergyToToken.Load.LengthDistribution.Parse("fixed:64"),
            };
            var run = await runner.RunAsync(workload, new EnergyToToken.Load.ArrivalOptions { Kind = EnergyToToken.Load.ArrivalKind.Closed, Concurrency = concurrency, Count = requests }, CancellationToken.None);
            await Task.Delay(200); // the last ground-truth commits
            var truths = server.GroundTruth.Requests.ToDictionary(t => t.Id);
            var errors = new List<double>();
            foreach (var r in run)
            {
                if (r.Record.ResponseId is not { } id || !truths.TryGetValue(long.Parse(id[(id.IndexOf('-') + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture), out var truth)) continue;
                var stamps = r.Record.OutputChunkTimestamps;
                for (var k = 0; k < Math.Min(stamps.Count, truth.WrittenSeconds.Count); k++)
                    errors.Add(Math.Abs(server.SecondsAt(stamps[k]) - truth.WrittenSeconds[k]));
            }
            errors.Sort();
            double P(double q) => errors[(int)Math.Min(errors.Count - 1, Math.Floor(q * errors.Count))] * 1e6;
            Console.WriteLine($"concurrency {concurrency}, {run.Count} requests, {errors.Count} tokens matched to the twin's emission log");
            Console.WriteLine($"|client stamp − twin write time|: p50 {P(0.5):0} µs, p90 {P(0.9):0} µs, p99 {P(0.99):0} µs, max {errors[^1] * 1e6:0} µs");
        }
    }

    public static Task Throughput(int streams, TimeSpan duration, int devices)
    {
        Console.WriteLine($"client-throughput: {streams} streams, closed loop, {duration.TotalSeconds:0} s; prompts {PromptTokens} tokens, outputs fixed {OutputTokens} (ignore_eos); twin: Llama-3.1-8B on {devices} simulated H100s, every stream in the batch");
        return MeasureAsync(streams, duration, devices, stepOverheadSeconds: null, pacedRate: null);
    }

    /// <summary>
    /// The twin cannot pace streams one by one: each engine step gives every running stream one token, so a stream's
    /// rate is the step rate. This sets the step time to 1 / RATE (the fixed step overhead, on <see cref="PacedDevices"/>
    /// devices, chosen so a decode step of STREAMS sequences at the run's mean context takes that long); the client then
    /// gets STREAMS tokens at once every step, which is burstier than independent streams at the same rate.
    /// </summary>
    public static Task Paced(int streams, double rate, TimeSpan duration)
    {
        var unpaced = TwinDeployment.Create(TwinCommands.BenchProfile(streams, PacedDevices, ContextTokens, stepOverheadSeconds: 0), Catalogs.Load([]));
        var shortest = unpaced.Step.Cost(StepWork.Decode(streams, streams * (double)PromptTokens)).Seconds;
        var mean = unpaced.Step.Cost(StepWork.Decode(streams, streams * (PromptTokens + OutputTokens / 2.0))).Seconds;
        var longest = unpaced.Step.Cost(StepWork.Decode(streams, streams * (double)(PromptTokens + OutputTokens))).Seconds;
        var overhead = 1 / rate - mean;
        if (overhead <= 0)
            throw new EnergyToTokenException($"The twin cannot pace {streams} streams at {rate} tokens/s: a decode step on {PacedDevices} simulated H100s already takes {mean * 1e3:0.00} ms.");
        Console.WriteLine($"client-paced: {streams} streams at {rate:0.#} tokens/s each ({streams * rate:N0} tokens/s in all), closed loop, {duration.TotalSeconds:0} s; prompts {PromptTokens} tokens, outputs fixed {OutputTokens} (ignore_eos)");
        Console.WriteLine($"twin: Llama-3.1-8B on {PacedDevices} simulated H100s, step overhead {overhead * 1e3:0.00} ms, so a decode step takes {(shortest + overhead) * 1e3:0.00}–{(longest + overhead) * 1e3:0.00} ms as contexts grow ({1 / (shortest + overhead):0.0}–{1 / (longest + overhead):0.0} tokens/s per stream)");
        return MeasureAsync(streams, duration, PacedDevices, overhead, rate);
    }

    /// <summary>One look at both processes and the machine, about once a second during the run.</summary>
    /// <param name="Late">Σ of the twin's hand-off lateness (tokens reaching their streams after the step's simulated end), s.</param>
    private readonly record struct Sample(
        long Timestamp, CpuTime Client, CpuTime Twin, MachineCpu Machine, double Generated, double Steps, double Running, double Waiting,
        double Late, double Within10ms, TimeSpan GcPause, long Allocated, int Gen0, int Gen2);

    /// <summary>What a run left to report: its requests, the samples, and the totals around it.</summary>
    private sealed record Measured(
        int Streams, TimeSpan Duration, IReadOnlyList<RunRequest> Run, IReadOnlyList<Sample> Samples, long Start, long End,
        CpuTime Client, CpuTime Twin, MachineCpu Machine, long ListenOverflows, IReadOnlyList<double> HeadersSeconds)
    {
        public double Seconds => (End - Start) / Frequency;
    }

    private static async Task MeasureAsync(int streams, TimeSpan duration, int devices, double? stepOverheadSeconds, double? pacedRate)
    {
        var time = TimeProvider.System;
        List<object> serve = [streams, devices, ContextTokens];
        if (stepOverheadSeconds is { } overhead) serve.Add(overhead);
        await using var twin = await TwinChild.StartAsync(serve);
        // The real client with HttpClient's defaults (no connection limit: every stream opens at once), timed to the
        // response headers. No client-wide timeout: the streaming client has its own, and a stream may last minutes.
        using var handler = new HeadersTimer();
        using var http = new HttpClient(handler) { BaseAddress = twin.BaseAddress, Timeout = Timeout.InfiniteTimeSpan };
        var runner = new LoadRunner(new StreamingClient(http, new StreamingClientOptions(), time), TwinCommands.BenchProfile(streams, devices).Name, time);
        var workload = new WorkloadOptions
        {
            InputTokens = LengthDistribution.Parse($"fixed:{PromptTokens}"),
            OutputTokens = LengthDistribution.Parse($"fixed:{OutputTokens}"),
            FixedOutput = true,
            // When sending stops, the streams still open end the run at once, as CancelledEndOfRun.
            Drain = TimeSpan.Zero,
        };
        var arrivals = new ArrivalOptions { Kind = ArrivalKind.Closed, Concurrency = streams, Count = null, Duration = duration };

        var samples = new List<Sample>();
        using var stopSampling = new CancellationTokenSource();
        var sampler = Task.Run(() => SampleAsync(twin, samples, time, stopSampling.Token));
        Console.Error.WriteLine($"running {streams} streams for {duration.TotalSeconds:0} s …");
        var (overflows, client, server, machine, start) = (ListenOverflows(), CpuTime.Self, twin.Cpu, MachineCpu.Now, time.GetTimestamp());
        var run = await runner.RunAsync(workload, arrivals, CancellationToken.None);
        var measured = new Measured(
            streams, duration, run, samples, start, time.GetTimestamp(), CpuTime.Self - client, twin.Cpu - server, MachineCpu.Now - machine,
            ListenOverflows() - overflows, [.. handler.Times.Order()]);
        await stopSampling.CancelAsync();
        await sampler;
        ReportRun(measured);
        ReportStart(measured);
        ReportSteadyWindow(measured, pacedRate);
    }

    /// <summary>The whole run: from the first send to the last terminal state, connection set-up and the end-of-run cancellation included.</summary>
    private static void ReportRun(Measured m)
    {
        var run = m.Run;
        var tokens = run.Sum(r => (long)r.Record.OutputTokens);
        var stamps = run.Sum(r => (long)r.Record.OutputChunkTimestamps.Count);
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores, shared by the client (this process), the twin (its child) and whatever else runs");
        Console.WriteLine($"whole run: {m.Seconds:0.0} s, {run.Count:N0} requests, {tokens:N0} output tokens (Σ OutputTokens; {stamps:N0} output chunk time stamps), {tokens / m.Seconds:N0} tokens/s");
        Console.WriteLine($"  client CPU {m.Client.Total / m.Seconds:0.00} cores ({m.Client.User / m.Seconds:0.00} user + {m.Client.System / m.Seconds:0.00} system), {tokens / m.Client.Total:N0} tokens per client core-second");
        Console.WriteLine($"  twin CPU {m.Twin.Total / m.Seconds:0.00} cores; machine {m.Machine.Busy / m.Seconds:0.00} cores busy, other processes {(m.Machine.Busy - m.Client.Total - m.Twin.Total) / m.Seconds:0.00}");

        var states = run.GroupBy(r => r.Record.State).OrderBy(g => g.Key).Select(g => $"{g.Key} {g.Count():N0}");
        var bad = run.Where(r => r.Record.State is not (TerminalState.Ok or TerminalState.CancelledEndOfRun)).ToList();
        Console.WriteLine($"terminal states: {string.Join(", ", states)}{(bad.Count == 0 ? " (all Ok or CancelledEndOfRun)" : $": {bad.Count} NOT Ok or CancelledEndOfRun, e.g. {bad[0].Record.Detail}")}");
        if (bad.Count > 0) Environment.ExitCode = 1;

        // Open streams: sent and not yet at a terminal state, swept over every request's interval (ends before starts at a tie).
        var edges = run.SelectMany(r => new[] { (At: r.Record.SentTimestamp, Step: 1), (At: r.Record.EndTimestamp ?? m.End, Step: -1) })
            .OrderBy(e => e.At).ThenBy(e => e.Step);
        int open = 0, peak = 0;
        foreach (var (_, step) in edges) peak = Math.Max(peak, open += step);
        Console.WriteLine($"open streams: peak {peak:N0} (client: sent to terminal state); server running: peak {m.Samples.Max(s => s.Running):N0}, waiting: peak {m.Samples.Max(s => s.Waiting):N0} (vllm:num_requests_*, 1 s samples)");
    }

    /// <summary>The first round, every stream sent at once: connections, response headers, first output.</summary>
    private static void ReportStart(Measured m)
    {
        var headers = m.HeadersSeconds;
        var first = m.Run.Where(r => r.Index < m.Streams && r.Record.OutputChunkTimestamps.Count > 0)
            .Select(r => (r.Record.OutputChunkTimestamps[0] - m.Start) / Frequency).Order().ToList();
        Console.WriteLine($"start: listen-queue overflows {m.ListenOverflows:N0} (TcpExt ListenOverflows, whole machine; the twin's backlog is Kestrel's 512)"
            + (headers.Count > 0 ? $"; send to response headers p50 {Quantile(headers, 0.5):0.00} s, p99 {Quantile(headers, 0.99):0.00} s, max {headers[^1]:0.00} s" : ""));
        if (first.Count > 0)
            Console.WriteLine($"  {first.Count:N0} of {m.Streams:N0} first-round streams had output; from the start to first output p50 {Quantile(first, 0.5):0.00} s, p90 {Quantile(first, 0.9):0.00} s, max {first[^1]:0.00} s");
    }

    /// <summary>From the first sample a second after every first-round stream had output, to the last sample before sending stopped.</summary>
    private static void ReportSteadyWindow(Measured m, double? pacedRate)
    {
                var firstRound = m.Run.Where(r => r.Index < m.Streams).Select(r => r.Record.OutputChunkTimestamps).ToList();
        var stopSending = m.Start + (long)(m.Duration.TotalSeconds * Frequency);
        var allStreaming = firstRound.Count == m.Streams && firstRound.All(s => s.Count > 0) ? firstRound.Max(s => s[0]) : (long?)null;
        var samples = m.Samples;
        var from = allStreaming is { } all ? samples.ToList().FindIndex(s => s.Timestamp >= all + (long)Frequency) : -1;
        var to = samples.ToList().FindLastIndex(s => s.Timestamp <= stopSending);
        if (from < 0 || to < 0 || samples[to].Timestamp - samples[from].Timestamp < 2 * Frequency)
        {
            Console.WriteLine($"steady window: none (not every stream had output a second before sending stopped{(allStreaming is null ? "; some never had any" : "")}): run longer");
            return;
        }
        var (a0, a1) = (samples[from], samples[to]);
        var window = (a1.Timestamp - a0.Timestamp) / Frequency;
        long tokens = 0, together = 0;
        var withOutput = 0;
        var rates = new List<double>();
        var gaps = new List<double>();
        foreach (var r in m.Run)
        {
            var s = r.Record.OutputChunkTimestamps;
            int lo = LowerBound(s, a0.Timestamp), hi = LowerBound(s, a1.Timestamp + 1);
            if (hi <= lo) continue;
            withOutput++;
            tokens += hi - lo;
            for (var k = lo + 1; k < hi; k++)
            {
                gaps.Add((s[k] - s[k - 1]) / Frequency);
                if (s[k] == s[k - 1]) together++;
            }
            // A stream's rate over its part of the window; a stream there for less than a second says little about pace.
            var span = (s[hi - 1] - s[lo]) / Frequency;
            if (span >= 1) rates.Add((hi - lo - 1) / span);
        }
        var client = a1.Client - a0.Client;
        var twin = a1.Twin - a0.Twin;
        var machine = a1.Machine - a0.Machine;
        var generated = a1.Generated - a0.Generated;
        var steps = a1.Steps - a0.Steps;
        // Chunks of one read share its time stamp: distinct stamps are the reads that carried output.
        var reads = tokens - together;
        Console.WriteLine($"steady window: {window:0.0} s (every stream streaming, to the end of sending), {withOutput:N0} requests with output in it");
        Console.WriteLine($"  client: {tokens:N0} tokens, {tokens / window:N0} tokens/s; CPU {client.Total / window:0.00} cores ({client.User / window:0.00} user + {client.System / window:0.00} system)");
        Console.WriteLine($"  client tokens per client core-second: {tokens / client.Total:N0} (target ≥ 60,000)");
        Console.WriteLine($"  reads with output: {reads / window:N0}/s, {(double)tokens / reads:0.00} tokens per read; client CPU {client.Total / reads * 1e6:0.0} µs per read, {client.Total / tokens * 1e6:0.0} µs per token");
        Console.WriteLine($"  client GC: {a1.Gen0 - a0.Gen0} collections ({a1.Gen2 - a0.Gen2} gen2), paused {(a1.GcPause - a0.GcPause).TotalMilliseconds:0} ms; {(a1.Allocated - a0.Allocated) / (double)tokens:0} B allocated per token");
        Console.WriteLine($"  twin: {generated / window:N0} tokens/s generated (vllm:generation_tokens_total), {steps / window:0.0} steps/s; CPU {twin.Total / window:0.00} cores; hand-off after the step's simulated end mean {(a1.Late - a0.Late) / Math.Max(1, steps) * 1e3:0.0} ms, {(a1.Within10ms - a0.Within10ms) / Math.Max(1, steps):P0} of steps within 10 ms");
        Console.WriteLine($"  machine: {machine.Busy / window:0.00} of {Environment.ProcessorCount} cores busy (/proc/stat): client + twin {(client.Total + twin.Total) / window:0.00}, other processes {(machine.Busy - client.Total - twin.Total) / window:0.00}; stolen {machine.Steal / window:0.00}");
        Console.WriteLine($"  client received / twin generated in the window: {tokens / generated:0.000}");
        rates.Sort();
        gaps.Sort();
        if (rates.Count > 0)
            Console.WriteLine($"  per-stream rate: median {Quantile(rates, 0.5):0.0}, p1 {Quantile(rates, 0.01):0.0}, min {rates[0]:0.0} tokens/s over {rates.Count:N0} streams; the twin's step rate {steps / window:0.0}/s{(pacedRate is { } p ? $", asked {p:0.#}" : "")}");
        if (gaps.Count > 0)
            Console.WriteLine($"  gap between a stream's chunks: p50 {Quantile(gaps, 0.5) * 1e3:0.0} ms, p99 {Quantile(gaps, 0.99) * 1e3:0.0} ms, max {gaps[^1] * 1e3:0.0} ms; {(double)together / gaps.Count:P1} came in the same read as the one before");
    }

    private static async Task SampleAsync(TwinChild twin, List<Sample> samples, TimeProvider time, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), time);
        try
        {
            do
            {
                var at = time.GetTimestamp();
                var client = CpuTime.Self;
                var server = twin.Cpu;
                var machine = MachineCpu.Now;
                var metrics = await twin.ScrapeAsync();
                samples.Add(new Sample(
                    at, client, server, machine, metrics.Value("vllm:generation_tokens_total"), metrics.Value("e2t_twin_steps_total"),
                    metrics.Value("vllm:num_requests_running"), metrics.Value("vllm:num_requests_waiting"),
                    metrics.Value("e2t_twin_step_lateness_seconds_sum"), metrics.Value("e2t_twin_step_lateness_seconds_bucket{le=\"0.01\"}"),
                    GC.GetTotalPauseDuration(), GC.GetTotalAllocatedBytes(), GC.CollectionCount(0), GC.CollectionCount(2)));
            }
            while (await timer.WaitForNextTickAsync(stop));
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Times each request from its send to its response headers; changes nothing else.</summary>
    private sealed class HeadersTimer() : DelegatingHandler(new SocketsHttpHandler())
    {
        /// <summary>Per request: from the send to the response headers, s.</summary>
        public ConcurrentQueue<double> Times { get; } = new();

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var sent = Stopwatch.GetTimestamp();
            var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            Times.Enqueue(Stopwatch.GetElapsedTime(sent).TotalSeconds);
            return response;
        }
    }

    /// <summary>Connections refused for a full accept queue so far, the whole machine's (/proc/net/netstat).</summary>
    private static long ListenOverflows()
    {
        var lines = File.ReadAllLines("/proc/net/netstat").Where(l => l.StartsWith("TcpExt:", StringComparison.Ordinal)).ToList();
        var names = lines[0].Split(' ');
        return long.Parse(lines[1].Split(' ')[Array.IndexOf(names, "ListenOverflows")], CultureInfo.InvariantCulture);
    }

    /// <summary>The first index whose value is at least <paramref name="value"/> (stamps repeat: chunks of one read share one).</summary>
    private static int LowerBound(List<long> sorted, long value)
    {
        int lo = 0, hi = sorted.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (sorted[mid] < value) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    private static double Quantile(IReadOnlyList<double> sorted, double q) => sorted[(int)Math.Min(sorted.Count - 1, Math.Floor(q * sorted.Count))];
}
