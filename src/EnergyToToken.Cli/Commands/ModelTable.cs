using EnergyToToken.Reporting;
using Spectre.Console;
using static EnergyToToken.Cli.Output;

namespace EnergyToToken.Cli.Commands;

/// <summary>The table for people that <c>e2t model</c> prints; the same figures as the JSON.</summary>
internal static class ModelTable
{
    public static void Render(IAnsiConsole console, ModelReport report)
    {
        var inputs = report.Inputs;
        console.MarkupLine($"[bold]e2t model[/]{(report.Name is { } name ? ": " + Markup.Escape(name) : "")}");
        console.WriteLine();

        var given = new Table().Border(TableBorder.Rounded).Title("Operating point").AddColumns("input", "value", "unit");
        given.AddRow("κ (compute per token)", Number(inputs.KappaFlopPerToken), "FLOP/token");
        given.AddRow("ε (energy per token)", Number(inputs.EpsilonJoulesPerToken), "J/token");
        if (inputs.EffectiveComputeFlopPerSecond is { } ceff) given.AddRow("C_eff (realized)", Number(ceff), "FLOP/s");
        if (inputs.PeakComputeFlopPerSecond is { } peak) given.AddRow("C_peak (spec sheet)", Number(peak), "FLOP/s");
        given.AddRow($"P_IT ({inputs.ItPowerSource})", Number(inputs.ItPowerWatts), "W");
        if (inputs.Pue is { } pue) given.AddRow("PUE", Number(pue), "");
        if (inputs.FacilityPowerWatts is { } facility) given.AddRow("P_facility", Number(facility), "W");
        if (inputs.CoolingCapacityWatts is { } cooling) given.AddRow("cooling capacity", Number(cooling), "W");
        if (inputs.DrawnPowerWatts is { } drawn) given.AddRow("power drawn in the run", Number(drawn), "W");
        given.AddRow("U (utilization)", Number(inputs.Utilization), "");
        given.AddRow("horizon T", Duration(inputs.HorizonSeconds), "");
        if (report.KernelEfficiency is { } rho) given.AddRow("ρ_kernel = C_eff/C_peak", Number(rho), "");
        console.Write(given);

        console.Write(Conventions("Ceilings and binding constraint", report.Conventions, inputs.HorizonSeconds));
        console.Write(Elasticities(report.Conventions));
        foreach (var c in report.Conventions)
            console.WriteLine($"{c.Convention}: {c.Explanation}");

        if (report.Mechanisms is { } m)
        {
            console.WriteLine();
            var table = new Table().Border(TableBorder.Rounded).Title("Efficiency mechanisms (Eq. 2)")
                .AddColumns("mechanism", "prefill ηκ", "prefill ηε", "decode ηκ", "decode ηε", "source");
            foreach (var a in m.Applied)
                table.AddRow(Markup.Escape(a.Name), Number(a.PrefillKappaGain), Number(a.PrefillEpsilonGain), Number(a.DecodeKappaGain), Number(a.DecodeEpsilonGain), Markup.Escape(a.Source ?? ""));
            console.Write(table);
            console.WriteLine($"Blended at prefill share {Number(m.PrefillShare)}: κ × 1/{Number(m.KappaGain)} → {Number(m.KappaFlopPerToken)} FLOP/token (compute ceiling × {Number(m.KappaGain)}); ε × 1/{Number(m.EpsilonGain)} → {Number(m.EpsilonJoulesPerToken)} J/token (power ceiling × {Number(m.EpsilonGain)}).");
            console.WriteLine($"Q with the mechanisms / Q without, headline convention: {Number(m.TokensRatio)}.");
            console.Write(Conventions("With the mechanisms", m.Conventions, inputs.HorizonSeconds));
        }

        if (report.Derivations.Count > 0)
        {
            console.WriteLine();
            console.WriteLine("How the numbers were derived:");
            foreach (var d in report.Derivations)
                console.WriteLine($"  {d.Quantity} = {d.Formula} = {Number(d.Value)} {d.Unit}");
        }
        foreach (var note in report.Notes) console.WriteLine($"note: {note}");
    }

    private static Table Conventions(string title, IReadOnlyList<ModelReportConvention> conventions, double horizonSeconds)
    {
        var table = new Table().Border(TableBorder.Rounded).Title(title).AddColumn("");
        foreach (var c in conventions)
            table.AddColumn(new TableColumn(c.Convention + (c.IsHeadline ? " (headline)" : " (upper bound)")).RightAligned());
        void Row(string label, Func<ModelReportConvention, string> cell) =>
            table.AddRow([label, .. conventions.Select(cell)]);
        Row("compute FLOP/s", c => Number(c.ComputeFlopPerSecond));
        Row("compute ceiling C/κ, tokens/s", c => Number(c.ComputeCeilingTokensPerSecond));
        Row("power ceiling P_IT/ε, tokens/s", c => Number(c.PowerCeilingTokensPerSecond));
        Row("binding constraint", c => c.BindingConstraint);
        Row("headroom H = σ/φ", c => Number(c.Headroom));
        Row("φ = ε/κ, J/FLOP", c => Number(c.PhiJoulesPerFlop));
        Row("σ = P_IT/C, J/FLOP", c => Number(c.SigmaJoulesPerFlop));
        Row("U-adjusted rate, tokens/s", c => Number(c.UtilizationAdjustedTokensPerSecond));
        Row($"tokens over {Duration(horizonSeconds)}", c => Number(c.TokensOverHorizon));
        if (conventions.Any(c => c.Segments.Count > 0))
        {
            Row("time compute-bound", c => Percent(c.ComputeBoundShare));
            Row("time power-bound", c => Percent(c.PowerBoundShare));
        }
        if (conventions.Any(c => c.CoolingLimitedShare > 0)) Row("time cooling-limited", c => Percent(c.CoolingLimitedShare));
        return table;
    }

    private static Table Elasticities(IReadOnlyList<ModelReportConvention> conventions)
    {
        var table = new Table().Border(TableBorder.Rounded).Title("Elasticity of Q (∂ln Q/∂ln x; up/down where a tie makes them differ)").AddColumn("input");
        foreach (var c in conventions) table.AddColumn(new TableColumn(c.Convention).RightAligned());
        var inputs = conventions.SelectMany(c => c.Elasticities.Select(e => e.Input)).Distinct().ToList();
        foreach (var input in inputs)
        {
            table.AddRow([input, .. conventions.Select(c => c.Elasticities.FirstOrDefault(e => e.Input == input) is { } e
                ? (e.Up == e.Down ? Number(e.Up) : $"{Number(e.Up)}/{Number(e.Down)}")
                : "")]);
        }
        return table;
    }
}
