using System.Globalization;
using System.Text;

namespace EnergyToToken.Load;

/// <summary>
/// A distribution of token lengths, written <c>fixed:512</c>, <c>uniform:128-1024</c>, <c>normal:512,128</c>,
/// <c>lognormal:256,0.8</c> (median and σ of the log) or <c>empirical:FILE</c> (one length per line, drawn uniformly).
/// Draws are whole numbers of at least 1.
/// </summary>
public sealed class LengthDistribution
{
    private readonly Func<Random, double> _draw;

    private LengthDistribution(string text, Func<Random, double> draw, double mean)
    {
        Text = text;
        _draw = draw;
        Mean = mean;
    }

    /// <summary>The distribution as written.</summary>
    public string Text { get; }

    /// <summary>Its mean before rounding and the floor of 1.</summary>
    public double Mean { get; }

    public int Draw(Random random) => Math.Max(1, (int)Math.Round(_draw(random)));

    public static LengthDistribution Parse(string text)
    {
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        var kind = colon < 0 ? text : text[..colon];
        var args = colon < 0 ? "" : text[(colon + 1)..];
        switch (kind)
        {
            case "fixed":
                var n = Number(args, text);
                return new LengthDistribution(text, _ => n, n);
            case "uniform":
                var range = args.Split('-');
                if (range.Length != 2) throw Bad(text);
                var (lo, hi) = (Number(range[0], text), Number(range[1], text));
                if (hi < lo) throw new EnergyToTokenException($"Length distribution '{text}': the upper end must be at least the lower ({hi} < {lo}).");
                return new LengthDistribution(text, r => lo + (hi - lo) * r.NextDouble(), (lo + hi) / 2);
            case "normal":
                var (mean, sd) = Pair(args, text);
                return new LengthDistribution(text, r => mean + sd * Gaussian(r), mean);
            case "lognormal":
                var (median, sigma) = Pair(args, text);
                return new LengthDistribution(text, r => median * Math.Exp(sigma * Gaussian(r)), median * Math.Exp(sigma * sigma / 2));
            case "empirical":
                var values = Empirical(args, text);
                return new LengthDistribution(text, r => values[r.Next(values.Length)], values.Average());
            default:
                throw Bad(text);
        }
    }

    private static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    private static (double, double) Pair(string args, string text)
    {
        var parts = args.Split(',');
        if (parts.Length != 2) throw Bad(text);
        return (Number(parts[0], text), Number(parts[1], text, allowZero: true));
    }

    private static double Number(string value, string text, bool allowZero = false)
    {
        if (!double.TryParse(value.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var n) || !double.IsFinite(n) || n < 0 || (!allowZero && n == 0))
            throw new EnergyToTokenException($"Length distribution '{text}': '{value}' is not a positive number. {Forms}");
        return n;
    }

    private static double[] Empirical(string path, string text)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new EnergyToTokenException($"Length distribution '{text}': cannot read '{path}': {e.Message}");
        }
        var values = lines.Where(l => l.Trim().Length > 0).Select((l, i) =>
            double.TryParse(l.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v >= 1 && double.IsFinite(v)
                ? v
                : throw new EnergyToTokenException($"Length distribution '{text}': line {i + 1} of '{path}' is not a length ≥ 1 ('{l.Trim()}').")).ToArray();
        return values.Length > 0 ? values : throw new EnergyToTokenException($"Length distribution '{text}': '{path}' holds no lengths; write one per line.");
    }

    private const string Forms = "Write fixed:512, uniform:128-1024, normal:512,128, lognormal:256,0.8 or empirical:FILE.";

    private static EnergyToTokenException Bad(string text) => new($"Length distribution '{text}' is not understood. {Forms}");
}

/// <summary>
/// Synthetic prompts of an exact length in cl100k tokens, made of one-token words. Each prompt opens with words drawn
/// from its own seeded stream, so no two requests share a prefix and a prefix cache cannot flatter the results;
/// <paramref name="sharedPrefixTokens"/> makes every prompt start with the same words instead (a shared-prefix workload).
/// Against a server with another tokenizer the length is approximate; its usage report is what results use.
/// </summary>
internal sealed class PromptFactory(ulong seed, int sharedPrefixTokens = 0)
{
    private readonly TokenText _text = TokenText.Instance;

    public string Create(int index, int tokens)
    {
        var words = _text.Vocabulary;
        var text = new StringBuilder(tokens * 7);
        var shared = new Random(Mix(seed, -1));
        var own = new Random(Mix(seed, index));
        for (var k = 0; k < tokens; k++)
        {
            var random = k < sharedPrefixTokens ? shared : own;
            text.Append(_text.Text(words[random.Next(words.Length)]));
        }
        return text.ToString();
    }

    /// <summary>A seed for one stream (splitmix64 of seed and index): stable across runs, unlike HashCode.</summary>
    internal static int Mix(ulong seed, long index)
    {
        var z = seed + 0x9E3779B97F4A7C15UL * (ulong)(index + 2);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return unchecked((int)(z ^ (z >> 31)));
    }
}
