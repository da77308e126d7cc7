using System.Text;
using EnergyToToken.Runs;
using Parquet;
using Parquet.Schema;

namespace EnergyToToken.Tests.Runs;

/// <summary>chunks.parquet: exact round trips across row groups, the layout other readers see, and damaged files named as such.</summary>
public sealed class ChunkFileTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("e2t-chunks-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string PathOf(string name) => Path.Combine(_root, name);

    private static (int Request, double[] Times)[] Trace()
    {
        // Doubles whose decimal forms do not round-trip through a careless format, a subnormal, and requests without chunks
        // at the start, in the middle and at the end.
        var random = new Random(6);
        var requests = new List<(int, double[])> { (0, []) };
        for (var r = 1; r <= 20; r++)
        {
            var times = new double[r % 5 == 0 ? 0 : random.Next(1, 40)];
            var t = r * 0.1 + 0.2;
            for (var k = 0; k < times.Length; k++)
            {
                times[k] = t;
                t += k % 3 == 0 ? Math.BitIncrement(0) : random.NextDouble() / 3;
            }
            requests.Add((r * 3, times));
        }
        requests.Add((70, [double.Epsilon, 1e-300, 1.0 / 3, 3599.999999999999]));
        requests.Add((71, []));
        return [.. requests];
    }

    private string WriteFile(string name, IEnumerable<(int, double[])> requests, int rowGroupRows = ChunkFile.DefaultRowGroupRows)
    {
        var path = PathOf(name);
        using var stream = File.Create(path);
        ChunkFile.Write(stream, requests, rowGroupRows);
        return path;
    }

    [Fact]
    public void Round_trip_keeps_every_double_exactly_across_many_row_groups_and_requests_without_chunks()
    {
        var trace = Trace();
        var path = WriteFile(ChunkFile.Name, trace, rowGroupRows: 7);

        var read = ChunkFile.Read(path);

        var expectedRequests = trace.SelectMany(r => r.Times.Select(_ => r.Request)).ToArray();
        var expectedTimes = trace.SelectMany(r => r.Times).ToArray();
        Assert.True(expectedTimes.Length > 7 * 20, "the trace spans many row groups");
        Assert.Equal(expectedRequests, read.Request);
        Assert.Equal(expectedTimes.Select(BitConverter.DoubleToInt64Bits), read.Times.Select(BitConverter.DoubleToInt64Bits));
    }

    [Fact]
    public async Task The_file_has_three_required_columns_and_row_groups_of_the_given_size_with_chunk_positions_per_request()
    {
        var trace = Trace();
        var rows = trace.Sum(r => r.Times.Length);
        var path = WriteFile(ChunkFile.Name, trace, rowGroupRows: 7);

        await using var stream = File.OpenRead(path);
        await using var reader = await ParquetReader.CreateAsync(stream);
        Assert.Equal(["request", "chunk", "t_s"], reader.Schema.DataFields.Select(f => f.Name));
        Assert.Equal([typeof(int), typeof(int), typeof(double)], reader.Schema.DataFields.Select(f => f.ClrType));
        Assert.All(reader.Schema.DataFields, f => Assert.False(f.IsNullable));
        Assert.Equal((rows + 6) / 7, reader.RowGroupCount);
        Assert.All(Enumerable.Range(0, reader.RowGroupCount - 1), g => Assert.Equal(7, reader.OpenRowGroupReader(g).RowCount));

        var chunks = new List<int>();
        for (var g = 0; g < reader.RowGroupCount; g++)
        {
            var group = reader.OpenRowGroupReader(g);
            var values = new int[group.RowCount];
            await group.ReadAsync(reader.Schema.DataFields[1], values.AsMemory());
            chunks.AddRange(values);
        }
        Assert.Equal(trace.SelectMany(r => Enumerable.Range(0, r.Times.Length)), chunks);
    }

    [Fact]
    public void A_run_without_chunks_round_trips_as_empty_columns()
    {
        var none = ChunkFile.Read(WriteFile("none.parquet", []));
        Assert.Empty(none.Request);
        Assert.Empty(none.Times);

        var idle = ChunkFile.Read(WriteFile("idle.parquet", [(0, []), (1, []), (5, [])]));
        Assert.Empty(idle.Request);
        Assert.Empty(idle.Times);
    }

    [Fact]
    public void The_file_is_parquet_with_the_magic_bytes_at_both_ends()
    {
        foreach (var path in new[] { WriteFile("full.parquet", Trace(), rowGroupRows: 7), WriteFile("empty.parquet", []) })
        {
            var bytes = File.ReadAllBytes(path);
            Assert.Equal("PAR1", Encoding.ASCII.GetString(bytes, 0, 4));
            Assert.Equal("PAR1", Encoding.ASCII.GetString(bytes, bytes.Length - 4, 4));
        }
    }

    [Fact]
    public void A_missing_file_names_the_path_and_what_to_do()
    {
        var path = PathOf("nowhere/" + ChunkFile.Name);
        var e = Assert.Throws<EnergyToTokenException>(() => ChunkFile.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("do not exist", e.Message);
        Assert.Contains("run it again", e.Message);
    }

    public static TheoryData<string> Damage => ["empty", "text", "truncated", "footer", "data"];

    [Theory]
    [MemberData(nameof(Damage))]
    public void A_damaged_file_is_named_as_damaged(string damage)
    {
        var path = WriteFile(ChunkFile.Name, Trace(), rowGroupRows: 7);
        var bytes = File.ReadAllBytes(path);
        switch (damage)
        {
            case "empty":
                File.WriteAllBytes(path, []);
                break;
            case "text":
                File.WriteAllText(path, "request,chunk,t_s\n1,0,0.15\n1,1,0.19\n");
                break;
            case "truncated":
                File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
                break;
            case "footer":
                // The metadata sits just before its 4-byte length and the closing magic.
                var length = BitConverter.ToInt32(bytes, bytes.Length - 8);
                Array.Fill(bytes, (byte)0xFF, bytes.Length - 8 - length, length);
                File.WriteAllBytes(path, bytes);
                break;
            case "data":
                // Overwrite everything between the leading magic and the metadata: page headers included.
                var metadata = BitConverter.ToInt32(bytes, bytes.Length - 8);
                Array.Fill(bytes, (byte)0xA5, 4, bytes.Length - 8 - metadata - 4);
                File.WriteAllBytes(path, bytes);
                break;
        }

        var e = Assert.Throws<EnergyToTokenException>(() => ChunkFile.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("damaged", e.Message);
        Assert.Contains("Run the benchmark again", e.Message);
    }

    [Fact]
    public async Task A_parquet_file_without_the_chunk_columns_is_not_a_chunk_file()
    {
        var path = PathOf("other.parquet");
        var field = new DataField<float>("watts");
        await using (var stream = File.Create(path))
        {
            await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema(field), stream);
            using var group = writer.CreateRowGroup();
            await group.WriteAsync(field, new ReadOnlyMemory<float>([1f, 2f]));
        }

        var e = Assert.Throws<EnergyToTokenException>(() => ChunkFile.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("not a chunk file", e.Message);
        Assert.Contains("'request'", e.Message);
    }

    [Fact]
    public void Write_refuses_requests_or_times_out_of_order()
    {
        using var stream = new MemoryStream();
        Assert.Contains("increasing order of index", Assert.Throws<ArgumentException>(() => ChunkFile.Write(stream, [(2, [1.0]), (2, [2.0])])).Message);
        Assert.Contains("non-decreasing", Assert.Throws<ArgumentException>(() => ChunkFile.Write(new MemoryStream(), [(0, [1.0, 0.5])])).Message);
        Assert.Contains("not NaN", Assert.Throws<ArgumentException>(() => ChunkFile.Write(new MemoryStream(), [(0, [double.NaN])])).Message);
    }
}
