using System.Net;
using System.Net.Sockets;
using EnergyToToken.Load;
using EnergyToToken.Tests.Twin;
using EnergyToToken.Twin;

namespace EnergyToToken.Tests.Load;

/// <summary>The streaming client against the twin over real loopback HTTP: every answer ends in exactly one terminal state.</summary>
public class StreamingClientTests
{
    private static StreamingClient Client(TwinServer server, StreamingClientOptions? options = null) =>
        new(new HttpClient { BaseAddress = server.BaseAddress }, options ?? new StreamingClientOptions { KeepText = true }, TimeProvider.System);

    private static GenerationRequest Request(TwinServer server, ApiKind api = ApiKind.Completions, int maxTokens = 8) =>
        new() { Api = api, Model = server.ModelName, Prompt = "Tell me about energy.", MaxTokens = maxTokens, IgnoreEos = true };

    [Theory]
    [InlineData(ApiKind.Completions)]
    [InlineData(ApiKind.Chat)]
    public async Task A_whole_answer_is_ok_with_the_servers_usage_and_a_timestamp_per_token(ApiKind api)
    {
        await using var server = await TwinHttp.StartAsync();
        var record = await Client(server).SendAsync(Request(server, api), CancellationToken.None);
        Assert.Equal(TerminalState.Ok, record.State);
        Assert.True(record.UsageFromServer);
        Assert.Equal(8, record.OutputTokens);
        Assert.Equal(8, record.OutputChunkTimestamps.Count); // the role-only chat chunk does not count
        Assert.True(record.OutputChunkTimestamps[0] > record.SentTimestamp);
        Assert.Equal(TokenText.Instance.Count(record.Text.ToString()), record.OutputTokens);
        Assert.Equal("length", record.FinishReason);
        Assert.NotNull(record.PromptTokens);
        Assert.Equal(api == ApiKind.Chat ? "chatcmpl-00000000" : "cmpl-00000000", record.ResponseId);
    }

    [Fact]
    public async Task Reasoning_chunks_are_counted_apart_from_content()
    {
        await using var server = await TwinHttp.StartAsync(TwinProfiles.Find("reasoning-8b-h100"));
        var record = await Client(server).SendAsync(Request(server, ApiKind.Chat, 10), CancellationToken.None);
        Assert.Equal(TerminalState.Ok, record.State);
        Assert.Equal(6, record.ReasoningChunks);
        Assert.Equal(6, record.ReasoningTokens);
        Assert.Equal(10, record.OutputTokens);
    }

    [Theory]
    [InlineData("error=1", TerminalState.HttpError)]
    [InlineData("reset=1", TerminalState.ResetMidstream)]
    [InlineData("no-done=1", TerminalState.ProtocolError)]
    [InlineData("split=1", TerminalState.Ok)]
    [InlineData("odd=1", TerminalState.Ok)]
    public async Task Each_fault_ends_in_its_terminal_state(string faults, TerminalState expected)
    {
        await using var server = await TwinHttp.StartAsync(new TwinServerOptions { Faults = FaultOptions.Parse(faults) });
        var record = await Client(server).SendAsync(Request(server, maxTokens: 10), CancellationToken.None);
        Assert.Equal(expected, record.State);
        if (expected == TerminalState.HttpError) Assert.Equal(503, record.HttpStatus);
        if (expected == TerminalState.Ok) Assert.Equal(10, record.OutputTokens);
        if (expected == TerminalState.ProtocolError)
        {
            // No usage chunk either: the count falls back to chunks, and says so.
            Assert.False(record.UsageFromServer);
            Assert.Equal(10, record.OutputTokens);
        }
    }

    [Fact]
    public async Task A_stall_beyond_the_idle_timeout_ends_as_timeout_idle_and_before_output_as_timeout_ttft()
    {
        await using var server = await TwinHttp.StartAsync(new TwinServerOptions { Faults = FaultOptions.Parse("stall=1:2s") });
        var idle = await Client(server, new StreamingClientOptions { IdleTimeout = TimeSpan.FromMilliseconds(300) })
            .SendAsync(Request(server, maxTokens: 10), CancellationToken.None);
        Assert.Equal(TerminalState.TimeoutIdle, idle.State);
        Assert.Equal(5, idle.OutputChunkTimestamps.Count); // the stall comes after half the tokens

        var ttft = await Client(server, new StreamingClientOptions { FirstChunkTimeout = TimeSpan.FromMilliseconds(1) })
            .SendAsync(Request(server, maxTokens: 10), CancellationToken.None);
        Assert.Equal(TerminalState.TimeoutTtft, ttft.State);
    }

    [Fact]
    public async Task The_end_of_the_run_cancels_a_request_as_such_and_a_closed_port_is_a_connect_error()
    {
        await using var server = await TwinHttp.StartAsync();
        // 1 s, not less: the first test to run on a fresh build meets a cold JIT and a busy machine, and then 100 ms passed
        // before the first chunk (seen once on a fresh clone). The 100,000-token request lasts minutes, so it is still cut.
        using var end = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        var cut = await Client(server).SendAsync(Request(server, maxTokens: 100_000), end.Token);
        Assert.Equal(TerminalState.CancelledEndOfRun, cut.State);
        Assert.True(cut.OutputChunkTimestamps.Count > 0);

        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop(); // nothing listens there now
        var client = new StreamingClient(new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") }, new StreamingClientOptions(), TimeProvider.System);
        var refused = await client.SendAsync(new GenerationRequest { Model = "m", Prompt = "p" }, CancellationToken.None);
        Assert.Equal(TerminalState.ConnectError, refused.State);
    }
}
