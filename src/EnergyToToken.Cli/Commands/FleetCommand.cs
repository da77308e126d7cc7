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
    private static readonly Option<string[]> GroupBudget = new("--group-budget") { Description = "A group's own facility power budget, NAME=W (repeatable); the other groups share --p-facility.", AllowMultipleArgumentsPerToken = false };
    private static readonly Option<double?> Saturation = new("--saturation") { Description = "An arm binds only when its load (U, or facility power over budget) reaches this, in (0, 1]. Default: 0.9." };
    private static readonly Option<double?> TieTolerance = new("--tie-tolerance") { Description = "Saturated loads within this of each other are balanced. Default: 0.05." };
    private static readonly Option<string> EnergyMetric = new("--energy-metric") { Description = "GPU energy counter, mJ. Default: DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION." };
    private static readonly Option<string> PowerMetric = new("--power-metric") { Description = "GPU power, W, for GPUs without an energy counter. Default: DCGM_FI_DEV_POWER_USAGE." };
    private static readonly Option<string> SmMetric = new("--sm-metric") { Description = "GPU SM activity, 0–1. Default: DCGM_FI_PROF_SM_ACTIVE." };
    private static readonly Option<string> PromptMetric = new("--prompt-metric") { Description = "Prompt token counter. Default: vllm:prompt_tokens_total (SGLang: sglang:prompt_tokens_total)." };
    private static readonly Option<string> GenerationMetric = new("--generation-metric") { Description = "Generated token counter. Default: vllm:generation_tokens_total (SGLang: sglang:generation_tokens_total)." };
    private static readonly Option<string> NodeEnergy = new("--node-energy") { Description = "A node energy counter in J (Kepler: kepler_node_platform_joules_total): energy is then the nodes', not the GPUs'." };
    private static readonly Option<string> NodePower = new("--node-power") { Description = "A node power gauge in W (node exporter, IPMI exporter): energy is then the nodes', not the GPUs'." };
    private static readonly Option<bool> Json = new("--json") { Description = "Print the evaluation as JSON (schema e2t.fleet.v1) instead of the table." };
    private static readonly Option<string> Out = new("--out") { Description = "Also write fleet.json, fleet.md and a self-contained fleet.html to this directory." };
    private static readonly Option<string[]> Header = new("--header") { Description = "An HTTP header for every query, 'Name: value' (repeatable): X-Scope-OrgID for Mimir, Authorization for a secured server." };
    private static readonly Option<double?> Timeout = new("--timeout") { Description = "Seconds to wait for each Prometheus answer. Default: 30." };

    /// <summary>FleetOptions' own defaults, read rather than written again here.</summary>
    private static readonly FleetOptions Defaults = new() { Prometheus = new Uri("http://localhost:9090/"), From = 0, To = 0 };

    private const double DefaultTimeoutSeconds = 30;

    /// <summary>The clock "now" is read from; tests replace it.</summary>
    internal static TimeProvider Clock { get; set; } = TimeProvider.System;

    public static Command Create()
    {
        var command = new Command("fleet", "Evaluate a serving fleet from Prometheus: tokens/s, J/token, SM activity, IT and facility power against the budget, and the binding constraint per group and over time.")
        {
            Prometheus, From, To, Step, Match, GroupBy, Pue, PueQuery, FacilityBudget, GroupBudget, Saturation, TieTolerance,
            EnergyMetric, PowerMetric, SmMetric, PromptMetric, GenerationMetric, NodeEnergy, NodePower, Json, Out, Header, Timeout,
        };
        command.SetAction(RunAsync);
        return command;
    }

    private static async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        try
        {
            var (options, headers) = Read(parse);
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(parse.GetValue(Timeout) ?? DefaultTimeoutSeconds) };
            foreach (var (name, value) in headers) http.DefaultRequestHeaders.TryAddWithoutValidation(name, value);
            var report = await FleetQuery.RunAsync(options, http, cancellationToken);
            foreach (var warning in report.Warnings) parse.InvocationConfiguration.Error.WriteLine($"warning: {warning}");
            // The JSON carries every step: written only where asked for.
            var json = parse.GetValue(Json) || parse.GetValue(Out) is not null ? report.ToJson() : null;
            if (parse.GetValue(Out) is { } directory) Write(parse, directory, report, json!);
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
        foreach (var path in Output.WriteFiles(directory, "the fleet report", [(FleetDocument.JsonFile, json + "\n"), .. FleetDocument.Render(report)]))
            parse.InvocationConfiguration.Error.WriteLine(path);
    }

    /// <summary>Reads every flag, collecting every problem before failing, so one run names them all.</summary>
    private static (FleetOptions Options, IReadOnlyList<(string Name, string Value)> Headers) Read(ParseResult parse)
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
        var step = Try(() => parse.GetValue(Step) is { } text ? Quantities.ParseDuration(text, "--step").TotalSeconds : Defaults.Step);
        if (parse.GetValue(Pue) is not null && parse.GetValue(PueQuery) is not null) problems.Add("Give --pue or --pue-query, not both.");
        if ((parse.GetValue(Timeout) ?? DefaultTimeoutSeconds) is not (> 0 and <= 86_400)) problems.Add("--timeout must be a positive number of seconds, at most a day (86400).");
        var headers = new List<(string, string)>();
        foreach (var header in parse.GetValue(Header) ?? [])
        {
            var colon = header.IndexOf(':');
            var name = colon > 0 ? header[..colon].Trim() : "";
            if (name.Length == 0 || name.Any(c => c <= ' ' || c >= 127 || "()<>@,;:\\\"/[]?={}".Contains(c)))
                problems.Add($"--header: '{header}' is not 'Name: value', e.g. --header 'X-Scope-OrgID: tenant-1'.");
            else headers.Add((name, header[(colon + 1)..].Trim()));
        }
        var budgets = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var pair in parse.GetValue(GroupBudget) ?? [])
        {
            var eq = pair.LastIndexOf('=');
            if (eq <= 0 || !double.TryParse(pair[(eq + 1)..], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var watts))
                problems.Add($"--group-budget: '{pair}' is not NAME=W, e.g. --group-budget chat=400000.");
            else if (!budgets.TryAdd(pair[..eq], watts))
                problems.Add($"--group-budget: the group '{pair[..eq]}' is given twice; give each group one budget.");
        }
        // The options validate what they hold whenever the range could be read, so one run names every problem.
        if (url is not null && from is not null && to is not null && step is not null)
        {
            var defaults = new FleetMetrics();
            var options = new FleetOptions
            {
                Prometheus = url!,
                From = from!.Value,
                To = to!.Value,
                Step = step!.Value,
                Match = parse.GetValue(Match) ?? Defaults.Match,
                GroupBy = parse.GetValue(GroupBy),
                Pue = parse.GetValue(Pue) ?? Defaults.Pue,
                PueQuery = parse.GetValue(PueQuery),
                FacilityBudgetWatts = parse.GetValue(FacilityBudget),
                GroupBudgets = budgets,
                Saturation = parse.GetValue(Saturation) ?? Defaults.Saturation,
                TieTolerance = parse.GetValue(TieTolerance) ?? Defaults.TieTolerance,
                Metrics = new FleetMetrics
                {
                    Energy = parse.GetValue(EnergyMetric) ?? defaults.Energy,
                    Power = parse.GetValue(PowerMetric) ?? defaults.Power,
                    SmActive = parse.GetValue(SmMetric) ?? defaults.SmActive,
                    PromptTokens = parse.GetValue(PromptMetric) ?? defaults.PromptTokens,
                    GenerationTokens = parse.GetValue(GenerationMetric) ?? defaults.GenerationTokens,
                    NodeEnergy = parse.GetValue(NodeEnergy),
                    NodePower = parse.GetValue(NodePower),
                },
            };
            problems.AddRange(options.Validate());
            if (problems.Count == 0) return (options, headers);
        }
        throw new EnergyToTokenException(string.Join(Environment.NewLine, problems));
    }
}
