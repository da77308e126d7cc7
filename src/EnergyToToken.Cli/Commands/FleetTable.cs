using System.Globalization;
using EnergyToToken.Fleet;
using Spectre.Console;

namespace EnergyToToken.Cli.Commands;

/// <summary>The fleet evaluation as tables: one row per group and the fleet, then the binding constraint's shares.</summary>
internal static class FleetTable
{
    /// <remarks>Prompt tokens, J per total token and each step are in <c>--json</c>: the table keeps to 120 columns.</remarks>
    public static void Render(IAnsiConsole console, FleetReport report)
    {
        var o = report.Options;
        console.WriteLine($"Fleet from {Time(report.From)} to {Time(report.To)}, step {Output.Duration(o.Step)}, matched on '{o.Match}', grouped by '{report.GroupLabel}'"
            + (o.FacilityBudgetWatts is { } b ? $", facility budget {Output.Number(b)} W" : ", no facility budget")
            + string.Concat(o.GroupBudgets.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $", {p.Key} budget {Output.Number(p.Value)} W")) + ".");
        console.WriteLine($"Energy boundary: {o.Boundary}.");
        var table = new Table().AddColumns("group", "GPUs", "output tok", "out tok/s", "energy J", "J/out tok", "dyn J/out tok", "U", "IT W", "facility W", "binds");
        foreach (var g in report.Groups.Append(report.Fleet))
        {
            table.AddRow(
                Markup.Escape(g.Name), g.Gpus.ToString(CultureInfo.InvariantCulture),
                Output.Number(g.OutputTokens), Output.Number(Math.Round(g.OutputTokensPerSecond, 1)), Output.Number(Math.Round(g.EnergyJoules)),
                Output.Number(g.JoulesPerOutputToken), g.DynamicJoulesPerOutputToken is { } d ? Output.Number(d) : "n/a",
                double.IsNaN(g.MeanU) ? "n/a" : Output.Percent(g.MeanU), Output.Number(Math.Round(g.MeanItWatts, 1)), Output.Number(Math.Round(g.MeanFacilityWatts, 1)),
                FleetReport.Name(g.MostlyBinding));
        }
        console.Write(table);
        var shares = new Table().AddColumn("group");
        var kinds = Enum.GetValues<FleetConstraint>();
        foreach (var c in kinds) shares.AddColumn(FleetReport.Name(c));
        foreach (var g in report.Groups.Append(report.Fleet))
            shares.AddRow([Markup.Escape(g.Name), .. kinds.Select(c => Output.Percent(g.BindingShares[c]))]);
        console.WriteLine("Share of time each constraint binds:");
        console.Write(shares);
    }

    private static string Time(double unix) =>
        DateTimeOffset.FromUnixTimeMilliseconds((long)Math.Round(unix * 1000)).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
}
