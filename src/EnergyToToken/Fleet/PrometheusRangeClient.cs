using System.Globalization;
using System.Net.Sockets;
using System.Text.Json;

namespace EnergyToToken.Fleet;

/// <summary>One point of a range query: seconds since the Unix epoch and the value.</summary>
public readonly record struct RangePoint(double UnixSeconds, double Value);

/// <summary>One series of a range query's matrix: its labels (the metric name under <c>__name__</c>) and its points in time order.</summary>
public sealed record RangeSeries(IReadOnlyDictionary<string, string> Labels, IReadOnlyList<RangePoint> Points)
{
    /// <summary>The label's value, or "" when the series does not carry it (Prometheus treats a missing label as empty).</summary>
    public string Label(string name) => Labels.TryGetValue(name, out var v) ? v : "";

    /// <summary>The label set as one string, in name order: the series' identity across the chunks of a range.</summary>
    public string Key => string.Join('\u0001', Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => l.Key + "=" + l.Value));
}

/// <summary>
/// Prometheus's HTTP range query (<c>POST /api/v1/query_range</c>, form-encoded), split into chunks of the range so that
/// no series exceeds the server's limit of 11,000 points per query and no answer holds more than
/// <see cref="PointsPerAnswer"/> points: a fleet of thousands of GPUs over days is read in bounded pieces, each folded
/// into the caller's sums before the next is asked for.
/// </summary>
public sealed class PrometheusRangeClient(HttpClient http, Uri server)
{
    /// <summary>Prometheus refuses a range query with more than 11,000 points per series; chunks stay under it.</summary>
    public const int MaxPointsPerQuery = 11_000;

    /// <summary>Points per chunk and series: below the limit with room for the inclusive end point.</summary>
    public int PointsPerChunk { get; init; } = 10_000;

    /// <summary>
    /// Points per answer across all its series. An answer is parsed whole, so this bounds the memory one query takes
    /// (about 60 bytes a point, JSON and its index): 250,000 points is about 15 MB.
    /// </summary>
    public int PointsPerAnswer { get; init; } = 250_000;

    /// <summary>
    /// Steps in the first chunk, before the number of series is known; later chunks are sized from the series the
    /// previous one returned, so a query of a few series over a day is a handful of requests.
    /// </summary>
    public int FirstChunkPoints { get; init; } = 240;

    /// <summary>The chunks a range is split into: [start, end] pairs on the step grid, each under <paramref name="pointsPerChunk"/> points.</summary>
    public static IReadOnlyList<(double Start, double End)> Chunks(double start, double end, double step, int pointsPerChunk)
    {
        var chunks = new List<(double, double)>();
        var span = step * (pointsPerChunk - 1);
        for (var s = start; s <= end; s += span + step)
            chunks.Add((s, Math.Min(end, s + span)));
        return chunks;
    }

    /// <summary>
    /// Runs the query over [start, end] at the step and hands each chunk's series to <paramref name="onSeries"/> in
    /// time order: a series that spans several chunks arrives once per chunk, its points continuing where the last
    /// piece stopped. Nothing is kept here, so memory is one answer's, whatever the range.
    /// </summary>
    /// <exception cref="EnergyToTokenException">The server cannot be reached, answers an HTTP error, or reports an error for the query.</exception>
    public async Task QueryRangeAsync(string query, double start, double end, double step, Action<RangeSeries> onSeries, CancellationToken cancellationToken = default)
    {
        var total = (long)Math.Round((end - start) / step) + 1;
        if (total < 1) return;
        var chunkPoints = (int)Math.Min(total, Math.Min(PointsPerChunk, FirstChunkPoints));
        for (var s = start; s <= end + step * 1e-9;)
        {
            var e = Math.Min(end, s + step * (chunkPoints - 1));
            var series = await QueryChunkAsync(query, s, e, step, cancellationToken);
            foreach (var (labels, points) in series) onSeries(new RangeSeries(labels, points));
            // Size the next chunk to the series this one returned: under both the per-series and the per-answer limit.
            chunkPoints = (int)Math.Clamp(PointsPerAnswer / Math.Max(1, series.Count), 1, PointsPerChunk);
            s = e + step;
        }
    }

    /// <summary>Runs the query and returns each series once, its chunks' points joined (for small ranges and tests).</summary>
    public async Task<IReadOnlyList<RangeSeries>> QueryRangeAsync(string query, double start, double end, double step, CancellationToken cancellationToken = default)
    {
        var joined = new Dictionary<string, (IReadOnlyDictionary<string, string> Labels, List<RangePoint> Points)>();
        await QueryRangeAsync(query, start, end, step, series =>
        {
            var key = series.Key;
            if (!joined.TryGetValue(key, out var entry)) joined[key] = entry = (series.Labels, []);
            entry.Points.AddRange(series.Points);
        }, cancellationToken);
        return joined.Values.Select(v => new RangeSeries(v.Labels, v.Points)).ToList();
    }

    private async Task<List<(Dictionary<string, string> Labels, List<RangePoint> Points)>> QueryChunkAsync(string query, double start, double end, double step, CancellationToken cancellationToken)
    {
        var url = new Uri(server, "api/v1/query_range");
        using var form = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["query"] = query,
            ["start"] = start.ToString("0.###", CultureInfo.InvariantCulture),
            ["end"] = end.ToString("0.###", CultureInfo.InvariantCulture),
            ["step"] = step.ToString("0.###", CultureInfo.InvariantCulture),
        });
        HttpResponseMessage response;
        byte[] body;
        try
        {
            response = await http.PostAsync(url, form, cancellationToken);
            body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        }
        catch (HttpRequestException e)
        {
            var refused = e.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionRefused };
            throw new EnergyToTokenException(refused
                ? $"Prometheus at {server} refused the connection: is it running, and is the URL's port right?"
                : $"Cannot reach Prometheus at {server}: {e.Message}", e);
        }
        catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new EnergyToTokenException($"Prometheus at {server} did not answer within {http.Timeout.TotalSeconds:0} s.", e);
        }
        using (response) return Parse(body, (int)response.StatusCode, query, server);
    }

    /// <summary>Parses a query_range answer (pure): the matrix, or an explained failure for an HTTP error or <c>"status":"error"</c>.</summary>
    public static List<(Dictionary<string, string> Labels, List<RangePoint> Points)> Parse(string body, int statusCode, string query, Uri server) =>
        Parse(System.Text.Encoding.UTF8.GetBytes(body), statusCode, query, server);

    /// <summary>
    /// Parses a query_range answer from its UTF-8 bytes, as it came off the wire, with a forward-only reader: an answer
    /// can hold a quarter of a million points, and a document tree of it would cost several times its size.
    /// </summary>
    public static List<(Dictionary<string, string> Labels, List<RangePoint> Points)> Parse(ReadOnlyMemory<byte> body, int statusCode, string query, Uri server)
    {
        string? status = null, errorType = null, error = null, resultType = null;
        var result = new List<(Dictionary<string, string>, List<RangePoint>)>();
        try
        {
            var reader = new Utf8JsonReader(body.Span, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
            Expect(ref reader, JsonTokenType.StartObject);
            while (Next(ref reader) == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("status")) status = ReadString(ref reader);
                else if (reader.ValueTextEquals("errorType")) errorType = ReadString(ref reader);
                else if (reader.ValueTextEquals("error")) error = ReadString(ref reader);
                else if (reader.ValueTextEquals("data"))
                {
                    Expect(ref reader, JsonTokenType.StartObject);
                    while (Next(ref reader) == JsonTokenType.PropertyName)
                    {
                        if (reader.ValueTextEquals("resultType")) resultType = ReadString(ref reader);
                        else if (reader.ValueTextEquals("result") && resultType is null or "matrix") ReadMatrix(ref reader, result);
                        else Skip(ref reader);
                    }
                }
                else Skip(ref reader);
            }
        }
        catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
        {
            if (status is "error") throw Refused(server, query, statusCode, errorType, error);
            var text = System.Text.Encoding.UTF8.GetString(body.Span[..Math.Min(body.Length, 400)]);
            var head = text.Length > 200 ? text[..200] + "…" : text;
            throw new EnergyToTokenException($"Prometheus at {server} answered HTTP {statusCode} to the query '{query}' with something that is not its JSON API: {head.Trim()} Is the URL the Prometheus server's root?");
        }
        if (status != "success") throw Refused(server, query, statusCode, errorType ?? "unknown", error ?? $"status {status ?? "missing"}");
        if (resultType != "matrix")
            throw new EnergyToTokenException($"Prometheus answered the range query '{query}' with a {resultType ?? "missing result type"}, not a matrix.");
        return result;
    }

    private static EnergyToTokenException Refused(Uri server, string query, int statusCode, string? kind, string? message) =>
        new($"Prometheus at {server} refused the query '{query}' (HTTP {statusCode}, {kind}): {message}");

    /// <summary>The result array: series objects of <c>metric</c> (labels) and <c>values</c> ([time, "value"] pairs).</summary>
    private static void ReadMatrix(ref Utf8JsonReader reader, List<(Dictionary<string, string>, List<RangePoint>)> result)
    {
        Expect(ref reader, JsonTokenType.StartArray);
        while (Next(ref reader) == JsonTokenType.StartObject)
        {
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            var points = new List<RangePoint>();
            while (Next(ref reader) == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("metric"))
                {
                    Expect(ref reader, JsonTokenType.StartObject);
                    while (Next(ref reader) == JsonTokenType.PropertyName)
                    {
                        var name = reader.GetString()!;
                        labels[name] = ReadString(ref reader) ?? "";
                    }
                }
                else if (reader.ValueTextEquals("values"))
                {
                    Expect(ref reader, JsonTokenType.StartArray);
                    while (Next(ref reader) == JsonTokenType.StartArray)
                    {
                        Expect(ref reader, JsonTokenType.Number);
                        var time = reader.GetDouble();
                        Expect(ref reader, JsonTokenType.String);
                        points.Add(new RangePoint(time, Value(reader.ValueSpan)));
                        Expect(ref reader, JsonTokenType.EndArray);
                    }
                }
                else Skip(ref reader);
            }
            result.Add((labels, points));
        }
    }

    /// <summary>A sample value: Prometheus writes values as strings so that NaN and ±Inf survive JSON.</summary>
    private static double Value(ReadOnlySpan<byte> text) => text switch
    {
        _ when text.SequenceEqual("+Inf"u8) => double.PositiveInfinity,
        _ when text.SequenceEqual("-Inf"u8) => double.NegativeInfinity,
        _ => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture),
    };

    private static JsonTokenType Next(ref Utf8JsonReader reader) =>
        reader.Read() ? reader.TokenType : throw new JsonException("The answer ends early.");

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType type)
    {
        if (Next(ref reader) != type) throw new JsonException($"Expected {type}, found {reader.TokenType}.");
    }

    private static string? ReadString(ref Utf8JsonReader reader)
    {
        Next(ref reader);
        return reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
    }

    /// <summary>Skips the value after a property name, whatever its shape.</summary>
    private static void Skip(ref Utf8JsonReader reader)
    {
        Next(ref reader);
        reader.Skip();
    }
}
