using System.Text;
using Microsoft.ML.Tokenizers;

namespace EnergyToToken.Twin;

/// <summary>
/// How the twin counts and writes tokens. Prompts are counted with tiktoken's cl100k_base (a stand-in for the served
/// model's own tokenizer: Llama 3's is built on it); output is pseudo-words, each one cl100k token of the form
/// " word" (a space and 3–8 lower-case letters), so re-tokenizing the text gives exactly the reported token count.
/// </summary>
internal sealed class TwinText
{
    private static readonly Lazy<TwinText> Shared = new(() => new TwinText());
    private readonly Tokenizer _tokenizer;
    private readonly byte[][] _json = new byte[100_000][];

    private TwinText()
    {
        _tokenizer = TiktokenTokenizer.CreateForEncoding("cl100k_base");
        var words = new List<int>();
        // Scan the vocabulary for " word" tokens; sorted ids make the list, and so every seeded text, stable.
        for (var id = 0; id < 100_000 && words.Count < 4096; id++)
        {
            string text;
            try
            {
                text = _tokenizer.Decode([id]) ?? "";
            }
            catch (ArgumentException)
            {
                continue;
            }
            if (text.Length is < 4 or > 9 || text[0] != ' ') continue;
            var ok = true;
            for (var i = 1; i < text.Length && ok; i++) ok = text[i] is >= 'a' and <= 'z';
            if (!ok) continue;
            words.Add(id);
            _json[id] = Encoding.UTF8.GetBytes(text); // letters and a space: nothing to escape in JSON
        }
        Vocabulary = [.. words];
    }

    public static TwinText Instance => Shared.Value;

    /// <summary>Token ids the twin emits.</summary>
    public int[] Vocabulary { get; }

    /// <summary>The UTF-8 text of an emitted token, safe to place inside a JSON string as is.</summary>
    public byte[] Utf8(int token) => _json[token];

    public string Text(int token) => Encoding.UTF8.GetString(_json[token]);

    public int[] Encode(string text) => [.. _tokenizer.EncodeToIds(text)];

    public int Count(string text) => _tokenizer.CountTokens(text);

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
}
