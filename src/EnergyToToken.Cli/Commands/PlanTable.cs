using EnergyToToken.Reporting;
using Spectre.Console;
using static EnergyToToken.Cli.Output;

namespace EnergyToToken.Cli.Commands;

/// <summary>The table for people that <c>e2t plan</c> prints; the same figures as the JSON.</summary>
internal static class PlanTable
{
    public static void Render(IAnsiConsole console, PlanReport report)
    {
        console.MarkupLine($"[bold]e2t plan[/]{(report.Name is { } name ? ": " + Markup.Escape(name) : "")} over {Duration(report.HorizonSeconds)}{(report.Simulated ? " (partly simulated: some ε come from the embedded twin)" : "")}");
        console.WriteLine();

        var sites = new Table().Border(TableBorder.Rounded).Title("Sites").AddColumn("");
        foreach (var s in report.Sites) sites.AddColumn(new TableColumn(Markup.Escape(s.Name)).RightAligned());
        if (report.Sites.Count > 1) sites.AddColumn(new TableColumn("total").RightAligned());
        void Row(string label, Func<PlanReportSite, string> cell, string? total = null)
        {
            List<string> cells = [label, .. report.Sites.Select(cell)];
            if (report.Sites.Count > 1) cells.Add(total ?? "");
            sites.AddRow([.. cells.Select(Markup.Escape)]);
        }
        string Maybe(double? value) => value is { } v ? Number(v) : "n/a";
        Row("accelerators", s => $"{Number(s.AcceleratorCount)} × {s.Accelerator}{(s.CountFromBudget ? " (fit to budget)" : "")}");
        Row("P_facility mean, W", s => Maybe(s.Inputs.FacilityPowerWatts));
        Row("PUE mean", s => Maybe(s.Inputs.Pue));
        Row($"P_IT mean ({string.Join("/", report.Sites.Select(s => s.Inputs.ItPowerSource).Distinct())}), W", s => Number(s.Inputs.ItPowerWatts));
        Row("cooling capacity, W", s => Maybe(s.Inputs.CoolingCapacityWatts));
        if (report.Sites.Any(s => s.Inputs.BoundaryFactor != 1)) Row("boundary factor (ε to the budget's boundary)", s => Number(s.Inputs.BoundaryFactor));
        Row("U mean", s => Number(s.Inputs.Utilization));
        Row("κ blend, FLOP/token", s => Number(s.Blend.KappaFlopPerToken));
        Row("ε blend, J/token", s => Number(s.Blend.EpsilonJoulesPerToken));
        foreach (var (c, i) in report.Sites[0].Conventions.Select((c, i) => (c, i)))
        {
            var label = c.IsHeadline ? c.Convention + " (headline)" : c.Convention + " (upper bound)";
            Row($"compute ceiling, {label}, tokens/s", s => s.Conventions.Count > i ? Number(s.Conventions[i].ComputeCeilingTokensPerSecond) : "n/a");
            Row($"power ceiling, {label}, tokens/s", s => s.Conventions.Count > i ? Number(s.Conventions[i].PowerCeilingTokensPerSecond) : "n/a");
            Row($"binding, {label}", s => s.Conventions.Count > i ? s.Conventions[i].BindingConstraint : "n/a");
        }
        Row("time compute-bound", s => Percent(s.BindingTimeShares.Compute));
        Row("time power-bound (delivery)", s => Percent(s.BindingTimeShares.Power));
        Row("time cooling-bound", s => Percent(s.BindingTimeShares.Cooling));
        Row("time balanced", s => Percent(s.BindingTimeShares.Balanced));
        Row("tokens per hour", s => Number(s.Rates.PerHour), Number(report.Total.Rates.PerHour));
        Row("tokens per day", s => Number(s.Rates.PerDay), Number(report.Total.Rates.PerDay));
        Row("tokens per year (8,760 h)", s => Number(s.Rates.PerYear), Number(report.Total.Rates.PerYear));
        Row($"tokens over {Duration(report.HorizonSeconds)}", s => Number(s.Tokens), Number(report.Total.Tokens));
        Row("with mechanisms / without", s => Maybe(s.MechanismTokensRatio));
        Row("facility energy, MWh", s => Number(s.FacilityEnergyJoules / 3.6e9), Number(report.Total.FacilityEnergyJoules / 3.6e9));
        Row($"cost per M tokens, {report.Currency}", s => Maybe(s.CostPerMillionTokens), Maybe(report.Total.CostPerMillionTokens));
        Row("carbon per M tokens, kgCO2e", s => Maybe(s.CarbonKilogramsPerMillionTokens), Maybe(report.Total.CarbonKilogramsPerMillionTokens));
        console.Write(sites);

        var elasticities = new Table().Border(TableBorder.Rounded).Title("Elasticity of tokens to each lever (∂ln Q/∂ln x, up/down where they differ)").AddColumn("lever");
        foreach (var s in report.Sites) elasticities.AddColumn(new TableColumn(Markup.Escape(s.Name)).RightAligned());
        if (report.Sites.Count > 1) elasticities.AddColumn(new TableColumn("total").RightAligned());
        static string Cell(ModelReportElasticity? e) => e is null ? "" : e.Up == e.Down ? Number(e.Up) : $"{Number(e.Up)}/{Number(e.Down)}";
        foreach (var lever in report.Total.Elasticities.Select(e => e.Input))
        {
            List<string> cells = [lever, .. report.Sites.Select(s => Cell(s.Elasticities.FirstOrDefault(e => e.Input == lever)))];
            if (report.Sites.Count > 1) cells.Add(Cell(report.Total.Elasticities.First(e => e.Input == lever)));
            elasticities.AddRow([.. cells]);
        }
        console.Write(elasticities);
        // U multiplies every stretch, so it is always 1; the question a planner asks is which physical lever comes next.
        var levers = report.Total.Elasticities.Where(e => e.Input != "utilization").ToList();
        var most = levers.Count == 0 ? 0 : levers.Max(e => Math.Abs(e.Up));
        if (most > 0)
        {
            var top = levers.Where(e => Math.Abs(Math.Abs(e.Up) - most) < 1e-9).Select(e => $"{e.Input} ({(e.Up > 0 ? "+" : "")}{Number(e.Up)})");
            console.WriteLine($"Pays most (all sites, besides utilization, which scales output one for one): {string.Join(", ", top)}: a 1 % change moves tokens by {Number(most)} %.");
        }

        foreach (var s in report.Sites)
        {
            foreach (var m in s.Mixes)
                console.WriteLine($"{s.Name} / {m.Name}: share {Number(m.Share)}, κ {Number(m.KappaFlopPerToken)} → {Number(m.KappaAfterFlopPerToken)} FLOP/token, ε {Number(m.EpsilonJoulesPerToken)} → {Number(m.EpsilonAfterJoulesPerToken)} J/token{(s.Inputs.BoundaryFactor != 1 ? $" (× boundary factor {Number(s.Inputs.BoundaryFactor)})" : "")} ({m.EpsilonOrigin}: {m.EpsilonSource}); C_eff per accelerator {(m.EffectiveComputePerDeviceFlopPerSecond is { } c ? Number(c) + " FLOP/s (" + m.ComputeSource + ")" : "not given: peak convention only")}.");
        }
        if (report.Total.CostPerMillionTokens is not null) console.WriteLine($"cost: {PlanReport.CostLeavesOut}");
        foreach (var note in report.Notes) console.WriteLine($"note: {note}");
    }
}
