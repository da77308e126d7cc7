using System.CommandLine;
using EnergyToToken.Analysis;
using EnergyToToken.Catalog;
using EnergyToToken.Reporting;
using static EnergyToToken.Cli.Output;

namespace EnergyToToken.Cli.Commands;

/// <summary>
/// <c>e2t analyze RUN_DIR</c>: recomputes a run's result from its raw timelines and run.json, with the options the run
/// recorded unless flags change them. The same run with the same options gives the same bytes.
/// </summary>
internal static class AnalyzeCommand
{
    public static Command Create()
    {
        var directory = new Argument<string>("RUN_DIR") { Description = "A run directory written by e2t bench (with run.json and its timelines)." };
        var json = new Option<bool>("--json") { Description = "Print the result (result.json's schema) on stdout instead of the summary." };
        var write = new Option<bool>("--write") { Description = "Replace the run's result.json with this analysis (atomically), its report.md and report.html, and its manifest.json. Default: the run's result is left as measured." };
        var flags = new AnalysisFlags();
        var command = new Command("analyze", "Recompute a run's result from its raw timelines: windows, J/token by phase, per-request energy, the production function.") { directory, json, write };
        foreach (var option in flags.All) command.Options.Add(option);
        command.SetAction(parse =>
        {
            try
            {
                var path = parse.GetValue(directory)!;
                var run = RunData.Load(path);
                var errors = new List<string>();
                var options = flags.Build(parse, errors, run.RecordedAnalysis);
                if (errors.Count > 0) throw new EnergyToTokenException(string.Join(Environment.NewLine, errors));
                var analysis = RunAnalysis.Analyze(run, options, Catalogs.Load());
                var result = ResultReport.Json(run, analysis);
                if (parse.GetValue(write))
                {
                    Runs.RunDirectory.WriteFile(path, Runs.RunDirectory.Result, result);
                    // The reports say what result.json says: they follow it.
                    foreach (var (file, text) in RunReport.Render(run, result)) Runs.RunDirectory.WriteFile(path, file, text);
                    Runs.RunManifest.Write(path);
                }
                if (parse.GetValue(json)) parse.InvocationConfiguration.Output.Write(result);
                else BenchOutput.Run(Console(parse), run, analysis, path);
                return analysis.Verdict.Valid ? ExitCodes.Success : ExitCodes.Failure;
            }
            catch (EnergyToTokenException e)
            {
                return Fail(parse, e.Message);
            }
        });
        return command;
    }
}
