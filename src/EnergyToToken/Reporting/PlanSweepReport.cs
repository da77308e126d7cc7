using System.Globalization;
using System.Text.Json;
using EnergyToToken.Production;
using static EnergyToToken.Reporting.ReportDocument;

namespace EnergyToToken.Reporting;

/// <summary>
/// What <c>e2t plan sweep --json</c> prints: kind <c>e2t.plan.sweep</c>, schema <see cref="CurrentSchemaVersion"/>,
/// field by field in docs/plan-sweep.md. Exactly one of <see cref="Grid"/>, <see cref="Context"/> and
/// <see cref="Ladder"/> is set, the one <see cref="Axis"/> names. Powers in W, compute in FLOP/s, rates in tokens/s.
/// </summary>
public sealed record PlanSweepReport
{
    public const int CurrentSchemaVersion = 1;
    public const string MarkdownFile = "sweep.md";
    public const string HtmlFile = "sweep.html";
    public const string JsonFile = "sweep.json";

    /// <summary>The letter of each regime in the map: one character a cell.</summary>
    public const char ComputeMark = 'C', PowerMark = 'P', BalancedMark = '=';

    public int SchemaVersion { get; init; } = CurrentSchemaVersion;

    public string Kind { get; init; } = "e2t.plan.sweep";

    /// <summary>Gets the axis swept: grid, context or ladder.</summary>
    public required string Axis { get; init; }

    /// <summary>Gets the plan's name, when the scenario gives one.</summary>
    public string? Plan { get; init; }

    public required string Site { get; init; }

    public required string Accelerator { get; init; }

    public double AcceleratorCount { get; init; }

    public required string Precision { get; init; }

    /// <summary>Gets whether any figure is modeled: the context axis always, the others when a mix's ε came from the twin.</summary>
    public bool Simulated { get; init; }

    public double HorizonSeconds { get; init; }

    public double TieTolerance { get; init; }

    /// <summary>Gets the sentences a reader needs first: the crossover, where the site sits, the turn along context.</summary>
    public required IReadOnlyList<string> Summary { get; init; }

    public PlanSweepGrid? Grid { get; init; }

    public PlanSweepContext? Context { get; init; }

    public PlanSweepLadder? Ladder { get; init; }

    /// <summary>Gets the plan's notes, then the sweep's.</summary>
    public required IReadOnlyList<string> Notes { get; init; }

    public static PlanSweepReport From(Plan plan, PlanSite site, GridSweep grid) => Base(plan, site, SweepAxis.Grid, false, GridSummary(site, grid), grid.Notes) with
    {
        Grid = GridOf(grid),
    };

    public static PlanSweepReport From(Plan plan, PlanSite site, ContextSweep context) => Base(plan, site, SweepAxis.Context, true, ContextSummary(context), context.Notes) with
    {
        Context = ContextOf(context),
    };

    public static PlanSweepReport From(Plan plan, PlanSite site, LadderSweep ladder) => Base(plan, site, SweepAxis.Ladder, false, LadderSummary(ladder), []) with
    {
        Ladder = new PlanSweepLadder(ModelReport.Camel(ladder.Convention), [.. ladder.Rungs.Select(r => new PlanSweepRung(
            r.Index, r.Mechanism, r.Scope, r.KappaFlopPerToken, r.EpsilonJoulesPerToken, r.ComputeCeilingTokensPerSecond,
            r.PowerCeilingTokensPerSecond, ModelReport.Camel(r.Binding), r.Headroom, r.TokensPerSecond, r.TokensPerYear,
            r.KappaGain, r.EpsilonGain, r.TokensRatio))]),
    };

    public string ToJson() => JsonSerializer.Serialize(this, ReportJsonContext.Relaxed.PlanSweepReport);

    /// <summary>sweep.md and sweep.html, the same blocks rendered twice; culture invariant (ScottPlot's ticks follow the culture).</summary>
    public IReadOnlyList<(string File, string Text)> Render()
    {
        var document = Analysis.RunAnalysis.Invariant(Document);
        return [(MarkdownFile, document.ToMarkdown()), (HtmlFile, document.ToHtml())];
    }

    /// <summary>The map as text, highest IT power on top: one character a cell, rows labelled, the site marked with &lt; and ^.</summary>
    public IReadOnlyList<string> MapLines()
    {
        if (Grid is not { } g) return [];
        static string Label(double v) => Number(v);
        var labels = g.ItPowerWatts.Select(Label).ToList();
        var width = labels.Max(l => l.Length);
        var lines = new List<string> { $"{"P_IT, W".PadLeft(width)}" };
        for (var p = g.Map.Count - 1; p >= 0; p--)
            lines.Add($"{labels[p].PadLeft(width)} |{g.Map[p]}|{(p == g.Site.ItPowerIndex ? " < site" : "")}");
        lines.Add($"{new string(' ', width)} +{new string('-', g.ComputeFlopPerSecond.Count)}+");
        lines.Add($"{new string(' ', width)}  {new string(' ', g.Site.ComputeIndex)}^ site");
        lines.Add($"{new string(' ', width)}  C_eff, FLOP/s: {Label(g.ComputeFlopPerSecond[0])} (left) to {Label(g.ComputeFlopPerSecond[^1])} (right), {g.ComputeFlopPerSecond.Count} log-spaced columns; P_IT: {Label(g.ItPowerWatts[0])} (bottom) to {Label(g.ItPowerWatts[^1])} W (top), {g.ItPowerWatts.Count} log-spaced rows.");
        return lines;
    }

    /// <summary>A context as people write it: whole tokens, thousands grouped.</summary>
    public static string Tokens(double context) => context.ToString("#,0", CultureInfo.InvariantCulture);

    private static PlanSweepReport Base(Plan plan, PlanSite site, SweepAxis axis, bool modeled, IReadOnlyList<string> summary, IReadOnlyList<string> notes) => new()
    {
        Axis = ModelReport.Camel(axis),
        Plan = plan.Name,
        Site = site.Name,
        Accelerator = site.Accelerator,
        AcceleratorCount = site.AcceleratorCount,
        Precision = site.Precision,
        Simulated = modeled || site.Mixes.Any(m => m.EpsilonOrigin == EpsilonOrigin.Simulated),
        HorizonSeconds = plan.HorizonSeconds,
        TieTolerance = plan.TieTolerance,
        Summary = summary,
        Notes = [.. plan.Notes, .. notes],
    };

    private static PlanSweepGrid GridOf(GridSweep g)
    {
        static int Nearest(IReadOnlyList<double> values, double x) =>
            Enumerable.Range(0, values.Count).MinBy(i => Math.Abs(Math.Log(values[i] / x)));
        var map = Enumerable.Range(0, g.ItPowerWatts.Count)
            .Select(p => string.Concat(Enumerable.Range(0, g.ComputeFlopPerSecond.Count).Select(c => Mark(g.At(p, c).Binding))))
            .ToList();
        return new PlanSweepGrid
        {
            Convention = ModelReport.Camel(g.Convention),
            KappaFlopPerToken = g.KappaFlopPerToken,
            EpsilonJoulesPerToken = g.EpsilonJoulesPerToken,
            Utilization = g.Utilization,
            ItPowerWatts = g.ItPowerWatts,
            ComputeFlopPerSecond = g.ComputeFlopPerSecond,
            Crossover = new PlanSweepCrossover(g.PhiJoulesPerFlop, [.. g.ComputeFlopPerSecond.Select(g.CrossoverItPowerWatts)]),
            Site = new PlanSweepSitePoint(Cell(g.Site), Nearest(g.ItPowerWatts, g.Site.ItPowerWatts), Nearest(g.ComputeFlopPerSecond, g.Site.ComputeFlopPerSecond)),
            Map = map,
            Cells = [.. g.Cells.Select(Cell)],
        };
    }

    private static PlanSweepCell Cell(GridCell c) => new(c.ItPowerWatts, c.ComputeFlopPerSecond, c.ComputeCeilingTokensPerSecond,
        c.PowerCeilingTokensPerSecond, ModelReport.Camel(c.Binding), c.Headroom, c.TokensPerSecond);

    internal static char Mark(BindingConstraint binding) => binding switch
    {
        BindingConstraint.Compute => ComputeMark,
        BindingConstraint.Power => PowerMark,
        _ => BalancedMark,
    };

    private static PlanSweepContext ContextOf(ContextSweep s) => new()
    {
        Mix = s.Mix,
        Model = s.Model,
        EpsilonModel = ModelReport.Camel(s.EpsilonModel),
        Convention = ModelReport.Camel(s.Convention),
        DevicesPerReplica = s.Devices,
        KvCacheTokens = s.KvCacheTokens,
        BatchLimit = s.BatchLimit,
        ItPowerWatts = s.ItPowerWatts,
        AcceleratorCount = s.AcceleratorCount,
        Utilization = s.Utilization,
        Anchor = s.AnchorContext is { } c ? new PlanSweepAnchor(c, s.AnchorTwinJoulesPerToken!.Value, s.AnchorTwinTokensPerSecondPerDevice!.Value) : null,
        Points = [.. s.Points.Select(p => new PlanSweepContextPoint(p.Context, p.Fits, p.Batch, p.KappaFlopPerToken,
            p.TwinJoulesPerToken, p.TwinTokensPerSecondPerDevice, p.TwinWattsPerDevice, p.EpsilonJoulesPerToken,
            p.ComputePerDeviceFlopPerSecond, p.ComputeCeilingTokensPerSecond, p.PowerCeilingTokensPerSecond,
            p.Binding is { } b ? ModelReport.Camel(b) : "doesNotFit", p.Headroom, p.TokensPerSecond))],
        Turn = new PlanSweepTurn(ModelReport.Camel(s.Turn.Kind), s.Turn.ContextTokens, s.Turn.Kind == ContextTurnKind.TurnsPowerBound,
            s.Turn.Before, s.Turn.After, s.Turn.LastFitting, TurnSentence(s)),
    };

    private static List<string> GridSummary(PlanSite site, GridSweep g)
    {
        var s = g.Site;
        return
        [
            $"Crossover σ = φ: the ceilings are equal where P_IT / C_eff = ε / κ = φ = {Number(g.PhiJoulesPerFlop)} J/FLOP, i.e. on the line P_IT = φ · C_eff; above it (more power per FLOP/s) compute-bound, below it power-bound, within |H − 1| ≤ {Number(g.TieTolerance)} balanced.",
            $"Site {site.Name} at its mean usable P_IT {Number(s.ItPowerWatts)} W and headline ({ModelReport.Camel(g.Convention)}) C_eff {Number(s.ComputeFlopPerSecond)} FLOP/s: {Verdict(s.Binding)}, headroom H = {Number(s.Headroom)} (compute ceiling {Number(s.ComputeCeilingTokensPerSecond)}, power ceiling {Number(s.PowerCeilingTokensPerSecond)} tokens/s; × mean U {Number(g.Utilization)} = {Number(s.TokensPerSecond)} tokens/s). At this C_eff the crossover is at P_IT = {Number(g.CrossoverItPowerWatts(s.ComputeFlopPerSecond))} W.",
        ];
    }

    private static string Verdict(BindingConstraint b) => b switch
    {
        BindingConstraint.Compute => "compute-bound",
        BindingConstraint.Power => "power-bound",
        BindingConstraint.Balanced => "balanced",
        _ => ModelReport.Camel(b),
    };

    /// <summary>Says what is modeled and how, so no context figure reads as a measurement.</summary>
    private static string Modeled(ContextSweep s) => s.EpsilonModel == EpsilonModel.Anchored
        ? $"Modeled, not measured: κ(c) from the catalog ({s.Model}); ε(c) is the mix's ε at its context of {Tokens(s.AnchorContext!.Value)} tokens times ε_twin(c) / ε_twin({Tokens(s.AnchorContext!.Value)}), and R_sat(c) the mix's R_sat times R_twin(c) / R_twin({Tokens(s.AnchorContext!.Value)}), with ε_twin and R_twin from the embedded twin's roofline step model at steady decode (simulated) on a {s.Devices}-device replica, batch B(c) = min({s.BatchLimit}, ⌊{Tokens(s.KvCacheTokens)} KV tokens / c⌋)."
        : $"Modeled, not measured: κ(c) from the catalog ({s.Model}); ε(c) and R_sat(c) are the embedded twin's (roofline step model at steady decode, simulated, gross J with idle) on a {s.Devices}-device replica, batch B(c) = min({s.BatchLimit}, ⌊{Tokens(s.KvCacheTokens)} KV tokens / c⌋).";

    private static List<string> ContextSummary(ContextSweep s)
    {
        var lines = new List<string>
        {
            Modeled(s),
            $"At the site's mean usable P_IT {Number(s.ItPowerWatts)} W and {Number(s.AcceleratorCount)} accelerator{(s.AcceleratorCount == 1 ? "" : "s")} ({ModelReport.Camel(s.Convention)} convention): {TurnSentence(s)}",
        };
        var outside = s.Points.Where(p => !p.Fits).ToList();
        if (outside.Count > 0)
            lines.Add($"Does not fit from {Tokens(outside[0].Context)} tokens: the weights plus one sequence's KV cache exceed the {s.Devices}-device replica's memory ({Tokens(s.KvCacheTokens)} KV tokens), so those contexts have no ε or ceilings.");
        return lines;
    }

    private static string TurnSentence(ContextSweep s)
    {
        var t = s.Turn;
        var fitting = s.Points.Where(p => p.Fits).ToList();
        // Where a power-bound stretch ends; "again" only where the site was not power-bound before it.
        string Leaves(int from, bool again)
        {
            var back = fitting.Where(p => p.Context > from).FirstOrDefault(p => p.Binding != BindingConstraint.Power);
            return back is null ? "" : $" (from {Tokens(back.Context)} tokens it is {Verdict(back.Binding!.Value)}{(again ? " again" : "")})";
        }
        return t.Kind switch
        {
            ContextTurnKind.TurnsPowerBound =>
                $"turns power-bound at ≈ {Tokens(t.ContextTokens!.Value)} tokens (interpolated in log context between {Tokens(t.Before!.Value)} and {Tokens(t.After!.Value)}, where the headroom falls through 1 − {Number(s.TieTolerance)}){Leaves(t.After!.Value, again: true)}.",
            ContextTurnKind.PowerBoundThroughout =>
                $"power-bound already at the shortest context that fits, {Tokens(t.After!.Value)} tokens{Leaves(t.After!.Value, again: false)}.",
            ContextTurnKind.NeverPowerBound when fitting.All(p => p.Binding == BindingConstraint.Compute) =>
                $"stays compute-bound up to {Tokens(t.LastFitting!.Value)} tokens, the longest context swept that fits.",
            ContextTurnKind.NeverPowerBound =>
                $"never power-bound up to {Tokens(t.LastFitting!.Value)} tokens, the longest context swept that fits (balanced at {string.Join(", ", fitting.Where(p => p.Binding == BindingConstraint.Balanced).Select(p => Tokens(p.Context)))}).",
            _ => "no context of the sweep fits the replica.",
        };
    }

    private static List<string> LadderSummary(LadderSweep l)
    {
        var top = l.Rungs[^1];
        return
        [
            $"With {(top.Index == 1 ? "its one mechanism" : $"all {top.Index} mechanisms")} ({ModelReport.Camel(l.Convention)} convention): κ ÷ {Number(top.KappaGain)}, ε ÷ {Number(top.EpsilonGain)}, tokens × {Number(top.TokensRatio)} against rung 0 ({Verdict(l.Rungs[0].Binding)} at rung 0, {Verdict(top.Binding)} at the top). A gain in ε lifts tokens only where the power ceiling binds; one in κ only where the compute ceiling does.",
        ];
    }

    private ReportDocument Document()
    {
        var blocks = new List<ReportBlock>
        {
            new ParagraphBlock($"Site {Site}: {Number(AcceleratorCount)} × {Accelerator} ({Precision}){(Plan is { } p ? $", plan '{p}'" : "")}; tie tolerance {Number(TieTolerance)}. Written by e2t plan sweep --axis {Axis} (docs/plan-sweep.md)."),
        };
        if (Simulated) blocks.Add(new FlagsBlock([Axis == "context" ? "modeled (embedded twin)" : "partly simulated"]));
        blocks.Add(new ListBlock(Summary));
        if (Grid is { } g)
        {
            blocks.Add(new HeadingBlock(1, "Regime map", "grid"));
            blocks.Add(new ChartBlock("regime-map", "Binding regime over P_IT and C_eff",
                Charts.RegimeMap(g.ItPowerWatts, g.ComputeFlopPerSecond, g.Map, g.Crossover.PhiJoulesPerFlop, g.Site.Cell.ItPowerWatts, g.Site.Cell.ComputeFlopPerSecond, Site, g.Site.Cell.Binding),
                $"Each cell classified with the site's blended κ {Number(g.KappaFlopPerToken)} FLOP/token and ε {Number(g.EpsilonJoulesPerToken)} J/token; the line is σ = φ (P_IT = φ · C_eff)."));
            // One column a compute value, so the map stays a grid in raw Markdown and in the page alike.
            var siteRow = g.Map.Count - 1 - g.Site.ItPowerIndex;
            blocks.Add(new TableBlock(
                ["P_IT, W", .. g.ComputeFlopPerSecond.Select((_, j) => j == g.Site.ComputeIndex ? "site" : (j + 1).ToString(CultureInfo.InvariantCulture))],
                [.. Enumerable.Range(0, g.Map.Count).Reverse().Select(i => (IReadOnlyList<string>)[Number(g.ItPowerWatts[i]) + (i == g.Site.ItPowerIndex ? " (site)" : ""), .. g.Map[i].Select(ch => ch.ToString())])],
                "The map as text: C compute-bound, P power-bound, = balanced; highest P_IT on top, columns as numbered below",
                new HashSet<int> { siteRow }));
            blocks.Add(new TableBlock(["column", "C_eff, FLOP/s", "crossover P_IT = φ · C_eff, W"],
                [.. g.ComputeFlopPerSecond.Select((c, i) => (IReadOnlyList<string>)[(i + 1).ToString(CultureInfo.InvariantCulture), Number(c), Number(g.Crossover.ItPowerWattsAtCompute[i])])],
                "The columns, and where the crossover line crosses each"));
        }
        if (Context is { } c)
        {
            blocks.Add(new HeadingBlock(1, $"Context sweep of {c.Mix} ({c.Model}), modeled", "context"));
            var fitting = c.Points.Where(x => x.Fits).ToList();
            blocks.Add(new ChartBlock("context-ceilings", "Both ceilings against context (modeled)",
                Charts.ContextCeilings([.. fitting.Select(x => (double)x.ContextTokens)], [.. fitting.Select(x => x.ComputeCeilingTokensPerSecond!.Value)],
                    [.. fitting.Select(x => x.PowerCeilingTokensPerSecond!.Value)], c.Turn.Interpolated ? c.Turn.ContextTokens : null),
                $"Compute ceiling C_eff(c)/κ(c) and power ceiling P_IT/ε(c) of the site, tokens/s, log axes; contexts that do not fit are left out. {char.ToUpperInvariant(c.Turn.Summary[0])}{c.Turn.Summary[1..]}"));
            blocks.Add(new TableBlock(
                ["context, tokens", "batch", "κ, FLOP/token", "ε, J/token", c.Convention == "peak" ? "C_peak per device, FLOP/s" : "C_eff per device, FLOP/s", "compute ceiling, tokens/s", "power ceiling, tokens/s", "binding", "headroom"],
                [.. c.Points.Select(x => (IReadOnlyList<string>)(x.Fits
                    ? [Tokens(x.ContextTokens), Tokens(x.Batch), Number(x.KappaFlopPerToken), Number(x.EpsilonJoulesPerToken), Number(x.ComputePerDeviceFlopPerSecond),
                       Number(x.ComputeCeilingTokensPerSecond), Number(x.PowerCeilingTokensPerSecond), x.Binding, Number(x.Headroom)]
                    : [Tokens(x.ContextTokens), "does not fit", Number(x.KappaFlopPerToken), "", "", "", "", "", ""]))],
                "Per context (modeled)"));
        }
        if (Ladder is { } l)
        {
            blocks.Add(new HeadingBlock(1, "Mechanism ladder", "ladder"));
            blocks.Add(new ChartBlock("ladder-ceilings", "Both ceilings per rung",
                Charts.Ceilings([.. l.Rungs.Select(r => (RungLabel(r), (double?)r.ComputeCeilingTokensPerSecond, (double?)r.PowerCeilingTokensPerSecond, r.Binding))], null, "sweep-ladder"),
                "Compute and power ceilings (tokens/s, time-means over the horizon) as the mechanisms are applied one after another; the binding one solid."));
            blocks.Add(new TableBlock(["rung", "adds", "κ, FLOP/token", "ε, J/token", "compute ceiling, tokens/s", "power ceiling, tokens/s", "binding", "tokens per year", "ε₀/ε", "Q/Q₀"],
                [.. l.Rungs.Select(r => (IReadOnlyList<string>)[Tokens(r.Rung), r.Mechanism is null ? "none" : $"{r.Mechanism} ({r.Scope})", Number(r.KappaFlopPerToken), Number(r.EpsilonJoulesPerToken),
                    Number(r.ComputeCeilingTokensPerSecond), Number(r.PowerCeilingTokensPerSecond), r.Binding, Number(r.TokensPerYear), Number(r.EpsilonGain), Number(r.TokensRatio)])]));
        }
        if (Notes.Count > 0)
        {
            blocks.Add(new HeadingBlock(1, "Notes", "notes"));
            blocks.Add(new ListBlock(Notes));
        }
        return new ReportDocument($"e2t plan sweep: {Axis} at {Site}", blocks, HtmlFile);
    }

    internal static string RungLabel(PlanSweepRung r) => r.Mechanism is null ? "0: none" : $"{r.Rung}: + {r.Mechanism}";
}

/// <summary>The regime map: rows of IT power and columns of compute, ascending, cells row-major.</summary>
public sealed record PlanSweepGrid
{
    public required string Convention { get; init; }
    public double KappaFlopPerToken { get; init; }
    public double EpsilonJoulesPerToken { get; init; }
    public double Utilization { get; init; }
    public required IReadOnlyList<double> ItPowerWatts { get; init; }
    public required IReadOnlyList<double> ComputeFlopPerSecond { get; init; }
    public required PlanSweepCrossover Crossover { get; init; }
    public required PlanSweepSitePoint Site { get; init; }

    /// <summary>Gets one string a row (row i is <see cref="ItPowerWatts"/>[i]), one character a column: C, P or =.</summary>
    public required IReadOnlyList<string> Map { get; init; }

    /// <summary>Gets every cell, row-major: <c>cells[i · columns + j]</c> is (ItPowerWatts[i], ComputeFlopPerSecond[j]).</summary>
    public required IReadOnlyList<PlanSweepCell> Cells { get; init; }
}

/// <summary>The crossover line σ = φ, i.e. P_IT = φ · C_eff, and where it crosses each column.</summary>
public sealed record PlanSweepCrossover(double PhiJoulesPerFlop, IReadOnlyList<double> ItPowerWattsAtCompute)
{
    public string Line { get; init; } = "P_IT = φ · C_eff (σ = P_IT / C_eff equals φ = ε / κ)";
}

public sealed record PlanSweepCell(double ItPowerWatts, double ComputeFlopPerSecond, double ComputeCeilingTokensPerSecond,
    double PowerCeilingTokensPerSecond, string Binding, double Headroom, double TokensPerSecond);

/// <summary>The site at its own mean usable P_IT and headline C_eff, and the nearest row and column of the map.</summary>
public sealed record PlanSweepSitePoint(PlanSweepCell Cell, int ItPowerIndex, int ComputeIndex);

public sealed record PlanSweepContext
{
    public required string Mix { get; init; }
    public required string Model { get; init; }

    /// <summary>Gets that every figure of the context axis is modeled (the embedded twin), never measured.</summary>
    public bool Modeled { get; init; } = true;

    public required string EpsilonModel { get; init; }
    public required string Convention { get; init; }
    public int DevicesPerReplica { get; init; }
    public int KvCacheTokens { get; init; }
    public int BatchLimit { get; init; }
    public double ItPowerWatts { get; init; }
    public double AcceleratorCount { get; init; }
    public double Utilization { get; init; }
    public PlanSweepAnchor? Anchor { get; init; }
    public required IReadOnlyList<PlanSweepContextPoint> Points { get; init; }
    public required PlanSweepTurn Turn { get; init; }
}

/// <summary>The mix's own context and the twin's figures there, which the anchored ε(c) and R_sat(c) are divided by.</summary>
public sealed record PlanSweepAnchor(int ContextTokens, double TwinJoulesPerToken, double TwinTokensPerSecondPerDevice);

/// <summary>One context; where it does not fit, binding is "doesNotFit" and only κ is given.</summary>
public sealed record PlanSweepContextPoint(int ContextTokens, bool Fits, int Batch, double KappaFlopPerToken, double? TwinJoulesPerToken,
    double? TwinTokensPerSecondPerDevice, double? TwinWattsPerDevice, double? EpsilonJoulesPerToken, double? ComputePerDeviceFlopPerSecond,
    double? ComputeCeilingTokensPerSecond, double? PowerCeilingTokensPerSecond, string Binding, double? Headroom, double? TokensPerSecond);

/// <summary>The first turn to power-bound; <see cref="ContextTokens"/> is interpolated when <see cref="Interpolated"/>.</summary>
public sealed record PlanSweepTurn(string Kind, double? ContextTokens, bool Interpolated, int? Before, int? After, int? LastFitting, string Summary);

public sealed record PlanSweepLadder(string Convention, IReadOnlyList<PlanSweepRung> Rungs);

public sealed record PlanSweepRung(int Rung, string? Mechanism, string? Scope, double KappaFlopPerToken, double EpsilonJoulesPerToken,
    double ComputeCeilingTokensPerSecond, double PowerCeilingTokensPerSecond, string Binding, double Headroom, double TokensPerSecond,
    double TokensPerYear, double KappaGain, double EpsilonGain, double TokensRatio);
