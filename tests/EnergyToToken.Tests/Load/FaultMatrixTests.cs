using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using EnergyToToken.Load;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EnergyToToken.Tests.Load;

/// <summary>
/// The client side of measurement.md §5's fault matrix, end to end over loopback HTTP: a scripted Kestrel server writes
/// each answer's raw bytes, and every request must end in exactly its terminal state with honest token counts. The
/// parser's own corner cases are in <see cref="SseReaderTests"/>; the twin's fault knobs in <see cref="StreamingClientTests"/>.
/// </summary>
public class FaultMatrixTests
{
    private static readonly GenerationRequest Request = new() { Api = ApiKind.Chat, Model = "m", Prompt = "p" };

    private static StreamingClient Client(ScriptedServer server, StreamingClientOptions? options = null) =>
        new(server.CreateHttpClient(), options ?? new StreamingClientOptions { KeepText = true }, TimeProvider.System);

    private static double Seconds(long from, long to) => TimeProvider.System.GetElapsedTime(from, to).TotalSeconds;

    [Theory]
    [InlineData(429)]
    [InlineData(500)]
    [InlineData(503)]
    public async Task An_http_error_before_the_stream_keeps_its_status_and_body_and_counts_no_output(int status)
    {
        await using var server = await ScriptedServer.StartAsync((context, cancel) =>
            Sse.ErrorAsync(context, status, $$$"""{"error":{"message":"refused with {{{status}}}","type":"server_error"}}""", cancel));
        var record = await Client(server).SendAsync(Request, CancellationToken.None);
        Assert.Equal(TerminalState.HttpError, record.State);
        Assert.Equal(status, record.HttpStatus);
        Assert.Contains($"refused with {status}", record.Detail, StringComparison.Ordinal);
        Assert.Equal(0, record.OutputTokens);
        Assert.Empty(record.OutputChunkTimestamps);
        Assert.NotNull(record.EndTimestamp);
    }

    [Fact]
    public async Task A_run_against_a_port_nobody_listens_on_ends_every_request_as_a_connect_error()
    {
        var client = new StreamingClient(new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{ClosedPort()}/") }, new StreamingClientOptions(), TimeProvider.System);
        var run = await new LoadRunner(client, "m", TimeProvider.System).RunAsync(Workload, new ArrivalOptions { Kind = ArrivalKind.Closed, Concurrency = 2, Count = 6 }, CancellationToken.None);
        Assert.Equal(Enumerable.Range(0, 6), run.Select(r => r.Index)); // issued = Σ states
        Assert.All(run, r => Assert.Equal((TerminalState.ConnectError, 0), (r.Record.State, r.Record.OutputTokens)));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_tcp_reset_or_a_close_inside_the_chunked_body_mid_stream_is_reset_midstream_keeping_the_chunks_it_got(bool tcpReset)
    {
        await using var server = await ScriptedServer.StartAsync(async (context, cancel) =>
        {
            await Sse.BeginAsync(context);
            await Sse.WriteAsync(context, Sse.Role + Sse.Content("a") + Sse.Content("b"), cancel);
            await Sse.CutAsync(context, tcpReset, cancel);
        });
        var record = await Client(server).SendAsync(Request, CancellationToken.None);
        Assert.Equal(TerminalState.ResetMidstream, record.State);
        Assert.Equal(2, record.OutputChunkTimestamps.Count);
        Assert.False(record.UsageFromServer);
        Assert.Equal(2, record.OutputTokens); // the chunk count, flagged as such
        Assert.Equal("ab", record.Text.ToString());
    }

    [Theory]
    [InlineData(false, 3)]
    [InlineData(true, 7)]
    public async Task A_stream_closed_without_done_is_a_protocol_error_whether_or_not_usage_came(bool withUsage, int outputTokens)
    {
        await using var server = await ScriptedServer.StartAsync(async (context, cancel) =>
        {
            await Sse.BeginAsync(context);
            await Sse.WriteAsync(context, Sse.Content("a") + Sse.Content("b") + Sse.Content("c") + Sse.Finish("stop") + (withUsage ? Sse.Usage(7) : ""), cancel);
        });
        var record = await Client(server).SendAsync(Request, CancellationToken.None);
        Assert.Equal(TerminalState.ProtocolError, record.State);
        Assert.Contains("[DONE]", record.Detail, StringComparison.Ordinal);
        Assert.Equal(3, record.OutputChunkTimestamps.Count);
        Assert.Equal(withUsage, record.UsageFromServer);
        Assert.Equal(outputTokens, record.OutputTokens);
    }

    [Fact]
    public async Task A_drip_of_one_byte_every_40_ms_is_slow_but_alive_so_the_idle_timeout_counts_silence_not_slow_chunks()
    {
        // Decision: the idle timeout guards a dead connection, so every read restarts it; a server that is merely slow
        // finishes ok, and its slowness shows where it belongs, in the gaps between output chunks (inter-token latency).
        // The timeout is far above the drip's gap: a busy test machine may pause the process for most of a second.
        var idle = TimeSpan.FromMilliseconds(1500);
        await using var server = await ScriptedServer.StartAsync(async (context, cancel) =>
        {
            await Sse.BeginAsync(context);
            await Sse.WriteAsync(context, Sse.Content("a"), cancel); // the first output starts the idle clock
            await Sse.TrickleAsync(context, Sse.Content("é"), TimeSpan.FromMilliseconds(40), cancel); // ~1.9 s for its 48 bytes
            await Sse.WriteAsync(context, Sse.Done, cancel);
        });
        var record = await Client(server, new StreamingClientOptions { IdleTimeout = idle, KeepText = true }).SendAsync(Request, CancellationToken.None);
        Assert.Equal(TerminalState.Ok, record.State);
        Assert.Equal("aé", record.Text.ToString());
        // The dripped chunk took longer than the idle timeout to arrive whole: only its bytes kept the request alive.
        Assert.True(Seconds(record.OutputChunkTimestamps[0], record.OutputChunkTimestamps[1]) > idle.TotalSeconds);
    }

    [Fact]
    public async Task Keep_alive_comments_before_the_first_token_are_not_output_and_do_not_hold_off_the_first_chunk_timeout()
    {
        await using var server = await ScriptedServer.StartAsync(async (context, cancel) =>
        {
            await Sse.BeginAsync(context);
            while (true)
            {
                await Sse.WriteAsync(context, ": keep-alive\n\n", cancel);
                await Task.Delay(TimeSpan.FromMilliseconds(50), cancel);
            }
        });
        var record = await Client(server, new StreamingClientOptions { FirstChunkTimeout = TimeSpan.FromMilliseconds(300) }).SendAsync(Request, CancellationToken.None);
        Assert.Equal(TerminalState.TimeoutTtft, record.State);
        Assert.Empty(record.OutputChunkTimestamps);
        Assert.Equal(0, record.OutputTokens);
    }

    /// <summary>
    /// One answer written with a comment, <c>event:</c>/<c>id:</c>/<c>retry:</c> fields, a role-only chunk, a chunk split
    /// over two <c>data:</c> lines, <c>data:</c> without a space, an empty chunk, multi-byte UTF-8 (2, 3 and 4 bytes), a
    /// finish, a usage-only chunk and <c>[DONE]</c>.
    /// </summary>
    private static string Framed(string eol) => string.Join(eol,
        ": keep-alive",
        "event: message",
        "id: 1",
        "retry: 3000",
        Sse.Data(Sse.RoleJson),
        "",
        ": ping",
        """data: {"id":"chatcmpl-7","choices":""",
        """data: [{"index":0,"delta":{"content":"héllo "}}]}""",
        "",
        "id: 2",
        "data:" + Sse.ContentJson("世界"),
        "",
        Sse.Data(Sse.ContentJson("")),
        "",
        Sse.Data(Sse.ContentJson("😀")),
        "",
        Sse.Data(Sse.FinishJson("stop")),
        "",
        Sse.Data(Sse.UsageJson(4)),
        "",
        "data: [DONE]",
        "",
        "");

    [Theory]
    [InlineData("\n", false)]
    [InlineData("\r\n", false)]
    [InlineData("\r", false)]
    [InlineData("\n", true)]
    [InlineData("\r\n", true)]
    [InlineData("\r", true)]
    public async Task Any_line_end_comments_fields_and_multi_line_data_give_the_same_answer_whole_or_one_byte_per_read(string eol, bool oneBytePerRead)
    {
        using var lockstep = new Lockstep();
        await using var server = await ScriptedServer.StartAsync(async (context, cancel) =>
        {
            await Sse.BeginAsync(context);
            if (oneBytePerRead) await lockstep.TrickleAsync(context, Framed(eol), cancel);
            else await Sse.WriteAsync(context, Framed(eol), cancel);
        });
        var client = new StreamingClient(lockstep.CreateHttpClient(server.BaseAddress), new StreamingClientOptions { KeepText = true }, TimeProvider.System);
        var record = await client.SendAsync(Request, CancellationToken.None);
        if (oneBytePerRead)
        {
            // Every byte boundary was a read boundary: inside CRLF, inside each multi-byte character, everywhere. With
            // CRLF, [DONE] dispatches at the last CR and the client reads no further.
            Assert.Equal(Encoding.UTF8.GetByteCount(Framed(eol)) - (eol == "\r\n" ? 1 : 0), lockstep.ReadSizes.Count);
            Assert.All(lockstep.ReadSizes, n => Assert.Equal(1, n));
        }
        Assert.Equal(TerminalState.Ok, record.State);
        Assert.Equal("héllo 世界😀", record.Text.ToString());
        Assert.Equal(3, record.OutputChunkTimestamps.Count); // not the role-only, empty or usage-only chunks
        Assert.True(record.UsageFromServer);
        Assert.Equal(4, record.OutputTokens);
        Assert.Equal("stop", record.FinishReason);
        Assert.Equal("chatcmpl-7", record.ResponseId);
    }

    [Fact]
    public async Task Invalid_json_in_one_event_is_a_protocol_error_that_keeps_the_chunks_before_it()
    {
        await using var server = await ScriptedServer.StartAsync(async (context, cancel) =>
        {
            await Sse.BeginAsync(context);
            await Sse.WriteAsync(context, Sse.Content("a") + Sse.Content("b") + "data: {\"choices\":[{\"delta\":\n\n" + Sse.Content("c") + Sse.Usage(3) + Sse.Done, cancel);
        });
        var record = await Client(server).SendAsync(Request, CancellationToken.None);
        Assert.Equal(TerminalState.ProtocolError, record.State);
        Assert.Contains("not valid JSON", record.Detail, StringComparison.Ordinal);
        Assert.Equal(2, record.OutputChunkTimestamps.Count);
        Assert.False(record.UsageFromServer);
        Assert.Equal(2, record.OutputTokens); // the chunks before it, flagged as a chunk count
        Assert.NotNull(record.EndTimestamp);
    }

    [Fact]
    public async Task A_role_only_first_chunk_is_not_output_and_does_not_start_the_time_to_first_token()
    {
        var pause = TimeSpan.FromMilliseconds(200);
        await using var server = await ScriptedServer.StartAsync(async (context, cancel) =>
        {
            await Sse.BeginAsync(context);
            await Sse.WriteAsync(context, Sse.Role, cancel);
            await Task.Delay(pause, cancel);
            await Sse.WriteAsync(context, Sse.Content("a") + Sse.Done, cancel);
        });
        var record = await Client(server).SendAsync(Request, CancellationToken.None);
        Assert.Equal(TerminalState.Ok, record.State);
        var first = Assert.Single(record.OutputChunkTimestamps);
        // The content came after the server's pause, the role before it. Task.Delay's timer ticks in milliseconds and may
        // end a little before the stopwatch says 200 ms have passed, hence the 5 ms; a role chunk taken as output would be ~0.
        Assert.True(Seconds(record.SentTimestamp, first) >= pause.TotalSeconds - 0.005, $"{Seconds(record.SentTimestamp, first):R} s");
        Assert.Equal(1, record.OutputTokens);
    }

    [Fact]
    public async Task Empty_content_chunks_are_neither_output_nor_time_stamps()
    {
        await using var server = await ScriptedServer.StartAsync(async (context, cancel) =>
        {
            await Sse.BeginAsync(context);
            await Sse.WriteAsync(context, Sse.Content("") + Sse.Content("a") + Sse.Content("") + Sse.Data("""{"choices":[{"index":0,"delta":{}}]}""") + "\n\n" + Sse.Content("b") + Sse.Done, cancel);
        });
        var record = await Client(server).SendAsync(Request, CancellationToken.None);
        Assert.Equal(TerminalState.Ok, record.State);
        Assert.Equal(2, record.OutputChunkTimestamps.Count);
        Assert.False(record.UsageFromServer);
        Assert.Equal(2, record.OutputTokens);
        Assert.Equal("ab", record.Text.ToString());
    }

    [Fact]
    public async Task A_usage_only_last_chunk_gives_the_token_count_instead_of_the_chunks_not_on_top_of_them()
    {
        await using var server = await ScriptedServer.StartAsync(async (context, cancel) =>
        {
            await Sse.BeginAsync(context);
            // Three chunks carrying seven tokens (a server that batches), then the usage alone.
            await Sse.WriteAsync(context, Sse.Content("ab") + Sse.Content("cde") + Sse.Content("fg") + Sse.Finish("length") + Sse.Usage(7) + Sse.Done, cancel);
        });
        var record = await Client(server).SendAsync(Request, CancellationToken.None);
        Assert.Equal(TerminalState.Ok, record.State);
        Assert.Equal(3, record.OutputChunkTimestamps.Count);
        Assert.True(record.UsageFromServer);
        Assert.Equal(7, record.OutputTokens);
        Assert.Equal(4, record.PromptTokens);
    }

    [Fact]
    public async Task A_one_megabyte_event_arrives_whole_as_one_chunk()
    {
        var big = new string('é', 512 * 1024); // 1 MiB of UTF-8
        await using var server = await ScriptedServer.StartAsync(async (context, cancel) =>
        {
            await Sse.BeginAsync(context);
            await Sse.WriteAsync(context, Sse.Content(big) + Sse.Usage(1) + Sse.Done, cancel);
        });
        var record = await Client(server).SendAsync(Request, CancellationToken.None);
        Assert.Equal(TerminalState.Ok, record.State);
        Assert.Single(record.OutputChunkTimestamps);
        Assert.Equal(1, record.OutputTokens);
        Assert.Equal(big, record.Text.ToString());
    }

    [Fact]
    public async Task Done_ends_the_answer_so_a_second_done_data_after_it_or_a_server_that_never_closes_change_nothing()
    {
        var idle = TimeSpan.FromSeconds(2);
        await using var server = await ScriptedServer.StartAsync(async (context, cancel) =>
        {
            await Sse.BeginAsync(context);
            await Sse.WriteAsync(context, Sse.Content("a") + Sse.Content("b") + Sse.Usage(2) + Sse.Done + Sse.Done + Sse.Content("z") + Sse.Usage(99) + "data: not json\n\n", cancel);
            await Task.Delay(Timeout.Infinite, cancel); // and keeps the connection open
        });
        var record = await Client(server, new StreamingClientOptions { IdleTimeout = idle, KeepText = true }).SendAsync(Request, CancellationToken.None);
        Assert.Equal(TerminalState.Ok, record.State);
        Assert.Equal(2, record.OutputChunkTimestamps.Count);
        Assert.Equal(2, record.OutputTokens);
        Assert.Equal("ab", record.Text.ToString());
        // The answer ended at [DONE], not when the connection went quiet.
        Assert.True(Seconds(record.OutputChunkTimestamps[^1], record.EndTimestamp!.Value) < idle.TotalSeconds);
    }

    // ---- A mixed run: one fault per request, chosen by the request's index ----

    private static readonly WorkloadOptions Workload = new()
    {
        Api = ApiKind.Chat,
        InputTokens = LengthDistribution.Parse("fixed:8"),
        OutputTokens = LengthDistribution.Parse("fixed:4"),
        Seed = 11,
    };

    private enum Fault
    {
        OkWithUsage,
        OkWithoutUsage,
        CumulativeUsage,
        Http429,
        Http500,
        Http503,
        TcpReset,
        CloseInChunkedBody,
        NoDone,
        StallAfterOutput,
        InvalidJson,
        DataAfterDone,
        CrlfFraming,
        JsonInsteadOfStream,
        EmptyStream,
        OneMegabyteEvent,
    }

    /// <summary>What each fault must come to: state, HTTP status, output tokens, whether they are the server's usage, output chunks.</summary>
    private static (TerminalState State, int? Status, int OutputTokens, bool UsageFromServer, int OutputChunks) Expected(Fault fault) => fault switch
    {
        Fault.OkWithUsage => (TerminalState.Ok, null, 5, true, 3),
        Fault.OkWithoutUsage => (TerminalState.Ok, null, 3, false, 3),
        Fault.CumulativeUsage => (TerminalState.Ok, null, 3, true, 3),
        Fault.Http429 => (TerminalState.HttpError, 429, 0, false, 0),
        Fault.Http500 => (TerminalState.HttpError, 500, 0, false, 0),
        Fault.Http503 => (TerminalState.HttpError, 503, 0, false, 0),
        Fault.TcpReset or Fault.CloseInChunkedBody => (TerminalState.ResetMidstream, null, 2, false, 2),
        Fault.NoDone => (TerminalState.ProtocolError, null, 3, false, 3),
        Fault.StallAfterOutput => (TerminalState.TimeoutIdle, null, 2, false, 2),
        Fault.InvalidJson => (TerminalState.ProtocolError, null, 2, false, 2),
        Fault.DataAfterDone => (TerminalState.Ok, null, 2, true, 2),
        Fault.CrlfFraming => (TerminalState.Ok, null, 4, true, 3),
        Fault.JsonInsteadOfStream or Fault.EmptyStream => (TerminalState.ProtocolError, null, 0, false, 0),
        Fault.OneMegabyteEvent => (TerminalState.Ok, null, 1, true, 1),
        _ => throw new ArgumentOutOfRangeException(nameof(fault)),
    };

    private static async Task ServeAsync(Fault fault, HttpContext context, CancellationToken cancel)
    {
        switch (fault)
        {
            case Fault.Http429 or Fault.Http500 or Fault.Http503:
                var status = fault == Fault.Http429 ? 429 : fault == Fault.Http500 ? 500 : 503;
                await Sse.ErrorAsync(context, status, $$$"""{"error":{"message":"status {{{status}}}"}}""", cancel);
                return;
            case Fault.JsonInsteadOfStream:
                // A 200 that is not a stream: counted as a failure, never as an answer of zero tokens.
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync("""{"error":{"message":"overloaded"}}""", cancel);
                return;
        }
        await Sse.BeginAsync(context);
        switch (fault)
        {
            case Fault.OkWithUsage:
                await Sse.WriteAsync(context, Sse.Role + Sse.Content("ab") + Sse.Content("c") + Sse.Content("de") + Sse.Finish("length") + Sse.Usage(5) + Sse.Done, cancel);
                break;
            case Fault.OkWithoutUsage:
                await Sse.WriteAsync(context, Sse.Content("a") + Sse.Content("b") + Sse.Content("c") + Sse.Done, cancel);
                break;
            case Fault.CumulativeUsage:
                // vLLM's continuous_usage_stats: a running total on every chunk, which must not be summed.
                var chunks = string.Concat(Enumerable.Range(1, 3).Select(n =>
                    Sse.Data($$$"""{"choices":[{"index":0,"delta":{"content":"t{{{n}}}"}}],"usage":{"prompt_tokens":4,"completion_tokens":{{{n}}}}}""") + "\n\n"));
                await Sse.WriteAsync(context, chunks + Sse.Usage(3) + Sse.Done, cancel);
                break;
            case Fault.TcpReset or Fault.CloseInChunkedBody:
                await Sse.WriteAsync(context, Sse.Content("a") + Sse.Content("b"), cancel);
                await Sse.CutAsync(context, fault == Fault.TcpReset, cancel);
                break;
            case Fault.NoDone:
                await Sse.WriteAsync(context, Sse.Content("a") + Sse.Content("b") + Sse.Content("c"), cancel);
                break;
            case Fault.StallAfterOutput:
                await Sse.WriteAsync(context, Sse.Content("a") + Sse.Content("b"), cancel);
                await Task.Delay(Timeout.Infinite, cancel);
                break;
            case Fault.InvalidJson:
                await Sse.WriteAsync(context, Sse.Content("a") + Sse.Content("b") + "data: {oops\n\n" + Sse.Content("c") + Sse.Done, cancel);
                break;
            case Fault.DataAfterDone:
                await Sse.WriteAsync(context, Sse.Content("a") + Sse.Content("b") + Sse.Usage(2) + Sse.Done + Sse.Done + Sse.Content("z") + Sse.Usage(99), cancel);
                break;
            case Fault.CrlfFraming:
                await Sse.WriteAsync(context, Framed("\r\n"), cancel);
                break;
            case Fault.EmptyStream:
                break;
            case Fault.OneMegabyteEvent:
                await Sse.WriteAsync(context, Sse.Content(new string('x', 1 << 20)) + Sse.Usage(1) + Sse.Done, cancel);
                break;
        }
    }

    [Fact]
    public async Task A_mixed_run_ends_each_request_in_its_faults_state_and_never_turns_a_failure_into_zero_tokens_of_success()
    {
        var faults = Enum.GetValues<Fault>();
        var count = 3 * faults.Length;
        // The runner seeds each request from its index, so the server can tell which request it is serving.
        var indexOfSeed = Enumerable.Range(0, count).ToDictionary(i => (long)PromptFactory.Mix(Workload.Seed, i));
        var served = new ConcurrentDictionary<int, int>();
        await using var server = await ScriptedServer.StartAsync(async (context, cancel) =>
        {
            using var body = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: cancel);
            var index = indexOfSeed[body.RootElement.GetProperty("seed").GetInt64()];
            served.AddOrUpdate(index, 1, (_, n) => n + 1);
            await ServeAsync(faults[index % faults.Length], context, cancel);
        });
        // Generous timeouts: only the stall must hit one (a stall before output is the keep-alive test's), and a busy
        // machine must not make a healthy answer late.
        var options = new StreamingClientOptions { FirstChunkTimeout = TimeSpan.FromSeconds(10), IdleTimeout = TimeSpan.FromSeconds(1.5) };
        var runner = new LoadRunner(new StreamingClient(server.CreateHttpClient(), options, TimeProvider.System), "m", TimeProvider.System);

        var run = await runner.RunAsync(Workload, new ArrivalOptions { Kind = ArrivalKind.Closed, Concurrency = 16, Count = count }, CancellationToken.None);

        // Issued = Σ states: every request came back once, and the server saw each once (no retries, none lost).
        Assert.Equal(Enumerable.Range(0, count), run.Select(r => r.Index));
        Assert.Equal(Enumerable.Range(0, count), served.Keys.Order());
        Assert.All(served.Values, n => Assert.Equal(1, n));
        Assert.Equal(
            faults.GroupBy(f => Expected(f).State).ToDictionary(g => g.Key, g => 3 * g.Count()),
            run.GroupBy(r => r.Record.State).ToDictionary(g => g.Key, g => g.Count()));
        // Each request in exactly its expected state, with its tokens counted once: the usage sent, else the chunks.
        var expected = run.Select(r => (faults[r.Index % faults.Length], Expected(faults[r.Index % faults.Length])));
        var actual = run.Select(r => (faults[r.Index % faults.Length],
            (r.Record.State, r.Record.HttpStatus, r.Record.OutputTokens, r.Record.UsageFromServer, r.Record.OutputChunkTimestamps.Count)));
        Assert.Equal(expected, actual);
        // A failure says why and when it ended; only a whole answer is ok.
        Assert.All(run.Where(r => r.Record.State != TerminalState.Ok), r => Assert.NotEmpty(r.Record.Detail));
        Assert.All(run, r => Assert.True(r.Record.EndTimestamp >= r.Record.SentTimestamp));
        Assert.Equal(3 * (5 + 3 + 3 + 2 + 4 + 1), run.Where(r => r.Record.State == TerminalState.Ok).Sum(r => r.Record.OutputTokens));
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop(); // nothing listens there now
        return port;
    }
}

/// <summary>The raw bytes of OpenAI-style chat stream chunks, and how a scripted answer writes them.</summary>
internal static class Sse
{
    public const string RoleJson = """{"id":"chatcmpl-7","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}""";

    public const string Done = "data: [DONE]\n\n";

    public static string Role => Data(RoleJson) + "\n\n";

    /// <summary>Content is written into the JSON as is (no escaping), so multi-byte characters cross the wire as UTF-8.</summary>
    public static string ContentJson(string text) => $$$"""{"choices":[{"delta":{"content":"{{{text}}}"}}]}""";

    public static string FinishJson(string reason) => $$"""{"choices":[{"index":0,"delta":{},"finish_reason":"{{reason}}"}]}""";

    public static string UsageJson(int completionTokens) =>
        $$$"""{"choices":[],"usage":{"prompt_tokens":4,"completion_tokens":{{{completionTokens}}},"total_tokens":{{{4 + completionTokens}}}}}""";

    public static string Data(string json) => "data: " + json;

    public static string Content(string text) => Data(ContentJson(text)) + "\n\n";

    public static string Finish(string reason) => Data(FinishJson(reason)) + "\n\n";

    public static string Usage(int completionTokens) => Data(UsageJson(completionTokens)) + "\n\n";

    public static async Task ErrorAsync(HttpContext context, int status, string json, CancellationToken cancel)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(json, cancel);
    }

    public static Task BeginAsync(HttpContext context)
    {
        context.Response.StatusCode = 200;
        context.Response.ContentType = "text/event-stream";
        return context.Response.StartAsync();
    }

    public static async Task WriteAsync(HttpContext context, string text, CancellationToken cancel)
    {
        await context.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(text), cancel);
        await context.Response.Body.FlushAsync(cancel);
    }

    /// <summary>Writes and flushes one byte at a time, <paramref name="gap"/> apart.</summary>
    public static async Task TrickleAsync(HttpContext context, string text, TimeSpan gap, CancellationToken cancel)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        for (var i = 0; i < bytes.Length; i++)
        {
            await context.Response.Body.WriteAsync(bytes.AsMemory(i, 1), cancel);
            await context.Response.Body.FlushAsync(cancel);
            if (gap > TimeSpan.Zero) await Task.Delay(gap, cancel);
        }
    }

    /// <summary>
    /// Ends the connection inside the chunked body: with a TCP reset (RST: linger 0, then close), or with a FIN before
    /// the chunked terminator, then waits for the client to go. What was flushed before is in the client's socket
    /// either way: Linux hands queued bytes to reads before it reports a reset.
    /// </summary>
    public static async Task CutAsync(HttpContext context, bool tcpReset, CancellationToken cancel)
    {
        var socket = context.Features.Get<IConnectionSocketFeature>()?.Socket
            ?? throw new InvalidOperationException("Kestrel did not expose the connection's socket.");
        if (tcpReset)
        {
            socket.LingerState = new LingerOption(true, 0);
            socket.Close();
            context.Abort();
            return;
        }
        socket.Shutdown(SocketShutdown.Send);
        await Task.Delay(Timeout.Infinite, cancel);
    }
}

/// <summary>
/// Makes each of the client's reads exactly one byte, deterministically and without timers: the server sends the next
/// byte only once the client's last read has returned, so reads end at every byte boundary (inside CRLF, inside each
/// multi-byte character). Over loopback, flushing a byte at a time alone would not do: the client would read them in one.
/// </summary>
internal sealed class Lockstep : IDisposable
{
    private readonly SemaphoreSlim _read = new(0);

    /// <summary>The size of each read of the response body, in order.</summary>
    public List<int> ReadSizes { get; } = [];

    public HttpClient CreateHttpClient(Uri baseAddress) => new(new Observer(this)) { BaseAddress = baseAddress };

    public void Dispose() => _read.Dispose();

    public async Task TrickleAsync(HttpContext context, string text, CancellationToken cancel)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        for (var i = 0; i < bytes.Length; i++)
        {
            await context.Response.Body.WriteAsync(bytes.AsMemory(i, 1), cancel);
            await context.Response.Body.FlushAsync(cancel);
            await _read.WaitAsync(cancel);
        }
    }

    private sealed class Observer(Lockstep lockstep) : DelegatingHandler(new SocketsHttpHandler())
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            response.Content = new StreamContent(new ObservedStream(await response.Content.ReadAsStreamAsync(cancellationToken), lockstep));
            return response;
        }
    }

    private sealed class ObservedStream(Stream inner, Lockstep lockstep) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await inner.ReadAsync(buffer, cancellationToken);
            if (read > 0)
            {
                lockstep.ReadSizes.Add(read);
                lockstep._read.Release();
            }
            return read;
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override void Flush() { }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }
}

/// <summary>
/// A Kestrel server on 127.0.0.1 and a free port whose every answer is scripted: the script writes the raw status and
/// bytes, and its token ends when the client goes away or the server stops.
/// </summary>
internal sealed class ScriptedServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly CancellationTokenSource _stopping = new();

    private ScriptedServer(Func<HttpContext, CancellationToken, Task> script)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();
        // As in the twin: a flush completes only once the socket has taken the bytes, so a script that cuts the
        // connection right after a write cannot drop what it wrote, and the client reads it before the cut.
        builder.WebHost.UseSockets(sockets => sockets.MaxWriteBufferSize = 2);
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(2));
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        _app = builder.Build();
        _app.Run(async context =>
        {
            using var cancel = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping.Token);
            try
            {
                await script(context, cancel.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException)
            {
                // The client gave up (a timeout, a protocol error), the script cut the connection, or the server is stopping.
            }
        });
    }

    public Uri BaseAddress { get; private set; } = null!;

    public HttpClient CreateHttpClient() => new() { BaseAddress = BaseAddress };

    public static async Task<ScriptedServer> StartAsync(Func<HttpContext, CancellationToken, Task> script)
    {
        var server = new ScriptedServer(script);
        await server._app.StartAsync();
        var address = server._app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.BaseAddress = new Uri(address.TrimEnd('/') + "/");
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _stopping.Dispose();
    }
}
