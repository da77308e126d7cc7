using System.Net;
using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json;

namespace EnergyToToken.Load;

/// <summary>Which OpenAI API a request uses.</summary>
public enum ApiKind
{
    Completions,
    Chat,
}

/// <summary>How a request ended: exactly one per request (measurement.md §5); issued = Σ states.</summary>
public enum TerminalState
{
    Ok,
    HttpError,
    ConnectError,
    TimeoutTtft,
    TimeoutIdle,
    ResetMidstream,
    ProtocolError,
    CancelledEndOfRun,
}

/// <summary>One generation request as the load generator sends it.</summary>
public sealed record GenerationRequest
{
    public ApiKind Api { get; init; } = ApiKind.Completions;

    public required string Model { get; init; }

    /// <summary>The prompt (completions) or the user message (chat).</summary>
    public required string Prompt { get; init; }

    public int MaxTokens { get; init; } = 256;

    /// <summary>vLLM's <c>ignore_eos</c>: the answer is exactly <see cref="MaxTokens"/> long where the server supports it.</summary>
    public bool IgnoreEos { get; init; }

    public long? Seed { get; init; }
}

/// <summary>Client timeouts. Default: 60 s to the first chunk, 30 s between chunks.</summary>
public sealed record StreamingClientOptions
{
    public TimeSpan FirstChunkTimeout { get; init; } = TimeSpan.FromSeconds(60);

    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// What one streamed request produced, on the run's monotonic clock (<see cref="TimeProvider.GetTimestamp"/> ticks):
/// when it was sent, when each chunk carrying output arrived, the token counts and where they came from, and its
/// terminal state.
/// </summary>
public sealed class RequestRecord
{
    public TerminalState State { get; internal set; }

    /// <summary>The HTTP status for <see cref="TerminalState.HttpError"/>.</summary>
    public int? HttpStatus { get; internal set; }

    /// <summary>Why it did not end <see cref="TerminalState.Ok"/>, in words.</summary>
    public string Detail { get; internal set; } = "";

    public long SentTimestamp { get; internal set; }

    /// <summary>Arrival of every chunk that carried output (content or reasoning), in order.</summary>
    public List<long> OutputChunkTimestamps { get; } = [];

    /// <summary>Chunks carrying reasoning (<c>reasoning_content</c> or <c>reasoning</c>) among them.</summary>
    public int ReasoningChunks { get; internal set; }

    public long? EndTimestamp { get; internal set; }

    public int? PromptTokens { get; internal set; }

    /// <summary>Output tokens: the server's <c>usage.completion_tokens</c>, or the count of output chunks when it sent no usage.</summary>
    public int OutputTokens { get; internal set; }

    /// <summary>Reasoning tokens: <c>completion_tokens_details.reasoning_tokens</c>, or the reasoning chunks.</summary>
    public int ReasoningTokens { get; internal set; }

    /// <summary>False when token counts are the chunk-count fallback (one token per chunk), which results must flag.</summary>
    public bool UsageFromServer { get; internal set; }

    public string? FinishReason { get; internal set; }

    public StringBuilder Text { get; } = new();
}

/// <summary>
/// A streaming OpenAI-compatible client on <see cref="HttpClient"/>: sends one request with <c>stream: true</c> and
/// <c>stream_options.include_usage</c>, parses the server-sent events with <see cref="SseParser"/> (CRLF or LF, comment
/// lines, multi-line data, event/id/retry fields), stamps each output chunk on the monotonic clock, and ends in exactly
/// one terminal state. It never throws for a server's failure; it records it.
/// </summary>
public sealed class StreamingClient(HttpClient http, StreamingClientOptions options, TimeProvider time)
{
    public async Task<RequestRecord> SendAsync(GenerationRequest request, CancellationToken endOfRun)
    {
        var record = new RequestRecord { SentTimestamp = time.GetTimestamp() };
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(endOfRun);
        deadline.CancelAfter(options.FirstChunkTimeout);
        var sawOutput = false;
        var done = false;
        try
        {
            using var message = new HttpRequestMessage(HttpMethod.Post, request.Api == ApiKind.Chat ? "v1/chat/completions" : "v1/completions")
            {
                Content = new ByteArrayContent(Body(request)) { Headers = { { "Content-Type", "application/json" } } },
            };
            using var response = await http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, deadline.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                record.State = TerminalState.HttpError;
                record.HttpStatus = (int)response.StatusCode;
                record.Detail = $"HTTP {(int)response.StatusCode}: {Truncate(await response.Content.ReadAsStringAsync(deadline.Token).ConfigureAwait(false))}";
                return record;
            }
            var stream = await response.Content.ReadAsStreamAsync(deadline.Token).ConfigureAwait(false);
            await foreach (var item in SseParser.Create(stream).EnumerateAsync(deadline.Token).ConfigureAwait(false))
            {
                var now = time.GetTimestamp();
                if (done)
                {
                    // Data after [DONE]: ignored, as OpenAI clients do; the answer is complete.
                    continue;
                }
                if (item.Data == "[DONE]")
                {
                    done = true;
                    continue;
                }
                if (!Read(item.Data, record, now, out var output))
                {
                    record.State = TerminalState.ProtocolError;
                    record.Detail = $"an event is not valid JSON: {Truncate(item.Data)}";
                    return record;
                }
                if (output && !sawOutput)
                {
                    sawOutput = true;
                    deadline.CancelAfter(options.IdleTimeout);
                }
                else if (sawOutput)
                {
                    deadline.CancelAfter(options.IdleTimeout);
                }
            }
            record.EndTimestamp = time.GetTimestamp();
            if (!done)
            {
                record.State = TerminalState.ProtocolError;
                record.Detail = "the stream closed without data: [DONE]";
            }
        }
        catch (OperationCanceledException) when (endOfRun.IsCancellationRequested)
        {
            record.State = TerminalState.CancelledEndOfRun;
            record.Detail = "the run ended before the answer did";
        }
        catch (OperationCanceledException)
        {
            record.State = sawOutput ? TerminalState.TimeoutIdle : TerminalState.TimeoutTtft;
            record.Detail = sawOutput
                ? $"no chunk for {options.IdleTimeout.TotalSeconds:0.###} s"
                : $"no output within {options.FirstChunkTimeout.TotalSeconds:0.###} s of sending";
        }
        catch (HttpRequestException e) when (!sawOutput && record.OutputChunkTimestamps.Count == 0 && e.HttpRequestError == HttpRequestError.ConnectionError)
        {
            record.State = TerminalState.ConnectError;
            record.Detail = e.Message;
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            record.State = TerminalState.ResetMidstream;
            record.Detail = e.Message;
        }
        record.EndTimestamp ??= time.GetTimestamp();
        if (!record.UsageFromServer)
        {
            record.OutputTokens = record.OutputChunkTimestamps.Count;
            record.ReasoningTokens = record.ReasoningChunks;
        }
        return record;
    }

    /// <summary>Reads one event; false when it is not JSON. <paramref name="output"/> says whether it carried output.</summary>
    private static bool Read(string data, RequestRecord record, long now, out bool output)
    {
        output = false;
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(data);
        }
        catch (JsonException)
        {
            return false;
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return false;
            if (root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object
                && usage.TryGetProperty("completion_tokens", out var completion) && completion.TryGetInt32(out var completionTokens))
            {
                record.UsageFromServer = true;
                record.OutputTokens = completionTokens;
                if (usage.TryGetProperty("prompt_tokens", out var prompt) && prompt.TryGetInt32(out var promptTokens)) record.PromptTokens = promptTokens;
                record.ReasoningTokens = usage.TryGetProperty("completion_tokens_details", out var details) && details.ValueKind == JsonValueKind.Object
                    && details.TryGetProperty("reasoning_tokens", out var r) && r.TryGetInt32(out var reasoning) ? reasoning : 0;
            }
            if (!root.TryGetProperty("choices", out var choices) || choices.ValueKind != JsonValueKind.Array) return true;
            foreach (var choice in choices.EnumerateArray())
            {
                if (choice.TryGetProperty("finish_reason", out var finish) && finish.ValueKind == JsonValueKind.String) record.FinishReason = finish.GetString();
                var reasoning = false;
                string? text = null;
                if (choice.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String) text = t.GetString();
                if (choice.TryGetProperty("delta", out var delta) && delta.ValueKind == JsonValueKind.Object)
                {
                    if (delta.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String) text = c.GetString();
                    foreach (var name in new[] { "reasoning_content", "reasoning" })
                    {
                        if (delta.TryGetProperty(name, out var rc) && rc.ValueKind == JsonValueKind.String && rc.GetString()!.Length > 0)
                        {
                            text = rc.GetString();
                            reasoning = true;
                        }
                    }
                }
                // A role-only first chunk or an empty content delta carries no output: it does not start TTFT.
                if (string.IsNullOrEmpty(text)) continue;
                output = true;
                record.OutputChunkTimestamps.Add(now);
                if (reasoning) record.ReasoningChunks++;
                else record.Text.Append(text);
            }
            return true;
        }
    }

    private static byte[] Body(GenerationRequest request)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteString("model", request.Model);
            if (request.Api == ApiKind.Chat)
            {
                json.WriteStartArray("messages");
                json.WriteStartObject();
                json.WriteString("role", "user");
                json.WriteString("content", request.Prompt);
                json.WriteEndObject();
                json.WriteEndArray();
            }
            else
            {
                json.WriteString("prompt", request.Prompt);
            }
            json.WriteNumber("max_tokens", request.MaxTokens);
            if (request.IgnoreEos) json.WriteBoolean("ignore_eos", true);
            if (request.Seed is { } seed) json.WriteNumber("seed", seed);
            json.WriteBoolean("stream", true);
            json.WriteStartObject("stream_options");
            json.WriteBoolean("include_usage", true);
            json.WriteEndObject();
            json.WriteEndObject();
        }
        return stream.ToArray();
    }

    private static string Truncate(string text) => text.Length <= 300 ? text : text[..300] + "…";
}
