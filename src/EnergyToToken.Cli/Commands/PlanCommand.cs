using System.CommandLine;
using EnergyToToken.Production;
using EnergyToToken.Reporting;
using EnergyToToken.Scenarios;

namespace EnergyToToken.Cli.Commands;

/// <summary>
/// <c>e2t plan SCENARIO</c>: from sites' power, cooling, racks and accelerators to tokens per hour, day and year, the
/// binding constraint over time, elasticities, cost and carbon per million tokens (docs/plan.md).
/// </summary>
internal static class PlanCommand
{
    private static readonly Argument<string> Scenario = new("SCENARIO") { Description = "A planning scenario, YAML or JSON (docs/plan.md; schema docs/schemas/e2t.plan-scenario.v1.schema.json)." };
    private static readonly Option<bool> Json = new("--json") { Description = "Print the plan as JSON (schema docs/schemas/e2t.plan.v1.schema.json) instead of the table." };
    private static readonly Option<string> Out = new("--out") { Description = "Also write plan.json, plan.md and a self-contained plan.html to this directory." };

    public static Command Create()
    {
        var command = new Command("plan", "Plan a deployment: tokens per hour/day/year from sites' facility power, PUE, cooling, racks and accelerators; the binding constraint over time; elasticities; cost and carbon per million tokens.")
        {
            Scenario, Json, Out,
        };
        command.Subcommands.Add(PlanSweepCommand.Create());
        command.SetAction(Run);
        return command;
    }

    private static int Run(ParseResult parse)
    {
        try
        {
            var plan = PlanScenarioReader.Read(parse.GetValue(Scenario)!);
            var report = PlanReport.From(Planner.Evaluate(plan));
            var json = report.ToJson();
            if (parse.GetValue(Out) is { } directory) Write(parse, directory, report, json);
            if (parse.GetValue(Json)) parse.InvocationConfiguration.Output.WriteLine(json);
            else PlanTable.Render(Output.Console(parse), report);
            return ExitCodes.Success;
        }
        catch (EnergyToTokenException e)
        {
            return Output.Fail(parse, e.Message);
        }
    }

    /// <summary>
    /// Writes plan.json, plan.md and plan.html, and names each on stderr: stdout carries the table or the JSON alone,
    /// so <c>--json --out DIR</c> still pipes.
    /// </summary>
    private static void Write(ParseResult parse, string directory, PlanReport report, string json)
    {
        foreach (var path in Output.WriteFiles(directory, "the plan", [(PlanDocument.JsonFile, json + "\n"), .. PlanDocument.Render(report)]))
            parse.InvocationConfiguration.Error.WriteLine(path);
    }
}
