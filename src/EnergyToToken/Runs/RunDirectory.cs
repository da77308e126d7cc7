using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using EnergyToToken.Load;
using EnergyToToken.Metering;

namespace EnergyToToken.Runs;

/// <summary>
/// A run's directory: the raw timelines on the run's clock (seconds from its origin) and <c>result.json</c>.
/// <list type="bullet">
/// <item><c>events.jsonl</c>: the append-only event log, one line per finished request (with its chunk times), flushed
/// as written, so a crash keeps everything up to the last line;</item>
/// <item><c>requests.parquet</c>, <c>chunks.parquet</c> (request, chunk, t_s), <c>power.parquet</c>, <c>telemetry.parquet</c>,
/// <c>server-metrics.parquet</c>: the timelines, in Apache Parquet (<see cref="Timelines"/>, <see cref="ChunkFile"/>);</item>
/// <item><c>run.json</c>: the facts analysis needs beside them (plan, deployment, idle windows, meters, analysis options);</item>
/// <item><c>result.json</c>: the summary;</item>
/// <item><c>manifest.json</c>: written last by <see cref="RunManifest.Write"/>, the size and SHA-256 of every other file.</item>
/// </list>
/// Every file but the log is written to a temporary name, flushed to disk and renamed, so a reader never sees half a file.
/// </summary>
public sealed class RunDirectory : IDisposable
{
    public const string EventLog = "events.jsonl";
    public const string Result = "result.json";
    private static readonly JsonWriterOptions LineOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private readonly Lock _gate = new();
    private readonly FileStream _log;
    private readonly Utf8JsonWriter _line;
    private IOException? _logFailure;

    private RunDirectory(string path, FileStream log)
    {
        Path = path;
        _log = log;
        _line = new Utf8JsonWriter(_log, LineOptions);
    }

    public string Path { get; }

    /// <summary>The first failure to append to the event log (a full disk), after which appends stop; null when none.</summary>
    public IOException? LogFailure => _logFailure;

    /// <summary>The default place for a run: <c>./e2t-runs/&lt;UTC timestamp&gt;-&lt;name&gt;</c>.</summary>
    public static string DefaultPath(string name, DateTimeOffset now) =>
        System.IO.Path.Combine("e2t-runs", $"{now.UtcDateTime:yyyyMMdd'T'HHmmss'Z'}-{name}");

    /// <summary>Creates the directory (refusing one that already holds a run) and opens its event log.</summary>
    public static RunDirectory Create(string path)
    {
        try
        {
            if (File.Exists(System.IO.Path.Combine(path, Result)) || File.Exists(System.IO.Path.Combine(path, EventLog)))
                throw new EnergyToTokenException($"'{path}' already holds a run. Give another --out, or move that run away first.");
            Directory.CreateDirectory(path);
            var log = new FileStream(System.IO.Path.Combine(path, EventLog), FileMode.CreateNew, FileAccess.Write, FileShare.Read, 64 * 1024);
            return new RunDirectory(path, log);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new EnergyToTokenException($"Cannot create the run directory '{path}': {e.Message}. Give a writable --out.");
        }
    }

    /// <summary>Appends one event and flushes it to the OS, so it survives the process.</summary>
    public void Append(Action<Utf8JsonWriter> fields)
    {
        lock (_gate)
        {
            if (_logFailure is not null) return;
            try
            {
                _line.Reset(_log);
                _line.WriteStartObject();
                fields(_line);
                _line.WriteEndObject();
                _line.Flush();
                _log.WriteByte((byte)'\n');
                _log.Flush();
            }
            catch (IOException e)
            {
                // A full disk must not stop the measurement: what is in memory is written (or reported) at the end.
                _logFailure = e;
            }
        }
    }

    /// <summary>Appends a finished request with every output chunk's arrival time.</summary>
    public void AppendRequest(RunRequest r, RunClock clock) => Append(w =>
    {
        w.WriteString("event", "request");
        WriteRequest(w, r, clock);
    });

    internal static void WriteRequest(Utf8JsonWriter w, RunRequest r, RunClock clock)
    {
        var record = r.Record;
        w.WriteNumber("index", r.Index);
        w.WriteBoolean("warmup", r.Warmup);
        w.WriteString("state", Reporting.ModelReport.Camel(record.State));
        if (record.HttpStatus is { } status) w.WriteNumber("httpStatus", status);
        w.WriteNumber("scheduled", clock.Seconds(r.ScheduledTimestamp));
        w.WriteNumber("sent", clock.Seconds(record.SentTimestamp));
        if (record.EndTimestamp is { } end) w.WriteNumber("end", clock.Seconds(end));
        w.WriteNumber("drawnInputTokens", r.InputTokens);
        w.WriteNumber("drawnOutputTokens", r.OutputTokens);
        if (record.PromptTokens is { } prompt) w.WriteNumber("promptTokens", prompt);
        w.WriteNumber("outputTokens", record.OutputTokens);
        w.WriteNumber("reasoningTokens", record.ReasoningTokens);
        w.WriteBoolean("usageFromServer", record.UsageFromServer);
        if (record.ResponseId is { } id) w.WriteString("responseId", id);
        if (record.FinishReason is { } reason) w.WriteString("finishReason", reason);
        if (record.Detail.Length > 0) w.WriteString("detail", record.Detail);
        w.WriteStartArray("chunks");
        foreach (var t in record.OutputChunkTimestamps) w.WriteNumberValue(clock.Seconds(t));
        w.WriteEndArray();
    }

    /// <summary>Writes the timelines of a finished (or interrupted) run, each file atomically, in Parquet (docs/runs.md).</summary>
    public void WriteTimelines(BenchResult result)
    {
        var clock = result.Clock;
        var requests = result.Requests;
        var n = requests.Count;
        double First(RunRequest r) => r.Record.OutputChunkTimestamps is { Count: > 0 } c ? clock.Seconds(c[0]) : double.NaN;
        double Last(RunRequest r) => r.Record.OutputChunkTimestamps is { Count: > 0 } c ? clock.Seconds(c[^1]) : double.NaN;
        WriteTable(Timelines.Requests, n, [
            requests.Select(r => r.Index).ToArray(),
            requests.Select(r => r.Warmup).ToArray(),
            requests.Select(r => Reporting.ModelReport.Camel(r.Record.State)).ToArray(),
            requests.Select(r => r.Record.HttpStatus).ToArray(),
            requests.Select(r => clock.Seconds(r.ScheduledTimestamp)).ToArray(),
            requests.Select(r => clock.Seconds(r.Record.SentTimestamp)).ToArray(),
            requests.Select(First).ToArray(),
            requests.Select(Last).ToArray(),
            requests.Select(r => r.Record.EndTimestamp is { } e ? clock.Seconds(e) : double.NaN).ToArray(),
            requests.Select(r => r.InputTokens).ToArray(),
            requests.Select(r => r.OutputTokens).ToArray(),
            requests.Select(r => r.Record.PromptTokens).ToArray(),
            requests.Select(r => r.Record.OutputTokens).ToArray(),
            requests.Select(r => r.Record.ReasoningTokens).ToArray(),
            requests.Select(r => r.Record.UsageFromServer).ToArray(),
            requests.Select(r => r.Record.OutputChunkTimestamps.Count).ToArray(),
            requests.Select(r => r.Record.FinishReason).ToArray(),
            requests.Select(r => r.Record.ResponseId).ToArray(),
            requests.Select(r => r.Record.Detail).ToArray(),
        ]);
        // Chunk times are the bulk of a run (184 M for an hour at 1,024 streams): a file of their own, read column by column.
        WriteAtomicBinary(ChunkFile.Name, stream => ChunkFile.Write(stream, result.Requests
            .OrderBy(r => r.Index)
            .Select(r => (r.Index, r.Record.OutputChunkTimestamps.Select(t => clock.Seconds(t)).ToArray()))));
        var meters = result.Samples;
        WriteTable(Timelines.Power, meters.Sum(m => m.At.Length), [
            meters.SelectMany(m => Enumerable.Repeat(m.Channel.Id, m.At.Length)).ToArray(),
            meters.SelectMany(m => Enumerable.Repeat(Reporting.ModelReport.Camel(m.Channel.Scope), m.At.Length)).ToArray(),
            meters.SelectMany(m => m.At).ToArray(),
            meters.SelectMany(m => m.Joules).ToArray(),
            meters.SelectMany(m => m.Watts).ToArray(),
            meters.SelectMany(m => m.Updated).ToArray(),
        ]);
        // Long form, one row per gauge per read, so meters with different gauges share one table.
        var telemetry = result.Telemetry;
        var rows = telemetry.Select((t, set) => (Set: set, Samples: t))
            .SelectMany(s => Enumerable.Range(0, s.Samples.At.Length).SelectMany(i => s.Samples.Names.Select((name, g) => (s.Set, s.Samples, Read: i, Gauge: g))))
            .ToList();
        WriteTable(Timelines.Telemetry, rows.Count, [
            rows.Select(r => r.Set).ToArray(),
            rows.Select(r => r.Samples.At[r.Read]).ToArray(),
            rows.Select(r => r.Samples.Names[r.Gauge].Id).ToArray(),
            rows.Select(r => r.Samples.Values[r.Read * r.Samples.Names.Count + r.Gauge]).ToArray(),
        ]);
        var scrapes = result.ServerMetrics;
        WriteTable(Timelines.ServerMetrics, scrapes.Count, [
            scrapes.Select(s => clock.Seconds(s.Timestamp)).ToArray(),
            scrapes.Select(s => s.Running).ToArray(),
            scrapes.Select(s => s.Waiting).ToArray(),
            scrapes.Select(s => s.KvCacheUsage).ToArray(),
            scrapes.Select(s => s.PromptTokens).ToArray(),
            scrapes.Select(s => s.GenerationTokens).ToArray(),
            scrapes.Select(s => s.Preemptions).ToArray(),
        ]);
    }

    private void WriteTable(TableSchema schema, int rows, Array[] columns) =>
        WriteAtomicBinary(schema.File, stream => ParquetTable.Write(stream, schema, rows, columns));

    /// <summary>Writes <c>run.json</c>, the facts analysis needs beside the timelines, atomically.</summary>
    public void WriteFacts(string json) => WriteAtomic(RunFacts.File, w => w.Write(json));

    /// <summary>Writes <c>result.json</c> atomically.</summary>
    public void WriteResult(string json) => WriteAtomic(Result, w => w.Write(json));

    /// <summary>Writes a file to a temporary name, flushes it to disk and renames it into place.</summary>
    public void WriteAtomic(string name, Action<TextWriter> body) => WriteAtomic(Path, name, body);

    /// <summary>Writes a binary file to a temporary name, flushes it to disk and renames it into place.</summary>
    private void WriteAtomicBinary(string name, Action<Stream> body)
    {
        var target = System.IO.Path.Combine(Path, name);
        var temporary = target + ".tmp";
        try
        {
            using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 64 * 1024))
            {
                body(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, target, overwrite: true);
        }
        catch (IOException)
        {
            TryDelete(temporary);
            throw;
        }
    }

    /// <summary>Replaces one file of an existing run directory atomically (<c>e2t analyze --write</c>).</summary>
    public static void WriteFile(string directory, string name, string text)
    {
        try
        {
            WriteAtomic(directory, name, w => w.Write(text));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new EnergyToTokenException($"Cannot write {name} in '{directory}': {e.Message}", e);
        }
    }

    private static void WriteAtomic(string directory, string name, Action<TextWriter> body)
    {
        var target = System.IO.Path.Combine(directory, name);
        var temporary = target + ".tmp";
        try
        {
            using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 64 * 1024))
            {
                using var writer = new StreamWriter(stream, new UTF8Encoding(false), 64 * 1024, leaveOpen: true) { NewLine = "\n" };
                body(writer);
                writer.Flush();
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, target, overwrite: true);
        }
        catch (IOException)
        {
            TryDelete(temporary);
            throw;
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _line.Dispose();
            try
            {
                _log.Dispose();
            }
            catch (IOException e)
            {
                _logFailure ??= e;
            }
        }
    }
}
