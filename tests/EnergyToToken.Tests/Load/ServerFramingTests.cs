using EnergyToToken.Load;
using EnergyToToken.Tests.Metering;

namespace EnergyToToken.Tests.Load;

/// <summary>
/// The streaming client over real loopback HTTP against the framings of vLLM, SGLang, TGI, llama.cpp and Ollama,
/// replayed from fixtures written from each server's documented format (their headers say so and cite the source).
/// </summary>
public class ServerFramingTests
{
    [Theory]
    [InlineData("vllm-chat.sse", ApiKind.Chat, 3, 3, 0, 0, "length")]
    [InlineData("sglang-reasoning.sse", ApiKind.Chat, 3, 5, 4, 2, "stop")]
    [InlineData("tgi-chat.sse", ApiKind.Chat, 2, 2, 0, 0, "other")]
    [InlineData("llamacpp-chat.sse", ApiKind.Chat, 2, 2, 0, 0, "stop")]
    [InlineData("ollama-completions.sse", ApiKind.Completions, 2, 2, 0, 0, "stop")]
    public async Task Each_servers_framing_gives_its_output_chunks_usage_and_finish(
        string fixture, ApiKind api, int outputChunks, int completionTokens, int reasoningTokens, int reasoningChunks, string finish)
    {
        var body = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "sse", fixture));
        using var server = new LoopbackServer(_ => new LoopbackServer.Answer(200, body, "text/event-stream"));
        var client = new StreamingClient(new HttpClient { BaseAddress = server.BaseUrl }, new StreamingClientOptions(), TimeProvider.System);
        var record = await client.SendAsync(new GenerationRequest { Api = api, Model = "m", Prompt = "p" }, CancellationToken.None);
        Assert.Equal(TerminalState.Ok, record.State);
        Assert.Equal(outputChunks, record.OutputChunkTimestamps.Count);
        Assert.True(record.UsageFromServer);
        Assert.Equal(completionTokens, record.OutputTokens);
        Assert.Equal(reasoningTokens, record.ReasoningTokens);
        Assert.Equal(reasoningChunks, record.ReasoningChunks);
        Assert.Equal(finish, record.FinishReason);
    }
}
