using System.Text;
using System.Text.Json;

namespace EnergyToToken.Load;

/// <summary>Which file format a dataset is in.</summary>
public enum DatasetFormat
{
    /// <summary>One JSON object per line: <c>{"prompt": "...", "output_tokens": 128}</c> (<c>output_tokens</c> optional).</summary>
    Jsonl,

    /// <summary>ShareGPT conversations: a JSON array of <c>{"conversations": [{"from": "human", "value": ...}, {"from": "gpt", ...}]}</c>.</summary>
    ShareGpt,

    /// <summary>
    /// A request trace in the Mooncake format, one JSON object per line: <c>timestamp</c> (ms from the trace's start),
    /// <c>input_length</c>, <c>output_length</c> and optionally <c>hash_ids</c> (one id per 512-token prompt block, shared
    /// ids meaning shared prefixes) or a <c>prompt</c>.
    /// </summary>
    Trace,
}

/// <summary>One entry of a dataset or trace. Token counts of text are taken when the entry is used, not at load.</summary>
/// <param name="Prompt">The prompt text; null for a trace entry given by lengths.</param>
/// <param name="InputTokens">The prompt's length when the file gives it (traces).</param>
/// <param name="OutputTokens">The output length the file asks for; null to draw from the workload's distribution.</param>
/// <param name="Reply">The reference reply (ShareGPT), whose cl100k length is the output length, as vLLM's benchmark does.</param>
/// <param name="TimestampSeconds">When the trace sent it, seconds from the trace's start.</param>
/// <param name="BlockHashes">Mooncake's prompt block ids: equal ids are equal 512-token blocks.</param>
public sealed record DatasetEntry(string? Prompt, int? InputTokens, int? OutputTokens, string? Reply = null, double? TimestampSeconds = null, IReadOnlyList<long>? BlockHashes = null);

/// <summary>Prompts from a file: JSONL prompts, ShareGPT conversations, or a timed trace to replay.</summary>
public sealed class Dataset
{
    /// <summary>Tokens per Mooncake hash block.</summary>
    public const int TraceBlockTokens = 512;

    private Dataset(string path, DatasetFormat format, IReadOnlyList<DatasetEntry> entries, int skipped)
    {
        Path = path;
        Format = format;
        Entries = entries;
        Skipped = skipped;
    }

    public string Path { get; }

    public DatasetFormat Format { get; }

    public IReadOnlyList<DatasetEntry> Entries { get; }

    /// <summary>Entries left out because they held no usable prompt (a ShareGPT conversation without a human turn and a reply).</summary>
    public int Skipped { get; }

    /// <summary>The trace's send times, seconds from its first request; null for files without timestamps.</summary>
    public IReadOnlyList<double>? Offsets =>
        Format == DatasetFormat.Trace ? [.. Entries.Select(e => e.TimestampSeconds!.Value - Entries[0].TimestampSeconds!.Value)] : null;

    public static string Formats => "jsonl ({\"prompt\": ..., \"output_tokens\": N} per line), sharegpt (a JSON array of {\"conversations\": [...]}), trace (Mooncake: {\"timestamp\": MS, \"input_length\": N, \"output_length\": N, \"hash_ids\": [...]} per line)";

    /// <summary>Reads a dataset; <paramref name="format"/> null guesses it from the content (a JSON array is ShareGPT, lines with a timestamp a trace).</summary>
    public static Dataset Load(string path, DatasetFormat? format = null)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new EnergyToTokenException($"Dataset '{path}' cannot be read: {e.Message}. Check the path.");
        }
        var trimmed = text.AsSpan().TrimStart();
        format ??= trimmed.StartsWith("[") ? DatasetFormat.ShareGpt
            : trimmed.StartsWith("{") && FirstLine(text).Contains("\"timestamp\"", StringComparison.Ordinal) ? DatasetFormat.Trace
            : DatasetFormat.Jsonl;
        var (entries, skipped) = format switch
        {
            DatasetFormat.ShareGpt => ShareGpt(path, text),
            _ => (Lines(path, text, format.Value), 0),
        };
        if (entries.Count == 0)
            throw new EnergyToTokenException($"Dataset '{path}' holds no usable {format.Value.ToString().ToLowerInvariant()} entries ({skipped} skipped). Formats: {Formats}.");
        return new Dataset(path, format.Value, entries, skipped);
    }

    private static string FirstLine(string text)
    {
        var line = text.AsSpan().TrimStart();
        var end = line.IndexOfAny('\r', '\n');
        return (end < 0 ? line : line[..end]).ToString();
    }

    private static List<DatasetEntry> Lines(string path, string text, DatasetFormat format)
    {
        var entries = new List<DatasetEntry>();
        var number = 0;
        foreach (var raw in text.Split('\n'))
        {
            number++;
            var line = raw.Trim();
            if (line.Length == 0) continue;
            string Where() => $"Dataset '{path}' line {number}";
            try
            {
                using var doc = JsonDocument.Parse(line);
                var o = doc.RootElement;
                if (o.ValueKind != JsonValueKind.Object) throw new EnergyToTokenException($"{Where()} is not a JSON object. Formats: {Formats}.");
                var prompt = o.TryGetProperty("prompt", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;
                if (format == DatasetFormat.Jsonl)
                {
                    if (string.IsNullOrEmpty(prompt)) throw new EnergyToTokenException($"{Where()} has no \"prompt\" string. Write {{\"prompt\": \"...\", \"output_tokens\": 128}}.");
                    entries.Add(new DatasetEntry(prompt, null, Count(o, "output_tokens", Where)));
                    continue;
                }
                if (!o.TryGetProperty("timestamp", out var t) || t.ValueKind != JsonValueKind.Number || !t.TryGetDouble(out var ms) || !double.IsFinite(ms) || ms < 0)
                    throw new EnergyToTokenException($"{Where()} has no \"timestamp\" (ms from the trace's start, ≥ 0).");
                var input = Count(o, "input_length", Where);
                var output = Count(o, "output_length", Where) ?? throw new EnergyToTokenException($"{Where()} has no \"output_length\".");
                if (input is null && prompt is null) throw new EnergyToTokenException($"{Where()} has neither \"input_length\" nor \"prompt\".");
                List<long>? hashes = null;
                if (o.TryGetProperty("hash_ids", out var h) && h.ValueKind == JsonValueKind.Array)
                    hashes = [.. h.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.Number && x.TryGetInt64(out var id) ? id : throw new EnergyToTokenException($"{Where()}: hash_ids must be whole numbers."))];
                // Checked here, where the file's line number is known (blank lines are not entries).
                if (entries.Count > 0 && ms / 1000 < entries[^1].TimestampSeconds)
                    throw new EnergyToTokenException($"Trace '{path}' line {number}: its timestamp is earlier than the line before; a trace must be in time order.");
                entries.Add(new DatasetEntry(prompt, input, output, null, ms / 1000, hashes));
            }
            catch (JsonException e)
            {
                throw new EnergyToTokenException($"{Where()} is not valid JSON ({e.Message}). Formats: {Formats}.");
            }
        }
        return entries;
    }

    private static int? Count(JsonElement o, string name, Func<string> where)
    {
        if (!o.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        return v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var n) && n >= 1 ? n : throw new EnergyToTokenException($"{where()}: \"{name}\" must be a whole number ≥ 1 (was {v.GetRawText()}).");
    }

    private static (List<DatasetEntry>, int) ShareGpt(string path, string text)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(text);
        }
        catch (JsonException e)
        {
            throw new EnergyToTokenException($"Dataset '{path}' is not valid JSON ({e.Message}). Formats: {Formats}.");
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Array) throw new EnergyToTokenException($"Dataset '{path}': a ShareGPT file is a JSON array of conversations.");
            var entries = new List<DatasetEntry>();
            var skipped = 0;
            foreach (var item in doc.RootElement.EnumerateArray())
            {
                // vLLM's rule: the first turn is the prompt, the second the reply whose length the request asks for.
                var turns = item.ValueKind == JsonValueKind.Object && item.TryGetProperty("conversations", out var c) && c.ValueKind == JsonValueKind.Array
                    ? c.EnumerateArray().Where(t => t.ValueKind == JsonValueKind.Object).ToList()
                    : [];
                string? Value(JsonElement turn) => turn.TryGetProperty("value", out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
                if (turns.Count < 2 || Value(turns[0]) is not { Length: > 0 } prompt || Value(turns[1]) is not { Length: > 0 } reply)
                {
                    skipped++;
                    continue;
                }
                entries.Add(new DatasetEntry(prompt, null, null, reply));
            }
            return (entries, skipped);
        }
    }
}

/// <summary>A request about to be sent: its prompt and the lengths it asks for.</summary>
/// <param name="InputTokens">The prompt's length in cl100k tokens (the server's usage report is what results use).</param>
public readonly record struct PlannedRequest(string Prompt, int InputTokens, int OutputTokens);

/// <summary>Makes the requests of a run, in index order, from the seed alone: synthetic prompts, a dataset's, or a trace's.</summary>
internal sealed class RequestSource
{
    private readonly WorkloadOptions _workload;
    private readonly PromptFactory _prompts;
    private readonly Random _lengths;
    private readonly int[]? _order;

    public RequestSource(WorkloadOptions workload)
    {
        _workload = workload;
        _ = TokenText.Instance; // load the tokenizer now, not on the first request's clock
        _prompts = new PromptFactory(workload.Seed, workload.SharedPrefixTokens);
        _lengths = new Random(PromptFactory.Mix(workload.Seed, 0x1e7));
        if (workload.Dataset is { Format: not DatasetFormat.Trace } d)
        {
            // A dataset is sampled in a seeded shuffled order (cycling when the run is longer), as vLLM samples it.
            _order = [.. Enumerable.Range(0, d.Entries.Count)];
            new Random(PromptFactory.Mix(workload.Seed, 0xda7a)).Shuffle(_order);
        }
    }

    /// <summary>Request <paramref name="index"/>; called in index order.</summary>
    public PlannedRequest Create(int index)
    {
        var text = TokenText.Instance;
        if (_workload.Dataset is not { } dataset)
        {
            var input = _workload.InputTokens.Draw(_lengths);
            return new PlannedRequest(_prompts.Create(index, input), input, _workload.OutputTokens.Draw(_lengths));
        }
        var entry = dataset.Entries[_order is null ? index % dataset.Entries.Count : _order[index % _order.Length]];
        var output = entry.OutputTokens ?? (entry.Reply is { } reply ? Math.Max(1, text.Count(reply)) : _workload.OutputTokens.Draw(_lengths));
        if (entry.Prompt is { } prompt) return new PlannedRequest(prompt, text.Count(prompt), output);
        return new PlannedRequest(TracePrompt(entry, index), entry.InputTokens!.Value, output);
    }

    /// <summary>A trace prompt of its exact length: each hash id's block is the same words wherever it appears (so shared prefixes are shared), the rest the request's own.</summary>
    private string TracePrompt(DatasetEntry entry, int index)
    {
        var words = TokenText.Instance.Vocabulary;
        var tokens = entry.InputTokens!.Value;
        var builder = new StringBuilder(tokens * 7);
        var hashes = entry.BlockHashes ?? [];
        var own = new Random(PromptFactory.Mix(_workload.Seed, index));
        for (var k = 0; k < tokens; k += Dataset.TraceBlockTokens)
        {
            var block = k / Dataset.TraceBlockTokens;
            var random = block < hashes.Count ? new Random(PromptFactory.Mix(_workload.Seed ^ 0xb10c, hashes[block])) : own;
            for (var j = k; j < Math.Min(tokens, k + Dataset.TraceBlockTokens); j++) builder.Append(TokenText.Instance.Text(words[random.Next(words.Length)]));
        }
        return builder.ToString();
    }
}
