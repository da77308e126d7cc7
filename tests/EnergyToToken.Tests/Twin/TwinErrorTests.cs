using System.Net;
using EnergyToToken.Twin;

namespace EnergyToToken.Tests.Twin;

/// <summary>Requests the twin refuses, each with an OpenAI-shaped error body: {"error":{"message","type","param","code"}}.</summary>
public sealed class TwinErrorTests
{
    /// <summary>The default profile with a 64-token context, so context-length errors need only short prompts.</summary>
    private static readonly TwinProfile ShortContext = TwinProfiles.Default with { Engine = new EngineOptions { MaxModelLength = 64 } };

    [Theory]
    [InlineData("v1/completions", "{\"prompt\": \"hi\",", 400, "BadRequestError", null)]
    [InlineData("v1/completions", "not json at all", 400, "BadRequestError", null)]
    [InlineData("v1/completions", "[1, 2]", 400, "BadRequestError", null)]
    [InlineData("v1/completions", "{}", 400, "BadRequestError", "prompt")]
    [InlineData("v1/completions", "{\"prompt\": \"\"}", 400, "BadRequestError", "prompt")]
    [InlineData("v1/completions", "{\"prompt\": [\"a\", \"b\"]}", 400, "BadRequestError", "prompt")]
    [InlineData("v1/completions", "{\"prompt\": [1, -2]}", 400, "BadRequestError", "prompt")]
    [InlineData("v1/completions", "{\"prompt\": \"hi\", \"max_tokens\": 0}", 400, "BadRequestError", "max_tokens")]
    [InlineData("v1/completions", "{\"prompt\": \"hi\", \"max_tokens\": -1}", 400, "BadRequestError", "max_tokens")]
    [InlineData("v1/completions", "{\"prompt\": \"hi\", \"max_tokens\": 2.5}", 400, "BadRequestError", "max_tokens")]
    [InlineData("v1/completions", "{\"prompt\": \"hi\", \"max_tokens\": \"5\"}", 400, "BadRequestError", "max_tokens")]
    [InlineData("v1/completions", "{\"prompt\": \"hi\", \"n\": 2}", 400, "BadRequestError", "n")]
    [InlineData("v1/completions", "{\"prompt\": \"hi\", \"model\": \"gpt-4o\"}", 404, "NotFoundError", "model")]
    [InlineData("v1/chat/completions", "{\"messages\": [", 400, "BadRequestError", null)]
    [InlineData("v1/chat/completions", "{}", 400, "BadRequestError", "messages")]
    [InlineData("v1/chat/completions", "{\"prompt\": \"hi\"}", 400, "BadRequestError", "messages")]
    [InlineData("v1/chat/completions", "{\"messages\": []}", 400, "BadRequestError", "messages")]
    [InlineData("v1/chat/completions", "{\"messages\": [{\"content\": \"no role\"}]}", 400, "BadRequestError", "messages")]
    [InlineData("v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": 5}]}", 400, "BadRequestError", "messages")]
    [InlineData("v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"max_completion_tokens\": 0}", 400, "BadRequestError", "max_completion_tokens")]
    [InlineData("v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"max_tokens\": -1}", 400, "BadRequestError", "max_tokens")]
    [InlineData("v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"n\": 2}", 400, "BadRequestError", "n")]
    [InlineData("v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"model\": \"llama-3.1-70b-h100x4\"}", 404, "NotFoundError", "model")]
    public async Task Bad_requests_get_an_openai_error_body(string path, string body, int status, string type, string? param)
    {
        await using var server = await TwinHttp.StartAsync();
        using var client = TwinHttp.Client(server);
        var (response, json) = await TwinHttp.PostRawAsync(client, path, body);
        TwinHttp.AssertError(response, json, status, type, param);
        // Streaming requests are refused the same way, before any event.
        if (body.StartsWith("{\"", StringComparison.Ordinal) && body.EndsWith('}'))
        {
            var (streamed, streamedJson) = await TwinHttp.PostRawAsync(client, path, body[..^1] + ", \"stream\": true}");
            TwinHttp.AssertError(streamed, streamedJson, status, type, param);
        }
        Assert.Empty(server.GroundTruth.Requests);
    }

    [Fact]
    public async Task A_prompt_as_long_as_the_context_is_refused_and_one_token_shorter_is_served()
    {
        await using var server = await TwinHttp.StartAsync(ShortContext);
        using var client = TwinHttp.Client(server);
        Assert.Equal(64, server.Deployment.MaxModelLength);
        var ids = Enumerable.Range(1000, 64).ToArray();

        var (response, json) = await TwinHttp.PostAsync(client, "v1/completions", new { prompt = ids });
        var error = TwinHttp.AssertError(response, json, 400, "BadRequestError", "prompt");
        Assert.Contains("maximum context length is 64 tokens", (string?)error["message"], StringComparison.Ordinal);
        Assert.Contains("64 input tokens", (string?)error["message"], StringComparison.Ordinal);

        // 63 prompt tokens leave room for one: without max_tokens a completion gets min(16, 64 − 63).
        var (ok, body) = await TwinHttp.PostAsync(client, "v1/completions", new { prompt = ids[..63], ignore_eos = true });
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(1, (int)body!["usage"]!["completion_tokens"]!);

        var longText = string.Join(' ', Enumerable.Repeat("energy", 80));
        var (chat, chatJson) = await TwinHttp.PostAsync(client, "v1/chat/completions", new { messages = new[] { new { role = "user", content = longText } } });
        TwinHttp.AssertError(chat, chatJson, 400, "BadRequestError", "messages");
    }

    [Fact]
    public async Task Prompt_plus_max_tokens_beyond_the_context_is_refused_and_exactly_the_context_is_served()
    {
        await using var server = await TwinHttp.StartAsync(ShortContext);
        using var client = TwinHttp.Client(server);
        var ids = Enumerable.Range(1000, 10).ToArray();

        var (response, json) = await TwinHttp.PostAsync(client, "v1/completions", new { prompt = ids, max_tokens = 55 });
        var error = TwinHttp.AssertError(response, json, 400, "BadRequestError", "max_tokens");
        Assert.Contains("55 > 64 - 10", (string?)error["message"], StringComparison.Ordinal);

        var (chat, chatJson) = await TwinHttp.PostAsync(client, "v1/chat/completions",
            new { messages = new[] { new { role = "user", content = "hi" } }, max_completion_tokens = 64 });
        TwinHttp.AssertError(chat, chatJson, 400, "BadRequestError", "max_completion_tokens"); // the name the client used

        var (ok, body) = await TwinHttp.PostAsync(client, "v1/completions", new { prompt = ids, max_tokens = 54, ignore_eos = true });
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(54, (int)body!["usage"]!["completion_tokens"]!);
        Assert.Equal(64, (int)body["usage"]!["total_tokens"]!);
    }

    [Fact]
    public async Task With_no_room_to_wait_every_request_gets_429_and_is_counted()
    {
        await using var server = await TwinHttp.StartAsync(TwinProfiles.Default with { Engine = new EngineOptions { MaxWaiting = 0 } });
        using var client = TwinHttp.Client(server);
        var (response, json) = await TwinHttp.PostAsync(client, "v1/completions", new { prompt = "hi", max_tokens = 2 });
        TwinHttp.AssertError(response, json, 429, "RateLimitError", null);
        var (streamed, streamedJson) = await TwinHttp.PostAsync(client, "v1/chat/completions", new { messages = new[] { new { role = "user", content = "hi" } }, stream = true });
        TwinHttp.AssertError(streamed, streamedJson, 429, "RateLimitError", null);
        var samples = await TwinHttp.ScrapeAsync(client, "metrics");
        Assert.Equal(2, TwinHttp.Value(samples, "e2t_twin_rejected_requests_total"));
        Assert.Equal(0, server.Steps);
    }

    [Fact]
    public async Task A_full_waiting_queue_refuses_the_next_request_with_429_and_serves_the_queued_one()
    {
        // One sequence runs at a time and one may wait: a third concurrent request finds the queue full.
        var profile = TwinProfiles.Default with { Engine = new EngineOptions { MaxSequences = 1, MaxWaiting = 1 } };
        await using var server = await TwinHttp.StartAsync(profile);
        using var client = TwinHttp.Client(server);

        // A runs (its first token has arrived); B waits (its headers arrive once it is queued); C is refused.
        // A has its own client that does not drain an abandoned body (SocketsHttpHandler drains up to 1 MB for 2 s to
        // reuse the connection), so disposing it closes the connection at once.
        using var abandoning = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = server.BaseAddress };
        using var a = await abandoning.SendAsync(TwinHttp.Post("v1/completions", TwinHttp.Json(new { prompt = "A", max_tokens = 400, ignore_eos = true, stream = true })),
            HttpCompletionOption.ResponseHeadersRead);
        await using var aBody = await a.Content.ReadAsStreamAsync();
        Assert.True(await aBody.ReadAsync(new byte[1]) > 0);
        using var b = await client.SendAsync(TwinHttp.Post("v1/completions", TwinHttp.Json(new { prompt = "B", max_tokens = 2, ignore_eos = true, stream = true })),
            HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, b.StatusCode);
        var (c, cJson) = await TwinHttp.PostAsync(client, "v1/completions", new { prompt = "C", max_tokens = 2 });
        TwinHttp.AssertError(c, cJson, 429, "RateLimitError", null);
        Assert.Contains("(1 requests)", (string?)cJson!["error"]!["message"], StringComparison.Ordinal);

        // Dropping A lets B run to the end.
        a.Dispose();
        var stream = await TwinHttp.ReadAsync(b);
        Assert.True(stream.Done);
        Assert.Equal(2, TwinHttp.Tokens(stream).Count);
        await TwinHttp.WaitUntilAsync(() => server.GroundTruth.Requests.Count == 2, "A (aborted) and B to finish");
        Assert.Equal([FinishReason.Length, FinishReason.Abort], server.GroundTruth.Requests.Select(r => r.Finish!.Value).Order());
        var samples = await TwinHttp.ScrapeAsync(client, "metrics");
        Assert.Equal(1, TwinHttp.Value(samples, "vllm:request_success_total", ("finished_reason", "abort")));
        Assert.Equal(1, TwinHttp.Value(samples, "vllm:request_success_total", ("finished_reason", "length")));
        Assert.Equal(1, TwinHttp.Value(samples, "e2t_twin_rejected_requests_total"));
    }
}
