using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using EnergyToToken.Catalog;
using EnergyToToken.Twin;

namespace EnergyToToken.Benchmarks;

/// <summary>
/// <c>twin-throughput STREAMS SECONDS</c>: the twin must never be the bottleneck. Starts the twin in a child process
/// (so its CPU time is its own), opens STREAMS concurrent streaming requests from raw sockets, and over a window of
/// SECONDS reads the server's CPU time from /proc and its token counter from /metrics.
/// </summary>
internal static class TwinCommands
{
    /// <summary>
    /// Llama-3.1-8B on DEVICES simulated H100s with a batch big enough for every stream, so the server, not the model,
    /// is what is measured. <paramref name="contextTokens"/>, when given, sizes the KV cache to hold that many tokens for
    /// every stream at once (no preemption, whatever the hardware would hold); <paramref name="stepOverheadSeconds"/>
    /// replaces the calibrated fixed time per step (a pacing knob for the client benches).
    /// </summary>
    internal static TwinProfile BenchProfile(int streams, int devices, int? contextTokens = null, double? stepOverheadSeconds = null) => TwinProfiles.Default with
    {
        Name = $"bench-8b-h100x{devices}",
        Devices = devices,
        Engine = TwinProfiles.Default.Engine with { MaxSequences = streams, MaxWaiting = streams, KvCacheTokens = contextTokens is { } c ? checked(streams * c) : null },
        Step = stepOverheadSeconds is { } overhead ? TwinProfiles.Default.Step with { OverheadSeconds = overhead } : TwinProfiles.Default.Step,
    };

    /// <summary>The child: serve until stdin closes.</summary>
    public static async Task Serve(int streams, int devices, int? contextTokens, double? stepOverheadSeconds)
    {
        var profile = BenchProfile(streams, devices, contextTokens, stepOverheadSeconds);
        var server = await TwinServer.StartAsync(new TwinServerOptions { Profile = profile, KeepGroundTruth = false }, Catalogs.Load([]));
        await using (server)
        {
            Console.WriteLine(server.BaseAddress);
            await Console.In.ReadToEndAsync();
        }
    }

    public static async Task Throughput(int streams, TimeSpan window, int devices)
    {
        await using var twin = await TwinChild.StartAsync(streams, devices);
        var baseAddress = twin.BaseAddress;
        var body = "{\"prompt\":\"Tell me about energy.\",\"max_tokens\":100000,\"ignore_eos\":true,\"stream\":true}";
        var request = Encoding.ASCII.GetBytes(
            $"POST /v1/completions HTTP/1.1\r\nHost: {baseAddress.Authority}\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\n\r\n{body}");
        using var stop = new CancellationTokenSource();
        var received = new long[1];
        var readers = new List<Task>();
        for (var i = 0; i < streams; i++) readers.Add(Drain(baseAddress, request, received, stop.Token));
        // Let every stream start and the batch fill before measuring.
        await Task.Delay(TimeSpan.FromSeconds(3));
        var (tokens0, steps0, late0, fast0, ok0) = Read(await twin.ScrapeAsync());
        var cpu0 = twin.Cpu;
        var wall = Stopwatch.StartNew();
        await Task.Delay(window);
        var (tokens1, steps1, late1, fast1, ok1) = Read(await twin.ScrapeAsync());
        var cpu1 = twin.Cpu;
        var seconds = wall.Elapsed.TotalSeconds;
        var open = readers.Count(r => !r.IsCompleted);
        stop.Cancel();
        Console.WriteLine($"streams {streams} (open at the end of the window: {open}), {devices} simulated H100s, window {seconds:0.0} s");
        Console.WriteLine($"tokens/s {(tokens1 - tokens0) / seconds:N0} (from vllm:generation_tokens_total), steps/s {(steps1 - steps0) / seconds:0.0}");
        var cpu = cpu1 - cpu0;
        Console.WriteLine($"server CPU {cpu.Total / seconds:0.00} cores ({cpu.User / seconds:0.00} user + {cpu.System / seconds:0.00} system, /proc/PID/stat), {cpu.Total / Math.Max(1, tokens1 - tokens0) * 1e6:0.0} µs per token");
        var steps = Math.Max(1, steps1 - steps0);
        Console.WriteLine($"tokens handed to streams after the step's simulated end: mean {(late1 - late0) / steps * 1000:0.00} ms; within 1 ms {(fast1 - fast0) / steps:P0}, within 10 ms {(ok1 - ok0) / steps:P0}");
        Console.WriteLine($"client received {received[0] / seconds / 1e6:0.0} MB/s");
    }

    private static async Task Drain(Uri address, byte[] request, long[] received, CancellationToken cancel)
    {
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(address.Host, address.Port, cancel);
        await socket.SendAsync(request, cancel);
        var buffer = new byte[256 * 1024];
        try
        {
            while (true)
            {
                var n = await socket.ReceiveAsync(buffer, cancel);
                if (n == 0) return;
                Interlocked.Add(ref received[0], n);
                // Read in bursts: the bytes wait in the socket buffer, and the client stays light enough to leave the
                // server a core of its own on a small machine.
                await Task.Delay(100, cancel);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static (double Tokens, double Steps, double Late, double Within1ms, double Within10ms) Read(MetricsText metrics) => (
        metrics.Value("vllm:generation_tokens_total"), metrics.Value("e2t_twin_steps_total"), metrics.Value("e2t_twin_step_lateness_seconds_sum"),
        metrics.Value("e2t_twin_step_lateness_seconds_bucket{le=\"0.001\"}"), metrics.Value("e2t_twin_step_lateness_seconds_bucket{le=\"0.01\"}"));
}
