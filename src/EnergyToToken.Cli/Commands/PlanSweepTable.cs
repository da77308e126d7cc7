using EnergyToToken.Reporting;
using Spectre.Console;
using static EnergyToToken.Cli.Output;

namespace EnergyToToken.Cli.Commands;

/// <summary>The table for people that <c>e2t plan sweep</c> prints; the same figures as the JSON.</summary>
internal static class PlanSweepTable
{
    public static void Render(IAnsiConsole console, PlanSweepReport report)
    {
        var modeled = report.Context is not null ? "; modeled: the embedded twin, simulated" : report.Simulated ? "; partly simulated: some ε come from the embedded twin" : "";
        console.MarkupLine($"[bold]e2t plan sweep --axis {report.Axis}[/]: site {Markup.Escape(report.Site)}, {Number(report.AcceleratorCount)} × {Markup.Escape(report.Accelerator)}, {Markup.Escape(report.Precision)}{Markup.Escape(modeled)}");
        console.WriteLine();
        if (report.Grid is { } grid) Grid(console, report, grid);
        if (report.Context is { } context) Context(console, context);
        if (report.Ladder is { } ladder) Ladder(console, ladder);
        console.WriteLine();
        foreach (var line in report.Summary) console.WriteLine(line);
        foreach (var note in report.Notes) console.WriteLine($"note: {note}");
    }

    private static void Grid(IAnsiConsole console, PlanSweepReport report, PlanSweepGrid grid)
    {
        console.WriteLine($"Regime map ({grid.Convention} convention, κ {Number(grid.KappaFlopPerToken)} FLOP/token, ε {Number(grid.EpsilonJoulesPerToken)} J/token): C compute-bound, P power-bound, = balanced (|H − 1| ≤ {Number(report.TieTolerance)})");
        foreach (var line in report.MapLines()) console.WriteLine(line);
    }

    private static void Context(IAnsiConsole console, PlanSweepContext c)
    {
        var table = new Table().Border(TableBorder.Rounded)
            .Title($"Context sweep of {Markup.Escape(c.Mix)} ({Markup.Escape(c.Model)}), ε {c.EpsilonModel}, {c.Convention} convention: modeled")
            .AddColumn(new TableColumn("context").RightAligned())
            .AddColumn(new TableColumn("batch").RightAligned())
            .AddColumn(new TableColumn("κ, FLOP/token").RightAligned())
            .AddColumn(new TableColumn("ε, J/token").RightAligned())
            .AddColumn(new TableColumn(c.Convention == "peak" ? "C_peak per device, FLOP/s" : "C_eff per device, FLOP/s").RightAligned())
            .AddColumn(new TableColumn("compute ceiling, tok/s").RightAligned())
            .AddColumn(new TableColumn("power ceiling, tok/s").RightAligned())
            .AddColumn("binding")
            .AddColumn(new TableColumn("H").RightAligned());
        static string Maybe(double? v) => v is { } x ? Number(x) : "";
        foreach (var p in c.Points)
        {
            table.AddRow(p.Fits
                ? [PlanSweepReport.Tokens(p.ContextTokens), PlanSweepReport.Tokens(p.Batch), Number(p.KappaFlopPerToken), Maybe(p.EpsilonJoulesPerToken), Maybe(p.ComputePerDeviceFlopPerSecond),
                   Maybe(p.ComputeCeilingTokensPerSecond), Maybe(p.PowerCeilingTokensPerSecond), p.Binding, Maybe(p.Headroom)]
                : [PlanSweepReport.Tokens(p.ContextTokens), "does not fit", Number(p.KappaFlopPerToken), "", "", "", "", "", ""]);
        }
        console.Write(table);
    }

    private static void Ladder(IAnsiConsole console, PlanSweepLadder l)
    {
        var table = new Table().Border(TableBorder.Rounded)
            .Title($"Mechanism ladder ({l.Convention} convention; ceilings are time-means over the horizon)")
            .AddColumn(new TableColumn("rung").RightAligned())
            .AddColumn("adds")
            .AddColumn(new TableColumn("κ, FLOP/token").RightAligned())
            .AddColumn(new TableColumn("ε, J/token").RightAligned())
            .AddColumn(new TableColumn("compute ceiling, tok/s").RightAligned())
            .AddColumn(new TableColumn("power ceiling, tok/s").RightAligned())
            .AddColumn("binding")
            .AddColumn(new TableColumn("tokens/year").RightAligned())
            .AddColumn(new TableColumn("ε₀/ε").RightAligned())
            .AddColumn(new TableColumn("Q/Q₀").RightAligned());
        foreach (var r in l.Rungs)
        {
            table.AddRow(r.Rung.ToString(System.Globalization.CultureInfo.InvariantCulture), Markup.Escape(r.Mechanism is null ? "none" : $"{r.Mechanism} ({r.Scope})"),
                Number(r.KappaFlopPerToken), Number(r.EpsilonJoulesPerToken), Number(r.ComputeCeilingTokensPerSecond), Number(r.PowerCeilingTokensPerSecond),
                r.Binding, Number(r.TokensPerYear), Number(r.EpsilonGain), Number(r.TokensRatio));
        }
        console.Write(table);
    }
}
