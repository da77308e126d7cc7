using System.CommandLine;
using System.Globalization;
using EnergyToToken.Runs;
using Spectre.Console;
using static EnergyToToken.Cli.Output;

namespace EnergyToToken.Cli.Commands;

/// <summary>
/// <c>e2t runs [ROOT]</c>: the runs stored under a directory, filtered and sorted by start time, from the index the
/// tool keeps there (docs/runs.md). The run directories stay the source of truth.
/// </summary>
internal static class RunsCommand
{
    public static Command Create()
    {
        var root = new Argument<string>("ROOT") { Description = "The directory runs are stored in, below which every run directory is listed (e2t bench writes to e2t-runs).", DefaultValueFactory = _ => "e2t-runs" };
        var model = new Option<string>("--model") { HelpName = "TEXT", Description = "Only runs whose served model or catalog architecture contains this text (any case)." };
        var accelerator = new Option<string>("--accelerator") { HelpName = "TEXT", Description = "Only runs whose accelerator contains this text (any case), e.g. h100." };
        var binding = new Option<string>("--binding") { HelpName = "CONSTRAINT", Description = $"Only runs bound by this constraint under their headline convention: {string.Join(", ", RunQuery.Bindings)}." };
        var since = new Option<string>("--since") { HelpName = "DATE", Description = "Only runs started at or after DATE: a UTC day (2026-05-01) or a time (2026-05-01T14:30Z)." };
        var until = new Option<string>("--until") { HelpName = "DATE", Description = "Only runs started at or before DATE; a day alone takes in the whole day." };
        var minJoules = new Option<string>("--min-j-per-token") { HelpName = "J", Description = "Only runs whose gross J per output token (headline window) is at least this." };
        var maxJoules = new Option<string>("--max-j-per-token") { HelpName = "J", Description = "Only runs whose gross J per output token (headline window) is at most this." };
        var json = new Option<bool>("--json") { Description = "Print the runs as JSON on stdout instead of the table." };
        var command = new Command("runs", "List the stored runs, sorted by start time and filtered by model, accelerator, date, binding constraint and J/token.")
        {
            root, model, accelerator, binding, since, until, minJoules, maxJoules, json,
        };
        command.SetAction(parse =>
        {
            try
            {
                var errors = new List<string>();
                var query = RunQuery.Parse(parse.GetValue(model), parse.GetValue(accelerator), parse.GetValue(binding), parse.GetValue(since), parse.GetValue(until),
                    parse.GetValue(minJoules), parse.GetValue(maxJoules), errors);
                if (errors.Count > 0) throw new EnergyToTokenException(string.Join(Environment.NewLine, errors));
                var path = parse.GetValue(root)!;
                var (all, update) = RunIndex.Load(path);
                if (update.WriteProblem is { } problem) parse.InvocationConfiguration.Error.WriteLine($"warning: {problem}");
                var runs = all.Where(query.Matches).ToList();
                if (parse.GetValue(json)) parse.InvocationConfiguration.Output.Write(RunIndex.Json(path, runs));
                else Table(parse, path, runs, all.Count);
                return ExitCodes.Success;
            }
            catch (EnergyToTokenException e)
            {
                return Fail(parse, e.Message);
            }
        });
        return command;
    }

    private static void Table(ParseResult parse, string root, List<StoredRun> runs, int stored)
    {
        var console = Console(parse);
        // Piped or redirected: wide enough for one line per run, so grep and sort see whole rows.
        if (!console.Profile.Capabilities.Ansi) console.Profile.Width = 240;
        if (runs.Count == 0)
        {
            console.WriteLine(stored == 0 ? $"No runs under {root}." : $"None of the {stored} runs under {root} matches.");
            return;
        }
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumns("started (UTC)", "run", "model", "accelerator", "binding")
            .AddColumn(new TableColumn("J/token").RightAligned())
            .AddColumn(new TableColumn("output tok/s").RightAligned())
            .AddColumn("flags");
        foreach (var r in runs)
        {
            table.AddRow(
                Markup.Escape(r.StartedUtc?.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) ?? "?"),
                Markup.Escape(r.Path),
                Markup.Escape(r.Model ?? ""),
                Markup.Escape(r.Accelerator ?? ""),
                Markup.Escape(r.Binding ?? ""),
                r.JoulesPerOutputToken is { } j ? Number(j) : "",
                r.OutputTokensPerSecond is { } t ? t.ToString("#,0.#", CultureInfo.InvariantCulture) : "",
                Markup.Escape(string.Join(", ", Flags(r))));
        }
        console.Write(table);
        console.WriteLine($"{runs.Count} of {stored} runs under {root}.");
        foreach (var r in runs.Where(r => r.Problem is not null))
            console.WriteLine($"{r.Path}: {r.Problem}");
    }

    private static IEnumerable<string> Flags(StoredRun r)
    {
        if (r.Role != StoredRunRole.Run) yield return Reporting.ModelReport.Camel(r.Role);
        if (r.Simulated == true) yield return "simulated";
        if (r.Valid == false) yield return "invalid";
        if (r.Complete == false) yield return "incomplete";
        if (r.Problem is not null) yield return "no result";
        if (!r.HasManifest) yield return "no manifest";
    }
}
