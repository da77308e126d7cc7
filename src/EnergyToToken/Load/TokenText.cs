using System.Text;
using Microsoft.ML.Tokenizers;

namespace EnergyToToken.Load;

/// <summary>
/// The tokenizer e2t counts with when it cannot ask the server: tiktoken's cl100k_base (a stand-in for a served model's
/// own tokenizer: Llama 3's is built on it), and its one-token words of the form " word" (a space and 3–8 lower-case
/// letters). Synthetic prompts and the twin's answers are made of those words, so their token counts are exact.
/// </summary>
internal sealed class TokenText
{
    private static readonly Lazy<TokenText> Shared = new(() => new TokenText());
    private readonly Tokenizer _tokenizer;
    private readonly byte[][] _json = new byte[100_000][];

    private TokenText()
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

    public static TokenText Instance => Shared.Value;

    /// <summary>The one-token words, as token ids, in id order.</summary>
    public int[] Vocabulary { get; }

    /// <summary>The UTF-8 text of an emitted token, safe to place inside a JSON string as is.</summary>
    public byte[] Utf8(int token) => _json[token];

    public string Text(int token) => Encoding.UTF8.GetString(_json[token]);

    public int[] Encode(string text) => [.. _tokenizer.EncodeToIds(text)];

    public int Count(string text) => _tokenizer.CountTokens(text);
}
