using System.Collections;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace EnergyToToken.Load;

/// <summary>
/// One measured quality of the model at the operating point (the q of <c>(q*, s*)</c>, issue 6): a name, a value and,
/// where known, its tolerance, in the metric's own units (0.712 or 71.2 alike; nothing is rescaled).
/// </summary>
/// <param name="Name">The metric, e.g. <c>mmlu</c> or <c>gsm8k/strict</c>.</param>
/// <param name="Tolerance">± around <paramref name="Value"/>, ≥ 0; null when none was given.</param>
/// <param name="Source">Where the value came from: <c>declared</c> for <see cref="Parse"/>, the set's file for a measured one.</param>
public sealed partial record QualityDeclaration(string Name, double Value, double? Tolerance, string Source)
{
    /// <summary>The form <see cref="Parse"/> accepts, for messages and help text.</summary>
    public const string Form = "NAME=VALUE or NAME=VALUE±TOL (ASCII: NAME=VALUE+-TOL), NAME of letters, digits and _ - . /, e.g. mmlu=0.712±0.01 or gsm8k=81.5+-1";

    /// <summary>
    /// Reads <c>NAME=VALUE</c>, <c>NAME=VALUE±TOL</c> or <c>NAME=VALUE+-TOL</c> (also <c>+/-</c>; <c>--quality</c>), with invariant-culture
    /// numbers (a decimal point, never a comma). The source is <c>declared</c>.
    /// </summary>
    public static QualityDeclaration Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var match = Pattern().Match(text);
        if (!match.Success)
            throw new EnergyToTokenException($"Quality '{text}' is not a quality declaration. Write {Form}.");
        if (!TryNumber(match.Groups["value"].Value, out var value))
            throw new EnergyToTokenException($"Quality '{text}': the value '{match.Groups["value"].Value}' is not a finite number. Write {Form}.");
        double? tolerance = null;
        if (match.Groups["tol"].Success)
        {
            if (!TryNumber(match.Groups["tol"].Value, out var tol) || tol < 0)
                throw new EnergyToTokenException($"Quality '{text}': the tolerance '{match.Groups["tol"].Value}' must be a finite number ≥ 0. Write {Form}.");
            tolerance = tol;
        }
        return new QualityDeclaration(match.Groups["name"].Value, value, tolerance, "declared");
    }

    /// <summary>Whether this value lies within <paramref name="reference"/>'s tolerance: |Value − reference.Value| ≤ reference.Tolerance, or the two values are equal when the reference has none.</summary>
    /// <remarks>
    /// Values are typed in decimal but held in binary, so 0.732 against 0.712±0.02 differs by 0.020000000000000018: the
    /// comparison allows 1e-12 of the values' magnitude, far below any quality metric's resolution.
    /// </remarks>
    public bool Within(QualityDeclaration reference)
    {
        ArgumentNullException.ThrowIfNull(reference);
        var distance = Math.Abs(Value - reference.Value);
        var slack = 1e-12 * Math.Max(Math.Abs(Value), Math.Abs(reference.Value));
        return distance <= (reference.Tolerance ?? 0) + slack;
    }

    /// <summary>The declaration as <see cref="Parse"/> reads it back: <c>NAME=VALUE</c> or <c>NAME=VALUE±TOL</c>.</summary>
    public override string ToString() =>
        Tolerance is { } tolerance
            ? string.Create(CultureInfo.InvariantCulture, $"{Name}={Value}±{tolerance}")
            : string.Create(CultureInfo.InvariantCulture, $"{Name}={Value}");

    private static bool TryNumber(string text, out double value) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);

    // The number groups are loose on purpose: TryNumber decides, so "mmlu=abc" gets the message about the value.
    [GeneratedRegex(@"^\s*(?<name>[A-Za-z0-9_\-./]+)\s*=\s*(?<value>[^\s±+]+(?:[eE][+-]?\d+)?)\s*(?:(?:±|\+-|\+/-)\s*(?<tol>\S+))?\s*$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}

/// <summary>One prompt of a quality set with its expected answer.</summary>
/// <param name="Id">The line's <c>id</c>, or its line number when it has none.</param>
/// <param name="Answer">As written in the file: the exact answer, or for multiple choice the letter or the choice's text.</param>
/// <param name="Choices">The options of a multiple-choice item (2 to 26, shown as A, B, …); null for an exact-match item.</param>
public sealed record QualityItem(string Id, string Prompt, string Answer, IReadOnlyList<string>? Choices);

/// <summary>How a quality set is run against the endpoint.</summary>
public sealed record QualitySetOptions
{
    /// <summary>Gets or sets the <c>max_tokens</c> of each request: answers are short. Default: 32.</summary>
    public int MaxTokens { get; init; } = 32;

    /// <summary>Gets or sets how many items are in flight at once. Default: 4.</summary>
    public int Concurrency { get; init; } = 4;

    /// <summary>Gets or sets how long one item may take, from sending to the whole reply; past it the item fails. Default: 60 s.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Gets or sets the bearer token sent as <c>Authorization: Bearer …</c>. Default: null, no header.</summary>
    public string? ApiKey { get; init; }

    /// <summary>Returns every problem, not just the first; empty when the options are valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (MaxTokens < 1) errors.Add($"MaxTokens must be at least 1 (was {MaxTokens}).");
        if (Concurrency < 1) errors.Add($"Concurrency must be at least 1 (was {Concurrency}).");
        if (Timeout <= TimeSpan.Zero || Timeout > TimeSpan.FromDays(1)) errors.Add($"Timeout must be positive and at most a day (was {Timeout}).");
        if (ApiKey is not null && (ApiKey.Length == 0 || ApiKey.Any(char.IsWhiteSpace)))
            errors.Add("ApiKey must be a non-empty token without whitespace when given; leave it null to send no Authorization header.");
        return errors;
    }
}

/// <summary>How one item of a quality set ended: correct, wrong, or failed (no gradable reply).</summary>
/// <param name="Reply">The model's answer text; empty when the item failed.</param>
/// <param name="Detail">Why, in words: what was expected and what was read, or why the request failed.</param>
public sealed record QualityItemResult(string Id, bool Correct, bool Failed, string Reply, string Detail);

/// <summary>
/// The accuracy of a quality set at the operating point. Every item is counted: <see cref="Items"/> =
/// <see cref="Correct"/> + <see cref="Wrong"/> + <see cref="Failed"/>, and a failed item is not correct.
/// </summary>
/// <param name="Name">The set's file name without extension.</param>
/// <param name="Accuracy"><see cref="Correct"/> / <see cref="Items"/>, failed items included in the denominator.</param>
/// <param name="Results">One per item, in the set's order.</param>
public sealed record QualityResult(string Name, int Items, int Correct, int Wrong, int Failed, double Accuracy, IReadOnlyList<QualityItemResult> Results)
{
    /// <summary>The binomial standard error of <see cref="Accuracy"/>, √(p(1−p)/n); NaN for an empty set.</summary>
    /// <remarks>The normal approximation: it is 0 at an accuracy of 0 or 1, and loose for small sets.</remarks>
    public double StandardError => Items > 0 ? Math.Sqrt(Accuracy * (1 - Accuracy) / Items) : double.NaN;

    /// <summary>The file the items came from (its name, no directory), when they came from <see cref="QualitySet.Load"/>.</summary>
    internal string? File { get; init; }

    /// <summary>The accuracy as a quality of the operating point, ± 1.96 standard errors (a 95 % interval).</summary>
    public QualityDeclaration ToDeclaration() =>
        new(Name, Accuracy, 1.96 * StandardError, File is null ? $"quality set ({Items} items)" : $"quality set {File} ({Items} items)");
}

/// <summary>
/// A user-supplied set of prompts with expected answers (<c>--quality-set FILE.jsonl</c>), run against the endpoint to
/// measure accuracy at the operating point.
/// </summary>
/// <remarks>
/// <para>
/// The file is JSONL, one object per line; blank lines are skipped and other properties ignored:
/// <c>{"id": "q1", "prompt": "What is 2+2?", "answer": "4"}</c> (exact match) or
/// <c>{"id": "q2", "prompt": "Capital of France?", "choices": ["Lyon", "Paris", "Nice"], "answer": "B"}</c> (multiple choice).
/// </para>
/// <list type="bullet">
/// <item><c>prompt</c> (string, required, not blank).</item>
/// <item><c>answer</c> (string, required, not blank; a JSON number is taken as its text). With choices: the letter
/// (<c>"B"</c>) or the text of one choice (<c>"Paris"</c>).</item>
/// <item><c>choices</c> (array of 2 to 26 distinct, non-blank strings, optional): makes the item multiple choice.</item>
/// <item><c>id</c> (string or number, optional, unique): names the item in results; default the line number.</item>
/// </list>
/// <para>
/// A multiple-choice prompt is sent as the prompt, a blank line, one line per choice (<c>A. …</c>, <c>B. …</c>), a blank
/// line and <c>Answer with the letter only.</c>. Its reply is graded by the first standalone capital letter within the
/// choices' range (<c>B</c>, <c>(B)</c>, <c>Answer: B.</c>), or by a reply that is one choice's text or a lone letter,
/// case-insensitive. An exact-match reply must equal the answer after normalization: trimmed, case-insensitive,
/// whitespace runs collapsed to one space, one trailing period stripped.
/// </para>
/// <para>
/// Each item is one non-streaming chat completion (<c>POST {endpoint}/v1/chat/completions</c>, <c>"stream": false</c>,
/// <c>"temperature": 0</c>) and ends correct, wrong or failed: an HTTP error, a timeout, a connection failure or a
/// reply that is not a chat completion fails the item, which counts as not correct and is reported apart.
/// </para>
/// </remarks>
public static class QualitySet
{
    /// <summary>The line format, for messages and help text.</summary>
    public const string Format = """one JSON object per line: {"id"?: "...", "prompt": "...", "answer": "...", "choices"?: ["...", ...]}, e.g. {"prompt": "Capital of France?", "choices": ["Lyon", "Paris"], "answer": "B"}""";

    private const string Instruction = "Answer with the letter only.";

    // Listed in full up to this many; a file of the wrong kind would otherwise make a message of every line.
    private const int ListedProblems = 50;

    /// <summary>Reads a quality set; every bad line is reported at once, by line number, in one exception.</summary>
    public static IReadOnlyList<QualityItem> Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!System.IO.File.Exists(path))
            throw new EnergyToTokenException(Directory.Exists(path)
                ? $"Quality set '{path}' is a directory. Pass a JSONL file: {Format}."
                : $"Quality set '{path}' does not exist. Check the path; the file holds {Format}.");
        string text;
        try
        {
            text = System.IO.File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new EnergyToTokenException($"Quality set '{path}' cannot be read: {e.Message} Check its permissions.");
        }

        var items = new List<QualityItem>();
        var problems = new List<string>();
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        var number = 0;
        foreach (var raw in text.Split('\n'))
        {
            number++;
            var line = raw.Trim();
            if (line.Length == 0) continue;
            var (item, problem) = ParseLine(line, number);
            if (item is not null && !ids.TryAdd(item.Id, number))
                problem = $"id \"{item.Id}\" is already used on line {ids[item.Id]}; ids must be unique";
            if (problem is not null) problems.Add($"line {number}: {problem}.");
            else items.Add(item!);
        }

        if (problems.Count > 0)
        {
            var listed = string.Join("\n", problems.Take(ListedProblems).Select(p => "  " + p));
            var more = problems.Count > ListedProblems ? $"\n  … and {problems.Count - ListedProblems} more bad lines" : "";
            throw new EnergyToTokenException(
                $"Quality set '{path}' has {problems.Count} bad line{(problems.Count == 1 ? "" : "s")}:\n{listed}{more}\nFix them; the file holds {Format}.");
        }
        if (items.Count == 0)
            throw new EnergyToTokenException($"Quality set '{path}' holds no items. Write {Format}.");
        return new LoadedItems(System.IO.Path.GetFileName(path), items);
    }

    /// <summary>
    /// Runs every item against <paramref name="endpoint"/> (an OpenAI-compatible server's base URL, with or without
    /// <c>/v1</c>) with at most <see cref="QualitySetOptions.Concurrency"/> in flight, and grades the replies. Server
    /// failures fail their item and never throw; invalid options, an empty set or <paramref name="ct"/> do.
    /// </summary>
    /// <returns>The result, named after the file when the items came from <see cref="Load"/>, else <c>quality-set</c>.</returns>
    public static async Task<QualityResult> RunAsync(HttpClient http, Uri endpoint, string model, IReadOnlyList<QualityItem> items, QualitySetOptions options, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>(options.Validate());
        if (!endpoint.IsAbsoluteUri || (endpoint.Scheme != Uri.UriSchemeHttp && endpoint.Scheme != Uri.UriSchemeHttps))
            errors.Add($"The endpoint '{endpoint}' must be an absolute http or https URL, e.g. http://localhost:8000.");
        if (string.IsNullOrWhiteSpace(model)) errors.Add("The model name must not be blank; pass the name the server serves.");
        if (items.Count == 0) errors.Add("The quality set holds no items; load one with QualitySet.Load.");
        if (errors.Count > 0)
            throw new EnergyToTokenException("The quality set cannot run: " + string.Join(" ", errors));

        var url = ChatCompletionsUrl(endpoint);
        var results = new QualityItemResult[items.Count];
        await Parallel.ForEachAsync(
            Enumerable.Range(0, items.Count),
            new ParallelOptions { MaxDegreeOfParallelism = options.Concurrency, CancellationToken = ct },
            async (i, token) => results[i] = await RunItemAsync(http, url, model, items[i], options, token).ConfigureAwait(false)).ConfigureAwait(false);

        var correct = results.Count(r => r.Correct);
        var failed = results.Count(r => r.Failed);
        var file = items is LoadedItems loaded ? loaded.File : null;
        return new QualityResult(
            file is null ? "quality-set" : System.IO.Path.GetFileNameWithoutExtension(file),
            results.Length, correct, results.Length - correct - failed, failed, (double)correct / results.Length, results)
        { File = file };
    }

    /// <summary>The text sent for <paramref name="item"/>: the prompt itself, or with its lettered choices and the instruction.</summary>
    internal static string PromptFor(QualityItem item)
    {
        if (item.Choices is not { } choices) return item.Prompt;
        var text = new StringBuilder(item.Prompt).Append("\n\n");
        for (var i = 0; i < choices.Count; i++) text.Append((char)('A' + i)).Append(". ").Append(choices[i]).Append('\n');
        return text.Append('\n').Append(Instruction).ToString();
    }

    /// <summary>Grades a reply against an item's answer; the detail says what was expected and what was read.</summary>
    internal static (bool Correct, string Detail) Grade(QualityItem item, string reply)
    {
        if (item.Choices is not { } choices)
        {
            var correct = Normalize(reply) == Normalize(item.Answer);
            return (correct, $"expected \"{item.Answer}\", got \"{Shorten(reply)}\"");
        }
        var expected = ChoiceIndex(item.Answer, choices)
            ?? throw new InvalidOperationException($"Item {item.Id}'s answer '{item.Answer}' names no choice; Load refuses such items.");
        var expectedText = $"{Letter(expected)} ({choices[expected]})";
        if (ReadChoice(reply, choices.Count, choices) is not { } got)
            return (false, $"expected {expectedText}, the reply names no choice A–{Letter(choices.Count - 1)}: \"{Shorten(reply)}\"");
        return (got == expected, $"expected {expectedText}, got {Letter(got)} ({choices[got]})");
    }

    /// <summary>Exact-match normalization: trimmed, lower case, whitespace runs as one space, one trailing period stripped.</summary>
    internal static string Normalize(string text)
    {
        var collapsed = string.Join(' ', text.Normalize(NormalizationForm.FormC).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        if (collapsed.EndsWith('.')) collapsed = collapsed[..^1].TrimEnd();
        return collapsed.ToLowerInvariant();
    }

    private static char Letter(int index) => (char)('A' + index);

    /// <summary>The choice an answer names: a lone letter within range first, else a choice's text; null when it names none.</summary>
    private static int? ChoiceIndex(string answer, IReadOnlyList<string> choices)
    {
        var normalized = Normalize(answer);
        if (normalized.Length == 1 && normalized[0] is >= 'a' and <= 'z' && normalized[0] - 'a' < choices.Count) return normalized[0] - 'a';
        for (var i = 0; i < choices.Count; i++)
            if (Normalize(choices[i]) == normalized) return i;
        return null;
    }

    /// <summary>The choice a reply picks: a reply that is a choice's text or a lone letter, else its first standalone capital letter in range.</summary>
    private static int? ReadChoice(string reply, int count, IReadOnlyList<string> choices)
    {
        // "b", "(b)", "b." alone are answers too; a lower-case letter inside a sentence is more likely the article "a".
        var bare = reply.Trim().Trim('(', ')', '[', ']', '*', '.', ':', '"', '\'', ' ');
        if (bare.Length == 1 && char.ToUpperInvariant(bare[0]) is var upper and >= 'A' and <= 'Z' && upper - 'A' < count) return upper - 'A';
        var normalized = Normalize(reply);
        for (var i = 0; i < choices.Count; i++)
            if (Normalize(choices[i]) == normalized) return i;
        for (var i = 0; i < reply.Length; i++)
        {
            var c = reply[i];
            if (c is < 'A' or > 'Z' || c - 'A' >= count) continue;
            if (i > 0 && char.IsLetterOrDigit(reply[i - 1])) continue;
            if (i + 1 < reply.Length && char.IsLetterOrDigit(reply[i + 1])) continue;
            return c - 'A';
        }
        return null;
    }

    private static (QualityItem? Item, string? Problem) ParseLine(string line, int number)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(line);
        }
        catch (JsonException e)
        {
            return (null, $"not valid JSON ({e.Message})");
        }
        using (document)
        {
            var o = document.RootElement;
            if (o.ValueKind != JsonValueKind.Object) return (null, $"not a JSON object (found {o.ValueKind.ToString().ToLowerInvariant()})");
            var problems = new List<string>();

            var prompt = Text(o, "prompt", allowNumber: false, problems);
            var answer = Text(o, "answer", allowNumber: true, problems);
            string id = number.ToString(CultureInfo.InvariantCulture);
            if (o.TryGetProperty("id", out var idValue) && idValue.ValueKind != JsonValueKind.Null)
            {
                if (idValue.ValueKind == JsonValueKind.String && !string.IsNullOrWhiteSpace(idValue.GetString())) id = idValue.GetString()!;
                else if (idValue.ValueKind == JsonValueKind.Number) id = idValue.GetRawText();
                else problems.Add($"\"id\" must be a non-blank string or a number (was {Shorten(idValue.GetRawText())})");
            }

            List<string>? choices = null;
            if (o.TryGetProperty("choices", out var c) && c.ValueKind != JsonValueKind.Null)
            {
                if (c.ValueKind != JsonValueKind.Array || c.EnumerateArray().Any(x => x.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(x.GetString())))
                    problems.Add($"\"choices\" must be an array of non-blank strings (was {Shorten(c.GetRawText())})");
                else
                {
                    choices = [.. c.EnumerateArray().Select(x => x.GetString()!)];
                    if (choices.Count is < 2 or > 26) problems.Add($"\"choices\" must hold 2 to 26 options, one per letter A–Z (has {choices.Count})");
                    else if (choices.GroupBy(Normalize).FirstOrDefault(g => g.Count() > 1) is { } twice)
                        problems.Add($"\"choices\" holds \"{twice.First()}\" twice; each option must be distinct");
                    else if (answer is not null && ChoiceIndex(answer, choices) is null)
                        problems.Add($"\"answer\" \"{answer}\" is neither a letter A–{Letter(choices.Count - 1)} nor the text of one of the choices");
                }
            }

            if (problems.Count > 0) return (null, string.Join("; ", problems));
            return (new QualityItem(id, prompt!, answer!, choices), null);
        }
    }

    private static string? Text(JsonElement o, string name, bool allowNumber, List<string> problems)
    {
        if (!o.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            problems.Add($"no \"{name}\"");
            return null;
        }
        var text = value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Number when allowNumber => value.GetRawText(),
            _ => null,
        };
        if (string.IsNullOrWhiteSpace(text))
        {
            problems.Add($"\"{name}\" must be a non-blank string (was {Shorten(value.GetRawText())})");
            return null;
        }
        return text;
    }

    private static Uri ChatCompletionsUrl(Uri endpoint)
    {
        var root = endpoint.GetLeftPart(UriPartial.Path).TrimEnd('/');
        // Both http://host:8000 and http://host:8000/v1 name the same server (the OpenAI SDKs' base URL ends in /v1).
        if (root.EndsWith("/v1", StringComparison.OrdinalIgnoreCase)) root = root[..^3];
        return new Uri(root + "/v1/chat/completions");
    }

    private static async Task<QualityItemResult> RunItemAsync(HttpClient http, Uri url, string model, QualityItem item, QualitySetOptions options, CancellationToken ct)
    {
        QualityItemResult Failed(string detail) => new(item.Id, Correct: false, Failed: true, Reply: "", Detail: detail);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(options.Timeout);
        string body;
        try
        {
            using var message = new HttpRequestMessage(HttpMethod.Post, url)
            {
                Content = new ByteArrayContent(Body(model, PromptFor(item), options.MaxTokens)) { Headers = { { "Content-Type", "application/json" } } },
            };
            if (options.ApiKey is { } key) message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            using var response = await http.SendAsync(message, HttpCompletionOption.ResponseContentRead, deadline.Token).ConfigureAwait(false);
            body = await response.Content.ReadAsStringAsync(deadline.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode) return Failed($"HTTP {(int)response.StatusCode}: {Shorten(body)}");
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            // Our deadline, or HttpClient.Timeout when it is the shorter: either way the server did not answer in time.
            var limit = deadline.IsCancellationRequested ? options.Timeout : http.Timeout;
            var which = deadline.IsCancellationRequested ? "the item's Timeout" : "HttpClient.Timeout";
            return Failed(string.Create(CultureInfo.InvariantCulture, $"timed out after {limit.TotalSeconds:0.###} s ({which})"));
        }
        catch (HttpRequestException e)
        {
            return Failed($"request failed: {e.Message}");
        }
        catch (IOException e)
        {
            return Failed($"connection failed: {e.Message}");
        }

        if (Content(body) is not { } reply) return Failed($"the reply is not a chat completion with a message content: {Shorten(body)}");
        var (correct, detail) = Grade(item, reply);
        return new QualityItemResult(item.Id, correct, Failed: false, reply, detail);
    }

    /// <summary><c>choices[0].message.content</c>, or null when the body is not a chat completion that has one.</summary>
    private static string? Content(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement is { ValueKind: JsonValueKind.Object } root
                && root.TryGetProperty("choices", out var choices) && choices.ValueKind == JsonValueKind.Array && choices.GetArrayLength() > 0
                && choices[0] is { ValueKind: JsonValueKind.Object } first
                && first.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.Object
                && message.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String
                ? content.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static byte[] Body(string model, string prompt, int maxTokens)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteString("model", model);
            json.WriteStartArray("messages");
            json.WriteStartObject();
            json.WriteString("role", "user");
            json.WriteString("content", prompt);
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteNumber("max_tokens", maxTokens);
            json.WriteNumber("temperature", 0);
            json.WriteBoolean("stream", false);
            json.WriteEndObject();
        }
        return stream.ToArray();
    }

    private static string Shorten(string text) => text.Length <= 200 ? text : text[..200] + "…";

    /// <summary>Items read by <see cref="Load"/>, which remember their file so the result can be named after it.</summary>
    private sealed class LoadedItems(string file, List<QualityItem> items) : IReadOnlyList<QualityItem>
    {
        public string File { get; } = file;

        public QualityItem this[int index] => items[index];

        public int Count => items.Count;

        public IEnumerator<QualityItem> GetEnumerator() => items.GetEnumerator();

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
