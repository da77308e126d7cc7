using System.Diagnostics;
using EnergyToToken.Runs;

namespace EnergyToToken.Benchmarks;

/// <summary>
/// <c>chunk-file ROWS</c>: writes ROWS chunk times over <see cref="Requests"/> requests to a temporary
/// <c>chunks.parquet</c> and reads them back with <see cref="ChunkFile.Read"/>, printing seconds, rows per second, the
/// file's size and the peak working set. Issue 6's target: a 1 h, 1024-stream trace (~184 M chunks) analysed in ≤ 60 s
/// with ≤ 4 GB, of which reading the chunk times is the first step.
/// </summary>
internal static class ChunkFileCommands
{
    private const int Requests = 1024;
    private const double TraceSeconds = 3600;

    public static void Measure(long rows)
    {
        if (rows < 0 || rows > Array.MaxLength) throw new ArgumentOutOfRangeException(nameof(rows), rows, $"ROWS must be between 0 and {Array.MaxLength}.");
        var directory = Directory.CreateTempSubdirectory("e2t-chunk-file-");
        var path = Path.Combine(directory.FullName, ChunkFile.Name);
        try
        {
            Console.WriteLine(FormattableString.Invariant($"chunk-file: {rows:N0} chunk times over {Requests} requests ({TraceSeconds:0} s trace) to {path}; {Environment.ProcessorCount} cores, server GC {System.Runtime.GCSettings.IsServerGC}"));

            // The generator alone, so its cost can be told apart from the writer's.
            var generate = Stopwatch.StartNew();
            double expectedSum = 0;
            foreach (var (_, times) in Trace(rows))
                foreach (var t in times) expectedSum += t;
            var generateSeconds = generate.Elapsed.TotalSeconds;

            var write = Stopwatch.StartNew();
            double sync;
            using (var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                ChunkFile.Write(stream, Trace(rows));
                var flushed = Stopwatch.StartNew();
                // As RunDirectory.WriteAtomic does: the file is on disk before it is renamed into place.
                stream.Flush(flushToDisk: true);
                sync = flushed.Elapsed.TotalSeconds;
            }
            var writeSeconds = write.Elapsed.TotalSeconds;
            var bytes = new FileInfo(path).Length;
            var afterWrite = Process.GetCurrentProcess().PeakWorkingSet64;
            Console.WriteLine(FormattableString.Invariant($"  generate only: {generateSeconds:0.00} s"));
            Console.WriteLine(FormattableString.Invariant($"  write (generate + encode + fsync {sync:0.00} s): {writeSeconds:0.00} s, {Rate(rows, writeSeconds)} rows/s; file {bytes / 1e6:0.0} MB ({(rows > 0 ? bytes / (double)rows : 0):0.00} B/row); peak working set so far {afterWrite / 1e6:0} MB"));

            // First read into memory the process has never touched (page faults included), then again once the GC has
            // that memory: the difference is what first-touching the two arrays costs on this machine.
            for (var pass = 1; pass <= 2; pass++)
            {
                var process = Process.GetCurrentProcess();
                var cpu0 = process.TotalProcessorTime;
                var read = Stopwatch.StartNew();
                var columns = ChunkFile.Read(path);
                var readSeconds = read.Elapsed.TotalSeconds;
                process.Refresh();
                var cpu = (process.TotalProcessorTime - cpu0).TotalSeconds;
                double sum = 0;
                foreach (var t in columns.Times) sum += t;
                if (columns.Times.Length != rows || columns.Request.Length != rows || BitConverter.DoubleToInt64Bits(sum) != BitConverter.DoubleToInt64Bits(expectedSum))
                    throw new InvalidOperationException($"Read back {columns.Times.Length} rows with sum {sum}, wrote {rows} with sum {expectedSum}.");
                Console.WriteLine(FormattableString.Invariant($"  read #{pass}{(pass == 1 ? " (fresh memory)" : " (memory reused)")}: {readSeconds:0.00} s, {Rate(rows, readSeconds)} rows/s, CPU {cpu:0.00} s ({cpu / readSeconds:0.00} cores); peak working set {process.PeakWorkingSet64 / 1e6:0} MB; contents checked"));
                columns = null;
                GC.Collect();
            }
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    private static string Rate(long rows, double seconds) => FormattableString.Invariant($"{rows / seconds / 1e6:0.0} M");

    /// <summary>
    /// Each request's chunks spread over the whole trace with jittered gaps (a deterministic xorshift), the rows split as
    /// evenly as they go. One array per distinct request length is reused: the writer keeps no reference, so the
    /// benchmark measures the writer's memory, not the generator's.
    /// </summary>
    private static IEnumerable<(int Request, double[] Times)> Trace(long rows)
    {
        var perRequest = rows / Requests;
        var longer = rows % Requests;
        var small = new double[perRequest];
        var large = new double[perRequest + 1];
        var state = 0x9E3779B97F4A7C15UL;
        for (var r = 0; r < Requests; r++)
        {
            var times = r < longer ? large : small;
            var gap = TraceSeconds / Math.Max(1, times.Length);
            var t = 0.0;
            for (var k = 0; k < times.Length; k++)
            {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                t += gap * (0.5 + (state >> 11) * (1.0 / (1UL << 53)));
                times[k] = t;
            }
            yield return (r, times);
        }
    }
}
