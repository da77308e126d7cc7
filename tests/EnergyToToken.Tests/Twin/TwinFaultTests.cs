using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using EnergyToToken.Twin;

namespace EnergyToToken.Tests.Twin;

/// <summary>Tests that time gaps between events run alone, so a busy two-core machine does not blur the gaps they measure.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TwinTiming
{
    public const string Name = "Twin timing";
}

/// <summary>The twin's injected faults: each request gets exactly the faults its header names, and each behaves as documented.</summary>
public sealed class TwinFaultTests
{
    private static readonly TwinFault[] Kinds = Enum.GetValues<TwinFault>();

    private static object Stream(int maxTokens, int? seed = null) =>
        new { prompt = "Fault me", max_tokens = maxTokens, ignore_eos = true, seed, stream = true, stream_options = new { include_usage = true } };

    private static Task<TwinServer> StartAsync(string faults) => TwinHttp.StartAsync(new TwinServerOptions { Faults = FaultOptions.Parse(faults) });

    [Theory]
    [InlineData("error=1", 503, "InternalServerError")]
    [InlineData("error=1:500", 500, "InternalServerError")]
    [InlineData("error=1:429", 429, "BadRequestError")]
    public async Task An_error_fault_answers_the_configured_status_with_an_openai_error_body(string faults, int status, string type)
    {
        await using var server = await StartAsync(faults);
        using var client = TwinHttp.Client(server);
        var (response, json) = await TwinHttp.PostAsync(client, "v1/completions", new { prompt = "hi", max_tokens = 2 });
        TwinHttp.AssertError(response, json, status, type, null);
        Assert.Equal("error", TwinHttp.Faults(response));
        var stream = await TwinHttp.StreamAsync(client, "v1/chat/completions", new { messages = new[] { new { role = "user", content = "hi" } }, stream = true });
        Assert.Equal(status, (int)stream.Response.StatusCode);
        Assert.Empty(stream.Events);
        Assert.Equal("error", stream.FaultHeader);
        Assert.Equal(2, server.FaultsInjected(TwinFault.Error));
        Assert.All(Kinds.Where(k => k != TwinFault.Error), k => Assert.Equal(0, server.FaultsInjected(k)));
        Assert.Equal(0, server.Steps); // refused before the engine saw it
    }

    [Fact]
    public async Task A_reset_breaks_the_stream_after_half_the_tokens_and_before_done()
    {
        await using var server = await StartAsync("reset=1");
        using var client = TwinHttp.Client(server);
        var stream = await TwinHttp.StreamAsync(client, "v1/completions", Stream(10));
        Assert.Equal(HttpStatusCode.OK, stream.Response.StatusCode);
        Assert.Equal("reset", stream.FaultHeader);
        Assert.NotNull(stream.Error);
        Assert.False(stream.Done);
        Assert.Null(stream.Usage);
        var tokens = TwinHttp.Tokens(stream);
        Assert.Equal(5, tokens.Count); // the first five of ten reach the client, then the connection is aborted
        Assert.All(stream.ChoiceChunks, c => Assert.Null((string?)c["choices"]![0]!["finish_reason"]));

        // Without streaming the body never comes.
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => TwinHttp.PostAsync(client, "v1/completions", new { prompt = "hi", max_tokens = 4, ignore_eos = true }));
        Assert.Equal(2, server.FaultsInjected(TwinFault.Reset));

        // Their truth holds the five tokens streamed before the reset and none of the whole answer (reset before its
        // body was written). The engine stops each at its next step unless it already finished (a writer that lags
        // behind the engine reaches the fault point late): aborted means fewer tokens than asked for.
        await TwinHttp.WaitUntilAsync(() => server.GroundTruth.Requests.Count == 2, "both reset requests to end");
        var truths = server.GroundTruth.Requests.OrderBy(r => r.Id).ToList();
        Assert.Equal([5, 0], truths.Select(t => t.WrittenSeconds.Count));
        Assert.All(truths.Zip([10, 4]), p =>
        {
            var (truth, target) = p;
            Assert.InRange(truth.OutputTokens, truth.WrittenSeconds.Count, target);
            Assert.Equal(truth.OutputTokens < target ? FinishReason.Abort : FinishReason.Length, truth.Finish);
        });
    }

    [Fact]
    public async Task No_done_ends_the_stream_after_the_last_token_without_usage_or_done()
    {
        await using var server = await StartAsync("no-done=1");
        using var client = TwinHttp.Client(server);
        var stream = await TwinHttp.StreamAsync(client, "v1/completions", Stream(4));
        Assert.Equal("no-done", stream.FaultHeader);
        Assert.Null(stream.Error); // a clean end of the body
        Assert.False(stream.Done);
        Assert.Null(stream.Usage);
        Assert.Equal(4, stream.Events.Count);
        Assert.Equal("length", (string?)stream.ChoiceChunks[^1]["choices"]![0]!["finish_reason"]);
        Assert.Equal(1, server.FaultsInjected(TwinFault.NoDone));

        // A whole (non-streamed) answer has nothing to leave out.
        var (response, body) = await TwinHttp.PostAsync(client, "v1/completions", new { prompt = "hi", max_tokens = 3, ignore_eos = true });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(3, (int)body!["usage"]!["completion_tokens"]!);
    }

    [Fact]
    public async Task Split_events_leave_in_two_http_chunks_each_and_parse_to_the_same_events()
    {
        await using var plain = await StartAsync("");
        await using var split = await StartAsync("split=1");
        var json = TwinHttp.Json(Stream(5, seed: 3));
        var expected = await RawStreamAsync(plain.BaseAddress, "v1/completions", json);
        var actual = await RawStreamAsync(split.BaseAddress, "v1/completions", json);
        Assert.Contains("x-e2t-twin-faults: split", actual.Head, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("x-e2t-twin-faults", expected.Head, StringComparison.OrdinalIgnoreCase);

        // Same events, apart from the creation second.
        static string Stable(SseEvent e) => e.IsDone ? e.Data : System.Text.RegularExpressions.Regex.Replace(e.Data, "\"created\":[0-9]+", "");
        Assert.Equal(7, expected.Events.Events.Count);
        Assert.Equal(expected.Events.Events.Select(Stable), actual.Events.Events.Select(Stable));

        // Each event is two HTTP chunks, split inside it: the first half ends mid-event, the second ends the event.
        Assert.Equal(2 * actual.Events.Events.Count, actual.Chunks.Count);
        for (var i = 0; i < actual.Chunks.Count; i += 2)
        {
            var first = Encoding.UTF8.GetString(actual.Chunks[i]);
            var second = Encoding.UTF8.GetString(actual.Chunks[i + 1]);
            Assert.StartsWith("data: ", first, StringComparison.Ordinal);
            Assert.DoesNotContain("\n\n", first, StringComparison.Ordinal);
            Assert.EndsWith("\n\n", second, StringComparison.Ordinal);
            Assert.InRange(first.Length, (first.Length + second.Length) / 2 - 1, (first.Length + second.Length) / 2 + 1);
        }
        // Without the fault, no chunk ends inside an event.
        Assert.All(expected.Chunks, c => Assert.EndsWith("\n\n", Encoding.UTF8.GetString(c), StringComparison.Ordinal));
    }

    [Fact]
    public async Task Odd_framing_uses_crlf_comments_and_data_without_a_space_and_still_parses()
    {
        await using var server = await StartAsync("odd=1");
        using var client = TwinHttp.Client(server);
        var stream = await TwinHttp.StreamAsync(client, "v1/chat/completions",
            new { messages = new[] { new { role = "user", content = "hi" } }, max_tokens = 4, ignore_eos = true, stream = true, stream_options = new { include_usage = true } });
        Assert.Equal("odd", stream.FaultHeader);
        var raw = Encoding.UTF8.GetString(stream.Raw);
        Assert.Contains("\r\n", raw, StringComparison.Ordinal);
        Assert.DoesNotContain("\n", raw.Replace("\r\n", "", StringComparison.Ordinal), StringComparison.Ordinal); // every line ends in CRLF
        Assert.StartsWith(": ", raw, StringComparison.Ordinal);
        Assert.Contains("data:{", raw, StringComparison.Ordinal);
        Assert.DoesNotContain("data: ", raw, StringComparison.Ordinal);
        Assert.Contains("data:[DONE]\r\n\r\n", raw, StringComparison.Ordinal);
        Assert.Equal(7, stream.Comments.Count); // one before each event

        // A correct SSE parser gets everything: role, four tokens, usage, [DONE].
        Assert.Null(stream.Error);
        Assert.True(stream.Done);
        Assert.Equal(7, stream.Events.Count);
        Assert.Equal(4, TwinHttp.Tokens(stream).Count);
        Assert.Equal(4, (int)stream.Usage!["completion_tokens"]!);
    }

    [Fact]
    public async Task Rate_zero_injects_nothing()
    {
        await using var server = await StartAsync("error=0,reset=0,stall=0:5s,no-done=0,split=0,odd=0,seed=3");
        using var client = TwinHttp.Client(server);
        for (var i = 0; i < 5; i++)
        {
            var stream = await TwinHttp.StreamAsync(client, "v1/completions", Stream(2));
            Assert.Null(stream.FaultHeader);
            Assert.Null(stream.Error);
            Assert.True(stream.Done);
            Assert.NotNull(stream.Usage);
            Assert.DoesNotContain("\r", Encoding.UTF8.GetString(stream.Raw), StringComparison.Ordinal);
        }
        Assert.All(Kinds, k => Assert.Equal(0, server.FaultsInjected(k)));
        var samples = await TwinHttp.ScrapeAsync(client, "metrics");
        Assert.All(Kinds, k => Assert.Equal(0, TwinHttp.Value(samples, "e2t_twin_faults_injected_total", ("fault", TwinMetrics.FaultName(k)))));
    }

    [Fact]
    public async Task Fractional_rates_inject_exactly_the_faults_drawn_for_each_request()
    {
        const int Requests = 40;
        var options = FaultOptions.Parse("error=0.3,reset=0.3,stall=0.3:20ms,no-done=0.3,split=0.3,odd=0.3,seed=11");
        await using var server = await TwinHttp.StartAsync(new TwinServerOptions { Faults = options });
        using var client = TwinHttp.Client(server);
        var named = Kinds.ToDictionary(k => k, _ => 0);
        for (var i = 0; i < Requests; i++)
        {
            // One at a time, so request i is the server's ordinal i and its draw can be recomputed here.
            var stream = await TwinHttp.StreamAsync(client, "v1/completions", Stream(4));
            var header = stream.FaultHeader;
            var got = header is null ? [] : header.Split(',').Select(n => Kinds.Single(k => TwinMetrics.FaultName(k) == n)).ToArray();
            var drawn = Kinds.Where(k => options.Hits(i, k)).ToArray();
            Assert.Equal(drawn, got);
            foreach (var kind in got) named[kind]++;

            var why = $"request {i} with faults '{header}'";
            if (got.Contains(TwinFault.Error))
            {
                Assert.Equal(503, (int)stream.Response.StatusCode);
                Assert.Empty(stream.Events);
                continue;
            }
            Assert.True(stream.Response.StatusCode == HttpStatusCode.OK, why);
            Assert.True(TwinHttp.Tokens(stream).Count > 0, why);
            if (got.Contains(TwinFault.Reset))
            {
                Assert.True(stream.Error is not null, why);
                Assert.False(stream.Done, why);
                continue;
            }
            Assert.True(stream.Error is null, why);
            Assert.True(stream.Done != got.Contains(TwinFault.NoDone), why);
            Assert.Equal(4, TwinHttp.Tokens(stream).Count);
            var raw = Encoding.UTF8.GetString(stream.Raw);
            Assert.True(raw.Contains("\r\n", StringComparison.Ordinal) == got.Contains(TwinFault.Odd), why);
        }

        var samples = await TwinHttp.ScrapeAsync(client, "metrics");
        foreach (var kind in Kinds)
        {
            Assert.Equal(named[kind], server.FaultsInjected(kind));
            Assert.Equal(named[kind], TwinHttp.Value(samples, "e2t_twin_faults_injected_total", ("fault", TwinMetrics.FaultName(kind))));
            Assert.InRange(named[kind], 1, Requests - 1); // a rate of 0.3 hits some requests and spares others
        }
    }

    /// <summary>A request over a raw socket: the response head and its body's HTTP/1.1 chunks exactly as they were framed.</summary>
    private static async Task<(string Head, List<byte[]> Chunks, SseStream Events)> RawStreamAsync(Uri baseAddress, string path, string json)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(baseAddress.Host, baseAddress.Port);
        var network = tcp.GetStream();
        var body = Encoding.UTF8.GetBytes(json);
        var request = string.Create(CultureInfo.InvariantCulture,
            $"POST /{path} HTTP/1.1\r\nHost: {baseAddress.Authority}\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n");
        await network.WriteAsync(Encoding.ASCII.GetBytes(request));
        await network.WriteAsync(body);
        var all = new MemoryStream();
        await network.CopyToAsync(all);
        var bytes = all.ToArray();

        var end = bytes.AsSpan().IndexOf("\r\n\r\n"u8);
        Assert.True(end > 0, "no end of the response head");
        var head = Encoding.ASCII.GetString(bytes, 0, end);
        Assert.StartsWith("HTTP/1.1 200", head, StringComparison.Ordinal);
        Assert.Contains("Transfer-Encoding: chunked", head, StringComparison.OrdinalIgnoreCase);
        var chunks = new List<byte[]>();
        var at = end + 4;
        while (true)
        {
            var line = bytes.AsSpan(at).IndexOf("\r\n"u8);
            var size = int.Parse(Encoding.ASCII.GetString(bytes, at, line), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            at += line + 2;
            if (size == 0) break;
            chunks.Add(bytes[at..(at + size)]);
            at += size + 2;
        }
        var events = new SseStream { Response = new HttpResponseMessage() };
        var parser = new SseParser(events);
        foreach (var chunk in chunks) parser.Feed(chunk, 0);
        return (head, chunks, events);
    }
}

/// <summary>The stall fault, timed: alone in its collection so other tests do not delay the reads it times.</summary>
[Collection(TwinTiming.Name)]
public sealed class TwinStallTests
{
    [Fact]
    public async Task A_stall_pauses_the_stream_halfway_for_the_stall_duration_and_then_finishes_it()
    {
        await using var server = await TwinHttp.StartAsync(new TwinServerOptions { Faults = FaultOptions.Parse("stall=1:300ms") });
        using var client = TwinHttp.Client(server);
        var stream = await TwinHttp.StreamAsync(client, "v1/completions",
            new { prompt = "Stall me", max_tokens = 6, ignore_eos = true, stream = true, stream_options = new { include_usage = true } });
        Assert.Equal("stall", stream.FaultHeader);
        Assert.Null(stream.Error);
        Assert.True(stream.Done);
        Assert.Equal(6, TwinHttp.Tokens(stream).Count);
        Assert.Equal(6, (int)stream.Usage!["completion_tokens"]!);

        // The server wrote the third token, waited 300 ms, then wrote the rest (generated meanwhile) at once.
        var truth = Assert.Single(server.GroundTruth.Requests);
        var written = truth.WrittenSeconds;
        Assert.True(written[3] - written[2] >= 0.3, $"server-side gap {written[3] - written[2]:R} s");
        Assert.True(truth.SampledSeconds[5] < written[3], "the engine kept generating during the stall");

        // The client saw the fourth token arrive at least 300 ms after the third was written, so a gap of 300 ms less
        // only what it was late in taking the third; every other gap is a step or less.
        var events = stream.Events;
        Assert.True(server.SecondsAt(events[3].Timestamp) - written[2] >= 0.3, $"fourth token {server.SecondsAt(events[3].Timestamp) - written[2]:R} s after the third was written");
        var late = Math.Max(0, server.SecondsAt(events[2].Timestamp) - written[2]);
        var gap = (events[3].Timestamp - events[2].Timestamp) / (double)Stopwatch.Frequency;
        Assert.True(gap >= 0.3 - late, $"client-side gap {gap:R} s, third token taken {late:R} s late");
        Assert.True(late < 0.1, $"the client took the third token {late:R} s late");
        var others = Enumerable.Range(1, events.Count - 1).Where(i => i != 3)
            .Select(i => (events[i].Timestamp - events[i - 1].Timestamp) / (double)Stopwatch.Frequency);
        Assert.All(others, g => Assert.True(g < 0.25, $"another gap of {g:0.000} s"));

        // A whole answer waits the stall after its last token, then comes in one piece.
        var started = Stopwatch.GetTimestamp();
        var (response, body) = await TwinHttp.PostAsync(client, "v1/completions", new { prompt = "Stall me", max_tokens = 2, ignore_eos = true });
        Assert.True(Stopwatch.GetElapsedTime(started).TotalSeconds >= 0.3);
        Assert.Equal("stall", TwinHttp.Faults(response));
        Assert.Equal(2, (int)body!["usage"]!["completion_tokens"]!);
        await TwinHttp.WaitUntilAsync(() => server.GroundTruth.Requests.Count == 2, "the whole answer to be committed");
        var whole = server.GroundTruth.Requests[1];
        Assert.All(whole.WrittenSeconds, w => Assert.True(w - whole.SampledSeconds[^1] >= 0.3, $"written {w - whole.SampledSeconds[^1]:R} s after the last token"));
    }
}
