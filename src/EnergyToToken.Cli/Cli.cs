using System.CommandLine;
using EnergyToToken.Cli.Commands;

namespace EnergyToToken.Cli;

/// <summary>The command tree; tests invoke it through System.CommandLine's own seam.</summary>
internal static class Cli
{
    public static RootCommand CreateRoot() => new("e2t: evaluate LLM inference as energy-to-token production.")
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
