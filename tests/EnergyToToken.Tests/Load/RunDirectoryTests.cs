using System.Text.Json;
using EnergyToToken.Load;
using EnergyToToken.Runs;

namespace EnergyToToken.Tests.Load;

/// <summary>The run directory: one run per directory, an event log a crash cannot cut mid-line, files that appear whole or not at all.</summary>
public sealed class RunDirectoryTests : IDisposable
{
    // One tick is one millisecond.
    private static readonly RunClock Clock = new(0, 1000);

    private readonly string _root = Directory.CreateTempSubdirectory("e2t-rundir-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string RunPath => Path.Combine(_root, "run");

    private static RunRequest Request(int index, TerminalState state, long[] chunks, string detail = "")
    {
        var record = new RequestRecord
        {
            State = state,
            HttpStatus = state == TerminalState.HttpError ? 503 : null,
            Detail = detail,
            SentTimestamp = 100 * index + 1,
            EndTimestamp = 100 * index + 90,
            PromptTokens = 20,
            OutputTokens = chunks.Length,
            UsageFromServer = true,
            FinishReason = state == TerminalState.Ok ? "length" : null,
        };
        record.OutputChunkTimestamps.AddRange(chunks);
        return new RunRequest(index, 20, chunks.Length, 100 * index, false, record);
    }

    [Fact]
    public void Create_refuses_a_directory_that_already_holds_a_run_and_names_it()
    {
        using (RunDirectory.Create(RunPath))
        {
        }
        var again = Assert.Throws<EnergyToTokenException>(() => RunDirectory.Create(RunPath));
        Assert.Contains(RunPath, again.Message);
        Assert.Contains("already holds a run", again.Message);

        var finished = Path.Combine(_root, "finished");
        Directory.CreateDirectory(finished);
        File.WriteAllText(Path.Combine(finished, RunDirectory.Result), "{}");
        Assert.Contains(finished, Assert.Throws<EnergyToTokenException>(() => RunDirectory.Create(finished)).Message);

        var empty = Path.Combine(_root, "empty");
        Directory.CreateDirectory(empty);
        using var run = RunDirectory.Create(empty); // a directory without a run is fine
        Assert.True(File.Exists(Path.Combine(empty, RunDirectory.EventLog)));
    }

    [Fact]
    public void Appended_requests_are_whole_json_lines_readable_while_the_log_is_still_open()
    {
        using var run = RunDirectory.Create(RunPath);
        run.AppendRequest(Request(1, TerminalState.Ok, [150, 170, 190]), Clock);
        run.AppendRequest(Request(2, TerminalState.HttpError, [], "503 Service Unavailable: \"busy\"\nretry later"), Clock);

        // What a reader finds after a crash: the writer never closed the file.
        string text;
        using (var stream = new FileStream(Path.Combine(RunPath, RunDirectory.EventLog), FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
        using (var reader = new StreamReader(stream))
            text = reader.ReadToEnd();
        Assert.EndsWith("\n", text, StringComparison.Ordinal);
        var lines = text.TrimEnd('\n').Split('\n');
        Assert.Equal(2, lines.Length);

        using var ok = JsonDocument.Parse(lines[0]);
        var first = ok.RootElement;
        Assert.Equal("request", first.GetProperty("event").GetString());
        Assert.Equal(1, first.GetProperty("index").GetInt32());
        Assert.Equal("ok", first.GetProperty("state").GetString());
        Assert.Equal(0.1, first.GetProperty("scheduled").GetDouble(), 9);
        Assert.Equal(0.101, first.GetProperty("sent").GetDouble(), 9);
        Assert.Equal([0.15, 0.17, 0.19], first.GetProperty("chunks").EnumerateArray().Select(c => Math.Round(c.GetDouble(), 9)));
        Assert.Equal("length", first.GetProperty("finishReason").GetString());

        using var failed = JsonDocument.Parse(lines[1]);
        var second = failed.RootElement;
        Assert.Equal("httpError", second.GetProperty("state").GetString());
        Assert.Equal(503, second.GetProperty("httpStatus").GetInt32());
        Assert.Equal("503 Service Unavailable: \"busy\"\nretry later", second.GetProperty("detail").GetString());
        Assert.Equal(0, second.GetProperty("chunks").GetArrayLength());
        Assert.Null(run.LogFailure);
    }

    [Fact]
    public void WriteAtomic_replaces_the_whole_file_and_leaves_no_temporary()
    {
        using var run = RunDirectory.Create(RunPath);
        run.WriteAtomic("notes.txt", w => w.Write("a long first version\nwith two lines\n"));
        run.WriteAtomic("notes.txt", w => w.Write("short"));
        Assert.Equal("short", File.ReadAllText(Path.Combine(RunPath, "notes.txt")));
        run.WriteResult("""{"complete": true}""");
        Assert.Equal("""{"complete": true}""", File.ReadAllText(Path.Combine(RunPath, RunDirectory.Result)));
        Assert.Empty(Directory.GetFiles(RunPath, "*.tmp"));
    }

    [Fact]
    public void WriteAtomic_on_a_full_disk_throws_and_leaves_the_old_file_and_no_temporary()
    {
        if (!OperatingSystem.IsLinux()) return; // /dev/full is Linux's
        using var run = RunDirectory.Create(RunPath);
        run.WriteResult("""{"old": true}""");
        var temporary = Path.Combine(RunPath, RunDirectory.Result + ".tmp");
        File.CreateSymbolicLink(temporary, "/dev/full"); // every write to it fails with ENOSPC

        Assert.Throws<IOException>(() => run.WriteResult("""{"new": true}"""));
        Assert.Null(new FileInfo(temporary).LinkTarget);
        Assert.False(File.Exists(temporary));
        Assert.Empty(Directory.GetFiles(RunPath, "*.tmp"));
        Assert.Equal("""{"old": true}""", File.ReadAllText(Path.Combine(RunPath, RunDirectory.Result)));
    }

    [Fact]
    public void Request_timelines_keep_text_as_written_and_unknowns_as_nulls()
    {
        using var run = RunDirectory.Create(RunPath);
        var result = new BenchResult(
            [Request(1, TerminalState.Ok, [150, 190]), Request(2, TerminalState.HttpError, [], "upstream said \"no\", twice\nand é")],
            null, true, Clock, 0.1, 0.3, 0.01, [], []);
        run.WriteTimelines(result);

        var t = ParquetTable.Read(Path.Combine(RunPath, "requests.parquet"), Timelines.Requests);
        Assert.Equal(2, t.Rows);
        Assert.Equal([1, 2], t.Column<int>("index"));
        Assert.Equal(["ok", "httpError"], t.Column<string>("state"));
        Assert.Equal([null, 503], t.Column<int?>("http_status"));
        Assert.Equal([0.1, 0.2], t.Column<double>("scheduled_s"));
        Assert.Equal([0.101, 0.201], t.Column<double>("sent_s"));
        Assert.Equal([0.15, double.NaN], t.Column<double>("first_chunk_s")); // null on disk: no chunk
        Assert.Equal([0.19, double.NaN], t.Column<double>("last_chunk_s"));
        Assert.Equal([0.19, 0.29], t.Column<double>("end_s"));
        Assert.Equal([20, 20], t.Column<int?>("prompt_tokens"));
        Assert.Equal([2, 0], t.Column<int>("output_chunks"));
        Assert.Equal("length", t.Column<string?>("finish_reason")[0]);
        Assert.Null(t.Column<string?>("finish_reason")[1]);
        Assert.All(t.Column<string?>("response_id"), Assert.Null);
        Assert.Equal(["", "upstream said \"no\", twice\nand é"], t.Column<string>("detail"));
        var chunks = ChunkFile.Read(Path.Combine(RunPath, ChunkFile.Name));
        Assert.Equal([1, 1], chunks.Request);
        Assert.Equal([0.15, 0.19], chunks.Times);
        Assert.Empty(Directory.GetFiles(RunPath, "*.tmp"));
    }
}
