using EnergyToToken.Load;
using EnergyToToken.Tests.Twin;

namespace EnergyToToken.Tests.Load;

/// <summary>Datasets and traces: what each format reads, what it refuses (by line), and the requests made from them.</summary>
public sealed class DatasetTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("e2t-dataset-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string Write(string text, string name = "data.jsonl")
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static string Lines(params string[] lines) => string.Join('\n', lines) + "\n";

    private static List<PlannedRequest> Plan(Dataset dataset, int count, ulong seed = 1, string output = "fixed:77")
    {
        var source = new RequestSource(new WorkloadOptions { Dataset = dataset, Seed = seed, OutputTokens = LengthDistribution.Parse(output) });
        return [.. Enumerable.Range(0, count).Select(source.Create)];
    }

    private static string[] Words(string prompt) => prompt.Split(' ')[1..]; // every word token starts with a space

    [Fact]
    public void Jsonl_prompts_ask_for_their_output_tokens_or_draw_them_from_the_workload()
    {
        var dataset = Dataset.Load(Write(Lines(
            """{"prompt": "Tell me a story about a lighthouse.", "output_tokens": 42}""",
            "",
            """{"prompt": "What is energy?"}""",
            """{"prompt": "Why is the sky blue?", "output_tokens": null}""")));
        Assert.Equal(DatasetFormat.Jsonl, dataset.Format);
        Assert.Equal(3, dataset.Entries.Count);
        Assert.Null(dataset.Offsets);
        Assert.Equal([42, null, null], dataset.Entries.Select(e => e.OutputTokens));

        var planned = Plan(dataset, 3).ToDictionary(p => p.Prompt);
        Assert.Equal(3, planned.Count); // one pass of the shuffled order visits every entry once
        Assert.Equal(42, planned["Tell me a story about a lighthouse."].OutputTokens);
        Assert.Equal(77, planned["What is energy?"].OutputTokens);
        Assert.Equal(77, planned["Why is the sky blue?"].OutputTokens);
        Assert.All(planned.Values, p => Assert.Equal(TokenText.Instance.Count(p.Prompt), p.InputTokens));
    }

    [Fact]
    public void Jsonl_lines_without_a_prompt_or_with_a_bad_output_length_are_named_by_line()
    {
        var noPrompt = Assert.Throws<EnergyToTokenException>(() => Dataset.Load(Write(Lines("""{"prompt": "ok"}""", """{"text": "no prompt"}"""))));
        Assert.Contains("line 2", noPrompt.Message);
        Assert.Contains("\"prompt\"", noPrompt.Message);
        var zero = Assert.Throws<EnergyToTokenException>(() => Dataset.Load(Write(Lines("""{"prompt": "ok", "output_tokens": 0}"""))));
        Assert.Contains("line 1", zero.Message);
        Assert.Contains("output_tokens", zero.Message);
        var text = Assert.Throws<EnergyToTokenException>(() => Dataset.Load(Write(Lines("""{"prompt": "ok"}""", """{"prompt": "ok", "output_tokens": "128"}"""))));
        Assert.Contains("line 2", text.Message);
        Assert.Contains("output_tokens", text.Message);
        var empty = Assert.Throws<EnergyToTokenException>(() => Dataset.Load(Write("\n\n")));
        Assert.Contains("no usable", empty.Message);
    }

    [Fact]
    public void ShareGpt_takes_the_first_turn_as_prompt_and_the_replys_token_count_as_output_and_counts_what_it_skips()
    {
        var reply = " The sky looks blue because air scatters short wavelengths more than long ones.";
        var dataset = Dataset.Load(Write(
            $$"""
            [
              {"id": "a", "conversations": [{"from": "human", "value": "Why is the sky blue?"}, {"from": "gpt", "value": "{{reply}}"}]},
              {"id": "b", "conversations": [{"from": "human", "value": "Only a question"}]},
              {"id": "c", "conversations": []},
              {"id": "d"},
              {"id": "e", "conversations": [{"from": "human", "value": ""}, {"from": "gpt", "value": "an answer to nothing"}]},
              {"id": "f", "conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello!"}, {"from": "human", "value": "Bye"}]}
            ]
            """, "sharegpt.json"));
        Assert.Equal(DatasetFormat.ShareGpt, dataset.Format);
        Assert.Equal(4, dataset.Skipped);
        Assert.Equal(["Why is the sky blue?", "Hi"], dataset.Entries.Select(e => e.Prompt));
        Assert.Equal([reply, "Hello!"], dataset.Entries.Select(e => e.Reply));

        var planned = Plan(dataset, 2).ToDictionary(p => p.Prompt);
        Assert.Equal(TokenText.Instance.Count(reply), planned["Why is the sky blue?"].OutputTokens);
        Assert.Equal(TokenText.Instance.Count("Hello!"), planned["Hi"].OutputTokens);
        Assert.Equal(TokenText.Instance.Count("Hi"), planned["Hi"].InputTokens);
    }

    [Fact]
    public void ShareGpt_with_no_usable_conversation_is_refused_with_the_skipped_count()
    {
        var e = Assert.Throws<EnergyToTokenException>(() => Dataset.Load(Write("""[{"conversations": [{"from": "human", "value": "alone"}]}, {}]""", "sharegpt.json")));
        Assert.Contains("2 skipped", e.Message);
    }

    [Theory]
    [InlineData("""  [{"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]}]""", DatasetFormat.ShareGpt)]
    [InlineData("""{"prompt": "hello", "output_tokens": 3}""", DatasetFormat.Jsonl)]
    [InlineData("""{"timestamp": 0, "input_length": 10, "output_length": 3}""", DatasetFormat.Trace)]
    [InlineData("\n  {\"timestamp\": 5, \"prompt\": \"hello\", \"output_length\": 3}", DatasetFormat.Trace)]
    public void The_format_is_guessed_from_the_content(string text, DatasetFormat format) =>
        Assert.Equal(format, Dataset.Load(Write(text)).Format);

    [Fact]
    public void A_given_format_overrides_the_guess()
    {
        // A trace line with a prompt is also a valid JSONL prompt line.
        var path = Write(Lines("""{"timestamp": 0, "prompt": "hello", "output_length": 3}"""));
        Assert.Equal(DatasetFormat.Trace, Dataset.Load(path).Format);
        Assert.Equal(DatasetFormat.Jsonl, Dataset.Load(path, DatasetFormat.Jsonl).Format);
    }

    [Fact]
    public void A_missing_file_says_it_cannot_be_read()
    {
        var path = Path.Combine(_directory, "absent.jsonl");
        Assert.Contains(path, Assert.Throws<EnergyToTokenException>(() => Dataset.Load(path)).Message);
    }

    [Fact]
    public void A_mooncake_trace_gives_offsets_in_seconds_and_prompts_of_exactly_its_input_lengths()
    {
        var dataset = Dataset.Load(Write(Lines(
            """{"timestamp": 1500, "input_length": 1536, "output_length": 10, "hash_ids": [1, 2, 3]}""",
            """{"timestamp": 1750, "input_length": 1300, "output_length": 5, "hash_ids": [1, 2, 9]}""",
            """{"timestamp": 1750, "input_length": 600, "output_length": 7, "hash_ids": [1, 4]}""",
            """{"timestamp": 2500, "input_length": 37, "output_length": 1}""",
            """{"timestamp": 4000, "input_length": 37, "output_length": 2}""")));
        Assert.Equal(DatasetFormat.Trace, dataset.Format);
        Assert.Equal([0, 0.25, 0.25, 1.0, 2.5], dataset.Offsets!);

        var planned = Plan(dataset, 5);
        Assert.Equal([1536, 1300, 600, 37, 37], planned.Select(p => p.InputTokens)); // a trace replays in its own order
        Assert.Equal([10, 5, 7, 1, 2], planned.Select(p => p.OutputTokens));
        Assert.All(planned, p => Assert.Equal(p.InputTokens, TokenText.Instance.Count(p.Prompt)));
        Assert.All(planned, p => Assert.Equal(p.InputTokens, Words(p.Prompt).Length));
        Assert.NotEqual(planned[3].Prompt, planned[4].Prompt); // no hash ids: nothing shared
    }

    [Fact]
    public void Trace_entries_sharing_leading_hash_ids_share_exactly_those_blocks_of_prompt_text()
    {
        const int block = Dataset.TraceBlockTokens;
        var dataset = Dataset.Load(Write(Lines(
            """{"timestamp": 0, "input_length": 1536, "output_length": 10, "hash_ids": [1, 2, 3]}""",
            """{"timestamp": 10, "input_length": 1300, "output_length": 5, "hash_ids": [1, 2, 9]}""",
            """{"timestamp": 20, "input_length": 600, "output_length": 7, "hash_ids": [1, 4]}""",
            """{"timestamp": 30, "input_length": 1100, "output_length": 7, "hash_ids": [1, 2]}""")));
        var words = Plan(dataset, 4).Select(p => Words(p.Prompt)).ToList();

        static int Shared(string[] a, string[] b)
        {
            var n = 0;
            while (n < Math.Min(a.Length, b.Length) && a[n] == b[n]) n++;
            return n;
        }

        // Equal up to the last shared block, then different within the next one (a repeat there is a 1 in 4096 chance per word).
        Assert.InRange(Shared(words[0], words[1]), 2 * block, 2 * block + 2);
        Assert.InRange(Shared(words[0], words[2]), block, block + 2);
        Assert.InRange(Shared(words[0], words[3]), 2 * block, 2 * block + 2);
        Assert.InRange(Shared(words[1], words[2]), block, block + 2);
    }

    [Fact]
    public void A_trace_out_of_time_order_is_refused_naming_the_line()
    {
        var e = Assert.Throws<EnergyToTokenException>(() => Dataset.Load(Write(Lines(
            """{"timestamp": 0, "input_length": 10, "output_length": 3}""",
            """{"timestamp": 500, "input_length": 10, "output_length": 3}""",
            """{"timestamp": 400, "input_length": 10, "output_length": 3}"""))));
        Assert.Contains("line 3", e.Message);
        Assert.Contains("time order", e.Message);
    }

    [Fact]
    public void A_trace_out_of_time_order_after_a_blank_line_names_the_files_line()
    {
        var e = Assert.Throws<EnergyToTokenException>(() => Dataset.Load(Write(Lines(
            """{"timestamp": 0, "input_length": 10, "output_length": 3}""",
            "",
            """{"timestamp": 500, "input_length": 10, "output_length": 3}""",
            """{"timestamp": 400, "input_length": 10, "output_length": 3}"""))));
        Assert.Contains("line 4", e.Message);
    }

    [Fact]
    public void A_trace_line_that_is_not_json_is_named_by_number()
    {
        var e = Assert.Throws<EnergyToTokenException>(() => Dataset.Load(Write(Lines(
            """{"timestamp": 0, "input_length": 10, "output_length": 3}""",
            """{"timestamp": 10, "input_length": 10, "output_length": 3}""",
            """{"timestamp": 20, "input_length": 10, "output_len""",
            """{"timestamp": 30, "input_length": 10, "output_length": 3}"""))));
        Assert.Contains("line 3", e.Message);
        Assert.Contains("not valid JSON", e.Message);
    }

    [Theory]
    [InlineData("""{"timestamp": 10, "input_length": 10}""", "output_length")]
    [InlineData("""{"input_length": 10, "output_length": 3}""", "timestamp")]
    [InlineData("""{"timestamp": 10, "output_length": 3}""", "input_length")]
    [InlineData("""{"timestamp": -5, "input_length": 10, "output_length": 3}""", "timestamp")]
    [InlineData("""{"timestamp": 10, "input_length": 0, "output_length": 3}""", "input_length")]
    [InlineData("""{"timestamp": "10", "input_length": 10, "output_length": 3}""", "timestamp")]
    [InlineData("""{"timestamp": 10, "input_length": "10", "output_length": 3}""", "input_length")]
    [InlineData("""{"timestamp": 10, "input_length": 10, "output_length": 3, "hash_ids": [1, "x"]}""", "hash_ids")]
    public void A_trace_line_missing_or_misgiving_a_field_names_the_field_and_line(string second, string field)
    {
        var e = Assert.Throws<EnergyToTokenException>(() => Dataset.Load(Write(Lines(
            """{"timestamp": 0, "input_length": 10, "output_length": 3}""", second)), DatasetFormat.Trace));
        Assert.Contains("line 2", e.Message);
        Assert.Contains(field, e.Message);
    }

    [Fact]
    public void The_shuffled_order_is_the_seeds_alone_and_cycles_through_every_entry()
    {
        var dataset = Dataset.Load(Write(Lines([.. Enumerable.Range(0, 30).Select(i => $$"""{"prompt": "prompt number {{i}}"}""")])));
        var first = Plan(dataset, 60, seed: 7).Select(p => p.Prompt).ToList();
        Assert.Equal(first, Plan(dataset, 60, seed: 7).Select(p => p.Prompt));
        Assert.NotEqual(first, Plan(dataset, 60, seed: 8).Select(p => p.Prompt));
        Assert.Equal(dataset.Entries.Select(e => e.Prompt).Order(), first.Take(30).Order()); // a permutation, not a sample with repeats
        Assert.NotEqual(dataset.Entries.Select(e => e.Prompt), first.Take(30)); // shuffled, not file order
        Assert.Equal(first.Take(30), first.Skip(30)); // longer runs cycle the same order
    }

    [Fact]
    public async Task A_trace_replays_at_its_offsets_sped_up_with_its_lengths_on_the_server()
    {
        var dataset = Dataset.Load(Write(Lines(
            """{"timestamp": 0, "input_length": 40, "output_length": 4, "hash_ids": [1]}""",
            """{"timestamp": 150, "input_length": 700, "output_length": 3, "hash_ids": [1, 2]}""",
            """{"timestamp": 300, "input_length": 25, "output_length": 6}""",
            """{"timestamp": 520, "input_length": 530, "output_length": 2, "hash_ids": [1]}""",
            """{"timestamp": 760, "input_length": 90, "output_length": 5}""",
            """{"timestamp": 1000, "input_length": 12, "output_length": 1}""")));
        await using var server = await TwinHttp.StartAsync();
        var runner = new LoadRunner(new StreamingClient(new HttpClient { BaseAddress = server.BaseAddress }, new StreamingClientOptions(), TimeProvider.System), server.ModelName, TimeProvider.System);
        var run = await runner.RunAsync(new WorkloadOptions { Dataset = dataset }, new ArrivalOptions { Kind = ArrivalKind.Trace, TraceSpeed = 2 }, CancellationToken.None);

        Assert.Equal(6, run.Count);
        var frequency = TimeProvider.System.TimestampFrequency;
        for (var i = 0; i < run.Count; i++)
        {
            var expected = dataset.Offsets![i] / 2 * frequency;
            Assert.InRange(run[i].ScheduledTimestamp - run[0].ScheduledTimestamp, expected - 1, expected + 1);
            Assert.Equal(TerminalState.Ok, run[i].Record.State);
            Assert.Equal(dataset.Entries[i].InputTokens, run[i].Record.PromptTokens);
            Assert.Equal(dataset.Entries[i].OutputTokens, run[i].Record.OutputTokens);
        }
    }
}
