using System.Globalization;
using EnergyToToken.Analysis;
using static EnergyToToken.Reporting.ReportDocument;

namespace EnergyToToken.Reporting;

/// <summary>
/// A plan's report, <c>plan.md</c> and <c>plan.html</c>, written by <c>e2t plan --out DIR</c> beside <c>plan.json</c>.
/// Every figure comes from the <see cref="PlanReport"/> that <c>--json</c> prints (so the report says exactly what the
/// JSON says); the charts reduce long timelines as <see cref="StepTimeline"/> says. Documented in docs/reports.md.
/// </summary>
public static class PlanDocument
{
    public const string JsonFile = "plan.json";
    public const string MarkdownFile = "plan.md";
    public const string HtmlFile = "plan.html";

    /// <summary>plan.md and plan.html of a plan, to write beside plan.json.</summary>
    public static IReadOnlyList<(string File, string Text)> Render(PlanReport report)
    {
        var document = Build(report);
        return [(MarkdownFile, document.ToMarkdown()), (HtmlFile, document.ToHtml())];
    }

    /// <summary>The report's blocks, built under the invariant culture so that its bytes (and ScottPlot's tick labels) are the same on any machine.</summary>
    internal static ReportDocument Build(PlanReport report) => RunAnalysis.Invariant(() => BuildCore(report));

    private static ReportDocument BuildCore(PlanReport r)
    {
        var blocks = new List<ReportBlock>();
        var origins = r.Sites.SelectMany(s => s.Mixes).GroupBy(m => m.EpsilonOrigin).Select(g => $"{g.Count()} {g.Key}").ToList();
        blocks.Add(new ParagraphBlock(string.Join(" ", new[]
        {
            $"{Plural(r.Sites.Count, "site")} over {Horizon(r.HorizonSeconds)}, prices in {r.Currency}; ceilings within {Share(r.TieTolerance)} of each other count as balanced.",
            r.Simulated ? "SIMULATED: some ε (and R_sat with them) come from the embedded twin, so the plan's figures are partly modelled, not measured on hardware." : "",
            $"ε of the mixes: {string.Join(", ", origins)}. e2t plan schema {r.SchemaVersion}.",
        }.Where(s => s.Length > 0))));
        List<string> flags = r.Simulated ? ["simulated"] : [];
        flags.AddRange(r.Sites.Where(s => s.Headline != "realized").Select(s => $"peak only: {s.Name}"));
        blocks.Add(new FlagsBlock(flags));

        blocks.Add(new HeadingBlock(1, "Headline", "headline"));
        blocks.Add(new CardBlock(Card(r)));
        if (r.Total.CostPerMillionTokens is not null) blocks.Add(new ParagraphBlock($"What the cost leaves out: {r.CostLeavesOutText}"));

        blocks.Add(new HeadingBlock(1, "All sites", "sites"));
        blocks.AddRange(SummaryBlocks(r));
        for (var i = 0; i < r.Sites.Count; i++)
        {
            blocks.Add(new HeadingBlock(1, $"Site {r.Sites[i].Name}", $"site-{i + 1}"));
            blocks.AddRange(SiteBlocks(r, r.Sites[i], i + 1));
        }
        if (r.Notes.Count > 0)
        {
            blocks.Add(new HeadingBlock(1, "Notes", "notes"));
            blocks.Add(new ListBlock(r.Notes));
        }
        blocks.Add(new HeadingBlock(1, "Formulas", "formulas"));
        blocks.Add(new ParagraphBlock("Where every figure above comes from (docs/plan.md gives the details). Series (facility power, PUE, U, price, carbon intensity) step over the horizon; each step is evaluated exactly and the steps are summed."));
        blocks.Add(new TableBlock(["quantity", "formula"], [.. Formulas(r).Select(f => (IReadOnlyList<string>)[f.Quantity, f.Formula])]));
        return new ReportDocument($"e2t plan report: {r.Name ?? "plan"}", blocks, HtmlFile);
    }

    private static List<CardItem> Card(PlanReport r)
    {
        var t = r.Total;
        var horizon = Horizon(r.HorizonSeconds);
        var (top, topShare) = Shares(t.BindingTokenShares).MaxBy(s => s.Share);
        var origins = r.Sites.SelectMany(s => s.Mixes).Select(m => m.EpsilonOrigin).Distinct().ToList();
        return
        [
            new("Tokens per hour", Number(t.Rates.PerHour), $"all sites, at the mean rate over {horizon}"),
            new("Tokens per day", Number(t.Rates.PerDay), "24 h at the same mean rate"),
            new("Tokens per year", Number(t.Rates.PerYear), "8,760 h at the same mean rate"),
            new($"Cost per million tokens", Number(t.CostPerMillionTokens, r.Currency),
                t.CostPerMillionTokens is null ? "needs a price at every site" : "energy only: price × facility energy (what it leaves out is below)"),
            new("Carbon per million tokens", Number(t.CarbonKilogramsPerMillionTokens, "kgCO2e"),
                t.CarbonKilogramsPerMillionTokens is null ? "needs a carbon intensity at every site" : "grid intensity × facility energy; no embodied carbon"),
            new("Binding constraint", top, $"{Share(topShare)} of tokens made under it (headline convention); all: " + string.Join(", ", Shares(t.BindingTokenShares).Select(s => $"{s.Name} {Share(s.Share)}"))),
            new("Facility energy", Number(t.FacilityEnergyJoules / 3.6e9, "MWh"), $"over {horizon}, {Number(t.FacilityEnergyJoules / r.HorizonSeconds / 1e6, "MW")} on average"),
            new("ε and R_sat from", r.Simulated ? (origins.Count == 1 ? "SIMULATED" : "partly SIMULATED") : string.Join(", ", origins),
                r.Simulated ? "the embedded twin modelled some mixes: the figures show the method, not a machine" : "declared in the scenario or measured by runs (see each site's mixes)"),
        ];
    }

    private static IEnumerable<ReportBlock> SummaryBlocks(PlanReport r)
    {
        var many = r.Sites.Count > 1;
        List<string> header = ["", .. r.Sites.Select(s => s.Name)];
        if (many) header.Add("total");
        var rows = new List<IReadOnlyList<string>>();
        void Row(string label, Func<PlanReportSite, string> cell, string total = "")
        {
            List<string> cells = [label, .. r.Sites.Select(cell)];
            if (many) cells.Add(total);
            rows.Add(cells);
        }
        Row("accelerators", s => $"{Count(s.AcceleratorCount)} × {s.Accelerator}");
        Row("headline convention", s => s.Headline);
        Row("binding (headline, horizon means)", s => s.Conventions.FirstOrDefault(c => c.IsHeadline)?.BindingConstraint ?? "—");
        Row("tokens per hour", s => Number(s.Rates.PerHour), Number(r.Total.Rates.PerHour));
        Row("tokens per day", s => Number(s.Rates.PerDay), Number(r.Total.Rates.PerDay));
        Row("tokens per year (8,760 h)", s => Number(s.Rates.PerYear), Number(r.Total.Rates.PerYear));
        Row("facility energy", s => Number(s.FacilityEnergyJoules / 3.6e9, "MWh"), Number(r.Total.FacilityEnergyJoules / 3.6e9, "MWh"));
        Row($"cost per M tokens ({r.Currency})", s => Number(s.CostPerMillionTokens), Number(r.Total.CostPerMillionTokens));
        Row("carbon per M tokens (kgCO2e)", s => Number(s.CarbonKilogramsPerMillionTokens), Number(r.Total.CarbonKilogramsPerMillionTokens));
        foreach (var (name, _) in Shares(r.Total.BindingTokenShares))
            Row(name == "balanced" ? "tokens made balanced" : $"tokens made {name}-bound", s => Share(Shares(s.BindingTokenShares).First(x => x.Name == name).Share), Share(Shares(r.Total.BindingTokenShares).First(x => x.Name == name).Share));
        yield return new TableBlock(header, rows);

        List<(string, PlanReportShares)> bars = [];
        foreach (var s in r.Sites)
        {
            bars.Add(($"{s.Name}: time", s.BindingTimeShares));
            bars.Add(($"{s.Name}: tokens", s.BindingTokenShares));
        }
        if (many) bars.Add(("all sites: tokens", r.Total.BindingTokenShares));
        yield return new ChartBlock("chart-bindings", "What bound, share of time and of tokens", Charts.PlanBindings(bars),
            "For each site, the share of the horizon's time and of its tokens under each binding constraint of the headline convention: compute, power (delivered power: facility ÷ PUE, an IT budget or racks), cooling (the cooling capacity set the IT power), balanced (the ceilings within the tie tolerance)." + (many ? " The last bar: all sites' tokens together." : ""));

        var levers = r.Total.Elasticities.Select(e => e.Input).ToList();
        List<(string, double?[])> groups = [.. r.Sites.Select(s => (s.Name, levers.Select(l => s.Elasticities.FirstOrDefault(e => e.Input == l)?.Up).ToArray()))];
        if (many) groups.Add(("total", [.. levers.Select(l => (double?)r.Total.Elasticities.First(e => e.Input == l).Up)]));
        yield return new ChartBlock("chart-elasticities", "Elasticity of tokens to each lever", Charts.PlanElasticities([.. levers.Select(Lever)], groups),
            "∂ln Q/∂ln x for a small rise of each lever, with the installed accelerators held fixed: 1 means tokens rise one for one, 0 that the lever has slack, −1 that tokens fall one for one (κ, ε)." + (many ? " The total is the token-weighted mean of the sites' (the lever scaled everywhere at once)." : "") + " A site without the lever has no bar.");
        List<string> elasticityHeader = ["lever", .. r.Sites.Select(s => s.Name)];
        if (many) elasticityHeader.Add("total");
        yield return new TableBlock(elasticityHeader,
            [.. r.Total.Elasticities.Select(t => (IReadOnlyList<string>)[Lever(t.Input), .. r.Sites.Select(s => s.Elasticities.FirstOrDefault(e => e.Input == t.Input) is { } e ? Elasticity(e) : "—"), .. many ? [Elasticity(t)] : Array.Empty<string>()])],
            "Elasticities ∂ln Q/∂ln x (up / down where a rise and a fall differ; — where a site has no such lever)");
    }

    private static IEnumerable<ReportBlock> SiteBlocks(PlanReport r, PlanReportSite s, int index)
    {
        var i = s.Inputs;
        var headline = s.Conventions.FirstOrDefault(c => c.IsHeadline);
        yield return new ParagraphBlock($"{Count(s.AcceleratorCount)} × {s.Accelerator} at {s.Precision}, {(s.CountFromBudget ? "the count fit to the power budget" : "the count as given")}; headline convention {s.Headline}{(s.Headline == "realized" ? " (every mix has a realized C_eff)" : " (a mix has no realized C_eff: the figures are an upper bound)")}. Binding over the horizon's means: {headline?.BindingConstraint ?? "—"}.");

        yield return new TableBlock(["input", "value", "what it is"],
        [
            ["facility power P_facility", Watts(i.FacilityPowerWatts), i.FacilityPowerWatts is null ? "not given" : "mean over the horizon"],
            ["PUE", Number(i.Pue), i.Pue is null ? "not given: cost and carbon at the IT boundary (PUE 1)" : "mean over the horizon"],
            ["delivered IT power P_IT", Watts(i.ItPowerWatts), $"mean over the horizon, before the cooling cap; from {Source(i.ItPowerSource)}{(i.RackCount is not null ? ", capped by the racks" : "")}"],
            ["cooling capacity", Watts(i.CoolingCapacityWatts), i.CoolingCapacityWatts is null ? "not given: cooling does not bind" : "IT heat the plant can reject: caps the usable P_IT"],
            ["racks", i.RackCount is { } n ? $"{Count(n)} × {Watts(i.RackPowerDensityWatts)}" : "—", i.RackCount is { } racks ? $"a cap of {Watts(racks * i.RackPowerDensityWatts)} on the delivered IT power" : "not given"],
            ["accelerators", $"{Count(s.AcceleratorCount)} × {s.Accelerator}", s.CountFromBudget ? $"fit to the budget: ⌊highest usable IT power ÷ {Watts(s.WattsPerAccelerator)} each⌋" : "as given"],
            ["IT power per accelerator", Watts(s.WattsPerAccelerator), "with its share of host, network and storage"],
            ["peak per accelerator C_peak", Number(i.PeakPerDeviceFlopPerSecond, "FLOP/s"), $"spec sheet at {s.Precision}"],
            ["boundary factor b", Number(i.BoundaryFactor), i.BoundaryFactor == 1 ? "1: each mix's ε is taken to be at the boundary of the IT budget already" : "declared: carries each mix's ε out to the boundary of the IT budget (ε' = b·ε/ηε)"],
            ["utilization U", Number(i.Utilization), "mean over the horizon: the rate served as a share of the lower ceiling"],
            ["electricity price", Number(i.PricePerKilowattHour, $"{r.Currency}/kWh"), i.PricePerKilowattHour is null ? "not given: no cost" : "mean over the horizon, per kWh of facility energy"],
            ["grid carbon intensity", Number(i.CarbonGramsPerKilowattHour, "gCO2e/kWh"), i.CarbonGramsPerKilowattHour is null ? "not given: no carbon" : "mean over the horizon, per kWh of facility energy"],
        ], "Inputs (series as their time-means over the horizon)");

        var mixes = s.Mixes.Select(m => (IReadOnlyList<string>)[m.Name, Number(m.Share), m.Model ?? "—", Count(m.Context), Number(m.KappaFlopPerToken), Number(m.KappaGain), Number(m.KappaAfterFlopPerToken),
            Number(m.EpsilonJoulesPerToken), Number(m.EpsilonGain), Number(m.EpsilonAfterJoulesPerToken), m.EpsilonOrigin == "simulated" ? "SIMULATED" : m.EpsilonOrigin,
            Number(m.EffectiveComputePerDeviceFlopPerSecond), m.Mechanisms.Count == 0 ? "none" : string.Join("; ", m.Mechanisms.Select(Mechanism))]).ToList();
        mixes.Add(["blend", "1", "", "", "", "", Number(s.Blend.KappaFlopPerToken), "", "", Number(s.Blend.EpsilonJoulesPerToken), "", Number(s.Blend.EffectiveComputePerDeviceFlopPerSecond), "Σ over the mixes"]);
        yield return new TableBlock(["mix", "share", "model", "context", "κ (FLOP/token)", "ηκ", "κ' after", "ε (J/token)", "ηε", "ε' after", "ε origin", "C_eff per accelerator (FLOP/s)", "mechanisms"], mixes,
            "Mixes: κ and ε before and after their mechanisms and the boundary factor (κ' = κ/ηκ, ε' = b·ε/ηε), and the blended token", new HashSet<int>([mixes.Count - 1]));
        yield return new TableBlock(["mix", "ε from", "C_eff from"],
            [.. s.Mixes.Select(m => (IReadOnlyList<string>)[m.Name, $"{m.EpsilonOrigin}: {m.EpsilonSource}", m.ComputeSource ?? (m.EffectiveComputePerDeviceFlopPerSecond is null ? "not given: peak convention only" : "—")])],
            "Where each mix's ε and realized compute come from");

        yield return new HeadingBlock(2, $"{s.Name}: ceilings and the binding constraint", $"site-{index}-ceilings");
        yield return new ParagraphBlock("Compute ceiling = C / κ; power ceiling = P_IT / ε (P_IT after the cooling cap); the lower one binds. Means over the horizon. The realized convention (C_eff from each mix's R_sat or kernel efficiency) is the headline; the peak convention (C_peak from the spec sheet) is an upper bound only.");
        yield return new TableBlock(["convention", "C (FLOP/s)", "P_IT (W)", "compute ceiling (tok/s)", "power ceiling (tok/s)", "binding", "headroom σ/φ", "φ (J/FLOP)", "σ (J/FLOP)", "tokens over the horizon"],
            [.. s.Conventions.Select(c => (IReadOnlyList<string>)[c.Convention + (c.IsHeadline ? " (headline)" : " (upper bound)"), Number(c.ComputeFlopPerSecond), Number(c.ItPowerWatts), Number(c.ComputeCeilingTokensPerSecond), Number(c.PowerCeilingTokensPerSecond),
                c.BindingConstraint, Number(c.Headroom), Number(c.PhiJoulesPerFlop), Number(c.SigmaJoulesPerFlop), Number(c.Tokens)])],
            Emphasis: new HashSet<int>(s.Conventions.Select((c, n) => (c, n)).Where(x => x.c.IsHeadline).Select(x => x.n)));
        foreach (var c in s.Conventions) yield return new ParagraphBlock($"{c.Convention}: {c.Explanation}");

        var view = PlanTimelineView.Of(s.Timeline, r.HorizonSeconds);
        yield return new ChartBlock($"chart-timeline-{index}", $"{s.Name}: ceilings and token rate over the horizon", Charts.PlanTimeline(view, $"plan-timeline-{index}"),
            $"Headline ({s.Headline}) convention, {Plural(s.Timeline.Count, "step")}: the compute ceiling C_eff/κ (blue), the power ceiling P_IT/ε (vermillion) and the token rate U·min(C_eff/κ, P_IT/ε) (green), all in tokens/s; shaded where power (orange) or cooling (light blue) bound. {view.Reduction}");
        yield return new TableBlock(["binding constraint", "share of time", "share of tokens"],
            [.. Shares(s.BindingTimeShares).Zip(Shares(s.BindingTokenShares), (t, q) => (IReadOnlyList<string>)[Constraint(t.Name), Share(t.Share), Share(q.Share)])],
            "What bound, over the horizon (headline convention)");
        yield return new ParagraphBlock($"The usable IT power was set by the cooling capacity for {Share(s.CoolingLimitedShare)} of the time and by the racks for {Share(s.RackLimitedShare)}; the rest of the time by {Source(i.ItPowerSource)}.");

        yield return new TableBlock(["output", "value"],
        [
            ["tokens per hour", Number(s.Rates.PerHour)],
            ["tokens per day", Number(s.Rates.PerDay)],
            ["tokens per year (8,760 h)", Number(s.Rates.PerYear)],
            [$"tokens over {Horizon(r.HorizonSeconds)}", Number(s.Tokens)],
            ["tokens without mechanisms", Number(s.TokensWithoutMechanisms)],
            ["with mechanisms / without", Number(s.MechanismTokensRatio)],
            ["facility energy", Number(s.FacilityEnergyJoules / 3.6e9, "MWh")],
            ["mean facility power drawn", Watts(s.MeanFacilityPowerDrawnWatts)],
            ["cost", Number(s.Cost, r.Currency)],
            ["cost per M tokens", Number(s.CostPerMillionTokens, r.Currency)],
            ["carbon", Number(s.CarbonKilograms / 1000, "tCO2e")],
            ["carbon per M tokens", Number(s.CarbonKilogramsPerMillionTokens, "kgCO2e")],
        ], "Output, energy, cost and carbon");

        yield return new TableBlock(["lever", "elasticity", "reads"],
            [.. s.Elasticities.Select(e => (IReadOnlyList<string>)[Lever(e.Input), Elasticity(e), Reads(e)])],
            "Elasticity of the site's tokens to each lever (∂ln Q/∂ln x, installed accelerators fixed)");
    }

    private static IEnumerable<(string Quantity, string Formula)> Formulas(PlanReport r) =>
    [
        ("token rate q̇", "U · min(C_eff / κ, P_IT / ε), tokens/s, at every step of the timeline (Eq. 1)"),
        ("compute ceiling", "C_eff / κ with C_eff = accelerators × C_eff per accelerator (realized, headline) or accelerators × C_peak (peak, upper bound)"),
        ("power ceiling", "P_IT / ε"),
        ("usable IT power P_IT", "min(P_facility / PUE, racks × density) (or the declared IT budget, or accelerators × W each), then min(…, cooling capacity)"),
        ("binding constraint", $"compute where C_eff/κ is the lower ceiling; power (delivery) or cooling (when the cooling capacity set P_IT) where P_IT/ε is; balanced when they are within {Share(r.TieTolerance)}"),
        ("blend κ", "Σ wᵢ κᵢ' with κᵢ' = κᵢ / ηκ,ᵢ (wᵢ the mix's share of tokens)"),
        ("blend ε", "Σ wᵢ εᵢ' with εᵢ' = εᵢ / ηε,ᵢ"),
        ("C_eff per accelerator (blend)", "κ / Σ (wᵢ κᵢ' / C_eff,ᵢ): one accelerator's seconds per blended token, inverted"),
        ("accelerators fit to the budget", "⌊max over time of min(delivered IT power, racks, cooling) ÷ W per accelerator⌋"),
        ("φ, σ, headroom", "φ = ε / κ (J/FLOP demanded), σ = P_IT / C (J/FLOP supplied), headroom = σ / φ (> 1: compute-bound)"),
        ("facility energy per token", "PUE · ε / U"),
        ("facility energy", "Σ over steps PUE · ε · min(C_eff / κ, P_IT / ε) · duration"),
        ("cost per M tokens", "10⁶ · price · PUE · ε / U / 3.6e6 (price per kWh; energy only)"),
        ("carbon per M tokens", "10⁶ · intensity · PUE · ε / U / 3.6e6 / 1000 (kgCO2e; intensity in gCO2e/kWh)"),
        ("tokens per hour, day, year", "mean rate over the horizon × 3,600 s, 86,400 s, 8,760 h"),
        ("with mechanisms / without", "tokens with every mechanism / tokens with every η = 1"),
        ("shares of time and tokens", "time (or tokens made) under each binding constraint ÷ the horizon (or all tokens)"),
        ("elasticity", "∂ln Q/∂ln x by one-sided finite differences at relative step 1e-6 (up: x·(1 + 1e-6), down: x·(1 − 1e-6)), installed hardware fixed; the total is the token-weighted mean of the sites'"),
    ];

    private static readonly string[] Constraints = ["compute", "power", "cooling", "balanced"];

    private static IEnumerable<(string Name, double Share)> Shares(PlanReportShares s) =>
        Constraints.Zip([s.Compute, s.Power, s.Cooling, s.Balanced]);

    private static string Constraint(string name) => name switch
    {
        "power" => "power (delivery)",
        "cooling" => "cooling",
        "balanced" => "balanced (within the tie tolerance)",
        _ => name,
    };

    private static string Lever(string input) => input switch
    {
        "facilityPower" => "facility power",
        "itPower" => "IT power budget",
        "pue" => "PUE",
        "coolingCapacity" => "cooling capacity",
        "racks" => "rack power density",
        "accelerators" => "accelerators",
        "utilization" => "utilization U",
        "effectiveCompute" => "C_eff and C_peak per accelerator",
        "kappa" => "κ of every mix",
        "epsilon" => "ε of every mix",
        _ => input,
    };

    private static string Source(string itPowerSource) => itPowerSource switch
    {
        "facilityOverPue" => "facility power ÷ PUE",
        "declared" => "the declared IT budget",
        "deviceLimits" => "the accelerators' watts",
        _ => itPowerSource,
    };

    private static string Elasticity(ModelReportElasticity e) => e.Up == e.Down ? Number(e.Up) : $"{Number(e.Up)} up / {Number(e.Down)} down";

    private static string Reads(ModelReportElasticity e)
    {
        if (e.Up != e.Down) return "at a kink of the min: a rise and a fall move tokens differently";
        return e.Up switch
        {
            0 => "slack: it does not move tokens here",
            1 => "tokens rise one for one with it",
            -1 => "tokens fall one for one as it rises",
            var x => $"a 1 % rise moves tokens by {Number(x)} %",
        };
    }

    private static string Mechanism(ModelReportMechanism m)
    {
        var gains = m.PrefillKappaGain == m.DecodeKappaGain && m.PrefillEpsilonGain == m.DecodeEpsilonGain
            ? $"ηκ {Number(m.DecodeKappaGain)}, ηε {Number(m.DecodeEpsilonGain)}"
            : $"prefill ηκ {Number(m.PrefillKappaGain)}, ηε {Number(m.PrefillEpsilonGain)}; decode ηκ {Number(m.DecodeKappaGain)}, ηε {Number(m.DecodeEpsilonGain)}";
        return $"{m.Name} ({gains}{(m.Source is { } source ? ", " + source : "")})";
    }

    /// <summary>A share of a whole, unsigned (<see cref="ReportDocument.Percent"/> is a signed change).</summary>
    internal static string Share(double fraction) =>
        double.IsFinite(fraction) ? (fraction * 100).ToString("0.0", CultureInfo.InvariantCulture) + " %" : "—";

    /// <summary>Power in W, kW, MW or GW, whichever reads best.</summary>
    internal static string Watts(double? watts) => watts switch
    {
        { } w when Math.Abs(w) >= 1e9 => Number(w / 1e9, "GW"),
        { } w when Math.Abs(w) >= 1e6 => Number(w / 1e6, "MW"),
        { } w when Math.Abs(w) >= 1e3 => Number(w / 1e3, "kW"),
        var w => Number(w, "W"),
    };

    /// <summary>The horizon as a reader says it: "365 d (8,760 h)", "24 h", "90 min".</summary>
    internal static string Horizon(double seconds) =>
        seconds >= 2 * 86_400 && seconds % 86_400 == 0 ? $"{Count(seconds / 86_400)} d ({Count(seconds / 3600)} h)" : StepTimeline.Width(seconds);

    private static string Plural(int n, string noun) => $"{Count(n)} {noun}{(n == 1 ? "" : "s")}";
}
