using System.CommandLine;
using EnergyToToken.Fleet;
using EnergyToToken.Reporting;
using EnergyToToken.Scenarios;

namespace EnergyToToken.Cli.Commands;

/// <summary>
/// <c>e2t fleet --prometheus URL --from T --to T</c>: a fleet's tokens, energy, J/token, SM activity, power against the
/// budget and binding constraint, from the DCGM exporter's and vLLM's series in Prometheus (docs/fleet.md).
/// </summary>
internal static class FleetCommand
{
    private static readonly Option<string> Prometheus = new("--prometheus") { Description = "The Prometheus server's root URL, e.g. http://localhost:9090.", Required = true };
    private static readonly Option<string> From = new("--from") { Description = "Start of the range: RFC 3339, Unix seconds, now or now-DURATION (now-1h).", Required = true };
    private static readonly Option<string> To = new("--to") { Description = "End of the range, as --from. Default: now." };
    private static readonly Option<string> Step = new("--step") { Description = "Query step, the timeline's resolution. Default: 15s." };
    private static readonly Option<string> Match = new("--match") { Description = "The label that ties an instance's token series to its GPUs' series. Default: instance." };
    private static readonly Option<string> GroupBy = new("--group-by") { Description = "A label of the token series to group instances by. Default: the --match label (one group per instance)." };
    private static readonly Option<double?> Pue = new("--pue") { Description = "Power usage effectiveness: facility power = IT power × PUE. Default: 1." };
    private static readonly Option<string> PueQuery = new("--pue-query") { Description = "A PromQL query giving the PUE over time, instead of --pue." };
    private static readonly Option<double?> FacilityBudget = new("--p-facility") { Description = "The facility power budget, W; the power arm binds as facility power nears it." };
    private static readonly Option<bool> Json = new("--json") { Description = "Print the evaluation as JSON (schema e2t.fleet.v1) instead of the table." };
    private static readonly Option<string> Out = new("--out") { Description = "Also write fleet.json, fleet.md and a self-contained fleet.html to this directory." };
    private static readonly Option<double?> Timeout = new("--timeout") { Description = "Seconds to wait for each Prometheus answer. Default: 30." };

    /// <summary>The clock "now" is read from; tests replace it.</summary>
    internal static TimeProvider Clock { get; set; } = TimeProvider.System;

    public static Command Create()
    {
        var command = new Command("fleet", "Evaluate a serving fleet from Prometheus: tokens/s, J/token, SM activity, IT and facility power against the budget, and the binding constraint per group and over time.")
        {
            Prometheus, From, To, Step, Match, GroupBy, Pue, PueQuery, FacilityBudget, Json, Out, Timeout,
        };
        command.SetAction(RunAsync);
        return command;
    }

    private static async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        try
        {
            var options = Read(parse);
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(parse.GetValue(Timeout) ?? 30) };
            var report = await FleetQuery.RunAsync(options, http, cancellationToken);
            foreach (var warning in report.Warnings) parse.InvocationConfiguration.Error.WriteLine($"warning: {warning}");
            var json = report.ToJson();
            if (parse.GetValue(Out) is { } directory) Write(parse, directory, report, json);
            if (parse.GetValue(Json)) parse.InvocationConfiguration.Output.WriteLine(json);
            else FleetTable.Render(Output.Console(parse), report);
            return ExitCodes.Success;
        }
        catch (EnergyToTokenException e)
        {
            return Output.Fail(parse, e.Message);
        }
    }

    /// <summary>Writes fleet.json, fleet.md and fleet.html and names each on stderr, so that <c>--json --out DIR</c> still pipes.</summary>
    private static void Write(ParseResult parse, string directory, FleetReport report, string json)
    {
        List<(string File, string Text)> files = [(FleetDocument.JsonFile, json + "\n"), .. FleetDocument.Render(report)];
        try
        {
            Directory.CreateDirectory(directory);
            foreach (var (file, text) in files) File.WriteAllText(Path.Combine(directory, file), text);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new EnergyToTokenException($"Cannot write the fleet report to '{directory}': {e.Message} Give a directory you can write to.", e);
        }
        foreach (var (file, _) in files) parse.InvocationConfiguration.Error.WriteLine(Path.Combine(directory, file));
    }

    /// <summary>Reads every flag, collecting every problem before failing, so one run names them all.</summary>
    private static FleetOptions Read(ParseResult parse)
    {
        var problems = new List<string>();
        var now = Clock.GetUtcNow();
        T? Try<T>(Func<T> read) where T : struct
        {
            try
            {
                return read();
            }
            catch (EnergyToTokenException e)
            {
                problems.Add(e.Message);
                return null;
            }
        }
        Uri? url = null;
        var text = parse.GetValue(Prometheus)!;
        if (!Uri.TryCreate(text.EndsWith('/') ? text : text + "/", UriKind.Absolute, out url) || url.Scheme is not ("http" or "https"))
            problems.Add($"--prometheus: '{text}' is not an http(s) URL, e.g. http://localhost:9090.");
        var from = Try(() => FleetTime.Parse(parse.GetValue(From)!, "--from", now));
        var to = Try(() => FleetTime.Parse(parse.GetValue(To) ?? "now", "--to", now));
        var step = Try(() => Quantities.ParseDuration(parse.GetValue(Step) ?? "15s", "--step").TotalSeconds);
        if (parse.GetValue(Pue) is not null && parse.GetValue(PueQuery) is not null) problems.Add("Give --pue or --pue-query, not both.");
        if ((parse.GetValue(Timeout) ?? 30) is not (> 0 and <= 86_400)) problems.Add("--timeout must be a positive number of seconds, at most a day (86400).");
        if (problems.Count == 0)
        {
            var options = new FleetOptions
            {
                Prometheus = url!,
                From = from!.Value,
                To = to!.Value,
                Step = step!.Value,
                Match = parse.GetValue(Match) ?? "instance",
                GroupBy = parse.GetValue(GroupBy),
                Pue = parse.GetValue(Pue) ?? 1,
                PueQuery = parse.GetValue(PueQuery),
                FacilityBudgetWatts = parse.GetValue(FacilityBudget),
            };
            problems.AddRange(options.Validate());
            if (problems.Count == 0) return options;
        }
        throw new EnergyToTokenException(string.Join(Environment.NewLine, problems));
    }
}
