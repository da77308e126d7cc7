using System.Text;
using System.Text.Json;
using EnergyToToken.Load;

namespace EnergyToToken.Twin;

/// <summary>A request the twin refuses, with the OpenAI-style status, error type and offending parameter.</summary>
internal sealed class TwinRequestException(int status, string type, string message, string? param) : Exception(message)
{
    public int Status => status;

    public string Type => type;

    public string? Param => param;
}

/// <summary>A parsed completion or chat request: the prompt as token ids and the generation settings the twin honours.</summary>
internal sealed record TwinRequest(int[] Prompt, int? MaxTokens, bool Stream, bool IncludeUsage, bool IgnoreEos, long? Seed, bool Chat)
{
    /// <summary>
    /// Reads the fields the twin uses; others (temperature, top_p, ...) are accepted and ignored. Completions take
    /// <c>prompt</c> as a string, a one-element list of strings or a list of token ids; chat takes <c>messages</c> with
    /// string content or text parts. vLLM's <c>ignore_eos</c> makes the answer exactly <c>max_tokens</c> long.
    /// </summary>
    public static TwinRequest Parse(JsonElement root, bool chat, TokenText text, TwinDeployment deployment, string modelName)
    {
        if (root.ValueKind != JsonValueKind.Object) throw BadRequest("The request body must be a JSON object.", null);
        if (root.TryGetProperty("model", out var model) && model.ValueKind == JsonValueKind.String
            && !string.Equals(model.GetString(), modelName, StringComparison.Ordinal)
            && !string.Equals(model.GetString(), deployment.Model.Name, StringComparison.Ordinal))
        {
            throw new TwinRequestException(404, "NotFoundError", $"The model `{model.GetString()}` does not exist. This server serves `{modelName}` (GET /v1/models).", "model");
        }
        if (root.TryGetProperty("n", out var n) && !(n.ValueKind == JsonValueKind.Number && n.TryGetInt32(out var count) && count == 1))
            throw BadRequest("The twin generates one choice per request; n must be 1.", "n");

        var prompt = chat ? ChatPrompt(root, text) : CompletionPrompt(root, text);
        int? maxTokens = null;
        var maxName = "max_tokens";
        foreach (var name in chat ? new[] { "max_completion_tokens", "max_tokens" } : ["max_tokens"])
        {
            if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) continue;
            if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var m))
                throw BadRequest($"{name} must be a whole number (was {value.GetRawText()}).", name);
            if (m < 1) throw BadRequest($"{name} must be at least 1, got {m}.", name);
            maxTokens = m;
            maxName = name;
            break;
        }
        var length = deployment.MaxModelLength;
        if (prompt.Length >= length)
        {
            throw BadRequest(
                $"This model's maximum context length is {length} tokens. However, your request has {prompt.Length} input tokens. Please reduce the length of the input messages.",
                chat ? "messages" : "prompt");
        }
        if (maxTokens is { } max && prompt.Length + max > length)
        {
            throw BadRequest(
                $"'max_tokens' or 'max_completion_tokens' is too large: {max}. This model's maximum context length is {length} tokens and your request has {prompt.Length} input tokens ({max} > {length} - {prompt.Length}).",
                maxName);
        }
        var stream = Flag(root, "stream");
        var includeUsage = root.TryGetProperty("stream_options", out var options) && options.ValueKind == JsonValueKind.Object && Flag(options, "include_usage");
        long? seed = root.TryGetProperty("seed", out var s) && s.ValueKind == JsonValueKind.Number && s.TryGetInt64(out var sv) ? sv : null;
        return new TwinRequest(prompt, maxTokens, stream, includeUsage, Flag(root, "ignore_eos"), seed, chat);
    }

    /// <summary>
    /// How many tokens to emit, and whether the answer ends on its own. Without <c>max_tokens</c> the limit is vLLM's:
    /// 16 for completions, the rest of the context for chat. With <c>ignore_eos</c> the answer is exactly the limit;
    /// otherwise its natural length is lognormal (the profile's median and spread), drawn from the request's seed.
    /// </summary>
    public (int Tokens, bool Natural) OutputLength(TwinDeployment deployment, OutputOptions output, ulong seed)
    {
        var limit = MaxTokens ?? (Chat ? deployment.MaxModelLength - Prompt.Length : Math.Min(16, deployment.MaxModelLength - Prompt.Length));
        if (IgnoreEos) return (limit, false);
        // A stream apart from the one that picks the words, so the text does not depend on whether the length was drawn.
        var normal = new TwinRandom(KvCache.Chain(seed, [0x1e57])).NextGaussian();
        var natural = Math.Max(1, (int)Math.Round(output.MedianTokens * Math.Exp(output.LogSigma * normal)));
        return natural <= limit ? (natural, true) : (limit, false);
    }

    private static int[] CompletionPrompt(JsonElement root, TokenText text)
    {
        if (!root.TryGetProperty("prompt", out var prompt)) throw BadRequest("The field 'prompt' is required.", "prompt");
        switch (prompt.ValueKind)
        {
            case JsonValueKind.String:
                return NonEmpty(text.Encode(prompt.GetString()!), "prompt");
            case JsonValueKind.Array when prompt.GetArrayLength() == 1 && prompt[0].ValueKind == JsonValueKind.String:
                return NonEmpty(text.Encode(prompt[0].GetString()!), "prompt");
            case JsonValueKind.Array when prompt.GetArrayLength() > 0 && prompt.EnumerateArray().All(e => e.ValueKind == JsonValueKind.Number):
                return prompt.EnumerateArray().Select(e => e.TryGetInt32(out var id) && id >= 0 ? id : throw BadRequest($"Token id {e.GetRawText()} is not a whole number ≥ 0.", "prompt")).ToArray();
            default:
                throw BadRequest("'prompt' must be a string, a list of one string, or a list of token ids; batched prompts are not supported by the twin.", "prompt");
        }
    }

    private static int[] ChatPrompt(JsonElement root, TokenText text)
    {
        if (!root.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array || messages.GetArrayLength() == 0)
            throw BadRequest("The field 'messages' is required: a non-empty list of {\"role\", \"content\"} objects.", "messages");
        var list = new List<(string, string)>();
        var i = 0;
        foreach (var message in messages.EnumerateArray())
        {
            if (message.ValueKind != JsonValueKind.Object || !message.TryGetProperty("role", out var role) || role.ValueKind != JsonValueKind.String)
                throw BadRequest($"messages[{i}] must be an object with a string 'role'.", "messages");
            list.Add((role.GetString()!, Content(message, i)));
            i++;
        }
        return text.Encode(RenderChat(list));
    }

    /// <summary>
    /// The prompt of a chat: each message rendered as <c>&lt;|role|&gt;\n{content}\n</c>, then <c>&lt;|assistant|&gt;\n</c>,
    /// and counted as plain text. Documented so a client can reproduce the count.
    /// </summary>
    public static string RenderChat(IEnumerable<(string Role, string Content)> messages)
    {
        var text = new StringBuilder();
        foreach (var (role, content) in messages) text.Append("<|").Append(role).Append("|>\n").Append(content).Append('\n');
        return text.Append("<|assistant|>\n").ToString();
    }

    private static string Content(JsonElement message, int index)
    {
        if (!message.TryGetProperty("content", out var content) || content.ValueKind == JsonValueKind.Null) return "";
        if (content.ValueKind == JsonValueKind.String) return content.GetString()!;
        if (content.ValueKind == JsonValueKind.Array)
        {
            return string.Concat(content.EnumerateArray().Select(part =>
                part.ValueKind == JsonValueKind.Object && part.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : ""));
        }
        throw BadRequest($"messages[{index}].content must be a string or a list of text parts.", "messages");
    }

    private static int[] NonEmpty(int[] ids, string param) =>
        ids.Length > 0 ? ids : throw BadRequest("The prompt is empty; send at least one token.", param);

    private static bool Flag(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.True;

    private static TwinRequestException BadRequest(string message, string? param) => new(400, "BadRequestError", message, param);
}
