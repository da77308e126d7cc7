using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EnergyToToken.Catalog;
using EnergyToToken.Metering.Prometheus;
using EnergyToToken.Twin;

namespace EnergyToToken.Tests.Twin;

/// <summary>One server-sent event: its data (lines joined by \n) and when the read that completed it returned (<see cref="Stopwatch"/> ticks).</summary>
internal sealed record SseEvent(string Data, long Timestamp)
{
    public bool IsDone => Data == "[DONE]";

    public JsonNode Json => JsonNode.Parse(Data)!;
}

/// <summary>What a streamed response carried: its events, its comment lines, its raw bytes, and the error that broke it, if any.</summary>
internal sealed class SseStream
{
    public required HttpResponseMessage Response { get; init; }

    public List<SseEvent> Events { get; } = [];

    public List<string> Comments { get; } = [];

    public byte[] Raw { get; set; } = [];

    /// <summary>The exception reading the body threw (a reset connection); null when it ended cleanly.</summary>
    public Exception? Error { get; set; }

    public bool Done => Events.Count > 0 && Events[^1].IsDone;

    /// <summary>Event payloads other than [DONE], parsed.</summary>
    public List<JsonNode> Chunks => Events.Where(e => !e.IsDone).Select(e => e.Json).ToList();

    /// <summary>Chunks that carry a choice (tokens and the chat role), not the usage chunk.</summary>
    public List<JsonNode> ChoiceChunks => Chunks.Where(c => c["choices"]!.AsArray().Count > 0).ToList();

    public JsonNode? Usage => Chunks.LastOrDefault(c => c["choices"]!.AsArray().Count == 0)?["usage"];

    public string? FaultHeader => TwinHttp.Faults(Response);
}

/// <summary>
/// A strict enough server-sent-events parser (WHATWG: lines end in CRLF, LF or CR; ':' starts a comment; one space after
/// the colon is dropped; a blank line ends an event), fed bytes as they arrive.
/// </summary>
internal sealed class SseParser(SseStream target)
{
    private readonly List<byte> _line = [];
    private StringBuilder? _data;
    private bool _afterCr;

    public void Feed(ReadOnlySpan<byte> bytes, long timestamp)
    {
        foreach (var b in bytes)
        {
            if (b == '\n' && _afterCr)
            {
                _afterCr = false;
                continue;
            }
            _afterCr = b == '\r';
            if (b is (byte)'\n' or (byte)'\r') EndLine(timestamp);
            else _line.Add(b);
        }
    }

    private void EndLine(long timestamp)
    {
        var line = Encoding.UTF8.GetString([.. _line]);
        _line.Clear();
        if (line.Length == 0)
        {
            if (_data is not null) target.Events.Add(new SseEvent(_data.ToString(), timestamp));
            _data = null;
            return;
        }
        if (line[0] == ':')
        {
            target.Comments.Add(line[1..]);
            return;
        }
        var colon = line.IndexOf(':', StringComparison.Ordinal);
        var field = colon < 0 ? line : line[..colon];
        var value = colon < 0 ? "" : line[(colon + 1)..];
        if (value.StartsWith(' ')) value = value[1..];
        if (field != "data") return;
        if (_data is null) _data = new StringBuilder(value);
        else _data.Append('\n').Append(value);
    }
}

/// <summary>Starts twins on loopback and talks to them as an OpenAI client would: JSON bodies and server-sent events.</summary>
internal static class TwinHttp
{
    private static readonly Lazy<Catalogs> LoadedCatalogs = new(() => Catalogs.Load([]));

    /// <summary>The default profile with answers that end on their own after exactly three tokens (lognormal with σ = 0).</summary>
    public static TwinProfile ThreeTokenAnswers { get; } = TwinProfiles.Default with { Output = new OutputOptions { MedianTokens = 3, LogSigma = 0 } };

    public static Task<TwinServer> StartAsync(TwinServerOptions? options = null) =>
        TwinServer.StartAsync(options ?? new TwinServerOptions(), LoadedCatalogs.Value);

    public static Task<TwinServer> StartAsync(TwinProfile profile) => StartAsync(new TwinServerOptions { Profile = profile });

    public static HttpClient Client(TwinServer server) => new() { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };

    public static string Json(object body) => JsonSerializer.Serialize(body);

    public static HttpRequestMessage Post(string path, string json) =>
        new(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };

    /// <summary>Posts and reads the whole body as JSON (null when it is not JSON).</summary>
    public static async Task<(HttpResponseMessage Response, JsonNode? Body)> PostAsync(HttpClient client, string path, object body) =>
        await PostRawAsync(client, path, body as string ?? Json(body));

    public static async Task<(HttpResponseMessage Response, JsonNode? Body)> PostRawAsync(HttpClient client, string path, string json)
    {
        using var request = Post(path, json);
        var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(text);
        }
        catch (JsonException)
        {
            node = null;
        }
        return (response, node);
    }

    /// <summary>Posts a streaming request and reads its events as they arrive, until the end of the body or an error.</summary>
    public static async Task<SseStream> StreamAsync(HttpClient client, string path, object body)
    {
        using var request = Post(path, body as string ?? Json(body));
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        return await ReadAsync(response);
    }

    public static async Task<SseStream> ReadAsync(HttpResponseMessage response)
    {
        var result = new SseStream { Response = response };
        var parser = new SseParser(result);
        var raw = new MemoryStream();
        var buffer = new byte[4096];
        try
        {
            await using var body = await response.Content.ReadAsStreamAsync();
            while (true)
            {
                var n = await body.ReadAsync(buffer);
                var now = Stopwatch.GetTimestamp();
                if (n == 0) break;
                raw.Write(buffer, 0, n);
                parser.Feed(buffer.AsSpan(0, n), now);
            }
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            result.Error = e;
        }
        result.Raw = raw.ToArray();
        return result;
    }

    /// <summary>The faults the twin says it injected into a response (the x-e2t-twin-faults header), null when none.</summary>
    public static string? Faults(HttpResponseMessage response) =>
        response.Headers.TryGetValues("x-e2t-twin-faults", out var values) ? string.Join(',', values) : null;

    /// <summary>The text of each token chunk of a streamed answer (completions' text, chat's content or reasoning), without chat's role chunk.</summary>
    public static List<string> Tokens(SseStream stream) =>
        stream.ChoiceChunks.Select(c => c["choices"]![0]!)
            .Where(choice => choice["delta"]?["role"] is null)
            .Select(choice => (string?)choice["text"] ?? (string?)choice["delta"]?["content"] ?? (string?)choice["delta"]?["reasoning_content"] ?? "")
            .ToList();

    /// <summary>Scrapes an endpoint in the Prometheus text format.</summary>
    public static async Task<IReadOnlyList<PrometheusSample>> ScrapeAsync(HttpClient client, string path) =>
        PrometheusText.Parse(await client.GetStringAsync(new Uri(path, UriKind.Relative)));

    /// <summary>The one sample named <paramref name="name"/> whose labels include <paramref name="labels"/>.</summary>
    public static double Value(IReadOnlyList<PrometheusSample> samples, string name, params (string Label, string Value)[] labels) =>
        samples.Single(s => s.Name == name && labels.All(l => s.Label(l.Label) == l.Value)).Value;

    /// <summary>Waits until <paramref name="condition"/> holds, failing after <paramref name="seconds"/>.</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, string what, double seconds = 10)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency);
        while (!condition())
        {
            Assert.True(Stopwatch.GetTimestamp() < deadline, $"Timed out after {seconds} s waiting for {what}.");
            await Task.Delay(10);
        }
    }

    /// <summary>Asserts an OpenAI-style error body: {"error":{"message","type","param","code"}} and nothing else.</summary>
    public static JsonObject AssertError(HttpResponseMessage response, JsonNode? body, int status, string type, string? param)
    {
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.NotNull(body);
        var root = body.AsObject();
        Assert.Equal(["error"], root.Select(p => p.Key));
        var error = root["error"]!.AsObject();
        Assert.Equal(["message", "type", "param", "code"], error.Select(p => p.Key));
        Assert.False(string.IsNullOrWhiteSpace((string?)error["message"]));
        Assert.Equal(type, (string?)error["type"]);
        if (param is null) Assert.Equal(JsonValueKind.Null, error["param"]?.GetValueKind() ?? JsonValueKind.Null);
        else Assert.Equal(param, (string?)error["param"]);
        Assert.Equal(status, (int)error["code"]!);
        return error;
    }
}
