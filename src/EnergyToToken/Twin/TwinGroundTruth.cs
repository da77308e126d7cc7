using System.Text.Json;

namespace EnergyToToken.Twin;

/// <summary>
/// The twin's ground-truth log: every finished request's exact energy by phase and token times, kept in memory and/or
/// written as JSON lines. For validating what e2t measures; nothing that measures may read it.
/// </summary>
public sealed class TwinGroundTruth : IDisposable
{
    private readonly object _gate = new();
    private readonly List<RequestTruth>? _requests;
    private readonly FileStream? _file;
    private readonly Utf8JsonWriter? _json;
    private bool _disposed;

    internal TwinGroundTruth(bool keep, string? path)
    {
        if (keep) _requests = [];
        if (path is null) return;
        try
        {
            _file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new EnergyToTokenException($"Cannot write the ground-truth log '{path}': {e.Message} Choose a writable path for --ground-truth.");
        }
        _json = new Utf8JsonWriter(_file);
    }

    /// <summary>Finished requests so far (a copy), in the order they finished; empty when the log is not kept in memory.</summary>
    public IReadOnlyList<RequestTruth> Requests
    {
        get
        {
            lock (_gate) return _requests is null ? [] : [.. _requests];
        }
    }

    /// <summary>Whether per-token times are recorded (they cost memory at 100 k tokens/s).</summary>
    public bool RecordsTokens => _requests is not null || _json is not null;

    internal void Commit(RequestTruth truth)
    {
        lock (_gate)
        {
            _requests?.Add(truth);
            if (_json is null || _disposed) return;
            _json.Reset();
            _json.WriteStartObject();
            _json.WriteNumber("id", truth.Id);
            _json.WriteNumber("arrivalSeconds", truth.ArrivalSeconds);
            _json.WriteNumber("promptTokens", truth.PromptTokens);
            _json.WriteNumber("cachedPromptTokens", truth.CachedPromptTokens);
            _json.WriteNumber("outputTokens", truth.OutputTokens);
            _json.WriteNumber("reasoningTokens", truth.ReasoningTokens);
            _json.WriteNumber("prefillJoules", truth.PrefillJoules);
            _json.WriteNumber("decodeJoules", truth.DecodeJoules);
            _json.WriteNumber("preemptions", truth.Preemptions);
            _json.WriteString("finish", truth.Finish?.ToString().ToLowerInvariant());
            Times("sampledSeconds", truth.SampledSeconds);
            Times("writtenSeconds", truth.WrittenSeconds);
            _json.WriteEndObject();
            _json.Flush();
            _file!.WriteByte((byte)'\n');
            _file.Flush();
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _json?.Dispose();
            _file?.Dispose();
        }
    }

    private void Times(string name, List<double> times)
    {
        _json!.WriteStartArray(name);
        foreach (var t in times) _json.WriteNumberValue(Math.Round(t, 6));
        _json.WriteEndArray();
    }
}
