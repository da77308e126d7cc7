using System.Diagnostics;
using EnergyToToken.Analysis;
using EnergyToToken.Catalog;
using EnergyToToken.Load;
using EnergyToToken.Metering;
using EnergyToToken.Reporting;
using EnergyToToken.Runs;

namespace EnergyToToken.Benchmarks;

/// <summary>
/// <c>analysis-trace STREAMS SECONDS [DIR]</c>: issue 6's analysis target, "≥ 10 M token events/s per core; a generated
/// 1 h, 1024-stream trace (~184 M token events) analysed in ≤ 60 s with ≤ 4 GB of memory".
/// <para>Generates a run directory equivalent to a closed loop of STREAMS streams for SECONDS s at about 50 tokens/s per
/// stream (one chunk per token), with a 100 ms energy counter and idle baselines, unless DIR already holds one. Then
/// a child process (<c>analysis-measure DIR</c>), so that its peak working set is the analysis's alone, times
/// <see cref="RunData.Load"/>, <see cref="RunAnalysis.Analyze"/> and <see cref="ResultReport.Json"/> apart and writes
/// the result to DIR/result.json (so a change to the analysis can be checked byte for byte), then times the manifest
/// of the directory (<see cref="RunManifest.Write"/>, <see cref="RunManifest.Verify"/>) apart. Without DIR the trace goes
/// to a temporary directory, deleted at the end.</para>
/// </summary>
internal static class AnalysisCommands
{
    private const long Second = 1_000_000_000;
    private const long Bin = Second / 10;
    private const double IdleWatts = 560;
    private const double DecodeJoulesPerToken = 0.05;
    private const double PrefillJoulesPerToken = 0.002;

    public static void Trace(int streams, double seconds, string? directory)
    {
        if (streams < 1 || !(seconds > 0)) throw new ArgumentOutOfRangeException(nameof(streams), "STREAMS must be at least 1 and SECONDS positive.");
        var temporary = directory is null;
        directory ??= Directory.CreateTempSubdirectory("e2t-analysis-trace-").FullName;
        try
        {
            var name = Name(streams, seconds);
            var facts = Path.Combine(directory, RunFacts.File);
            if (File.Exists(facts))
            {
                if (!File.ReadAllText(facts).Contains($"\"name\": \"{name}\"", StringComparison.Ordinal))
                    throw new InvalidOperationException($"'{directory}' holds a run that is not {name}: give another DIR.");
                Console.WriteLine($"analysis-trace: reusing the trace in {directory}");
            }
            else
            {
                var clock = Stopwatch.StartNew();
                var events = Generate(streams, seconds, directory);
                Console.WriteLine(FormattableString.Invariant($"analysis-trace: generated {name} in {directory}: {events:N0} token events in {clock.Elapsed.TotalSeconds:0.0} s"));
            }
            Measure(directory, inChild: true);
        }
        finally
        {
            if (temporary) Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>Loads and analyses the run in DIR, printing wall time, CPU time, token events/s per core and peak memory.</summary>
    public static void Measure(string directory, bool inChild)
    {
        if (inChild)
        {
            var self = Environment.ProcessPath!;
            var start = new ProcessStartInfo(self);
            if (Path.GetFileNameWithoutExtension(self) == "dotnet") start.ArgumentList.Add(typeof(AnalysisCommands).Assembly.Location);
            start.ArgumentList.Add("analysis-measure");
            start.ArgumentList.Add(directory);
            using var child = Process.Start(start)!;
            child.WaitForExit();
            if (child.ExitCode != 0) throw new InvalidOperationException($"analysis-measure {directory} exited with {child.ExitCode}.");
            return;
        }

        var catalogs = Catalogs.Load();
        var process = Process.GetCurrentProcess();
        var cpu0 = process.TotalProcessorTime;
        var wall = Stopwatch.StartNew();
        var run = RunData.Load(directory);
        var (loadWall, loadCpu) = Lap();
        var analysis = RunAnalysis.Analyze(run, run.RecordedAnalysis, catalogs);
        var (analyzeWall, analyzeCpu) = Lap();
        var json = ResultReport.Json(run, analysis);
        var (reportWall, reportCpu) = Lap();
        var peak = process.PeakWorkingSet64;
        RunDirectory.WriteFile(directory, RunDirectory.Result, json);

        var events = (long)run.Requests.ChunkTimes.Length;
        var totalWall = loadWall + analyzeWall + reportWall;
        var totalCpu = loadCpu + analyzeCpu + reportCpu;
        Console.WriteLine(FormattableString.Invariant(
            $"analysis-measure: {run.Name}: {run.Requests.Count:N0} requests, {events:N0} token events, {run.Meters.Sum(m => m.At.Length):N0} meter samples; {Environment.ProcessorCount} cores, server GC {System.Runtime.GCSettings.IsServerGC}"));
        Line("RunData.Load", loadWall, loadCpu);
        Line("RunAnalysis.Analyze", analyzeWall, analyzeCpu);
        Line("ResultReport.Json", reportWall, reportCpu);
        Line("total", totalWall, totalCpu);
        Console.WriteLine(FormattableString.Invariant(
            $"  {events / totalCpu / 1e6:0.00} M token events/s per core (events ÷ CPU s), {events / totalWall / 1e6:0.00} M/s wall; peak working set {peak / 1e6:0} MB; allocated {GC.GetTotalAllocatedBytes() / 1e9:0.00} GB, GCs gen0/1/2 {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)}"));
        Console.WriteLine($"  valid {analysis.Verdict.Valid}; result.json written to {directory}");

        // What the bench adds after the analysis: the reports (charts over every chunk and meter read), then the manifest,
        // which hashes every file, chunks.parquet most of all.
        Lap();
        foreach (var (file, text) in RunReport.Render(run, json)) RunDirectory.WriteFile(directory, file, text);
        var (renderWall, renderCpu) = Lap();
        Line("RunReport.Render", renderWall, renderCpu);
        Console.WriteLine(FormattableString.Invariant($"  report.html {new FileInfo(Path.Combine(directory, RunReport.HtmlFile)).Length / 1e3:N0} kB, report.md {new FileInfo(Path.Combine(directory, RunReport.MarkdownFile)).Length / 1e3:N0} kB"));
        var bytes = RunManifest.Listed(directory).Sum(f => new FileInfo(f.Full).Length);
        var (manifestWall, _) = Lap();
        RunManifest.Write(directory);
        (manifestWall, var manifestCpu) = Lap();
        var verified = RunManifest.Verify(directory);
        var (verifyWall, verifyCpu) = Lap();
        Line("RunManifest.Write", manifestWall, manifestCpu);
        Line("RunManifest.Verify", verifyWall, verifyCpu);
        Console.WriteLine(FormattableString.Invariant(
            $"  {verified.Files} files, {bytes / 1e6:N0} MB hashed at {bytes / manifestWall / 1e6:N0} MB/s (write), {bytes / verifyWall / 1e6:N0} MB/s (verify); intact {verified.Intact}"));

        (double Wall, double Cpu) Lap()
        {
            process.Refresh();
            var cpu = process.TotalProcessorTime;
            var lap = (wall.Elapsed.TotalSeconds, (cpu - cpu0).TotalSeconds);
            cpu0 = cpu;
            wall.Restart();
            return lap;
        }

        static void Line(string what, double wall, double cpu) =>
            Console.WriteLine(FormattableString.Invariant($"  {what,-20} wall {wall,7:0.00} s, CPU {cpu,7:0.00} s ({cpu / wall:0.00} cores)"));
    }

    private static string Name(int streams, double seconds) => FormattableString.Invariant($"analysis-trace-{streams}x{seconds:0.###}s");

    /// <summary>
    /// Writes the run directory: the meters, server metrics and run.json through the bench's own writers
    /// (<see cref="RunDirectory.WriteTimelines"/> with no requests, <see cref="RunFacts.Json"/>), then requests.parquet
    /// and chunks.parquet written directly in their formats, streaming row group by row group, since 184 M chunk times
    /// do not fit <see cref="RequestRecord"/> lists. Returns the number of token events.
    /// </summary>
    internal static long Generate(int streams, double seconds, string directory)
    {
        var trace = new ClosedLoop(streams, seconds);
        using var run = RunDirectory.Create(directory);
        var chunksPath = Path.Combine(directory, ChunkFile.Name + ".generating");
        var requestsPath = Path.Combine(directory, Timelines.Requests.File + ".generating");
        using (var requestsFile = new FileStream(requestsPath, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 16))
        using (var requests = new RequestRows(requestsFile))
        using (var chunks = new FileStream(chunksPath, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 20))
        {
            ChunkFile.Write(chunks, trace.Requests(requests));
        }

        var (idleBefore, from, to, idleAfter) = (ClosedLoop.IdleBefore, ClosedLoop.LoadStart, trace.LastEnd, trace.IdleAfter);
        var result = new BenchResult([], null, true, new RunClock(0, Second), S(from), S(to), 0.3, trace.ServerMetrics(), [trace.Meter()])
        {
            IdleBefore = (S(idleBefore.From), S(idleBefore.To)),
            IdleAfter = (S(idleAfter.From), S(idleAfter.To)),
            SamplerLateness = (0, 0.001, 0.002),
        };
        run.WriteTimelines(result);
        File.Move(requestsPath, Path.Combine(directory, Timelines.Requests.File), overwrite: true);
        File.Move(chunksPath, Path.Combine(directory, ChunkFile.Name), overwrite: true);

        var plan = new BenchPlan(
            Name(streams, seconds),
            new BenchTarget(new Uri("http://synthetic-trace.invalid/"), "llama-3.1-8b", ApiKind.Completions, null),
            new WorkloadOptions { InputTokens = LengthDistribution.Parse(ClosedLoop.Input), OutputTokens = LengthDistribution.Parse(ClosedLoop.Output) },
            new ArrivalOptions { Kind = ArrivalKind.Closed, Concurrency = streams, Count = null, Duration = TimeSpan.FromSeconds(seconds) },
            new BenchOptions(), new StreamingClientOptions(), new ValidityOptions(), null);
        var deployment = new Deployment("llama-3.1-8b", "h100-sxm", 8, "bf16", null, "synthetic trace: e2t bench analysis-trace (closed loop, one chunk per token, ~50 tokens/s per stream)");
        run.WriteFacts(RunFacts.Json(plan, result, new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero), null, deployment, new AnalysisOptions()));
        return trace.Events;
    }

    /// <summary>Seconds on the run's clock from nanoseconds, as <see cref="RunClock.Seconds"/> computes them.</summary>
    private static double S(long nanoseconds) => (double)nanoseconds / Second;

    /// <summary>
    /// The generated requests as requests.parquet rows, a row group of <see cref="GroupRows"/> at a time: every request
    /// ends normally (ok, finish reason length) with the usage it drew, and each chunk carries one token.
    /// </summary>
    private sealed class RequestRows : IDisposable
    {
        private const int GroupRows = 1 << 16;
        private readonly ParquetTableWriter _writer;
        private readonly int[] _index = new int[GroupRows];
        private readonly double[] _scheduled = new double[GroupRows];
        private readonly double[] _sent = new double[GroupRows];
        private readonly double[] _first = new double[GroupRows];
        private readonly double[] _last = new double[GroupRows];
        private readonly double[] _end = new double[GroupRows];
        private readonly int[] _input = new int[GroupRows];
        private readonly int?[] _prompt = new int?[GroupRows];
        private readonly int[] _output = new int[GroupRows];
        private readonly string?[] _responseId = new string?[GroupRows];
        private readonly Array[] _columns;
        private int _rows;

        public RequestRows(Stream stream)
        {
            _writer = ParquetTableWriter.Create(stream, Timelines.Requests);
            var warmup = new bool[GroupRows];
            var state = Enumerable.Repeat("ok", GroupRows).ToArray();
            var httpStatus = new int?[GroupRows];
            var reasoning = new int[GroupRows];
            var usage = Enumerable.Repeat(true, GroupRows).ToArray();
            var finish = Enumerable.Repeat<string?>("length", GroupRows).ToArray();
            var detail = Enumerable.Repeat("", GroupRows).ToArray();
            // requests.parquet's column order; one token per chunk, so output tokens, drawn outputs and chunks are one array.
            _columns = [_index, warmup, state, httpStatus, _scheduled, _sent, _first, _last, _end, _input, _output, _prompt, _output, reasoning, usage, _output, finish, _responseId, detail];
        }

        public void Add(int index, double scheduled, double sent, double first, double last, double end, int input, int output)
        {
            (_index[_rows], _scheduled[_rows], _sent[_rows], _first[_rows], _last[_rows], _end[_rows]) = (index, scheduled, sent, first, last, end);
            (_input[_rows], _prompt[_rows], _output[_rows]) = (input, input, output);
            _responseId[_rows] = $"cmpl-{index:D8}";
            if (++_rows == GroupRows) Flush();
        }

        private void Flush()
        {
            _writer.WriteRowGroup(0, _rows, _columns);
            _rows = 0;
        }

        public void Dispose()
        {
            Flush();
            _writer.Dispose();
        }
    }

    /// <summary>
    /// The trace: STREAMS streams, each sending its next request when the previous one ends, from 2.5 s (after a 2 s idle
    /// baseline and a 0.5 s settle) until SECONDS later; requests in flight then drain. A request draws 128–2048 prompt
    /// tokens and 256–3072 output tokens. Tokens leave in engine steps, as under continuous batching: a step ends every
    /// 19–21 ms, and every running request gets one token from it (50 tokens/s), received 0–0.3 ms after the step's end;
    /// a request's first token comes from the first step ending 20 ms + 30 µs per prompt token after it was sent. Power,
    /// per 100 ms: 560 W idle plus 0.05 J per token decoded and 0.002 J per prompt token prefilled in it, ±1 %. A
    /// deterministic xorshift drives it all.
    /// </summary>
    private sealed class ClosedLoop(int streams, double seconds)
    {
        public const string Input = "uniform:128-2048";
        public const string Output = "uniform:256-3072";

        private readonly long _stop = LoadStart + (long)(seconds * Second);
        private readonly List<long> _decode = [];
        private readonly List<long> _prefill = [];
        private readonly List<int> _inFlight = [];

        /// <summary>The engine's step ends, ns, made as far as requests need them.</summary>
        private readonly List<long> _steps = [];
        private ulong _state = 0x9E3779B97F4A7C15UL;

        public long Events { get; private set; }

        public static (long From, long To) IdleBefore => (0, 2 * Second);

        public const long LoadStart = 2_500_000_000;

        public long LastEnd { get; private set; }

        public (long From, long To) IdleAfter => (LastEnd + Second / 2, LastEnd + Second / 2 + 2 * Second);

        /// <summary>Every request in index (send) order with its chunk times; adds its requests.parquet row on the way.</summary>
        public IEnumerable<(int Request, double[] Times)> Requests(RequestRows rows)
        {
            var next = new PriorityQueue<int, (long At, int Stream)>();
            for (var s = 0; s < streams; s++) next.Enqueue(s, (LoadStart, s));
            var index = 0;
            while (next.TryDequeue(out var stream, out var key))
            {
                var scheduled = key.At;
                var sent = scheduled + 100_000 + Draw(900_000);
                var input = 128 + (int)Draw(2048 - 128 + 1);
                var output = 256 + (int)Draw(3072 - 256 + 1);
                var times = new double[output];
                var first = FirstStepEndingAfter(sent + 20_000_000 + input * 30_000L);
                Add(_prefill, StepEnd(first), input);
                var t = 0L;
                for (var k = 0; k < output; k++)
                {
                    t = StepEnd(first + k) + Draw(300_000);
                    times[k] = S(t);
                    Add(_decode, t, 1);
                }
                var end = t + 200_000;
                Add(_inFlight, sent, 1);
                Add(_inFlight, end, -1);
                LastEnd = Math.Max(LastEnd, end);
                Events += output;
                rows.Add(index, S(scheduled), S(sent), times[0], times[^1], S(end), input, output);
                yield return (index++, times);
                if (end < _stop) next.Enqueue(stream, (end, stream));
            }
        }

        private long StepEnd(int k)
        {
            while (_steps.Count <= k) _steps.Add((_steps.Count == 0 ? LoadStart : _steps[^1]) + 19_000_000 + Draw(2_000_001));
            return _steps[k];
        }

        private int FirstStepEndingAfter(long t)
        {
            while (_steps.Count == 0 || _steps[^1] < t) StepEnd(_steps.Count);
            var k = _steps.BinarySearch(t);
            return k >= 0 ? k : ~k;
        }

        /// <summary>One counter channel read every 100 ms, 10 ms after each update of the source (which updates every 100 ms).</summary>
        public MeterSamples Meter()
        {
            var reads = (int)(IdleAfter.To / Bin) + 2;
            var at = new double[reads];
            var joules = new double[reads];
            var watts = new double[reads];
            var updated = new bool[reads];
            var energy = 0.0;
            for (var j = 0; j < reads; j++)
            {
                at[j] = S(j * Bin + 10_000_000 + Draw(1_000_000));
                joules[j] = Math.Round(energy * 1e3) / 1e3;
                updated[j] = j > 0;
                var binJoules = (IdleWatts * 0.1 + DecodeJoulesPerToken * At(_decode, j) + PrefillJoulesPerToken * At(_prefill, j)) * (0.99 + Draw(1 << 20) * (0.02 / (1 << 20)));
                watts[j] = Math.Round(binJoules * 10 * 1e3) / 1e3;
                energy += binJoules;
            }
            var channel = new MeterChannel("trace:0", "8 × H100 SXM5 (synthetic trace, e2t bench analysis-trace)", MeterScope.Accelerator, ReadingKind.Counter)
            {
                AveragingWindow = TimeSpan.FromSeconds(1),
                DeviceKey = "synthetic-trace-0",
                Simulated = true,
                Notes = ["synthetic: energy from the trace generator's power model, not a measurement"],
            };
            return new MeterSamples(channel, at, joules, watts)
            {
                Updated = updated,
                SamplingInterval = TimeSpan.FromMilliseconds(100),
                UpdatePeriod = TimeSpan.FromMilliseconds(100),
                Reads = reads,
                MeanReadLatencySeconds = 1.5e-5,
                MaxReadLatencySeconds = 7.5e-4,
            };
        }

        /// <summary>A vLLM-style scrape every second of the load: requests running and the token counters.</summary>
        public List<ServerMetricsSample> ServerMetrics()
        {
            var samples = new List<ServerMetricsSample>();
            long prompt = 0, generated = 0, running = 0;
            var bin = 0;
            for (var t = LoadStart; t <= LastEnd; t += Second)
            {
                for (; bin < t / Bin; bin++)
                {
                    prompt += At(_prefill, bin);
                    generated += At(_decode, bin);
                    running += At(_inFlight, bin);
                }
                samples.Add(new ServerMetricsSample(t, running, 0, 0.5 * running / streams, prompt, generated, 0));
            }
            return samples;
        }

        private static void Add<T>(List<T> bins, long t, T amount) where T : System.Numerics.INumber<T>
        {
            var b = (int)(t / Bin);
            while (bins.Count <= b) bins.Add(T.Zero);
            bins[b] += amount;
        }

        private static long At<T>(List<T> bins, int b) where T : System.Numerics.INumber<T> => b < bins.Count ? long.CreateTruncating(bins[b]) : 0;

        /// <summary>A uniform draw in [0, n).</summary>
        private long Draw(long n)
        {
            _state ^= _state << 13;
            _state ^= _state >> 7;
            _state ^= _state << 17;
            return (long)((_state >> 11) % (ulong)n);
        }
    }
}
