using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using EnergyToToken.Cli.Commands;

namespace EnergyToToken.Cli;

/// <summary>The command tree; tests invoke it through System.CommandLine's own seam.</summary>
internal static class Cli
{
    public static RootCommand CreateRoot()
    {
        var root = new RootCommand("e2t: evaluate LLM inference as energy-to-token production.")
        {
        ModelCommand.Create(),
        PlanCommand.Create(),
        FleetCommand.Create(),
        CatalogCommand.Create(),
        MetersCommand.Create(),
        MeasureCommand.Create(),
        TwinCommand.Create(),
        BenchCommand.Create(),
        AnalyzeCommand.Create(),
        ReportCommand.Create(),
        CompareCommand.Create(),
        VerifyCommand.Create(),
        RunsCommand.Create(),
        };
        InvariantNumbers(root);
        return root;
    }

    /// <summary>
    /// Numbers on the command line read the same in every locale. System.CommandLine parses a double in the current
    /// culture, so under de-DE <c>--pue 1.2</c> was 12 and <c>--pue 0,9</c> was 0.9: one script, two results.
    /// </summary>
    private static void InvariantNumbers(Command command)
    {
        foreach (var option in command.Options)
        {
            switch (option)
            {
                case Option<double?> { CustomParser: null } nullable:
                    nullable.CustomParser = Number;
                    break;
                case Option<double> { CustomParser: null } plain:
                    plain.CustomParser = r => Number(r) ?? 0;
                    break;
            }
        }
        foreach (var subcommand in command.Subcommands) InvariantNumbers(subcommand);
    }

    private static double? Number(ArgumentResult result)
    {
        if (result.Tokens.Count == 0) return null;
        var text = result.Tokens[^1].Value;
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value)) return value;
        var name = result.Parent is OptionResult o ? o.Option.Name : "a number";
        result.AddError($"{name}: '{text}' is not a number; write decimals with a dot, e.g. 1.25.");
        return null;
    }
}

/// <summary>Exit codes a script would branch on.</summary>
internal static class ExitCodes
{
    public const int Success = 0;

    /// <summary>Same as System.CommandLine's parse errors and unhandled exceptions.</summary>
    public const int Failure = 1;

    /// <summary>128 + SIGINT, as System.CommandLine uses: the measurement was cut short and is marked incomplete.</summary>
    public const int Cancelled = 130;
}
