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
}

/// <summary>
/// Prometheus's HTTP range query (<c>POST /api/v1/query_range</c>, form-encoded), split into chunks so that no series
/// exceeds the server's limit of 11,000 points per query, with the chunks' series joined by their label sets.
/// </summary>
public sealed class PrometheusRangeClient(HttpClient http, Uri server)
{
    /// <summary>Prometheus refuses a range query with more than 11,000 points per series; chunks stay under it.</summary>
    public const int MaxPointsPerQuery = 11_000;

    /// <summary>Points per chunk: below the limit with room for the inclusive end point.</summary>
    public int PointsPerChunk { get; init; } = 10_000;

    /// <summary>The chunks a range is split into: [start, end] pairs on the step grid, each under <see cref="PointsPerChunk"/> points.</summary>
    public static IReadOnlyList<(double Start, double End)> Chunks(double start, double end, double step, int pointsPerChunk)
    {
        var chunks = new List<(double, double)>();
        var span = step * (pointsPerChunk - 1);
        for (var s = start; s <= end; s += span + step)
            chunks.Add((s, Math.Min(end, s + span)));
        return chunks;
    }

    /// <summary>Runs the query over [start, end] at the step and returns each series once, its chunks' points joined.</summary>
    /// <exception cref="EnergyToTokenException">The server cannot be reached, answers an HTTP error, or reports an error for the query.</exception>
    public async Task<IReadOnlyList<RangeSeries>> QueryRangeAsync(string query, double start, double end, double step, CancellationToken cancellationToken = default)
    {
        var joined = new Dictionary<string, (Dictionary<string, string> Labels, List<RangePoint> Points)>();
        foreach (var (s, e) in Chunks(start, end, step, PointsPerChunk))
        {
            foreach (var series in await QueryChunkAsync(query, s, e, step, cancellationToken))
            {
                var key = string.Join('\u0001', series.Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => l.Key + "=" + l.Value));
                if (!joined.TryGetValue(key, out var entry)) joined[key] = entry = (series.Labels, []);
                entry.Points.AddRange(series.Points);
            }
        }
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
        string body;
        try
        {
            response = await http.PostAsync(url, form, cancellationToken);
            body = await response.Content.ReadAsStringAsync(cancellationToken);
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
    public static List<(Dictionary<string, string> Labels, List<RangePoint> Points)> Parse(string body, int statusCode, string query, Uri server)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException)
        {
            var head = body.Length > 200 ? body[..200] + "…" : body;
            throw new EnergyToTokenException($"Prometheus at {server} answered HTTP {statusCode} to the query '{query}' with something that is not its JSON API: {head.Trim()} Is the URL the Prometheus server's root?");
        }
        using (document)
        {
            var root = document.RootElement;
            var status = root.TryGetProperty("status", out var s) ? s.GetString() : null;
            if (status != "success")
            {
                var kind = root.TryGetProperty("errorType", out var t) ? t.GetString() : "unknown";
                var message = root.TryGetProperty("error", out var m) ? m.GetString() : body;
                throw new EnergyToTokenException($"Prometheus at {server} refused the query '{query}' (HTTP {statusCode}, {kind}): {message}");
            }
            var data = root.GetProperty("data");
            if (data.GetProperty("resultType").GetString() != "matrix")
                throw new EnergyToTokenException($"Prometheus answered the range query '{query}' with a {data.GetProperty("resultType").GetString()}, not a matrix.");
            var result = new List<(Dictionary<string, string>, List<RangePoint>)>();
            foreach (var series in data.GetProperty("result").EnumerateArray())
            {
                var labels = series.GetProperty("metric").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "", StringComparer.Ordinal);
                var points = new List<RangePoint>();
                foreach (var pair in series.GetProperty("values").EnumerateArray())
                {
                    // Prometheus writes values as strings so that NaN and ±Inf survive JSON.
                    var value = pair[1].GetString() switch
                    {
                        "+Inf" => double.PositiveInfinity,
                        "-Inf" => double.NegativeInfinity,
                        var text => double.Parse(text!, NumberStyles.Float, CultureInfo.InvariantCulture),
                    };
                    points.Add(new RangePoint(pair[0].GetDouble(), value));
                }
                result.Add((labels, points));
            }
            return result;
        }
    }
}
