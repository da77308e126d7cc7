namespace EnergyToToken.Load;

/// <summary>
/// Every request of a run as flat columns on the run's clock (s from its origin): what analysis reads, built from the
/// requests in memory or from a run directory. Chunk times sit in one array, request r's at
/// <c>[ChunkStart[r], ChunkStart[r + 1])</c>, so a 184 M-token trace is two arrays, not 184 M objects.
/// </summary>
public sealed class RequestTimeline
{
    public required int[] Index { get; init; }

    public required bool[] Warmup { get; init; }

    public required TerminalState[] State { get; init; }

    /// <summary>HTTP status of a failed response; 0 when there was none.</summary>
    public required int[] HttpStatus { get; init; }

    public required double[] Scheduled { get; init; }

    public required double[] Sent { get; init; }

    /// <summary>When the request ended (last byte, error or cancellation); NaN when it never did.</summary>
    public required double[] End { get; init; }

    public required int[] DrawnInputTokens { get; init; }

    public required int[] DrawnOutputTokens { get; init; }

    /// <summary>Prompt tokens from the server's usage; −1 when the server did not say.</summary>
    public required int[] PromptTokens { get; init; }

    public required int[] OutputTokens { get; init; }

    public required int[] ReasoningTokens { get; init; }

    public required bool[] UsageFromServer { get; init; }

    public required string[] FinishReason { get; init; }

    public required string[] ResponseId { get; init; }

    public required string[] Detail { get; init; }

    /// <summary>Request r's chunks are <c>ChunkTimes[ChunkStart[r]..ChunkStart[r + 1]]</c>; Count + 1 entries.</summary>
    public required int[] ChunkStart { get; init; }

    /// <summary>Arrival time of every output chunk (content or reasoning), request by request, s.</summary>
    public required double[] ChunkTimes { get; init; }

    public int Count => Index.Length;

    /// <summary>Input tokens: the server's count, else the count drawn for the prompt.</summary>
    public int InputTokens(int r) => PromptTokens[r] >= 0 ? PromptTokens[r] : DrawnInputTokens[r];

    public ReadOnlySpan<double> Chunks(int r) => ChunkTimes.AsSpan(ChunkStart[r], ChunkStart[r + 1] - ChunkStart[r]);

    public int ChunkCount(int r) => ChunkStart[r + 1] - ChunkStart[r];

    /// <summary>The requests of a run in memory, in the order given, on <paramref name="clock"/>.</summary>
    public static RequestTimeline From(IReadOnlyList<RunRequest> requests, RunClock clock)
    {
        var n = requests.Count;
        var start = new int[n + 1];
        for (var r = 0; r < n; r++) start[r + 1] = start[r] + requests[r].Record.OutputChunkTimestamps.Count;
        var times = new double[start[n]];
        for (var r = 0; r < n; r++)
        {
            var chunks = requests[r].Record.OutputChunkTimestamps;
            for (var k = 0; k < chunks.Count; k++) times[start[r] + k] = clock.Seconds(chunks[k]);
        }
        return new RequestTimeline
        {
            Index = [.. requests.Select(r => r.Index)],
            Warmup = [.. requests.Select(r => r.Warmup)],
            State = [.. requests.Select(r => r.Record.State)],
            HttpStatus = [.. requests.Select(r => r.Record.HttpStatus ?? 0)],
            Scheduled = [.. requests.Select(r => clock.Seconds(r.ScheduledTimestamp))],
            Sent = [.. requests.Select(r => clock.Seconds(r.Record.SentTimestamp))],
            End = [.. requests.Select(r => r.Record.EndTimestamp is { } e ? clock.Seconds(e) : double.NaN)],
            DrawnInputTokens = [.. requests.Select(r => r.InputTokens)],
            DrawnOutputTokens = [.. requests.Select(r => r.OutputTokens)],
            PromptTokens = [.. requests.Select(r => r.Record.PromptTokens ?? -1)],
            OutputTokens = [.. requests.Select(r => r.Record.OutputTokens)],
            ReasoningTokens = [.. requests.Select(r => r.Record.ReasoningTokens)],
            UsageFromServer = [.. requests.Select(r => r.Record.UsageFromServer)],
            FinishReason = [.. requests.Select(r => r.Record.FinishReason ?? "")],
            ResponseId = [.. requests.Select(r => r.Record.ResponseId ?? "")],
            Detail = [.. requests.Select(r => r.Record.Detail)],
            ChunkStart = start,
            ChunkTimes = times,
        };
    }
}
