using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using EnergyToToken.Metering.Prometheus;
using EnergyToToken.Load;
using EnergyToToken.Twin;
using Microsoft.ML.Tokenizers;

namespace EnergyToToken.Tests.Twin;

/// <summary>The twin's OpenAI-compatible API over real HTTP on loopback: chunk shapes, usage, token counts, seeds, reasoning and /metrics.</summary>
public sealed class TwinServerTests
{
    /// <summary>An independent cl100k_base tokenizer: the counts must hold for any client that tokenizes the same way.</summary>
    private static readonly Lazy<Tokenizer> Cl100k = new(() => TiktokenTokenizer.CreateForEncoding("cl100k_base"));

    private static int Count(string text) => Cl100k.Value.CountTokens(text);

    [Fact]
    public async Task Streaming_completion_chunks_have_the_openai_shape_and_end_with_usage_and_done()
    {
        await using var server = await TwinHttp.StartAsync();
        using var client = TwinHttp.Client(server);
        const string Prompt = "Tell me about the energy of a token.";
        var stream = await TwinHttp.StreamAsync(client, "v1/completions",
            new { model = server.ModelName, prompt = Prompt, max_tokens = 5, ignore_eos = true, stream = true, stream_options = new { include_usage = true } });

        Assert.Equal(HttpStatusCode.OK, stream.Response.StatusCode);
        Assert.Equal("text/event-stream", stream.Response.Content.Headers.ContentType?.MediaType);
        Assert.Null(stream.Error);
        Assert.Null(stream.FaultHeader);
        Assert.Equal(7, stream.Events.Count); // five tokens, usage, [DONE]
        Assert.True(stream.Done);
        Assert.Single(stream.Events, e => e.IsDone);
        var chunks = stream.Chunks;
        var id = (string)chunks[0]["id"]!;
        Assert.StartsWith("cmpl-", id, StringComparison.Ordinal);
        for (var i = 0; i < 5; i++)
        {
            var chunk = chunks[i];
            Assert.Equal(id, (string?)chunk["id"]);
            Assert.Equal("text_completion", (string?)chunk["object"]);
            Assert.Equal(server.ModelName, (string?)chunk["model"]);
            Assert.Equal(JsonValueKind.Number, chunk["created"]!.GetValueKind());
            var choices = chunk["choices"]!.AsArray();
            Assert.Single(choices);
            Assert.Equal(0, (int)choices[0]!["index"]!);
            Assert.False(string.IsNullOrEmpty((string?)choices[0]!["text"]));
            Assert.Equal(i < 4 ? null : "length", (string?)choices[0]!["finish_reason"]);
        }
        var usage = chunks[5];
        Assert.Equal(id, (string?)usage["id"]);
        Assert.Equal("text_completion", (string?)usage["object"]);
        Assert.Empty(usage["choices"]!.AsArray());
        Assert.Equal(Count(Prompt), (int)usage["usage"]!["prompt_tokens"]!);
        Assert.Equal(5, (int)usage["usage"]!["completion_tokens"]!);
        Assert.Equal(Count(Prompt) + 5, (int)usage["usage"]!["total_tokens"]!);
        Assert.Null(usage["usage"]!["completion_tokens_details"]);
    }

    [Fact]
    public async Task Streaming_chat_starts_with_the_assistant_role_then_streams_content_deltas()
    {
        await using var server = await TwinHttp.StartAsync();
        using var client = TwinHttp.Client(server);
        var messages = new[] { new { role = "system", content = "You are terse." }, new { role = "user", content = "How many joules per token?" } };
        var stream = await TwinHttp.StreamAsync(client, "v1/chat/completions",
            new { model = server.ModelName, messages, max_completion_tokens = 4, ignore_eos = true, stream = true, stream_options = new { include_usage = true } });

        Assert.Equal(HttpStatusCode.OK, stream.Response.StatusCode);
        Assert.Null(stream.Error);
        Assert.Equal(7, stream.Events.Count); // role, four tokens, usage, [DONE]
        Assert.True(stream.Done);
        var chunks = stream.Chunks;
        var id = (string)chunks[0]["id"]!;
        Assert.StartsWith("chatcmpl-", id, StringComparison.Ordinal);
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", (string?)c["object"]));
        Assert.All(chunks, c => Assert.Equal(id, (string?)c["id"]));
        Assert.All(chunks, c => Assert.Equal(server.ModelName, (string?)c["model"]));

        var role = chunks[0]["choices"]![0]!;
        Assert.Equal("assistant", (string?)role["delta"]!["role"]);
        Assert.Equal("", (string?)role["delta"]!["content"]);
        Assert.Null((string?)role["finish_reason"]);
        for (var i = 1; i <= 4; i++)
        {
            var choice = chunks[i]["choices"]![0]!;
            Assert.Equal(0, (int)choice["index"]!);
            Assert.Null(choice["delta"]!["role"]);
            Assert.False(string.IsNullOrEmpty((string?)choice["delta"]!["content"]));
            Assert.Equal(i < 4 ? null : "length", (string?)choice["finish_reason"]);
        }
        Assert.Empty(chunks[5]["choices"]!.AsArray());
        var usage = chunks[5]["usage"]!;
        var rendered = TwinRequest.RenderChat(messages.Select(m => (m.role, m.content)));
        Assert.Equal(Count(rendered), (int)usage["prompt_tokens"]!);
        Assert.Equal(4, (int)usage["completion_tokens"]!);
        Assert.Equal(Count(rendered) + 4, (int)usage["total_tokens"]!);
    }

    [Theory]
    [InlineData("v1/completions", 10, 3, "stop")]
    [InlineData("v1/completions", 2, 2, "length")]
    [InlineData("v1/chat/completions", 10, 3, "stop")]
    [InlineData("v1/chat/completions", 2, 2, "length")]
    public async Task Finish_reason_is_stop_when_the_answer_ends_first_and_length_when_max_tokens_cuts_it(string path, int maxTokens, int tokens, string reason)
    {
        await using var server = await TwinHttp.StartAsync(TwinHttp.ThreeTokenAnswers);
        using var client = TwinHttp.Client(server);
        var chat = path.Contains("chat", StringComparison.Ordinal);
        object Body(bool stream) => chat
            ? new { messages = new[] { new { role = "user", content = "Hi" } }, max_tokens = maxTokens, stream }
            : new { prompt = "Hi", max_tokens = maxTokens, stream };

        var streamed = await TwinHttp.StreamAsync(client, path, Body(stream: true));
        Assert.Null(streamed.Error);
        Assert.True(streamed.Done);
        Assert.Null(streamed.Usage); // no include_usage, no usage chunk
        Assert.Equal(tokens, TwinHttp.Tokens(streamed).Count);
        var reasons = streamed.ChoiceChunks.Select(c => (string?)c["choices"]![0]!["finish_reason"]).ToList();
        Assert.Equal(reason, reasons[^1]);
        Assert.All(reasons.SkipLast(1), r => Assert.Null(r));

        var (response, body) = await TwinHttp.PostAsync(client, path, Body(stream: false));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(reason, (string?)body!["choices"]![0]!["finish_reason"]);
        Assert.Equal(tokens, (int)body["usage"]!["completion_tokens"]!);
    }

    [Fact]
    public async Task Without_max_tokens_a_completion_stops_at_vllms_default_of_16()
    {
        await using var server = await TwinHttp.StartAsync();
        using var client = TwinHttp.Client(server);
        var (response, body) = await TwinHttp.PostAsync(client, "v1/completions", new { prompt = "Count to twenty:", ignore_eos = true });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(16, (int)body!["usage"]!["completion_tokens"]!);
        Assert.Equal("length", (string?)body["choices"]![0]!["finish_reason"]);
    }

    [Fact]
    public async Task Non_streaming_bodies_carry_the_whole_answer_and_usage()
    {
        await using var server = await TwinHttp.StartAsync();
        using var client = TwinHttp.Client(server);
        const string Prompt = "Once upon a time";

        var (response, completion) = await TwinHttp.PostAsync(client, "v1/completions", new { model = server.ModelName, prompt = Prompt, max_tokens = 6, ignore_eos = true });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.StartsWith("cmpl-", (string?)completion!["id"], StringComparison.Ordinal);
        Assert.Equal("text_completion", (string?)completion["object"]);
        Assert.Equal(server.ModelName, (string?)completion["model"]);
        var choice = completion["choices"]!.AsArray().Single()!;
        Assert.Equal(0, (int)choice["index"]!);
        Assert.Equal("length", (string?)choice["finish_reason"]);
        var text = (string)choice["text"]!;
        Assert.Equal(6, Count(text));
        Assert.Equal(Count(Prompt), (int)completion["usage"]!["prompt_tokens"]!);
        Assert.Equal(6, (int)completion["usage"]!["completion_tokens"]!);
        Assert.Equal(Count(Prompt) + 6, (int)completion["usage"]!["total_tokens"]!);

        // The served model's catalog name is accepted too.
        var (chatResponse, chat) = await TwinHttp.PostAsync(client, "v1/chat/completions",
            new { model = server.Deployment.Model.Name, messages = new[] { new { role = "user", content = Prompt } }, max_tokens = 3, ignore_eos = true });
        Assert.Equal(HttpStatusCode.OK, chatResponse.StatusCode);
        Assert.StartsWith("chatcmpl-", (string?)chat!["id"], StringComparison.Ordinal);
        Assert.Equal("chat.completion", (string?)chat["object"]);
        var message = chat["choices"]![0]!["message"]!;
        Assert.Equal("assistant", (string?)message["role"]);
        Assert.Equal(3, Count((string)message["content"]!));
        Assert.Null(message["reasoning_content"]);
        Assert.Equal(Count(TwinRequest.RenderChat([("user", Prompt)])), (int)chat["usage"]!["prompt_tokens"]!);
        Assert.Equal(3, (int)chat["usage"]!["completion_tokens"]!);
    }

    [Fact]
    public async Task Models_lists_the_profile_and_health_answers_200()
    {
        await using var server = await TwinHttp.StartAsync();
        using var client = TwinHttp.Client(server);
        using var health = await client.GetAsync(new Uri("health", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);

        var models = JsonNode.Parse(await client.GetStringAsync(new Uri("v1/models", UriKind.Relative)))!;
        Assert.Equal("list", (string?)models["object"]);
        var model = models["data"]!.AsArray().Single()!;
        Assert.Equal(server.ModelName, (string?)model["id"]);
        Assert.Equal("llama-3.1-8b-h100", (string?)model["id"]);
        Assert.Equal("model", (string?)model["object"]);
        Assert.Equal(server.Deployment.Model.Name, (string?)model["root"]);
        Assert.Equal(server.Deployment.MaxModelLength, (int)model["max_model_len"]!);
        Assert.Equal(JsonValueKind.Number, model["created"]!.GetValueKind());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Completion_tokens_are_the_cl100k_count_of_the_text_and_each_chunk_is_one_token(bool chat)
    {
        await using var server = await TwinHttp.StartAsync();
        using var client = TwinHttp.Client(server);
        const string Prompt = "Grüß dich — 世界 🌍, naïve café; x = 3.14159 ≥ π?";
        var path = chat ? "v1/chat/completions" : "v1/completions";
        object body = chat
            ? new { messages = new[] { new { role = "user", content = Prompt } }, max_tokens = 12, ignore_eos = true, stream = true, stream_options = new { include_usage = true } }
            : new { prompt = Prompt, max_tokens = 12, ignore_eos = true, stream = true, stream_options = new { include_usage = true } };
        var stream = await TwinHttp.StreamAsync(client, path, body);
        var tokens = TwinHttp.Tokens(stream);
        Assert.Equal(12, tokens.Count);
        Assert.All(tokens, t => Assert.Equal(1, Count(t)));
        Assert.Equal(12, Count(string.Concat(tokens)));
        Assert.Equal(12, TokenText.Instance.Count(string.Concat(tokens)));
        Assert.Equal(12, (int)stream.Usage!["completion_tokens"]!);
        var expectedPrompt = Count(chat ? TwinRequest.RenderChat([("user", Prompt)]) : Prompt);
        Assert.Equal(expectedPrompt, (int)stream.Usage["prompt_tokens"]!);
        Assert.Equal(expectedPrompt, TokenText.Instance.Count(chat ? TwinRequest.RenderChat([("user", Prompt)]) : Prompt));
    }

    [Fact]
    public async Task A_prompt_as_token_ids_or_a_one_string_list_counts_like_the_text()
    {
        await using var server = await TwinHttp.StartAsync();
        using var client = TwinHttp.Client(server);
        const string Prompt = "The quick brown fox";
        var ids = Cl100k.Value.EncodeToIds(Prompt).ToArray();
        var (_, asIds) = await TwinHttp.PostAsync(client, "v1/completions", new { prompt = ids, max_tokens = 1 });
        var (_, asList) = await TwinHttp.PostAsync(client, "v1/completions", new { prompt = new[] { Prompt }, max_tokens = 1 });
        Assert.Equal(ids.Length, (int)asIds!["usage"]!["prompt_tokens"]!);
        Assert.Equal(Count(Prompt), (int)asList!["usage"]!["prompt_tokens"]!);
    }

    [Fact]
    public async Task The_same_seed_gives_the_same_text_and_different_seeds_different_text()
    {
        await using var server = await TwinHttp.StartAsync();
        using var client = TwinHttp.Client(server);
        async Task<string> Text(long seed)
        {
            var (_, body) = await TwinHttp.PostAsync(client, "v1/completions", new { prompt = "Seeded", max_tokens = 8, ignore_eos = true, seed });
            return (string)body!["choices"]![0]!["text"]!;
        }
        var first = await Text(7);
        Assert.Equal(first, await Text(7));
        Assert.NotEqual(first, await Text(8));
        Assert.NotEqual(first, await Text(123456789));

        // Streamed, the same seed gives the same tokens: the text depends on the seed and the prompt only.
        var stream = await TwinHttp.StreamAsync(client, "v1/completions", new { prompt = "Seeded", max_tokens = 8, ignore_eos = true, seed = 7, stream = true });
        Assert.Equal(first, string.Concat(TwinHttp.Tokens(stream)));

        // A second server with another --seed gives the same text for a request that carries its own seed.
        await using var other = await TwinHttp.StartAsync(new TwinServerOptions { Seed = 1234 });
        using var otherClient = TwinHttp.Client(other);
        var (_, again) = await TwinHttp.PostAsync(otherClient, "v1/completions", new { prompt = "Seeded", max_tokens = 8, ignore_eos = true, seed = 7 });
        Assert.Equal(first, (string?)again!["choices"]![0]!["text"]);
    }

    [Fact]
    public async Task A_reasoning_profile_streams_reasoning_content_first_and_counts_it_in_usage()
    {
        await using var server = await TwinHttp.StartAsync(TwinProfiles.Find("reasoning-8b-h100"));
        using var client = TwinHttp.Client(server);
        var messages = new[] { new { role = "user", content = "Think, then answer." } };
        var stream = await TwinHttp.StreamAsync(client, "v1/chat/completions",
            new { messages, max_tokens = 10, ignore_eos = true, stream = true, stream_options = new { include_usage = true } });

        Assert.True(stream.Done);
        var deltas = stream.ChoiceChunks.Select(c => c["choices"]![0]!["delta"]!.AsObject()).ToList();
        Assert.Equal("assistant", (string?)deltas[0]["role"]);
        var kinds = deltas.Skip(1).Select(d => d.Single().Key).ToList();
        var reasoning = kinds.Count(k => k == "reasoning_content");
        Assert.Equal(10, kinds.Count);
        Assert.Equal(6, reasoning); // ⌊0.6 × 10⌋
        Assert.Equal([.. Enumerable.Repeat("reasoning_content", reasoning), .. Enumerable.Repeat("content", 10 - reasoning)], kinds);
        Assert.All(deltas.Skip(1), d => Assert.Equal(1, Count((string)d.Single().Value!)));
        var usage = stream.Usage!;
        Assert.Equal(10, (int)usage["completion_tokens"]!);
        Assert.Equal(reasoning, (int)usage["completion_tokens_details"]!["reasoning_tokens"]!);

        var (_, whole) = await TwinHttp.PostAsync(client, "v1/chat/completions", new { messages, max_tokens = 10, ignore_eos = true });
        var message = whole!["choices"]![0]!["message"]!;
        Assert.Equal(6, Count((string)message["reasoning_content"]!));
        Assert.Equal(4, Count((string)message["content"]!));
        Assert.Equal(6, (int)whole["usage"]!["completion_tokens_details"]!["reasoning_tokens"]!);

        // Completions have no reasoning part.
        var (_, completion) = await TwinHttp.PostAsync(client, "v1/completions", new { prompt = "Think", max_tokens = 10, ignore_eos = true });
        Assert.Equal(10, Count((string)completion!["choices"]![0]!["text"]!));
        Assert.Null(completion["usage"]!["completion_tokens_details"]);
    }

    [Fact]
    public async Task Metrics_count_the_tokens_and_requests_served_with_consistent_histograms()
    {
        await using var server = await TwinHttp.StartAsync(TwinHttp.ThreeTokenAnswers);
        using var client = TwinHttp.Client(server);
        var requests = new List<(string Path, object Body, string Reason)>
        {
            ("v1/completions", new { prompt = "one", max_tokens = 2 }, "length"),
            ("v1/completions", new { prompt = "two two", max_tokens = 2, stream = true, stream_options = new { include_usage = true } }, "length"),
            ("v1/completions", new { prompt = "three three three", max_tokens = 10 }, "stop"),
            ("v1/chat/completions", new { messages = new[] { new { role = "user", content = "four" } }, max_tokens = 10, stream = true, stream_options = new { include_usage = true } }, "stop"),
            ("v1/chat/completions", new { messages = new[] { new { role = "user", content = "five" } }, max_tokens = 5, ignore_eos = true }, "length"),
            ("v1/completions", new { prompt = "six", max_tokens = 1 }, "length"),
        };
        int prompt = 0, completion = 0, itl = 0;
        foreach (var (path, body, reason) in requests)
        {
            JsonNode usage;
            string? finish;
            if (JsonSerializer.SerializeToNode(body)!["stream"] is not null)
            {
                var stream = await TwinHttp.StreamAsync(client, path, body);
                Assert.True(stream.Done);
                finish = (string?)stream.ChoiceChunks[^1]["choices"]![0]!["finish_reason"];
                usage = stream.Usage!;
                Assert.Equal(TwinHttp.Tokens(stream).Count, (int)usage["completion_tokens"]!);
            }
            else
            {
                var (_, json) = await TwinHttp.PostAsync(client, path, body);
                finish = (string?)json!["choices"]![0]!["finish_reason"];
                usage = json["usage"]!;
            }
            Assert.Equal(reason, finish);
            prompt += (int)usage["prompt_tokens"]!;
            completion += (int)usage["completion_tokens"]!;
            itl += (int)usage["completion_tokens"]! - 1;
        }

        using var response = await client.GetAsync(new Uri("metrics", UriKind.Relative));
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        var samples = PrometheusText.Parse(await response.Content.ReadAsStringAsync());
        var model = ("model_name", server.ModelName);
        Assert.Equal(completion, TwinHttp.Value(samples, "vllm:generation_tokens_total", model));
        Assert.Equal(prompt, TwinHttp.Value(samples, "vllm:prompt_tokens_total", model));
        Assert.Equal(4, TwinHttp.Value(samples, "vllm:request_success_total", model, ("finished_reason", "length")));
        Assert.Equal(2, TwinHttp.Value(samples, "vllm:request_success_total", model, ("finished_reason", "stop")));
        Assert.Equal(0, TwinHttp.Value(samples, "vllm:request_success_total", model, ("finished_reason", "abort")));
        Assert.Equal(0, TwinHttp.Value(samples, "vllm:num_requests_running", model));
        Assert.Equal(0, TwinHttp.Value(samples, "vllm:num_requests_waiting", model));
        Assert.Equal(1, TwinHttp.Value(samples, "e2t_twin_simulated"));
        Assert.Equal(0, TwinHttp.Value(samples, "e2t_twin_rejected_requests_total"));

        foreach (var (name, count) in new[] { ("vllm:time_to_first_token_seconds", 6), ("vllm:inter_token_latency_seconds", itl), ("vllm:e2e_request_latency_seconds", 6) })
        {
            var buckets = samples.Where(s => s.Name == name + "_bucket").ToList();
            Assert.True(buckets.Count > 2, name);
            Assert.Equal("+Inf", buckets[^1].Label("le"));
            for (var i = 1; i < buckets.Count; i++) Assert.True(buckets[i].Value >= buckets[i - 1].Value, $"{name} buckets decrease at le={buckets[i].Label("le")}");
            Assert.Equal(count, TwinHttp.Value(samples, name + "_count", model));
            Assert.Equal(count, buckets[^1].Value);
            Assert.True(TwinHttp.Value(samples, name + "_sum", model) > 0, name);
        }
    }
}
