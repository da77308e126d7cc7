using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using EnergyToToken.Twin;

namespace EnergyToToken.Tests.Twin;

/// <summary>
/// The twin's ground truth: every joule the ledger holds is idle power or some request's, and token times are consistent.
/// Alone in its collection: the reset must reach the engine before the request's last token, which a starved thread pool
/// (other tests blocking on synchronous I/O) could delay.
/// </summary>
[Collection(TwinTiming.Name)]
public sealed class TwinGroundTruthTests
{
    /// <summary>Fault options that reset request 0 and none of requests 1–4 (the draw depends only on the seed and the ordinal).</summary>
    private static FaultOptions ResetFirstOnly() =>
        Enumerable.Range(1, 10_000).Select(s => FaultOptions.Parse($"reset=0.2,seed={s}"))
            .First(o => o.Hits(0, TwinFault.Reset) && Enumerable.Range(1, 4).All(i => !o.Hits(i, TwinFault.Reset)));

    [Fact]
    public async Task The_ledger_holds_idle_power_plus_every_requests_energy_and_token_times_are_consistent()
    {
        await using var server = await TwinHttp.StartAsync(new TwinServerOptions { Faults = ResetFirstOnly() });
        using var client = TwinHttp.Client(server);

        // Request 0 starts first (its headers arrive once it is queued) and is reset after 40 of 80 tokens, while four
        // others, streamed and whole, completions and chat, run beside it.
        var reset = await client.SendAsync(TwinHttp.Post("v1/completions",
            TwinHttp.Json(new { prompt = "This one breaks.", max_tokens = 80, ignore_eos = true, stream = true })), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("reset", TwinHttp.Faults(reset));
        var chat = new[] { new { role = "user", content = "Say something." } };
        var others = new Task<int>[]
        {
            Task.Run(async () => (int)(await TwinHttp.StreamAsync(client, "v1/completions", new { prompt = "A streamed completion", max_tokens = 8, ignore_eos = true, stream = true, stream_options = new { include_usage = true } })).Usage!["prompt_tokens"]!),
            Task.Run(async () => (int)(await TwinHttp.PostAsync(client, "v1/completions", new { prompt = "A whole completion", max_tokens = 5, ignore_eos = true })).Body!["usage"]!["prompt_tokens"]!),
            Task.Run(async () => (int)(await TwinHttp.StreamAsync(client, "v1/chat/completions", new { messages = chat, max_tokens = 6, ignore_eos = true, stream = true, stream_options = new { include_usage = true } })).Usage!["prompt_tokens"]!),
            Task.Run(async () => (int)(await TwinHttp.PostAsync(client, "v1/chat/completions", new { messages = chat, max_tokens = 1 })).Body!["usage"]!["prompt_tokens"]!),
        };
        var broken = await TwinHttp.ReadAsync(reset);
        Assert.NotNull(broken.Error);
        Assert.Equal(40, TwinHttp.Tokens(broken).Count);
        var prompts = await Task.WhenAll(others);
        await TwinHttp.WaitUntilAsync(() => server.GroundTruth.Requests.Count == 5, "five requests to finish");

        var now = server.Now;
        var truths = server.GroundTruth.Requests.OrderBy(r => r.Id).ToList();
        Close.To(server.Ledger.IdleWatts * now + truths.Sum(r => r.Joules), server.Ledger.EnergyAt(now));
        Assert.Equal(server.Deployment.Step.IdleWatts, server.Ledger.IdleWatts);
        Assert.True(truths.Sum(r => r.Joules) > 0);

        Assert.Equal([0L, 1, 2, 3, 4], truths.Select(r => r.Id));
        Assert.Equal(FinishReason.Abort, truths[0].Finish);
        Assert.All(truths.Skip(1), r => Assert.Equal(FinishReason.Length, r.Finish));
        Assert.Equal([8, 6, 5, 1], truths.Skip(1).Select(r => r.OutputTokens).OrderDescending());
        Assert.Equal(prompts.Order(), truths.Skip(1).Select(r => r.PromptTokens).Order());
        Assert.InRange(truths[0].OutputTokens, 40, 79); // stopped by the reset, not by max_tokens
        foreach (var r in truths)
        {
            var what = $"request {r.Id}";
            Assert.True(r.PrefillJoules > 0, what);
            Assert.True(r.OutputTokens <= 1 || r.DecodeJoules > 0, what);
            Assert.InRange(r.CachedPromptTokens, 0, r.PromptTokens);
            Assert.Equal(0, r.ReasoningTokens);
            Assert.Equal(r.OutputTokens, r.SampledSeconds.Count);
            Assert.True(r.ArrivalSeconds <= r.SampledSeconds[0], what);
            for (var i = 1; i < r.SampledSeconds.Count; i++) Assert.True(r.SampledSeconds[i] > r.SampledSeconds[i - 1], what);
            // One written time per token (the reset one: per token that left before the reset), non-decreasing, never before its token was sampled.
            Assert.Equal(r.Finish == FinishReason.Abort ? 40 : r.OutputTokens, r.WrittenSeconds.Count);
            for (var i = 0; i < r.WrittenSeconds.Count; i++)
            {
                Assert.True(r.WrittenSeconds[i] >= r.SampledSeconds[i], $"{what}: token {i} written at {r.WrittenSeconds[i]:R}, sampled at {r.SampledSeconds[i]:R}");
                if (i > 0) Assert.True(r.WrittenSeconds[i] >= r.WrittenSeconds[i - 1], what);
            }
            Assert.True(r.WrittenSeconds[^1] <= now, what);
        }
    }

    [Fact]
    public async Task A_reasoning_answer_records_its_reasoning_tokens()
    {
        await using var server = await TwinHttp.StartAsync(TwinProfiles.Find("reasoning-8b-h100"));
        using var client = TwinHttp.Client(server);
        var (response, _) = await TwinHttp.PostAsync(client, "v1/chat/completions", new { messages = new[] { new { role = "user", content = "Why?" } }, max_tokens = 5, ignore_eos = true });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await TwinHttp.WaitUntilAsync(() => server.GroundTruth.Requests.Count == 1, "the request to be committed");
        Assert.Equal(3, server.GroundTruth.Requests[0].ReasoningTokens); // ⌊0.6 × 5⌋
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task The_ground_truth_file_has_one_json_line_per_request(bool keepInMemory)
    {
        var path = Path.Combine(Path.GetTempPath(), $"e2t-twin-truth-{Guid.NewGuid():N}.jsonl");
        try
        {
            var server = await TwinHttp.StartAsync(new TwinServerOptions { GroundTruthPath = path, KeepGroundTruth = keepInMemory });
            try
            {
                using var client = TwinHttp.Client(server);
                await TwinHttp.PostAsync(client, "v1/completions", new { prompt = "first", max_tokens = 3, ignore_eos = true });
                await TwinHttp.StreamAsync(client, "v1/completions", new { prompt = "second", max_tokens = 4, ignore_eos = true, stream = true });
                await TwinHttp.PostAsync(client, "v1/chat/completions", new { messages = new[] { new { role = "user", content = "third" } }, max_tokens = 2, ignore_eos = true });
            }
            finally
            {
                await server.DisposeAsync(); // stopping waits for the requests, so every record is written
            }
            var kept = server.GroundTruth.Requests;

            var lines = File.ReadAllLines(path);
            Assert.Equal(3, lines.Length);
            var records = lines.Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
            Assert.Equal([0L, 1, 2], records.Select(r => (long)r["id"]!).Order());
            foreach (var record in records)
            {
                Assert.Equal(
                    ["id", "arrivalSeconds", "promptTokens", "cachedPromptTokens", "outputTokens", "reasoningTokens", "prefillJoules", "decodeJoules", "preemptions", "finish", "sampledSeconds", "writtenSeconds"],
                    record.Select(p => p.Key));
                var output = (int)record["outputTokens"]!;
                Assert.Equal((long)record["id"]! switch { 0 => 3, 1 => 4, _ => 2 }, output);
                Assert.Equal("length", (string?)record["finish"]);
                Assert.True((double)record["prefillJoules"]! > 0);
                Assert.True((double)record["decodeJoules"]! > 0);
                Assert.Equal(output, record["sampledSeconds"]!.AsArray().Count);
                Assert.Equal(output, record["writtenSeconds"]!.AsArray().Count);
                Assert.Equal(JsonValueKind.Number, record["arrivalSeconds"]!.GetValueKind());
            }
            if (!keepInMemory)
            {
                Assert.Empty(kept);
                return;
            }
            // The file says what memory holds: energies exactly, times to the microsecond.
            Assert.Equal(3, kept.Count);
            foreach (var truth in kept)
            {
                var record = records.Single(r => (long)r["id"]! == truth.Id);
                Assert.Equal(truth.PrefillJoules, (double)record["prefillJoules"]!);
                Assert.Equal(truth.DecodeJoules, (double)record["decodeJoules"]!);
                Assert.Equal(truth.PromptTokens, (int)record["promptTokens"]!);
                Assert.Equal(truth.CachedPromptTokens, (int)record["cachedPromptTokens"]!);
                Assert.Equal(Math.Round(truth.ArrivalSeconds, 6), (double)record["arrivalSeconds"]!, 6);
                Assert.Equal(truth.SampledSeconds.Select(t => Math.Round(t, 6)), record["sampledSeconds"]!.AsArray().Select(t => (double)t!));
                Assert.Equal(truth.WrittenSeconds.Select(t => Math.Round(t, 6)), record["writtenSeconds"]!.AsArray().Select(t => (double)t!));
            }
        }
        finally
        {
            File.Delete(path);
        }
    }
}
