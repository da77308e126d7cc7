using System.Buffers;
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

    /// <summary>Keep each answer's content text in <see cref="RequestRecord.Text"/> (costs an allocation per chunk). Default: false.</summary>
    public bool KeepText { get; init; }
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

    /// <summary>The response's <c>id</c> from its first chunk (e.g. <c>cmpl-…</c>), to match it with server-side logs.</summary>
    public string? ResponseId { get; internal set; }

    /// <summary>"stop", "length", or "other" for any other reason the server gave.</summary>
    public string? FinishReason { get; internal set; }

    /// <summary>The content text, when <see cref="StreamingClientOptions.KeepText"/> asked for it.</summary>
    public StringBuilder Text { get; } = new();
}

/// <summary>
/// A streaming OpenAI-compatible client on <see cref="HttpClient"/>: sends one request with <c>stream: true</c> and
/// <c>stream_options.include_usage</c>, parses the server-sent events from the bytes as they arrive (<see cref="SseReader"/>,
/// <see cref="ChunkInfo"/>: no allocation per event), stamps each output chunk on the monotonic clock, and ends in
/// exactly one terminal state. It never throws for a server's failure; it records it.
/// </summary>
public sealed class StreamingClient(HttpClient http, StreamingClientOptions options, TimeProvider time)
{
    public async Task<RequestRecord> SendAsync(GenerationRequest request, CancellationToken endOfRun)
    {
        var record = new RequestRecord { SentTimestamp = time.GetTimestamp() };
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(endOfRun);
        deadline.CancelAfter(options.FirstChunkTimeout);
        var state = new StreamState(record, options.KeepText);
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
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
            var reader = new SseReader();
            SseReader.EventHandler onEvent = state.OnEvent;
            while (true)
            {
                var read = await stream.ReadAsync(buffer, deadline.Token).ConfigureAwait(false);
                if (read == 0) break;
                state.Now = time.GetTimestamp();
                var hadOutput = state.SawOutput;
                reader.Feed(buffer.AsSpan(0, read), onEvent);
                if (state.Invalid is { } invalid)
                {
                    record.State = TerminalState.ProtocolError;
                    record.Detail = $"an event is not valid JSON: {Truncate(invalid)}";
                    return record;
                }
                // [DONE] ends the answer: what a server sends after it, or how long it holds the connection open, changes nothing.
                if (state.Done) break;
                // The first output starts the idle clock; every later read restarts it.
                if (state.SawOutput || hadOutput) deadline.CancelAfter(options.IdleTimeout);
            }
            record.EndTimestamp = time.GetTimestamp();
            if (!state.Done)
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
            record.State = state.SawOutput ? TerminalState.TimeoutIdle : TerminalState.TimeoutTtft;
            record.Detail = state.SawOutput
                ? $"no chunk for {options.IdleTimeout.TotalSeconds:0.###} s"
                : $"no output within {options.FirstChunkTimeout.TotalSeconds:0.###} s of sending";
        }
        catch (HttpRequestException e) when (!state.SawOutput && e.HttpRequestError == HttpRequestError.ConnectionError)
        {
            record.State = TerminalState.ConnectError;
            record.Detail = e.Message;
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            record.State = TerminalState.ResetMidstream;
            record.Detail = e.Message;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            // Here, not after the try: the HTTP-error and invalid-JSON paths return from inside it.
            record.EndTimestamp ??= time.GetTimestamp();
            if (!record.UsageFromServer)
            {
                record.OutputTokens = record.OutputChunkTimestamps.Count;
                record.ReasoningTokens = record.ReasoningChunks;
            }
        }
        return record;
    }

    /// <summary>Applies each event to the record as the reader finds it.</summary>
    private sealed class StreamState(RequestRecord record, bool keepText)
    {
        /// <summary>When the bytes being parsed arrived.</summary>
        public long Now;

        public bool SawOutput;

        public bool Done;

        /// <summary>The first event that was not JSON, if any.</summary>
        public string? Invalid;

        public void OnEvent(ReadOnlySpan<byte> data)
        {
            // Data after [DONE] is ignored, as OpenAI clients do: the answer is complete.
            if (Done || Invalid is not null) return;
            if (data.SequenceEqual("[DONE]"u8))
            {
                Done = true;
                return;
            }
            if (!ChunkInfo.TryRead(data, out var chunk))
            {
                Invalid = Encoding.UTF8.GetString(data);
                return;
            }
            if (record.ResponseId is null && chunk.Id.Length > 0) record.ResponseId = Encoding.UTF8.GetString(data.Slice(chunk.Id.Start, chunk.Id.Length));
            if (chunk.CompletionTokens is { } completion)
            {
                record.UsageFromServer = true;
                record.OutputTokens = completion;
                record.PromptTokens = chunk.PromptTokens;
                record.ReasoningTokens = chunk.ReasoningTokens ?? 0;
            }
            if (chunk.FinishReason is { } finish) record.FinishReason = finish;
            // A role-only first chunk or an empty delta carries no output: it does not start TTFT.
            if (chunk.OutputBytes == 0) return;
            SawOutput = true;
            record.OutputChunkTimestamps.Add(Now);
            if (chunk.Reasoning) record.ReasoningChunks++;
            else if (keepText) AppendText(data);
        }

        private void AppendText(ReadOnlySpan<byte> data)
        {
            using var document = JsonDocument.Parse(data.ToArray());
            foreach (var choice in document.RootElement.GetProperty("choices").EnumerateArray())
            {
                if (choice.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String) record.Text.Append(text.GetString());
                if (choice.TryGetProperty("delta", out var delta) && delta.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String)
                    record.Text.Append(content.GetString());
            }
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
