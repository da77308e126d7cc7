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
        var table = ParquetTable.Read(Required(directory, Timelines.Requests.File), Timelines.Requests);
        var n = (int)table.Rows;
        var index = table.Column<int>("index");
        var counts = table.Column<int>("output_chunks");
        var start = new int[n + 1];
        for (var r = 0; r < n; r++) start[r + 1] = start[r] + counts[r];
        // The file holds requests in index order; the timeline keeps requests.parquet's order, so map each block.
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
        if (times.Length != start[n]) throw new FormatException($"{ChunkFile.Name} holds {times.Length} chunks but requests.parquet counts {start[n]}.");
        if (misplaced is { } m) throw new FormatException($"{ChunkFile.Name} does not hold request {index[m]}'s {counts[m]} chunks where requests.parquet puts them.");
        // Rows come in index order (requests.parquet is usually in it too).
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
            Warmup = table.Column<bool>("warmup"),
            State = [.. table.Column<string>("state").Select(s => Enum.Parse<TerminalState>(s, ignoreCase: true))],
            HttpStatus = [.. table.Column<int?>("http_status").Select(s => s ?? 0)],
            Scheduled = table.Column<double>("scheduled_s"),
            Sent = table.Column<double>("sent_s"),
            End = table.Column<double>("end_s"),
            DrawnInputTokens = table.Column<int>("drawn_input_tokens"),
            DrawnOutputTokens = table.Column<int>("drawn_output_tokens"),
            PromptTokens = [.. table.Column<int?>("prompt_tokens").Select(p => p ?? -1)],
            OutputTokens = table.Column<int>("output_tokens"),
            ReasoningTokens = table.Column<int>("reasoning_tokens"),
            UsageFromServer = table.Column<bool>("usage_from_server"),
            FinishReason = [.. table.Column<string?>("finish_reason").Select(f => f ?? "")],
            ResponseId = [.. table.Column<string?>("response_id").Select(id => id ?? "")],
            Detail = table.Column<string>("detail"),
            ChunkStart = start,
            ChunkTimes = times,
        };
    }

    private static List<MeterSamples> ReadMeters(string directory, JsonElement facts)
    {
        var power = ParquetTable.Read(Required(directory, Timelines.Power.File), Timelines.Power);
        var (ids, at, joules, watts, updated) = (power.Column<string>("channel"), power.Column<double>("t_s"), power.Column<double>("joules"), power.Column<double>("watts"), power.Column<bool>("updated"));
        var byChannel = new Dictionary<string, (List<double> At, List<double> J, List<double> W, List<bool> U)>();
        for (var i = 0; i < ids.Length; i++)
        {
            if (!byChannel.TryGetValue(ids[i], out var lists)) byChannel[ids[i]] = lists = ([], [], [], []);
            lists.At.Add(at[i]);
            lists.J.Add(joules[i]);
            lists.W.Add(watts[i]);
            lists.U.Add(updated[i]);
        }
        var meters = new List<MeterSamples>();
        foreach (var m in facts.GetProperty("meters").EnumerateArray())
        {
            var channel = RunFacts.Channel(m);
            var (t, j, w, u) = byChannel.TryGetValue(channel.Id, out var l) ? l : ([], [], [], []);
            meters.Add(new MeterSamples(channel, [.. t], [.. j], [.. w])
            {
                Updated = [.. u],
                SamplingInterval = RunFacts.Duration(m.GetProperty("samplingIntervalSeconds").GetDouble()),
                UpdatePeriod = RunFacts.OptionalDouble(m, "updatePeriodSeconds") is { } p ? RunFacts.Duration(p) : null,
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
        var table = ParquetTable.Read(Required(directory, Timelines.Telemetry.File), Timelines.Telemetry);
        var (set, t, value) = (table.Column<int>("set"), table.Column<double>("t_s"), table.Column<double>("value"));
        for (var i = 0; i < set.Length; i++)
        {
            // A read's gauges are consecutive rows: the first of them starts the read.
            if (values[set[i]].Count % sets[set[i]].Count == 0) at[set[i]].Add(t[i]);
            values[set[i]].Add(value[i]);
        }
        return [.. sets.Select((names, i) => new TelemetrySamples(names, [.. at[i]], [.. values[i]]))];
    }

    private static List<double[]> ReadServerMetrics(string directory)
    {
        var table = ParquetTable.Read(Required(directory, Timelines.ServerMetrics.File), Timelines.ServerMetrics);
        var columns = Timelines.ServerMetrics.Columns.Select(c => table.Column<double>(c.Name)).ToArray();
        return [.. Enumerable.Range(0, (int)table.Rows).Select(r => columns.Select(c => c[r]).ToArray())];
    }

    private static string Required(string directory, string name)
    {
        var path = Path.Combine(directory, name);
        if (File.Exists(path)) return path;
        var csv = Path.ChangeExtension(path, ".csv");
        if (File.Exists(csv))
            throw new EnergyToTokenException($"The run in '{directory}' has {Path.GetFileName(csv)} but no {name}: it was written by an e2t from before the timelines moved to Parquet (issue 7). Run the benchmark again with this e2t.");
        throw new EnergyToTokenException($"The run in '{directory}' has no {name}. The run was cut before its timelines were written; its events.jsonl keeps what was measured.");
    }
}
