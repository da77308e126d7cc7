using FsCheck;
using FsCheck.Fluent;
using EnergyToToken.Load;
using EnergyToToken.Metering;
using EnergyToToken.Runs;
using Parquet;

namespace EnergyToToken.Tests.Runs;

/// <summary>
/// The run directory's Parquet tables: the columns docs/runs.md promises (names, types, nulls) as any Parquet reader
/// sees them, values back exactly, and a damaged or foreign file named.
/// </summary>
public sealed class TimelineFileTests : IDisposable
{
    private static readonly RunClock Clock = new(0, 1000);

    private readonly string _root = Directory.CreateTempSubdirectory("e2t-timelines-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Write()
    {
        var path = Path.Combine(_root, "run");
        var counter = new MeterChannel("nvml:0", "GPU 0", MeterScope.Accelerator, ReadingKind.Counter);
        var power = new MeterChannel("ipmi:psu", "PSU, \"AC\"", MeterScope.NodeAc, ReadingKind.InstantPower);
        MeterSamples Samples(MeterChannel c, double[] joules) => new(c, [0.1, 0.2], joules, [300, double.PositiveInfinity]) { Updated = [false, true], SamplingInterval = TimeSpan.FromMilliseconds(100) };
        var result = new BenchResult([], null, true, Clock, 0, 1, 0.01,
            [new ServerMetricsSample(500, 3, 0, double.NaN, 100, 200, 0)],
            [Samples(counter, [0, 31.5]), Samples(power, [double.NaN, double.NaN])])
        {
            Telemetry = [new TelemetrySamples([new TelemetryChannel("temperature", "C"), new TelemetryChannel("sm_activity", "ratio")], [0.1, 0.2], [60, 0.5, 61, double.NaN])],
        };
        using var run = RunDirectory.Create(path);
        run.WriteTimelines(result);
        return path;
    }

    /// <summary>The schema as Parquet.Net reports it from the file: name, type and nullability per column.</summary>
    private static async Task<List<string>> Columns(string file)
    {
        await using var reader = await ParquetReader.CreateAsync(file);
        return [.. reader.Schema.DataFields.Select(f => $"{f.Name}:{ParquetTable.TypeName(f)}{(f.IsNullable ? "?" : "")}")];
    }

    [Fact]
    public async Task Every_table_has_the_documented_columns_types_and_nulls()
    {
        var run = Write();
        Assert.Equal(
            ["index:Int32", "warmup:Boolean", "state:String", "http_status:Int32?", "scheduled_s:Double", "sent_s:Double", "first_chunk_s:Double?",
             "last_chunk_s:Double?", "end_s:Double?", "drawn_input_tokens:Int32", "drawn_output_tokens:Int32", "prompt_tokens:Int32?", "output_tokens:Int32",
             "reasoning_tokens:Int32", "usage_from_server:Boolean", "output_chunks:Int32", "finish_reason:String?", "response_id:String?", "detail:String"],
            await Columns(Path.Combine(run, "requests.parquet")));
        Assert.Equal(["channel:String", "scope:String", "t_s:Double", "joules:Double?", "watts:Double?", "updated:Boolean"], await Columns(Path.Combine(run, "power.parquet")));
        Assert.Equal(["set:Int32", "t_s:Double", "gauge:String", "value:Double?"], await Columns(Path.Combine(run, "telemetry.parquet")));
        Assert.Equal(["t_s:Double", "running:Double?", "waiting:Double?", "kv_cache_usage:Double?", "prompt_tokens_total:Double?", "generation_tokens_total:Double?", "preemptions_total:Double?"],
            await Columns(Path.Combine(run, "server-metrics.parquet")));
        Assert.Equal(["request:Int32", "chunk:Int32", "t_s:Double"], await Columns(Path.Combine(run, ChunkFile.Name)));
    }

    [Fact]
    public async Task Values_come_back_exactly_with_unknowns_stored_as_nulls()
    {
        var run = Write();
        var power = ParquetTable.Read(Path.Combine(run, "power.parquet"), Timelines.Power);
        Assert.Equal(["nvml:0", "nvml:0", "ipmi:psu", "ipmi:psu"], power.Column<string>("channel"));
        Assert.Equal(["accelerator", "accelerator", "nodeAc", "nodeAc"], power.Column<string>("scope"));
        Assert.Equal([0, 31.5, double.NaN, double.NaN], power.Column<double>("joules"));
        Assert.Equal([300, double.PositiveInfinity, 300, double.PositiveInfinity], power.Column<double>("watts")); // ∞ is a value, not unknown
        Assert.Equal([false, true, false, true], power.Column<bool>("updated"));

        // On disk an unknown is a null, which pandas, polars and DuckDB show as missing.
        await using (var reader = await ParquetReader.CreateAsync(Path.Combine(run, "power.parquet")))
        {
            using var group = reader.OpenRowGroupReader(0);
            var joules = new double?[4];
            await group.ReadAsync(reader.Schema.DataFields[3], joules.AsMemory());
            Assert.Equal([0, 31.5, null, null], joules);
        }

        var telemetry = ParquetTable.Read(Path.Combine(run, "telemetry.parquet"), Timelines.Telemetry);
        Assert.Equal([0, 0, 0, 0], telemetry.Column<int>("set"));
        Assert.Equal([0.1, 0.1, 0.2, 0.2], telemetry.Column<double>("t_s"));
        Assert.Equal(["temperature", "sm_activity", "temperature", "sm_activity"], telemetry.Column<string>("gauge"));
        Assert.Equal([60, 0.5, 61, double.NaN], telemetry.Column<double>("value"));

        var scrapes = ParquetTable.Read(Path.Combine(run, "server-metrics.parquet"), Timelines.ServerMetrics);
        Assert.Equal(1, scrapes.Rows);
        Assert.Equal([0.5], scrapes.Column<double>("t_s"));
        Assert.Equal([double.NaN], scrapes.Column<double>("kv_cache_usage"));
        Assert.Equal([200.0], scrapes.Column<double>("generation_tokens_total"));

        var requests = ParquetTable.Read(Path.Combine(run, "requests.parquet"), Timelines.Requests);
        Assert.Equal(0, requests.Rows); // a table without rows still has its columns
        Assert.Empty(requests.Column<int>("index"));
    }

    [Fact]
    public void A_damaged_or_foreign_table_is_named_with_what_to_do()
    {
        var run = Write();
        var power = Path.Combine(run, "power.parquet");
        var bytes = File.ReadAllBytes(power);
        File.WriteAllBytes(power, bytes[..(bytes.Length / 2)]);
        var damaged = Assert.Throws<EnergyToTokenException>(() => ParquetTable.Read(power, Timelines.Power));
        Assert.Contains($"The power timeline '{power}' is damaged or not a Parquet file", damaged.Message, StringComparison.Ordinal);
        Assert.Contains("e2t verify", damaged.Message, StringComparison.Ordinal);

        var foreign = Assert.Throws<EnergyToTokenException>(() => ParquetTable.Read(Path.Combine(run, "telemetry.parquet"), Timelines.Power));
        Assert.Contains("is not the power timeline: it has no 'channel' column (it has set, t_s, gauge, value)", foreign.Message, StringComparison.Ordinal);

        var wrongType = Assert.Throws<EnergyToTokenException>(() => ParquetTable.Read(Path.Combine(run, "telemetry.parquet"),
            Timelines.Telemetry with { Columns = [new TableColumn("set", ColumnType.OptionalInt32)] }));
        Assert.Contains("its 'set' column is required Int32, not nullable int32", wrongType.Message, StringComparison.Ordinal);
    }
}

public sealed class DurationTests
{
    [Theory]
    [InlineData(0.100168, 1_001_680)]
    [InlineData(0.1, 1_000_000)]
    [InlineData(1.0000001, 10_000_001)]
    [InlineData(0, 0)]
    public void A_duration_written_in_seconds_reads_back_to_the_same_tick(double seconds, long ticks) =>
        Assert.Equal(ticks, RunFacts.Duration(seconds).Ticks);

    [Fact]
    public void Every_tick_count_round_trips_through_its_seconds() => Prop.ForAll<int>(ticks =>
    {
        var span = TimeSpan.FromTicks(Math.Abs((long)ticks) * 7);
        return RunFacts.Duration(span.TotalSeconds) == span;
    }).QuickCheckThrowOnFailure();
}
