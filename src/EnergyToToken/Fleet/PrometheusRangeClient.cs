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
    /// <summary>Points per chunk and series: under Prometheus's limit of 11,000 points per series, with room for the inclusive end.</summary>
    public const int PointsPerChunk = 10_000;

    /// <summary>
    /// Points per answer across all its series, the target chunks are sized to. An answer is held whole while it is
    /// parsed, so this bounds the memory one query takes (about 25 bytes a point on the wire): 250,000 points is about 6 MB.
    /// </summary>
    public const int PointsPerAnswer = 250_000;

    /// <summary>
    /// Steps in the first chunk, before the number of series is known. Later chunks are sized from the most series any
    /// answer has had, and grow at most fourfold, so a metric that appears mid-range cannot make one answer huge; a
    /// query that has returned nothing yet grows no further than <see cref="EmptyChunkPoints"/>.
    /// </summary>
    public const int FirstChunkPoints = 8;

    /// <summary>The largest chunk while a query has returned no series: 1,000 series appearing in it stay near the target.</summary>
    public const int EmptyChunkPoints = 240;

    /// <summary><see cref="PointsPerAnswer"/>, which tests shrink to make a real server's short range take many chunks.</summary>
    internal int AnswerPoints { get; init; } = PointsPerAnswer;

    /// <summary><see cref="FirstChunkPoints"/>, which tests shrink likewise.</summary>
    internal int FirstPoints { get; init; } = FirstChunkPoints;

    /// <summary>Warnings Prometheus (or Thanos, partial answers) attached to its answers, each once.</summary>
    public IReadOnlyCollection<string> Warnings => _warnings;

    private readonly SortedSet<string> _warnings = new(StringComparer.Ordinal);

    /// <summary>The size of the chunk after one of <paramref name="current"/> steps, given the most series an answer has had.</summary>
    private int NextChunkPoints(int current, int mostSeries)
    {
        var fits = mostSeries == 0 ? EmptyChunkPoints : Math.Max(1, AnswerPoints / mostSeries);
        return (int)Math.Clamp(Math.Min(fits, 4L * current), 1, PointsPerChunk);
    }

    /// <summary>
    /// Runs the query over [start, end] at the step and hands each chunk's series to <paramref name="onSeries"/> in
    /// time order: a series that spans several chunks arrives once per chunk, its points continuing where the last
    /// piece stopped. Nothing is kept here, so memory is one answer's, whatever the range.
    /// </summary>
    /// <exception cref="EnergyToTokenException">The server cannot be reached, answers an HTTP error, or reports an error for the query.</exception>
    public async Task QueryRangeAsync(string query, double start, double end, double step, Action<RangeSeries> onSeries, CancellationToken cancellationToken = default)
    {
        // Grid points by index, so that chunk edges do not drift with repeated float addition.
        var total = (long)Math.Round((end - start) / step) + 1;
        var chunk = FirstPoints;
        var mostSeries = 0;
        for (long first = 0; first < total;)
        {
            var points = (int)Math.Min(chunk, total - first);
            var series = await QueryChunkAsync(query, start + first * step, start + (first + points - 1) * step, step, cancellationToken);
            foreach (var (labels, values) in series) onSeries(new RangeSeries(labels, values));
            mostSeries = Math.Max(mostSeries, series.Count);
            first += points;
            chunk = NextChunkPoints(chunk, mostSeries);
        }
    }

    /// <summary>Runs the query and returns each series once, its chunks' points joined: the tests' view of what the chunks add up to.</summary>
    internal async Task<IReadOnlyList<RangeSeries>> QueryRangeAsync(string query, double start, double end, double step, CancellationToken cancellationToken = default)
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

    /// <summary>
    /// An instant query (<c>POST /api/v1/query</c>) at <paramref name="time"/>: one point per series. For aggregates over
    /// the range, such as how often each target was down, whose answer is one number per series however long the range.
    /// </summary>
    /// <exception cref="EnergyToTokenException">As <see cref="QueryRangeAsync(string, double, double, double, Action{RangeSeries}, CancellationToken)"/>.</exception>
    public async Task<IReadOnlyList<RangeSeries>> QueryInstantAsync(string query, double time, CancellationToken cancellationToken = default)
    {
        var answer = await PostAsync("api/v1/query", query, new() { ["query"] = query, ["time"] = Seconds(time) }, "vector", cancellationToken);
        return [.. answer.Select(s => new RangeSeries(s.Labels, s.Points))];
    }

    private Task<List<(Dictionary<string, string> Labels, List<RangePoint> Points)>> QueryChunkAsync(string query, double start, double end, double step, CancellationToken cancellationToken) =>
        PostAsync("api/v1/query_range", query, new() { ["query"] = query, ["start"] = Seconds(start), ["end"] = Seconds(end), ["step"] = Seconds(step) }, "matrix", cancellationToken);

    /// <summary>Times and steps in seconds to the millisecond, Prometheus's resolution (FleetOptions keeps the step whole milliseconds).</summary>
    private static string Seconds(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);

    private async Task<List<(Dictionary<string, string> Labels, List<RangePoint> Points)>> PostAsync(string path, string query, Dictionary<string, string> fields, string resultType, CancellationToken cancellationToken)
    {
        var url = new Uri(server, path);
        using var form = new FormUrlEncodedContent(fields);
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
        using (response) return Parse(body, (int)response.StatusCode, query, server, _warnings, resultType);
    }

    /// <summary>Parses a query_range answer (pure): the matrix, or an explained failure for an HTTP error or <c>"status":"error"</c>.</summary>
    public static List<(Dictionary<string, string> Labels, List<RangePoint> Points)> Parse(string body, int statusCode, string query, Uri server, ISet<string>? warnings = null, string resultType = "matrix") =>
        Parse(System.Text.Encoding.UTF8.GetBytes(body), statusCode, query, server, warnings, resultType);

    /// <summary>
    /// Parses a query_range answer from its UTF-8 bytes, as it came off the wire, with a forward-only reader: an answer
    /// can hold a quarter of a million points, and a document tree of it would cost several times its size.
    /// </summary>
    /// <param name="warnings">Where the answer's <c>warnings</c> go (Thanos's partial answers say what is missing there).</param>
    /// <param name="expected">The result type the query asks for: <c>matrix</c> for a range query, <c>vector</c> for an instant one.</param>
    public static List<(Dictionary<string, string> Labels, List<RangePoint> Points)> Parse(ReadOnlyMemory<byte> body, int statusCode, string query, Uri server, ISet<string>? warnings = null, string expected = "matrix")
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
                else if (reader.ValueTextEquals("warnings") && warnings is not null)
                {
                    Expect(ref reader, JsonTokenType.StartArray);
                    while (Next(ref reader) == JsonTokenType.String) warnings.Add($"Prometheus warned about '{query}': {reader.GetString()}");
                }
                else if (reader.ValueTextEquals("data"))
                {
                    Expect(ref reader, JsonTokenType.StartObject);
                    while (Next(ref reader) == JsonTokenType.PropertyName)
                    {
                        if (reader.ValueTextEquals("resultType")) resultType = ReadString(ref reader);
                        else if (reader.ValueTextEquals("result") && (resultType is null || resultType == expected)) ReadSeries(ref reader, result);
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
        if (resultType != expected)
            throw new EnergyToTokenException($"Prometheus answered the query '{query}' with a {resultType ?? "missing result type"}, not a {expected}.");
        return result;
    }

    private static EnergyToTokenException Refused(Uri server, string query, int statusCode, string? kind, string? message) =>
        new($"Prometheus at {server} refused the query '{query}' (HTTP {statusCode}, {kind}): {message}");

    /// <summary>The result array: series objects of <c>metric</c> (labels) and <c>values</c> ([time, "value"] pairs), or <c>value</c> (one pair) in a vector.</summary>
    private static void ReadSeries(ref Utf8JsonReader reader, List<(Dictionary<string, string>, List<RangePoint>)> result)
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
                    while (Next(ref reader) == JsonTokenType.StartArray) points.Add(ReadPair(ref reader));
                }
                else if (reader.ValueTextEquals("value"))
                {
                    Expect(ref reader, JsonTokenType.StartArray);
                    points.Add(ReadPair(ref reader));
                }
                else Skip(ref reader);
            }
            result.Add((labels, points));
        }
    }

    /// <summary>The rest of a [time, "value"] pair, its opening bracket read.</summary>
    private static RangePoint ReadPair(ref Utf8JsonReader reader)
    {
        Expect(ref reader, JsonTokenType.Number);
        var time = reader.GetDouble();
        Expect(ref reader, JsonTokenType.String);
        var point = new RangePoint(time, Value(reader.ValueSpan));
        Expect(ref reader, JsonTokenType.EndArray);
        return point;
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
