using Parquet;
using Parquet.Schema;

namespace EnergyToToken.Runs;

/// <summary>
/// A run's chunk arrival times, <c>chunks.parquet</c>: one row per streamed output chunk, in Apache Parquet, which
/// pandas, polars and DuckDB read directly (issue 7).
/// <list type="bullet">
/// <item>Columns, all required (no nulls): <c>request</c> (int32, the request's index in the run), <c>chunk</c> (int32,
/// the chunk's 0-based position within its request) and <c>t_s</c> (double, arrival time in seconds on the run's
/// clock).</item>
/// <item>Rows ordered by request, then by chunk (so by time within a request). A request with no chunks has no rows.</item>
/// <item>Row groups of 1,048,576 rows (the last one shorter); none in a file without rows.</item>
/// <item>Uncompressed; the two int32 columns DELTA_BINARY_PACKED, <c>t_s</c> PLAIN. Bytes a row: 8 for <c>t_s</c>, at
/// most 0.16 for <c>request</c>, and 0.13–1.2 for <c>chunk</c>, depending on how long requests are (the jump back to 0
/// at each request widens its delta block): 0.13 at 20,000 chunks a request, 0.8 at 2,048, 1.2 at 256, 0.8 at 32.
/// Measured on 20 M rows, Snappy, or Zstd or LZ4 over BYTE_STREAM_SPLIT, saves up to a third of the size but decodes <c>t_s</c> in 0.7–2.0 s instead of
/// 0.03 s and allocates ~0.5–0.8 GB of page buffers, against issue 6's budget of 184 M chunks in 60 s and 4 GB.</item>
/// </list>
/// Parquet.Net has no synchronous API, so both directions wait on its asynchronous one; neither runs on a thread with a
/// synchronization context here.
/// </summary>
public static class ChunkFile
{
    public const string Name = "chunks.parquet";

    /// <summary>Rows per row group: big enough that per-group overhead vanishes, small enough to buffer (16 MiB).</summary>
    internal const int DefaultRowGroupRows = 1 << 20;

    private const string RequestColumn = "request";
    private const string ChunkColumn = "chunk";
    private const string TimeColumn = "t_s";

    /// <summary>
    /// Writes every request's chunk times to <paramref name="stream"/> (writable and seekable; left open), buffering one
    /// row group at a time, so the caller never holds a second copy of the whole trace.
    /// </summary>
    /// <param name="requests">Each request's index and its chunk arrival times in seconds. Indices strictly increasing;
    /// times within a request non-decreasing and not NaN; a request may have no chunks.</param>
    /// <exception cref="ArgumentException">The requests or their times are out of order.</exception>
    public static void Write(Stream stream, IEnumerable<(int Request, double[] Times)> requests) =>
        Write(stream, requests, DefaultRowGroupRows);

    internal static void Write(Stream stream, IEnumerable<(int Request, double[] Times)> requests, int rowGroupRows)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(requests);
        ArgumentOutOfRangeException.ThrowIfLessThan(rowGroupRows, 1);

        var request = new DataField<int>(RequestColumn);
        var chunk = new DataField<int>(ChunkColumn);
        var time = new DataField<double>(TimeColumn);
        var schema = new ParquetSchema(request, chunk, time);
        var options = new ParquetOptions { CompressionMethod = CompressionMethod.None };
        options.ColumnEncodingHints[request.Path.ToString()] = EncodingHint.DeltaBinaryPacked;
        options.ColumnEncodingHints[chunk.Path.ToString()] = EncodingHint.DeltaBinaryPacked;

        var requestBuffer = new int[rowGroupRows];
        var chunkBuffer = new int[rowGroupRows];
        var timeBuffer = new double[rowGroupRows];
        var buffered = 0;

        var writer = ParquetWriter.CreateAsync(schema, stream, options).GetAwaiter().GetResult();
        try
        {
            long previous = long.MinValue;
            foreach (var (index, times) in requests)
            {
                if (times is null) throw new ArgumentException($"Request {index} has null chunk times; give an empty array for a request without chunks.", nameof(requests));
                if (index <= previous) throw new ArgumentException($"Requests must come in increasing order of index: {index} came after {previous}.", nameof(requests));
                previous = index;
                var last = double.NegativeInfinity;
                for (var k = 0; k < times.Length; k++)
                {
                    var t = times[k];
                    // Also false for NaN.
                    if (!(t >= last)) throw new ArgumentException($"Request {index}: chunk {k} at {t} s comes before chunk {k - 1} at {last} s; chunk times must be non-decreasing and not NaN.", nameof(requests));
                    last = t;
                    requestBuffer[buffered] = index;
                    chunkBuffer[buffered] = k;
                    timeBuffer[buffered] = t;
                    if (++buffered == rowGroupRows)
                    {
                        WriteRowGroup(writer, request, chunk, time, requestBuffer, chunkBuffer, timeBuffer, buffered);
                        buffered = 0;
                    }
                }
            }
            if (buffered > 0) WriteRowGroup(writer, request, chunk, time, requestBuffer, chunkBuffer, timeBuffer, buffered);
        }
        finally
        {
            // Writes the footer (the file's metadata); the stream stays open for the caller to flush and close.
            writer.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private static void WriteRowGroup(
        ParquetWriter writer, DataField<int> request, DataField<int> chunk, DataField<double> time,
        int[] requests, int[] chunks, double[] times, int rows)
    {
        using var group = writer.CreateRowGroup();
        group.WriteAsync(request, new ReadOnlyMemory<int>(requests, 0, rows)).GetAwaiter().GetResult();
        group.WriteAsync(chunk, new ReadOnlyMemory<int>(chunks, 0, rows)).GetAwaiter().GetResult();
        group.WriteAsync(time, new ReadOnlyMemory<double>(times, 0, rows)).GetAwaiter().GetResult();
        group.CompleteValidate();
    }

    /// <summary>
    /// Reads the <c>request</c> and <c>t_s</c> columns into one flat array each, in file order, allocated once at the
    /// row count in the file's metadata and filled row group by row group (no per-row allocation). The <c>chunk</c>
    /// column is not read: it is each row's position within its request.
    /// </summary>
    /// <exception cref="EnergyToTokenException">The file is missing, unreadable, damaged or not a chunk file.</exception>
    public static ChunkColumns Read(string path)
    {
        int[] requests = [];
        var times = Read(path, total =>
        {
            requests = GC.AllocateUninitializedArray<int>((int)total);
            return (group, firstRow) => group.CopyTo(requests.AsSpan(firstRow));
        });
        return new ChunkColumns(requests, times);
    }

    /// <summary>
    /// Reads the <c>t_s</c> column as <see cref="Read(string)"/> does but keeps no <c>request</c> column: each row group's
    /// request indices are handed to <paramref name="requests"/> with the position of the group's first row, in a buffer
    /// reused from group to group (valid during the call only). A long trace then takes 8 bytes a chunk in memory, not
    /// 12: 0.7 GB less for 184 M chunks, and seconds less, since memory touched for the first time is slow on a VM.
    /// </summary>
    /// <param name="requests">Called once per row group, in file order. It must not throw: an exception from it would be
    /// reported as a damaged file; record a problem and throw after the read instead.</param>
    /// <exception cref="EnergyToTokenException">The file is missing, unreadable, damaged or not a chunk file.</exception>
    public static double[] ReadTimes(string path, Action<ReadOnlySpan<int>, int> requests)
    {
        ArgumentNullException.ThrowIfNull(requests);
        return Read(path, _ => requests);
    }

    /// <param name="begin">Given the row count, returns what receives each row group's request indices.</param>
    private static double[] Read(string path, Func<long, Action<ReadOnlySpan<int>, int>> begin)
    {
        ArgumentNullException.ThrowIfNull(path);
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new EnergyToTokenException($"The chunk times '{path}' do not exist. Give the directory of a finished run; a run written before chunk times moved to {Name} has only chunks.csv: run it again.", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new EnergyToTokenException($"Cannot open the chunk times '{path}': {e.Message}. Check the path and its permissions.", e);
        }

        using (file)
        {
            try
            {
                return Read(file, path, begin);
            }
            catch (Exception e) when (e is not (EnergyToTokenException or OutOfMemoryException))
            {
                // Parquet.Net reports malformed input with whatever exception its decoder meets (IOException,
                // ParquetException, InvalidDataException, ArgumentOutOfRangeException, ...), so every failure to decode
                // is reported as a damaged file, the original kept as the inner exception.
                throw Damaged(path, e.Message, e);
            }
        }
    }

    private static double[] Read(FileStream file, string path, Func<long, Action<ReadOnlySpan<int>, int>> begin)
    {
        var reader = ParquetReader.CreateAsync(file, leaveStreamOpen: true).GetAwaiter().GetResult();
        try
        {
            var request = Column(reader, RequestColumn, typeof(int), path);
            var time = Column(reader, TimeColumn, typeof(double), path);
            var total = reader.Metadata?.NumRows ?? throw Damaged(path, "it has no file metadata");
            if (total < 0 || total > Array.MaxLength) throw Damaged(path, $"its metadata gives {total} rows");

            var requests = begin(total);
            // Every element is written below (the row groups must add up to the total), so skip zeroing 8 bytes a row.
            var times = GC.AllocateUninitializedArray<double>((int)total);
            int[] group = [];
            var filled = 0;
            for (var g = 0; g < reader.RowGroupCount; g++)
            {
                using var rowGroup = reader.OpenRowGroupReader(g);
                var rows = rowGroup.RowCount;
                if (rows < 0 || rows > total - filled) throw Damaged(path, $"its row groups hold more rows than the {total} its metadata gives");
                if (group.Length < rows) group = new int[rows];
                rowGroup.ReadAsync(request, group.AsMemory(0, (int)rows)).AsTask().GetAwaiter().GetResult();
                rowGroup.ReadAsync(time, times.AsMemory(filled, (int)rows)).AsTask().GetAwaiter().GetResult();
                requests(group.AsSpan(0, (int)rows), filled);
                filled += (int)rows;
            }
            if (filled != total) throw Damaged(path, $"its row groups hold {filled} rows, its metadata {total}");
            return times;
        }
        finally
        {
            reader.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private static DataField Column(ParquetReader reader, string name, Type type, string path)
    {
        var field = reader.Schema.DataFields.FirstOrDefault(f => f.Name == name)
            ?? throw new EnergyToTokenException($"'{path}' is not a chunk file: it has no '{name}' column (it has {string.Join(", ", reader.Schema.DataFields.Select(f => f.Name))}). Give the {Name} of a run.");
        if (field.ClrType != type || field.IsNullable || field.IsArray)
            throw new EnergyToTokenException($"'{path}' is not a chunk file: its '{name}' column is {(field.IsNullable ? "optional " : "")}{(field.IsArray ? "repeated " : "")}{field.ClrType.Name}, not required {type.Name}. Give the {Name} of a run.");
        return field;
    }

    private static EnergyToTokenException Damaged(string path, string why, Exception? inner = null) =>
        new($"The chunk times '{path}' are damaged or not a Parquet file ({why}). Run the benchmark again, or restore the run directory from a copy.", inner);
}

/// <summary>
/// A run's chunks as columns: row i is a chunk of request <c>Request[i]</c> that arrived at <c>Times[i]</c> seconds on
/// the run's clock, ordered by request, then by time.
/// </summary>
public sealed record ChunkColumns(int[] Request, double[] Times);
