using System.Globalization;
using System.Text;
using System.Text.Json;
using EnergyToToken.Load;
using EnergyToToken.Metering;
using EnergyToToken.Runs;

namespace EnergyToToken.Analysis;

/// <summary>
/// A run read back from its directory: the facts of <c>run.json</c> and every timeline. Analysis reads only this, so a
/// run analysed by the bench and the same run analysed again by <c>e2t analyze</c> give the same bytes.
/// </summary>
public sealed class RunData
{
    public required string Directory { get; init; }

    /// <summary>The root of <c>run.json</c>, kept to copy the plan into the result as written.</summary>
    public required JsonElement Facts { get; init; }

    public required RequestTimeline Requests { get; init; }

    public required IReadOnlyList<MeterSamples> Meters { get; init; }

    public required IReadOnlyList<TelemetrySamples> Telemetry { get; init; }

    /// <summary>The server's scraped metrics: time, running, waiting, KV usage, prompt tokens, generation tokens, preemptions.</summary>
    public required IReadOnlyList<double[]> ServerMetrics { get; init; }

    public string Name => Facts.GetProperty("name").GetString()!;

    public bool Complete => Facts.GetProperty("complete").GetBoolean();

    public bool Simulated => Facts.GetProperty("simulated").GetBoolean();

    public Slo? Slo => RunFacts.OptionalString(Facts, "slo") is { } text ? Slo.Parse(text) : null;

    public ValidityOptions Validity
    {
        get
        {
            var v = Facts.GetProperty("validity");
            return new ValidityOptions
            {
                MaxErrorRate = v.GetProperty("maxErrorRate").GetDouble(),
                FailOnClientLimited = v.GetProperty("failOnClientLimited").GetBoolean(),
                AllowModeled = v.GetProperty("allowModeled").GetBoolean(),
            };
        }
    }

    public (double From, double To) Window => RunFacts.OptionalSpan(Facts.GetProperty("marks"), "window")!.Value;

    public (double From, double To)? IdleBefore => RunFacts.OptionalSpan(Facts.GetProperty("marks"), "idleBefore");

    public (double From, double To)? IdleAfter => RunFacts.OptionalSpan(Facts.GetProperty("marks"), "idleAfter");

    public double ClientCpuShare => RunFacts.OptionalDouble(Facts.GetProperty("client"), "cpuShare") ?? double.NaN;

    public (double P50, double P99, double Max) SamplerLateness
    {
        get
        {
            var s = Facts.GetProperty("sampler");
            return (RunFacts.OptionalDouble(s, "latenessP50Seconds") ?? double.NaN, RunFacts.OptionalDouble(s, "latenessP99Seconds") ?? double.NaN,
                RunFacts.OptionalDouble(s, "latenessMaxSeconds") ?? double.NaN);
        }
    }

    /// <summary>The analysis options the run was analysed with when it was measured.</summary>
    public AnalysisOptions RecordedAnalysis => RunFacts.ReadAnalysis(Facts);

    public Deployment Deployment
    {
        get
        {
            var d = Facts.GetProperty("deployment");
            return new Deployment(RunFacts.OptionalString(d, "modelArchitecture"), RunFacts.OptionalString(d, "accelerator"),
                RunFacts.OptionalDouble(d, "devices") is { } n ? (int)n : null, RunFacts.OptionalString(d, "precision"),
                RunFacts.OptionalDouble(d, "powerLimitWatts"), RunFacts.OptionalString(d, "engine"));
        }
    }

    /// <summary>
    /// A run just measured, as its directory will hold it: the same facts JSON and the same numbers the timelines
    /// write (they round-trip exactly), so analysing this and analysing the directory later give the same bytes.
    /// </summary>
    public static RunData From(string directory, string factsJson, BenchResult result)
    {
        using var document = JsonDocument.Parse(factsJson);
        var clock = result.Clock;
        return new RunData
        {
            Directory = directory,
            Facts = document.RootElement.Clone(),
            Requests = RequestTimeline.From(result.Requests, clock),
            Meters = result.Samples,
            Telemetry = result.Telemetry,
            ServerMetrics = [.. result.ServerMetrics.Select(s => new[] { clock.Seconds(s.Timestamp), s.Running, s.Waiting, s.KvCacheUsage, s.PromptTokens, s.GenerationTokens, s.Preemptions })],
        };
    }

    /// <summary>Reads a run directory; a missing or damaged file is named with what to do.</summary>
    public static RunData Load(string directory)
    {
        if (!System.IO.Directory.Exists(directory))
            throw new EnergyToTokenException($"'{directory}' is not a directory. Give a run directory written by e2t bench (e2t-runs/…).");
        var factsPath = Path.Combine(directory, RunFacts.File);
        if (!File.Exists(factsPath))
            throw new EnergyToTokenException($"'{directory}' has no {RunFacts.File}: it is not a run directory, or it was written by an e2t older than issue 6 (re-run the bench), or the run was cut before its end (its events.jsonl keeps what was measured).");
        JsonElement facts;
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(factsPath));
            facts = document.RootElement.Clone();
            if (RunFacts.OptionalString(facts, "kind") != "e2t.run")
                throw new EnergyToTokenException($"'{factsPath}' is not an e2t run description (kind e2t.run).");
            if (RunFacts.OptionalDouble(facts, "schemaVersion") is not RunFacts.SchemaVersion)
                throw new EnergyToTokenException($"'{factsPath}' has schema version {RunFacts.OptionalDouble(facts, "schemaVersion")}; this e2t reads version {RunFacts.SchemaVersion}.");
        }
        catch (JsonException e)
        {
            throw new EnergyToTokenException($"'{factsPath}' is not valid JSON ({e.Message}): the run directory is damaged.");
        }
        try
        {
            var meters = ReadMeters(directory, facts);
            return new RunData
            {
                Directory = directory,
                Facts = facts,
                Requests = ReadRequests(directory),
                Meters = meters,
                Telemetry = ReadTelemetry(directory, facts),
                ServerMetrics = ReadServerMetrics(directory),
            };
        }
        catch (Exception e) when (e is FormatException or IndexOutOfRangeException or KeyNotFoundException or InvalidOperationException or ArgumentException or JsonException)
        {
            throw new EnergyToTokenException($"The run in '{directory}' is damaged: {e.Message} Run 'e2t verify {directory}' or re-run the bench.");
        }
    }

    private static RequestTimeline ReadRequests(string directory)
    {
        var rows = Csv.Read(Required(directory, "requests.csv"));
        var n = rows.Count;
        int[] I(int column) => [.. rows.Select(r => int.Parse(r[column], CultureInfo.InvariantCulture))];
        double[] D(int column) => [.. rows.Select(r => r[column].Length == 0 ? double.NaN : double.Parse(r[column], CultureInfo.InvariantCulture))];
        var index = I(0);
        var counts = I(15);
        var start = new int[n + 1];
        for (var r = 0; r < n; r++) start[r + 1] = start[r] + counts[r];
        // The file holds requests in index order; the timeline keeps requests.csv's order, so map each block.
        var byIndex = Enumerable.Range(0, n).OrderBy(r => index[r]).ToArray();
        // Each request's block is checked where it is read: its first and last rows must hold its index. The rows to
        // check, in file order, are checked row group by row group, so the request column is never held whole.
        var checks = new List<(int Row, int Request)>();
        var row = 0;
        foreach (var r in byIndex)
        {
            if (counts[r] > 0)
            {
                checks.Add((row, r));
                checks.Add((row + counts[r] - 1, r));
            }
            row += counts[r];
        }
        var next = 0;
        int? misplaced = null;
        var times = ChunkFile.ReadTimes(Required(directory, ChunkFile.Name), (requests, firstRow) =>
        {
            for (; next < checks.Count && checks[next].Row < firstRow + requests.Length; next++)
            {
                var (at, r) = checks[next];
                if (misplaced is null && requests[at - firstRow] != index[r]) misplaced = r;
            }
        });
        if (times.Length != start[n]) throw new FormatException($"{ChunkFile.Name} holds {times.Length} chunks but requests.csv counts {start[n]}.");
        if (misplaced is { } m) throw new FormatException($"{ChunkFile.Name} does not hold request {index[m]}'s {counts[m]} chunks where requests.csv puts them.");
        // Rows come in index order (requests.csv is usually in it too).
        var inOrder = byIndex.Select((r, i) => r == i).All(x => x);
        var placed = inOrder ? times : new double[times.Length];
        if (!inOrder)
        {
            row = 0;
            foreach (var r in byIndex)
            {
                Array.Copy(times, row, placed, start[r], counts[r]);
                row += counts[r];
            }
        }
        times = placed;
        return new RequestTimeline
        {
            Index = index,
            Warmup = [.. rows.Select(r => r[1] == "true")],
            State = [.. rows.Select(r => Enum.Parse<TerminalState>(r[2], ignoreCase: true))],
            HttpStatus = [.. rows.Select(r => r[3].Length == 0 ? 0 : int.Parse(r[3], CultureInfo.InvariantCulture))],
            Scheduled = D(4),
            Sent = D(5),
            End = D(8),
            DrawnInputTokens = I(9),
            DrawnOutputTokens = I(10),
            PromptTokens = [.. rows.Select(r => r[11].Length == 0 ? -1 : int.Parse(r[11], CultureInfo.InvariantCulture))],
            OutputTokens = I(12),
            ReasoningTokens = I(13),
            UsageFromServer = [.. rows.Select(r => r[14] == "true")],
            FinishReason = [.. rows.Select(r => r[16])],
            ResponseId = [.. rows.Select(r => r[17])],
            Detail = [.. rows.Select(r => r[18])],
            ChunkStart = start,
            ChunkTimes = times,
        };
    }

    private static List<MeterSamples> ReadMeters(string directory, JsonElement facts)
    {
        var byChannel = new Dictionary<string, (List<double> At, List<double> J, List<double> W, List<bool> U)>();
        foreach (var row in Csv.Read(Required(directory, "power.csv")))
        {
            if (!byChannel.TryGetValue(row[0], out var lists)) byChannel[row[0]] = lists = ([], [], [], []);
            lists.At.Add(Number(row[2]));
            lists.J.Add(Number(row[3]));
            lists.W.Add(Number(row[4]));
            lists.U.Add(row[5] == "true");
        }
        var meters = new List<MeterSamples>();
        foreach (var m in facts.GetProperty("meters").EnumerateArray())
        {
            var channel = RunFacts.Channel(m);
            var (at, j, w, u) = byChannel.TryGetValue(channel.Id, out var l) ? l : ([], [], [], []);
            meters.Add(new MeterSamples(channel, [.. at], [.. j], [.. w])
            {
                Updated = [.. u],
                SamplingInterval = TimeSpan.FromSeconds(m.GetProperty("samplingIntervalSeconds").GetDouble()),
                UpdatePeriod = RunFacts.OptionalDouble(m, "updatePeriodSeconds") is { } p ? TimeSpan.FromSeconds(p) : null,
                UpdatePeriodResolved = m.GetProperty("updatePeriodResolved").GetBoolean(),
                Events = RunFacts.Events(m, channel.Id),
                Reads = m.GetProperty("reads").GetInt32(),
                MeanReadLatencySeconds = m.GetProperty("meanReadLatencySeconds").GetDouble(),
                MaxReadLatencySeconds = m.GetProperty("maxReadLatencySeconds").GetDouble(),
                ClockOffsetSeconds = RunFacts.OptionalDouble(m, "clockOffsetSeconds") ?? double.NaN,
            });
        }
        return meters;
    }

    private static List<TelemetrySamples> ReadTelemetry(string directory, JsonElement facts)
    {
        var sets = facts.GetProperty("telemetry").EnumerateArray()
            .Select(s => (IReadOnlyList<TelemetryChannel>)[.. s.EnumerateArray().Select(n => new TelemetryChannel(n.GetProperty("id").GetString()!, n.GetProperty("unit").GetString()!))])
            .ToList();
        if (sets.Count == 0) return [];
        var at = sets.Select(_ => new List<double>()).ToList();
        var values = sets.Select(_ => new List<double>()).ToList();
        foreach (var row in Csv.Read(Required(directory, "telemetry.csv")))
        {
            var set = int.Parse(row[0], CultureInfo.InvariantCulture);
            var t = Number(row[1]);
            if (values[set].Count % sets[set].Count == 0) at[set].Add(t);
            values[set].Add(Number(row[3]));
        }
        return [.. sets.Select((names, i) => new TelemetrySamples(names, [.. at[i]], [.. values[i]]))];
    }

    private static List<double[]> ReadServerMetrics(string directory) =>
        [.. Csv.Read(Required(directory, "server-metrics.csv")).Select(r => r.Select(Number).ToArray())];

    private static double Number(string text) => text.Length == 0 ? double.NaN : double.Parse(text, CultureInfo.InvariantCulture);

    private static string Required(string directory, string name)
    {
        var path = Path.Combine(directory, name);
        if (!File.Exists(path)) throw new EnergyToTokenException($"The run in '{directory}' has no {name}. The run was cut before its timelines were written; its events.jsonl keeps what was measured.");
        return path;
    }
}

/// <summary>The CSV the run directory writes: a header line, comma-separated fields, double quotes around fields that need them.</summary>
internal static class Csv
{
    /// <summary>Every row after the header, as fields.</summary>
    public static List<string[]> Read(string path)
    {
        var rows = new List<string[]>();
        using var reader = new StreamReader(path, Encoding.UTF8, false, 1 << 16);
        reader.ReadLine();
        var fields = new List<string>();
        var field = new StringBuilder();
        while (reader.ReadLine() is { } line)
        {
            fields.Clear();
            if (line.IndexOf('"', StringComparison.Ordinal) < 0)
            {
                rows.Add(line.Split(','));
                continue;
            }
            field.Clear();
            var quoted = false;
            for (var i = 0; ; i++)
            {
                if (i == line.Length)
                {
                    if (!quoted) break;
                    // A quoted field holding a newline continues on the next line.
                    field.Append('\n');
                    line = reader.ReadLine() ?? throw new FormatException($"{Path.GetFileName(path)} ends inside a quoted field.");
                    i = -1;
                    continue;
                }
                var c = line[i];
                if (quoted)
                {
                    if (c != '"') field.Append(c);
                    else if (i + 1 < line.Length && line[i + 1] == '"') field.Append(line[++i]);
                    else quoted = false;
                }
                else if (c == '"') quoted = true;
                else if (c == ',')
                {
                    fields.Add(field.ToString());
                    field.Clear();
                }
                else field.Append(c);
            }
            fields.Add(field.ToString());
            rows.Add([.. fields]);
        }
        return rows;
    }
}
