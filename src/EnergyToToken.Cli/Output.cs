using System.CommandLine;
using System.Globalization;
using Spectre.Console;

namespace EnergyToToken.Cli;

/// <summary>Console plumbing shared by the commands: data to stdout, errors to stderr, numbers in one format.</summary>
internal static class Output
{
    /// <summary>A Spectre console over the invocation's stdout; plain text unless it is a real terminal.</summary>
    public static IAnsiConsole Console(ParseResult parse)
    {
        var writer = parse.InvocationConfiguration.Output;
        var terminal = ReferenceEquals(writer, System.Console.Out) && !System.Console.IsOutputRedirected;
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
        });
        if (!terminal) console.Profile.Width = 120;
        return console;
    }

    /// <summary>
    /// Writes a report's files (<c>--out DIR</c>) into the directory, creating it, and returns their paths; a directory
    /// that cannot be written is one explained failure naming <paramref name="what"/>.
    /// </summary>
    public static IReadOnlyList<string> WriteFiles(string directory, string what, IEnumerable<(string File, string Text)> files)
    {
        var paths = new List<string>();
        try
        {
            Directory.CreateDirectory(directory);
            foreach (var (file, text) in files)
            {
                var path = Path.Combine(directory, file);
                File.WriteAllText(path, text);
                paths.Add(path);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new EnergyToTokenException($"Cannot write {what} to '{directory}': {e.Message} Give a directory you can write to.", e);
        }
        return paths;
    }

    /// <summary>Writes an explained failure to stderr, without a stack trace, and returns the failure code.</summary>
    public static int Fail(ParseResult parse, string message)
    {
        var error = parse.InvocationConfiguration.Error;
        foreach (var line in message.Split(Environment.NewLine))
            error.WriteLine($"error: {line}");
        return ExitCodes.Failure;
    }

    /// <summary>
    /// A number for people, culture-invariant: grouped digits with up to four decimals in [0.001, 1e7),
    /// scientific with four significant decimals outside it.
    /// </summary>
    public static string Number(double value)
    {
        if (double.IsNaN(value)) return "n/a";
        if (double.IsInfinity(value)) return value > 0 ? "∞" : "−∞";
        var magnitude = Math.Abs(value);
        return magnitude != 0 && (magnitude >= 1e7 || magnitude < 1e-3)
            ? value.ToString("0.####e+0", CultureInfo.InvariantCulture)
            : value.ToString("#,0.####", CultureInfo.InvariantCulture);
    }

    public static string Percent(double fraction) => (fraction * 100).ToString("0.##", CultureInfo.InvariantCulture) + " %";

    /// <summary>A duration as the horizon flag writes it: 24h, 90m, 45s, 7d.</summary>
    public static string Duration(double seconds)
    {
        // Days only from two days up: "24h" reads better than "1d" for the common horizon.
        foreach (var (unit, size) in new[] { ("d", 86_400.0), ("h", 3600.0), ("m", 60.0) })
        {
            if (seconds >= size && seconds % size == 0 && (unit != "d" || seconds >= 2 * size))
                return (seconds / size).ToString(CultureInfo.InvariantCulture) + unit;
        }
        return seconds.ToString("0.###", CultureInfo.InvariantCulture) + "s";
    }
}
