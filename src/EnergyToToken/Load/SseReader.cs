using System.Text.Json;

namespace EnergyToToken.Load;

/// <summary>
/// An incremental server-sent-events parser over bytes, as the HTML standard defines the format: lines end in CRLF, LF
/// or CR; <c>data:</c> lines (one leading space removed) are joined with LF; an empty line dispatches the event;
/// comment lines (<c>:</c>) and the <c>event</c>, <c>id</c> and <c>retry</c> fields are skipped. Bytes may be fed split
/// anywhere, even inside a multi-byte character. Buffers are reused: an event costs no allocation.
/// </summary>
internal sealed class SseReader
{
    private byte[] _line = new byte[1024];
    private int _lineLength;
    private byte[] _data = new byte[1024];
    private int _dataLength;
    private bool _hasData;
    private bool _afterCarriageReturn;

    /// <summary>Called with each event's data; the span is valid only during the call.</summary>
    public delegate void EventHandler(ReadOnlySpan<byte> data);

    public void Feed(ReadOnlySpan<byte> bytes, EventHandler onEvent)
    {
        while (bytes.Length > 0)
        {
            if (_afterCarriageReturn)
            {
                // CRLF is one line end: the LF after a CR ends nothing more.
                _afterCarriageReturn = false;
                if (bytes[0] == (byte)'\n')
                {
                    bytes = bytes[1..];
                    continue;
                }
            }
            var end = bytes.IndexOfAny((byte)'\n', (byte)'\r');
            if (end < 0)
            {
                Append(ref _line, ref _lineLength, bytes);
                return;
            }
            if (_lineLength == 0)
            {
                Line(bytes[..end], onEvent); // the whole line is in this read: no copy
            }
            else
            {
                Append(ref _line, ref _lineLength, bytes[..end]);
                Line(_line.AsSpan(0, _lineLength), onEvent);
                _lineLength = 0;
            }
            _afterCarriageReturn = bytes[end] == (byte)'\r';
            bytes = bytes[(end + 1)..];
        }
    }

    private void Line(ReadOnlySpan<byte> line, EventHandler onEvent)
    {
        if (line.IsEmpty)
        {
            if (_hasData) onEvent(_data.AsSpan(0, Math.Max(0, _dataLength - 1))); // without the last LF
            _hasData = false;
            _dataLength = 0;
            return;
        }
        if (line[0] == (byte)':') return;
        var colon = line.IndexOf((byte)':');
        var field = colon < 0 ? line : line[..colon];
        if (!field.SequenceEqual("data"u8)) return;
        var value = colon < 0 ? [] : line[(colon + 1)..];
        if (!value.IsEmpty && value[0] == (byte)' ') value = value[1..];
        Append(ref _data, ref _dataLength, value);
        Append(ref _data, ref _dataLength, "\n"u8);
        _hasData = true;
    }

    private static void Append(ref byte[] buffer, ref int length, ReadOnlySpan<byte> bytes)
    {
        if (length + bytes.Length > buffer.Length) Array.Resize(ref buffer, Math.Max(buffer.Length * 2, length + bytes.Length));
        bytes.CopyTo(buffer.AsSpan(length));
        length += bytes.Length;
    }
}

/// <summary>What one OpenAI stream chunk carried, read without allocating.</summary>
internal struct ChunkInfo
{
    /// <summary>Bytes of output text (content or reasoning) in the chunk's first choice; 0 for none.</summary>
    public int OutputBytes;

    public bool Reasoning;

    /// <summary>The finish reason when the chunk has one: "stop", "length" or another (kept as "other").</summary>
    public string? FinishReason;

    public int? CompletionTokens;

    public int? PromptTokens;

    public int? ReasoningTokens;

    /// <summary>Where the chunk's <c>id</c> string lies in the bytes read (start, length); length 0 when it has none.</summary>
    public (int Start, int Length) Id;

    /// <summary>
    /// Reads a chunk: <c>choices[0].text</c>, <c>choices[0].delta.content</c>, <c>.reasoning_content</c> or
    /// <c>.reasoning</c>, <c>finish_reason</c>, and <c>usage</c>. False when the bytes are not a JSON object.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> json, out ChunkInfo info)
    {
        info = default;
        var reader = new Utf8JsonReader(json);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("id"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.String && !reader.ValueIsEscaped) info.Id = ((int)reader.TokenStartIndex + 1, reader.ValueSpan.Length);
                }
                else if (reader.ValueTextEquals("choices"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.StartArray) { reader.Skip(); continue; }
                    while (reader.Read() && reader.TokenType == JsonTokenType.StartObject) ReadChoice(ref reader, ref info);
                }
                else if (reader.ValueTextEquals("usage"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.StartObject) ReadUsage(ref reader, ref info);
                    else reader.Skip();
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
            return reader.TokenType == JsonTokenType.EndObject;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static void ReadChoice(ref Utf8JsonReader reader, ref ChunkInfo info)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("text"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.String) info.OutputBytes += reader.ValueSpan.Length;
            }
            else if (reader.ValueTextEquals("finish_reason"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.String)
                    info.FinishReason = reader.ValueTextEquals("stop"u8) ? "stop" : reader.ValueTextEquals("length"u8) ? "length" : "other";
            }
            else if (reader.ValueTextEquals("delta"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartObject) { reader.Skip(); continue; }
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var reasoning = reader.ValueTextEquals("reasoning_content"u8) || reader.ValueTextEquals("reasoning"u8);
                    var content = reasoning || reader.ValueTextEquals("content"u8);
                    reader.Read();
                    if (content && reader.TokenType == JsonTokenType.String && reader.ValueSpan.Length > 0)
                    {
                        info.OutputBytes += reader.ValueSpan.Length;
                        info.Reasoning |= reasoning;
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
    }

    private static void ReadUsage(ref Utf8JsonReader reader, ref ChunkInfo info)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("completion_tokens"u8)) info.CompletionTokens = Int(ref reader);
            else if (reader.ValueTextEquals("prompt_tokens"u8)) info.PromptTokens = Int(ref reader);
            else if (reader.ValueTextEquals("completion_tokens_details"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartObject) { reader.Skip(); continue; }
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (reader.ValueTextEquals("reasoning_tokens"u8)) info.ReasoningTokens = Int(ref reader);
                    else
                    {
                        reader.Read();
                        reader.Skip();
                    }
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
    }

    private static int? Int(ref Utf8JsonReader reader)
    {
        reader.Read();
        return reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var value) ? value : null;
    }
}
