using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using EnergyToToken.Load;
using Microsoft.AspNetCore.Http;

namespace EnergyToToken.Tests.Load;

/// <summary>
/// The quality side of the operating point (issue 6): <c>--quality NAME=VALUE±TOL</c> declarations, the JSONL quality
/// set (what it reads, what it refuses, all bad lines at once), grading, and a run against a scripted server on loopback.
/// </summary>
public sealed class QualityTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("e2t-quality-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string Write(string text, string name = "set.jsonl")
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static string Lines(params string[] lines) => string.Join('\n', lines) + "\n";

    private static readonly string[] Cities = ["Lyon", "Paris", "Nice"];

    // ---- declarations ----

    [Theory]
    [InlineData("mmlu=0.712±0.01", "mmlu", 0.712, 0.01)]
    [InlineData("gsm8k=81.5+-1", "gsm8k", 81.5, 1.0)]
    [InlineData("x=1e-3+/-2E-4", "x", 1e-3, 2e-4)]
    [InlineData(" mt-bench.v2 = 8.1 ± 0.2 ", "mt-bench.v2", 8.1, 0.2)]
    [InlineData("hellaswag/acc_norm=0.8", "hellaswag/acc_norm", 0.8, null)]
    [InlineData("loss=-1.5±0", "loss", -1.5, 0.0)]
    public void A_declaration_reads_name_value_and_tolerance_in_either_plus_minus_form(string text, string name, double value, double? tolerance)
    {
        var declaration = QualityDeclaration.Parse(text);
        Assert.Equal(new QualityDeclaration(name, value, tolerance, "declared"), declaration);
        Assert.Equal(declaration, QualityDeclaration.Parse(declaration.ToString())); // ToString is the --quality form
    }

    [Fact]
    public void A_declaration_reads_a_decimal_point_whatever_the_culture()
    {
        var saved = CultureInfo.CurrentCulture;
        CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo("de-DE");
        try
        {
            Assert.Equal(0.712, QualityDeclaration.Parse("mmlu=0.712±0.01").Value);
            Assert.Equal("mmlu=0.712±0.01", QualityDeclaration.Parse("mmlu=0.712±0.01").ToString());
        }
        finally
        {
            CultureInfo.CurrentCulture = saved;
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("mmlu")]
    [InlineData("mmlu=")]
    [InlineData("=0.5")]
    [InlineData("mm lu=0.5")]
    [InlineData("mmlu:0.5")]
    [InlineData("mmlu=abc")]
    [InlineData("mmlu=0,712")]
    [InlineData("mmlu=NaN")]
    [InlineData("mmlu=0.7±")]
    [InlineData("mmlu=0.7±x")]
    [InlineData("mmlu=0.7±-0.1")]
    public void A_bad_declaration_names_the_text_the_valid_form_and_an_example(string text)
    {
        var e = Assert.Throws<EnergyToTokenException>(() => QualityDeclaration.Parse(text));
        Assert.Contains($"'{text}'", e.Message, StringComparison.Ordinal);
        Assert.Contains("NAME=VALUE±TOL", e.Message, StringComparison.Ordinal);
        Assert.Contains("NAME=VALUE+-TOL", e.Message, StringComparison.Ordinal);
        Assert.Contains("e.g. mmlu=0.712±0.01", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bad_tolerance_or_value_is_named_in_the_message()
    {
        Assert.Contains("tolerance '-0.1'", Assert.Throws<EnergyToTokenException>(() => QualityDeclaration.Parse("mmlu=0.7±-0.1")).Message, StringComparison.Ordinal);
        Assert.Contains("value 'abc'", Assert.Throws<EnergyToTokenException>(() => QualityDeclaration.Parse("mmlu=abc")).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0.70, 0.712, 0.02, true)]
    [InlineData(0.732, 0.712, 0.02, true)] // 0.020000000000000018 in binary: decimal edges are inside too
    [InlineData(0.68, 0.712, 0.02, false)]
    [InlineData(0.5, 0.75, 0.25, true)] // the edge is inside
    [InlineData(0.712, 0.712, null, true)]
    [InlineData(0.711, 0.712, null, false)]
    [InlineData(0.3, 0.1 + 0.2, null, true)]
    public void Within_is_the_distance_to_the_reference_against_the_reference_tolerance(double value, double reference, double? tolerance, bool within)
    {
        var measured = new QualityDeclaration("mmlu", value, 0.5, "quality set"); // its own tolerance plays no part
        Assert.Equal(within, measured.Within(new QualityDeclaration("mmlu", reference, tolerance, "declared")));
    }

    // ---- loading ----

    [Fact]
    public void A_set_reads_exact_and_multiple_choice_items_skipping_blank_lines_and_ignoring_other_properties()
    {
        var items = QualitySet.Load(Write(string.Join("\r\n",
            """{"id": "add", "prompt": "What is 2+2?", "answer": "4"}""",
            "",
            """{"prompt": "What is 6*7?", "answer": 42, "subject": "arithmetic"}""",
            "   ",
            """{"id": 7, "prompt": "Capital of France?", "choices": ["Lyon", "Paris", "Nice"], "answer": "B"}""",
            """{"prompt": "Capital of France, again?", "choices": ["Lyon", "Paris", "Nice"], "answer": "paris", "id": null}""",
            "")));
        Assert.Equal(
            [
                ("add", "What is 2+2?", "4"),
                ("3", "What is 6*7?", "42"), // no id: the line number; a number answer: its text
                ("7", "Capital of France?", "B"),
                ("6", "Capital of France, again?", "paris"),
            ],
            items.Select(i => (i.Id, i.Prompt, i.Answer)));
        Assert.Null(items[0].Choices);
        Assert.Null(items[1].Choices);
        Assert.Equal(Cities, items[2].Choices);
        Assert.Equal(Cities, items[3].Choices);
    }

    [Fact]
    public void Every_bad_line_is_listed_at_once_with_its_number_and_what_is_wrong()
    {
        var path = Write(Lines(
            """{"id": "a", "prompt": "ok", "answer": "ok"}""",
            """{"prompt": "unclosed""",
            """{"answer": "no prompt"}""",
            """{"prompt": "one choice", "choices": ["only"], "answer": "A"}""",
            """{"prompt": "out of range", "choices": ["x", "y"], "answer": "C"}""",
            """{"id": "a", "prompt": "again", "answer": "ok"}""",
            """["an", "array"]""",
            """{"prompt": "", "answer": ["list"], "choices": "abc"}""",
            """{"prompt": "twice", "choices": ["Yes", "yes "], "answer": "A"}"""));
        var e = Assert.Throws<EnergyToTokenException>(() => QualitySet.Load(path));
        Assert.Contains($"'{path}' has 8 bad lines", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("line 1:", e.Message, StringComparison.Ordinal);
        Assert.Contains("line 2: not valid JSON", e.Message, StringComparison.Ordinal);
        Assert.Contains("line 3: no \"prompt\".", e.Message, StringComparison.Ordinal);
        Assert.Contains("line 4: \"choices\" must hold 2 to 26 options", e.Message, StringComparison.Ordinal);
        Assert.Contains("line 5: \"answer\" \"C\" is neither a letter A–B nor the text of one of the choices", e.Message, StringComparison.Ordinal);
        Assert.Contains("line 6: id \"a\" is already used on line 1", e.Message, StringComparison.Ordinal);
        Assert.Contains("line 7: not a JSON object (found array)", e.Message, StringComparison.Ordinal);
        // One line with several problems lists them all.
        Assert.Contains("line 8: \"prompt\" must be a non-blank string (was \"\"); \"answer\" must be a non-blank string (was [\"list\"]); \"choices\" must be an array", e.Message, StringComparison.Ordinal);
        Assert.Contains("line 9: \"choices\" holds \"Yes\" twice", e.Message, StringComparison.Ordinal);
        Assert.Contains("\"prompt\": \"...\", \"answer\": \"...\"", e.Message, StringComparison.Ordinal); // the format, to fix them by
    }

    [Fact]
    public void A_file_of_the_wrong_kind_lists_the_first_fifty_bad_lines_and_counts_the_rest()
    {
        var e = Assert.Throws<EnergyToTokenException>(() => QualitySet.Load(Write(Lines([.. Enumerable.Repeat("""{"text": "x"}""", 60)]))));
        Assert.Contains("has 60 bad lines", e.Message, StringComparison.Ordinal);
        Assert.Contains("line 50: no \"prompt\"", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("line 51:", e.Message, StringComparison.Ordinal);
        Assert.Contains("… and 10 more bad lines", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("\n  \n\r\n")]
    public void An_empty_set_is_refused(string text)
    {
        var path = Write(text);
        var e = Assert.Throws<EnergyToTokenException>(() => QualitySet.Load(path));
        Assert.Contains($"'{path}' holds no items", e.Message, StringComparison.Ordinal);
        Assert.Contains("\"prompt\"", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_file_or_a_directory_is_refused_by_name()
    {
        var missing = Path.Combine(_directory, "nope.jsonl");
        var e = Assert.Throws<EnergyToTokenException>(() => QualitySet.Load(missing));
        Assert.Contains($"Quality set '{missing}' does not exist", e.Message, StringComparison.Ordinal);
        Assert.Contains("Check the path", e.Message, StringComparison.Ordinal);
        Assert.Contains("is a directory", Assert.Throws<EnergyToTokenException>(() => QualitySet.Load(_directory)).Message, StringComparison.Ordinal);
    }

    // ---- grading ----

    private static QualityItem Exact(string answer) => new("e", "p", answer, null);

    private static QualityItem Choice(string answer) => new("c", "Capital of France?", answer, Cities);

    [Theory]
    [InlineData("4", "4", true)]
    [InlineData("  Paris. ", "paris", true)]
    [InlineData("New \t  York", "new york.", true)]
    [InlineData("NEW\nYORK", "New York", true)]
    [InlineData("4.", "4", true)]
    [InlineData("Cafe\u0301", "café", true)] // composed and decomposed é are one answer
    [InlineData("40", "4", false)]
    [InlineData("Paris, France", "Paris", false)]
    [InlineData("4..", "4", false)] // one trailing period only
    [InlineData("", "4", false)]
    public void Exact_match_compares_after_trimming_case_whitespace_and_a_trailing_period(string reply, string answer, bool correct) =>
        Assert.Equal(correct, QualitySet.Grade(Exact(answer), reply).Correct);

    [Theory]
    [InlineData("B")]
    [InlineData("b")]
    [InlineData("(B)")]
    [InlineData("b.")]
    [InlineData("**B**")]
    [InlineData("Answer: B.")]
    [InlineData("B. Paris")]
    [InlineData(" paris ")]
    [InlineData("I think B")] // I is no choice of A–C, so it is skipped
    public void Multiple_choice_reads_the_letter_or_the_choice_text(string reply)
    {
        Assert.True(QualitySet.Grade(Choice("B"), reply).Correct);
        Assert.True(QualitySet.Grade(Choice("Paris"), reply).Correct); // the answer given as the choice's text
    }

    [Theory]
    [InlineData("C", "got C (Nice)")]
    [InlineData("Nice", "got C (Nice)")]
    [InlineData("A, then B", "got A (Lyon)")] // the first letter counts
    [InlineData("D", "names no choice A–C")] // out of range
    [InlineData("I don't know", "names no choice A–C")]
    [InlineData("ABC", "names no choice A–C")] // not standalone
    public void Multiple_choice_is_wrong_for_another_choice_or_none_and_says_so(string reply, string detail)
    {
        var (correct, said) = QualitySet.Grade(Choice("b"), reply);
        Assert.False(correct);
        Assert.StartsWith("expected B (Paris), ", said, StringComparison.Ordinal);
        Assert.Contains(detail, said, StringComparison.Ordinal);
    }

    [Fact]
    public void A_multiple_choice_prompt_lists_lettered_choices_and_asks_for_the_letter_only()
    {
        Assert.Equal("Capital of France?\n\nA. Lyon\nB. Paris\nC. Nice\n\nAnswer with the letter only.", QualitySet.PromptFor(Choice("B")));
        Assert.Equal("p", QualitySet.PromptFor(Exact("4")));
    }

    [Fact]
    public void Standard_error_and_the_declaration_follow_the_binomial_accuracy()
    {
        var result = new QualityResult("s", 100, 80, 15, 5, 0.8, []);
        Assert.Equal(0.04, result.StandardError, 12);
        var declaration = result.ToDeclaration();
        Assert.Equal(("s", 0.8, "quality set (100 items)"), (declaration.Name, declaration.Value, declaration.Source));
        Assert.Equal(1.96 * 0.04, declaration.Tolerance!.Value, 12);
    }

    // ---- options ----

    [Fact]
    public async Task Options_list_every_problem_and_a_run_refuses_them_before_sending()
    {
        var options = new QualitySetOptions { MaxTokens = 0, Concurrency = 0, Timeout = TimeSpan.Zero, ApiKey = "two words" };
        Assert.Equal(4, options.Validate().Count);
        Assert.Empty(new QualitySetOptions().Validate());
        Assert.Equal((32, 4, TimeSpan.FromSeconds(60), (string?)null), (new QualitySetOptions().MaxTokens, new QualitySetOptions().Concurrency, new QualitySetOptions().Timeout, new QualitySetOptions().ApiKey));

        using var http = new HttpClient();
        var e = await Assert.ThrowsAsync<EnergyToTokenException>(() =>
            QualitySet.RunAsync(http, new Uri("http://127.0.0.1:1/"), " ", [], options, CancellationToken.None));
        foreach (var part in (string[])["MaxTokens", "Concurrency", "Timeout", "ApiKey", "model name", "no items"])
            Assert.Contains(part, e.Message, StringComparison.Ordinal);
    }

    // ---- end to end ----

    private static readonly Dictionary<string, string> Replies = new(StringComparer.Ordinal)
    {
        ["What is 2+2?"] = " 4. ",              // right after normalization
        ["Capital of Italy?"] = "Milan",        // wrong
        ["Capital of France?"] = "B",           // right by letter
        ["Largest planet?"] = "Answer: (A)",    // wrong: the answer is C
        ["Boiling point of water in C?"] = "100", // right, the answer written as a JSON number
    };

    private static string Completion(string content)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteString("id", "chatcmpl-1");
            json.WriteString("object", "chat.completion");
            json.WriteStartArray("choices");
            json.WriteStartObject();
            json.WriteNumber("index", 0);
            json.WriteStartObject("message");
            json.WriteString("role", "assistant");
            json.WriteString("content", content);
            json.WriteEndObject();
            json.WriteString("finish_reason", "stop");
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private sealed record Seen(string Path, string? Authorization, string Body);

    /// <summary>Answers by the first line of the prompt: from <see cref="Replies"/>, a 500, or a body that is no chat completion.</summary>
    private static Func<HttpContext, CancellationToken, Task> Script(ConcurrentBag<Seen> seen) => async (context, cancel) =>
    {
        using var reader = new StreamReader(context.Request.Body);
        var body = await reader.ReadToEndAsync(cancel);
        seen.Add(new Seen(context.Request.Path, context.Request.Headers.Authorization, body));
        using var request = JsonDocument.Parse(body);
        var prompt = request.RootElement.GetProperty("messages")[0].GetProperty("content").GetString()!.Split('\n')[0];
        context.Response.ContentType = "application/json";
        if (prompt == "Explode?")
        {
            context.Response.StatusCode = 500;
            await context.Response.WriteAsync("""{"error":{"message":"engine died","type":"server_error"}}""", cancel);
        }
        else if (prompt == "Garble?")
        {
            await context.Response.WriteAsync("""{"choices": []}""", cancel);
        }
        else
        {
            await context.Response.WriteAsync(Completion(Replies[prompt]), cancel);
        }
    };

    [Fact]
    public async Task A_set_run_against_a_server_counts_right_wrong_and_failed_items_and_never_drops_one()
    {
        var path = Write(Lines(
            """{"id": "add", "prompt": "What is 2+2?", "answer": "4"}""",
            """{"id": "italy", "prompt": "Capital of Italy?", "answer": "Rome"}""",
            """{"id": "france", "prompt": "Capital of France?", "choices": ["Lyon", "Paris", "Nice"], "answer": "B"}""",
            """{"id": "planet", "prompt": "Largest planet?", "choices": ["Mars", "Venus", "Jupiter", "Earth"], "answer": "Jupiter"}""",
            """{"id": "boom", "prompt": "Explode?", "answer": "no"}""",
            """{"id": "garble", "prompt": "Garble?", "answer": "no"}""",
            """{"id": "boil", "prompt": "Boiling point of water in C?", "answer": 100}"""), "mini-eval.jsonl");
        var seen = new ConcurrentBag<Seen>();
        await using var server = await ScriptedServer.StartAsync(Script(seen));
        using var http = new HttpClient();

        var result = await QualitySet.RunAsync(http, server.BaseAddress, "llama", QualitySet.Load(path), new QualitySetOptions { Concurrency = 2, ApiKey = "sk-test" }, CancellationToken.None);

        Assert.Equal(("mini-eval", 7, 3, 2, 2), (result.Name, result.Items, result.Correct, result.Wrong, result.Failed));
        Assert.Equal(3.0 / 7, result.Accuracy, 12);
        Assert.Equal(["add", "italy", "france", "planet", "boom", "garble", "boil"], result.Results.Select(r => r.Id)); // in the set's order
        Assert.Equal(
            [(true, false), (false, false), (true, false), (false, false), (false, true), (false, true), (true, false)],
            result.Results.Select(r => (r.Correct, r.Failed)));
        Assert.Equal(" 4. ", result.Results[0].Reply);
        Assert.Equal("expected \"Rome\", got \"Milan\"", result.Results[1].Detail);
        Assert.Equal("expected C (Jupiter), got A (Mars)", result.Results[3].Detail);
        Assert.StartsWith("HTTP 500: ", result.Results[4].Detail, StringComparison.Ordinal);
        Assert.Contains("engine died", result.Results[4].Detail, StringComparison.Ordinal);
        Assert.Equal("", result.Results[4].Reply);
        Assert.Contains("not a chat completion", result.Results[5].Detail, StringComparison.Ordinal);

        var declaration = result.ToDeclaration();
        Assert.Equal(("mini-eval", 3.0 / 7, "quality set mini-eval.jsonl (7 items)"), (declaration.Name, declaration.Value, declaration.Source));
        Assert.Equal(1.96 * Math.Sqrt(3.0 / 7 * (4.0 / 7) / 7), declaration.Tolerance!.Value, 12);

        // What went over the wire: one non-streaming, greedy chat completion per item, with the key.
        Assert.Equal(7, seen.Count);
        Assert.All(seen, s =>
        {
            Assert.Equal("/v1/chat/completions", s.Path);
            Assert.Equal("Bearer sk-test", s.Authorization);
            using var body = JsonDocument.Parse(s.Body);
            var root = body.RootElement;
            Assert.Equal("llama", root.GetProperty("model").GetString());
            Assert.False(root.GetProperty("stream").GetBoolean());
            Assert.Equal(0, root.GetProperty("temperature").GetDouble());
            Assert.Equal(32, root.GetProperty("max_tokens").GetInt32());
            Assert.Equal("user", root.GetProperty("messages")[0].GetProperty("role").GetString());
        });
        Assert.Contains(seen, s => s.Body.Contains(@"Capital of France?\n\nA. Lyon\nB. Paris\nC. Nice\n\nAnswer with the letter only.", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_endpoint_given_with_v1_reaches_the_same_path_and_no_key_sends_no_authorization()
    {
        var seen = new ConcurrentBag<Seen>();
        await using var server = await ScriptedServer.StartAsync(Script(seen));
        using var http = new HttpClient();
        var result = await QualitySet.RunAsync(http, new Uri(server.BaseAddress, "v1"), "m", [new QualityItem("1", "What is 2+2?", "4", null)], new QualitySetOptions(), CancellationToken.None);
        Assert.Equal(("quality-set", 1, 1), (result.Name, result.Items, result.Correct));
        Assert.Equal("quality set (1 items)", result.ToDeclaration().Source);
        var request = Assert.Single(seen);
        Assert.Equal(("/v1/chat/completions", (string?)null), (request.Path, request.Authorization));
    }

    [Fact]
    public async Task A_slow_item_fails_at_its_timeout_while_the_others_are_graded()
    {
        await using var server = await ScriptedServer.StartAsync(async (context, cancel) =>
        {
            using var reader = new StreamReader(context.Request.Body);
            var body = await reader.ReadToEndAsync(cancel);
            if (body.Contains("slow", StringComparison.Ordinal)) await Task.Delay(TimeSpan.FromSeconds(30), cancel);
            await context.Response.WriteAsync(Completion("yes"), cancel);
        });
        using var http = new HttpClient();
        QualityItem[] items = [new("fast", "fast?", "yes", null), new("slow", "slow?", "yes", null)];
        var result = await QualitySet.RunAsync(http, server.BaseAddress, "m", items, new QualitySetOptions { Timeout = TimeSpan.FromMilliseconds(500) }, CancellationToken.None);
        Assert.Equal((1, 0, 1), (result.Correct, result.Wrong, result.Failed));
        Assert.Equal("timed out after 0.5 s (the item's Timeout)", result.Results[1].Detail);
    }

    [Fact]
    public async Task A_server_nobody_listens_on_fails_every_item_without_throwing()
    {
        using var http = new HttpClient();
        QualityItem[] items = [new("a", "p", "x", null), new("b", "p", "x", null), new("c", "p", "x", null)];
        var result = await QualitySet.RunAsync(http, new Uri($"http://127.0.0.1:{ClosedPort()}/"), "m", items, new QualitySetOptions(), CancellationToken.None);
        Assert.Equal((3, 0, 0, 3, 0.0), (result.Items, result.Correct, result.Wrong, result.Failed, result.Accuracy));
        Assert.All(result.Results, r => Assert.StartsWith("request failed: ", r.Detail, StringComparison.Ordinal));
    }

    [Fact]
    public async Task No_more_items_are_in_flight_than_the_concurrency_and_cancelling_the_run_throws()
    {
        var inFlight = 0;
        var most = 0;
        await using var server = await ScriptedServer.StartAsync(async (context, cancel) =>
        {
            var now = Interlocked.Increment(ref inFlight);
            InterlockedMax(ref most, now);
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(50), cancel);
                await context.Response.WriteAsync(Completion("x"), cancel);
            }
            finally
            {
                Interlocked.Decrement(ref inFlight);
            }
        });
        using var http = new HttpClient();
        QualityItem[] items = [.. Enumerable.Range(0, 8).Select(i => new QualityItem($"{i}", "p", "x", null))];
        var result = await QualitySet.RunAsync(http, server.BaseAddress, "m", items, new QualitySetOptions { Concurrency = 2 }, CancellationToken.None);
        Assert.Equal(8, result.Correct);
        Assert.InRange(most, 1, 2);

        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => QualitySet.RunAsync(http, server.BaseAddress, "m", items, new QualitySetOptions(), cancelled.Token));
    }

    private static void InterlockedMax(ref int target, int value)
    {
        for (var seen = Volatile.Read(ref target); value > seen; seen = Volatile.Read(ref target))
            if (Interlocked.CompareExchange(ref target, value, seen) == seen) return;
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
