using System.CommandLine;
using System.Globalization;
using EnergyToToken.Runs;
using static EnergyToToken.Cli.Output;

namespace EnergyToToken.Cli.Commands;

/// <summary>
/// <c>e2t verify RUN_DIR</c>: re-hashes every file of a run directory and its sub-runs and checks them against their
/// manifests. Intact: one line on stdout, exit 0. Damaged: every missing, extra, resized or changed file named, exit 1.
/// </summary>
internal static class VerifyCommand
{
    public static Command Create()
    {
        var directory = new Argument<string>("RUN_DIR") { Description = "A run directory with its manifest.json (written by e2t bench and e2t analyze --write)." };
        var json = new Option<bool>("--json") { Description = "Print the check as JSON on stdout: directory, intact, files, bytes, runs and every problem." };
        var command = new Command("verify", "Check a run directory against its manifest: re-hash every file, its sub-runs' too, and name what is missing, extra, resized or changed.") { directory, json };
        command.SetAction(parse =>
        {
            try
            {
                var path = parse.GetValue(directory)!;
                var result = RunManifest.Verify(path);
                if (parse.GetValue(json)) parse.InvocationConfiguration.Output.Write(RunManifest.Json(result));
                if (!result.Intact)
                {
                    var problems = result.Problems.Select(p => p.Message).ToList();
                    return Fail(parse, problems.Count == 1
                        ? $"{path} is damaged: {problems[0]}"
                        : $"{path} is damaged: {problems.Count} problems{Environment.NewLine}{string.Join(Environment.NewLine, problems.Select(p => "  " + p))}");
                }
                if (!parse.GetValue(json))
                {
                    var runs = result.Runs > 1 ? $" (it and its {result.Runs - 1} sub-run{(result.Runs > 2 ? "s" : "")})" : "";
                    parse.InvocationConfiguration.Output.WriteLine(
                        $"{path} is intact: {result.Files.ToString("N0", CultureInfo.InvariantCulture)} files, {result.Bytes.ToString("N0", CultureInfo.InvariantCulture)} bytes match the manifest{runs}.");
                }
                return ExitCodes.Success;
            }
            catch (EnergyToTokenException e)
            {
                return Fail(parse, e.Message);
            }
        });
        return command;
    }
}
