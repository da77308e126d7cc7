using EnergyToToken.Analysis;
using EnergyToToken.Load;
using EnergyToToken.Runs;

namespace EnergyToToken.Tests.Analysis;

/// <summary>Loading a run directory's chunk times: placed in requests.parquet's order, each request's block checked where it is read.</summary>
public sealed class RunDataTests : IDisposable
{
    // One tick is one millisecond.
    private static readonly RunClock Clock = new(0, 1000);

    private readonly string _root = Directory.CreateTempSubdirectory("e2t-rundata-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static RunRequest Request(int index, long[] chunks)
    {
        var record = new RequestRecord
        {
            State = TerminalState.Ok,
            SentTimestamp = 100 * index + 1,
            EndTimestamp = 100 * index + 90,
            PromptTokens = 20,
            OutputTokens = chunks.Length,
            UsageFromServer = true,
        };
        record.OutputChunkTimestamps.AddRange(chunks);
        return new RunRequest(index, 20, chunks.Length, 100 * index, false, record);
    }

    /// <summary>A run whose requests.parquet lists requests 3, 1, 2 (not index order) and whose request 2 has no chunks.</summary>
    private string Run(string name)
    {
        var path = Path.Combine(_root, name);
        var result = new BenchResult([Request(3, [350, 360, 370]), Request(1, [150, 160]), Request(2, [])], null, true, Clock, 0.1, 0.4, 0.01, [], []);
        var plan = new BenchPlan(name, new BenchTarget(new Uri("http://127.0.0.1:1/"), "m", ApiKind.Completions, null), new WorkloadOptions(),
            new ArrivalOptions { Kind = ArrivalKind.Closed, Concurrency = 3 }, new BenchOptions(), new StreamingClientOptions(), new ValidityOptions(), null);
        using var run = RunDirectory.Create(path);
        run.WriteTimelines(result);
        run.WriteFacts(RunFacts.Json(plan, result, DateTimeOffset.UnixEpoch, null, Deployment.Unknown, new AnalysisOptions()));
        return path;
    }

    private static void WriteChunks(string run, params (int Request, double[] Times)[] requests)
    {
        using var stream = File.Create(Path.Combine(run, ChunkFile.Name));
        ChunkFile.Write(stream, requests);
    }

    [Fact]
    public void Chunk_times_follow_requests_csv_order_whatever_the_file_order()
    {
        var t = RunData.Load(Run("order")).Requests;

        Assert.Equal([3, 1, 2], t.Index);
        Assert.Equal([0.35, 0.36, 0.37], t.Chunks(0).ToArray());
        Assert.Equal([0.15, 0.16], t.Chunks(1).ToArray());
        Assert.Equal(0, t.ChunkCount(2));
    }

    [Fact]
    public void A_block_labelled_with_another_request_is_named()
    {
        var run = Run("misplaced");
        // The right number of rows, but request 3's last chunk is labelled 4.
        WriteChunks(run, (1, [0.15, 0.16]), (3, [0.35, 0.36]), (4, [0.37]));

        var e = Assert.Throws<EnergyToTokenException>(() => RunData.Load(run));
        Assert.Contains("does not hold request 3's 3 chunks where requests.parquet puts them", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_chunk_file_with_a_different_count_is_named_before_any_block()
    {
        var run = Run("count");
        WriteChunks(run, (0, [0.05]), (1, [0.15, 0.16]), (3, [0.35, 0.36, 0.37]));

        var e = Assert.Throws<EnergyToTokenException>(() => RunData.Load(run));
        Assert.Contains("holds 6 chunks but requests.parquet counts 5", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Blocks_are_checked_across_row_groups()
    {
        var run = Run("groups");
        // Row groups of one row: request 3's first and last rows sit in different groups.
        using (var stream = File.Create(Path.Combine(run, ChunkFile.Name)))
            ChunkFile.Write(stream, [(1, [0.15, 0.16]), (3, [0.35, 0.36, 0.37])], rowGroupRows: 1);
        Assert.Equal([0.35, 0.36, 0.37], RunData.Load(run).Requests.Chunks(0).ToArray());

        using (var stream = File.Create(Path.Combine(run, ChunkFile.Name)))
            ChunkFile.Write(stream, [(1, [0.15, 0.16]), (2, [0.35]), (3, [0.36, 0.37])], rowGroupRows: 1);
        Assert.Contains("does not hold request 3's", Assert.Throws<EnergyToTokenException>(() => RunData.Load(run)).Message, StringComparison.Ordinal);
    }
}
