using EnergyToToken.Catalog;
using EnergyToToken.Twin;

namespace EnergyToToken.Production;

/// <summary>What <c>e2t plan sweep</c> varies (docs/plan-sweep.md).</summary>
public enum SweepAxis
{
    /// <summary>Delivered IT power against effective compute: the regime map.</summary>
    Grid,

    /// <summary>Context length for one mix's model, κ from the catalog and ε's shape from the twin.</summary>
    Context,

    /// <summary>The site's efficiency mechanisms applied one after another.</summary>
    Ladder,
}

/// <summary>Where the context sweep's ε(c) and R_sat(c) come from.</summary>
public enum EpsilonModel
{
    /// <summary>The mix's ε (and R_sat) at its own context, scaled by the twin's ratio: the level measured, the shape modeled.</summary>
    Anchored,

    /// <summary>The twin's steady-decode figures as they are: all modeled.</summary>
    Twin,
}

/// <summary>
/// Log-spaced values from <see cref="From"/> to <see cref="To"/> inclusive: <c>xᵢ = From · (To/From)^(i/(Count−1))</c>.
/// </summary>
public sealed record LogRange(double From, double To, int Count = PlanSweep.DefaultGridPoints)
{
    /// <summary>0.1× to 10× <paramref name="center"/>, so with an odd count the middle value is the center itself.</summary>
    public static LogRange Around(double center, int count = PlanSweep.DefaultGridPoints) => new(center / 10, center * 10, count);

    public IReadOnlyList<double> Values()
    {
        var values = new double[Count];
        var ratio = Math.Log(To / From);
        for (var i = 0; i < Count; i++) values[i] = From * Math.Exp(ratio * i / (Count - 1));
        // exp(log(x)) drifts in the last bits; the ends are what the user typed.
        (values[0], values[^1]) = (From, To);
        return values;
    }

    /// <summary>Every problem with the range; <paramref name="what"/> names it (the flag).</summary>
    public IReadOnlyList<string> Validate(string what)
    {
        var errors = new List<string>();
        if (!(From > 0) || !double.IsFinite(From)) errors.Add($"{what}: the start must be a positive number (was {ProductionInputs.Format(From)}).");
        if (!(To > 0) || !double.IsFinite(To)) errors.Add($"{what}: the end must be a positive number (was {ProductionInputs.Format(To)}).");
        else if (From > 0 && !(To > From)) errors.Add($"{what}: the end ({ProductionInputs.Format(To)}) must be above the start ({ProductionInputs.Format(From)}).");
        if (Count is < 2 or > PlanSweep.MaxGridPoints) errors.Add($"{what}: the number of points must be from 2 to {PlanSweep.MaxGridPoints} (was {Count}).");
        return errors;
    }
}

/// <summary>One cell of the regime map: the site's blended token at one (P_IT, C_eff).</summary>
/// <param name="Headroom">H = power ceiling ÷ compute ceiling = σ/φ.</param>
/// <param name="TokensPerSecond">U · min(ceilings), with the site's mean U.</param>
public sealed record GridCell(
    double ItPowerWatts,
    double ComputeFlopPerSecond,
    double ComputeCeilingTokensPerSecond,
    double PowerCeilingTokensPerSecond,
    BindingConstraint Binding,
    double Headroom,
    double TokensPerSecond)
{
    /// <summary>Gets σ = P_IT / C_eff, the energy per FLOP the cell supplies.</summary>
    public double SigmaJoulesPerFlop => ItPowerWatts / ComputeFlopPerSecond;
}

/// <summary>The regime map of a site: its blended κ and ε held, P_IT and C_eff swept on log grids.</summary>
/// <param name="Convention">Which compute the site's own point uses (realized when every mix has C_eff, else peak).</param>
/// <param name="ItPowerWatts">The rows, ascending.</param>
/// <param name="ComputeFlopPerSecond">The columns, ascending.</param>
/// <param name="Cells">Row-major: <c>Cells[p · columns + c]</c>.</param>
/// <param name="Site">The site itself at its mean usable IT power and headline compute.</param>
public sealed record GridSweep(
    Convention Convention,
    double KappaFlopPerToken,
    double EpsilonJoulesPerToken,
    double Utilization,
    double TieTolerance,
    IReadOnlyList<double> ItPowerWatts,
    IReadOnlyList<double> ComputeFlopPerSecond,
    IReadOnlyList<GridCell> Cells,
    GridCell Site,
    IReadOnlyList<string> Notes)
{
    /// <summary>Gets φ = ε/κ: the crossover line σ = φ is P_IT = φ · C_eff.</summary>
    public double PhiJoulesPerFlop => TokenProductionFunction.Phi(EpsilonJoulesPerToken, KappaFlopPerToken);

    public GridCell At(int itPowerIndex, int computeIndex) => Cells[itPowerIndex * ComputeFlopPerSecond.Count + computeIndex];

    /// <summary>The IT power at which the ceilings are equal for a compute of <paramref name="computeFlopPerSecond"/>.</summary>
    public double CrossoverItPowerWatts(double computeFlopPerSecond) => PhiJoulesPerFlop * computeFlopPerSecond;
}

/// <summary>What the context sweep is asked for; every default visible here and in docs/plan-sweep.md.</summary>
public sealed record ContextSweepOptions
{
    /// <summary>Gets the contexts in tokens. Default (null): doubling from 4 096 up to the model's maximum, which closes the list.</summary>
    public IReadOnlyList<int>? Contexts { get; init; }

    /// <summary>Gets the most sequences decoding at once (vLLM's max_num_seqs). Default: 256.</summary>
    public int Batch { get; init; } = PlanSweep.DefaultBatch;

    /// <summary>Gets where ε(c) and R_sat(c) come from. Default: anchored to the mix.</summary>
    public EpsilonModel EpsilonModel { get; init; } = EpsilonModel.Anchored;

    /// <summary>
    /// Gets the devices of one twin replica (tensor parallel). Default (null): the smallest power of two whose memory holds
    /// the weights and one sequence at the reference context (the mix's when anchored, the shortest swept otherwise).
    /// </summary>
    public int? Devices { get; init; }

    /// <summary>
    /// Gets the compute in the compute ceiling: realized <c>κ(c)·R_sat(c)</c> (default; the peak stands in where the mix
    /// has no R_sat), or the peak <c>C_peak</c>, an upper bound under which the ceiling falls only with κ(c).
    /// </summary>
    public Convention Convention { get; init; } = Convention.Realized;

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (Batch < 1) errors.Add($"--batch must be at least 1 sequence (was {Batch}).");
        if (Devices is < 1) errors.Add($"--devices must be at least 1 (was {Devices}).");
        if (Contexts is { Count: 0 }) errors.Add("--contexts is empty: give at least one context, e.g. 4k,8k,16k.");
        foreach (var c in Contexts ?? []) if (c < 1) errors.Add($"--contexts: {c} is not a context; each must be at least 1 token.");
        return errors;
    }
}

/// <summary>
/// One context of the sweep. Where the weights and one sequence's KV do not fit the replica (<see cref="Batch"/> 0), only
/// κ is given: the figures that need the twin are null.
/// </summary>
/// <param name="KappaFlopPerToken">κ(c) from the catalog, after the mechanisms.</param>
/// <param name="Batch">B(c) = min(batch, ⌊KV-cache tokens / c⌋); 0: does not fit.</param>
/// <param name="TwinJoulesPerToken">ε_twin(c): one steady decode step's joules (idle included) ÷ B.</param>
/// <param name="TwinTokensPerSecondPerDevice">R_twin(c) = B ÷ step seconds ÷ devices of the replica.</param>
/// <param name="TwinWattsPerDevice">Mean power of one device over the step.</param>
/// <param name="EpsilonJoulesPerToken">ε(c) used, after the mechanisms.</param>
/// <param name="ComputePerDeviceFlopPerSecond">C_eff(c) of one accelerator (realized), or its peak (peak convention).</param>
public sealed record ContextPoint(
    int Context,
    double KappaFlopPerToken,
    int Batch,
    double? TwinJoulesPerToken,
    double? TwinTokensPerSecondPerDevice,
    double? TwinWattsPerDevice,
    double? EpsilonJoulesPerToken,
    double? ComputePerDeviceFlopPerSecond,
    double? ComputeCeilingTokensPerSecond,
    double? PowerCeilingTokensPerSecond,
    BindingConstraint? Binding,
    double? Headroom,
    double? TokensPerSecond)
{
    public bool Fits => Batch > 0;
}

/// <summary>How the binding constraint moves along the context axis.</summary>
public enum ContextTurnKind
{
    /// <summary>Compute-bound (or balanced) at first, power-bound from a later context on.</summary>
    TurnsPowerBound,

    /// <summary>Already power-bound at the shortest context that fits.</summary>
    PowerBoundThroughout,

    /// <summary>No context that fits is power-bound.</summary>
    NeverPowerBound,

    /// <summary>No context of the sweep fits the replica.</summary>
    NothingFits,
}

/// <summary>
/// The first turn to power-bound. <see cref="ContextTokens"/> is interpolated: ln H is taken as linear in ln c between
/// the last context not power-bound (<see cref="Before"/>) and the first power-bound one (<see cref="After"/>), and the
/// turn is where H falls through 1 − tie tolerance, where <see cref="TokenProductionFunction.Classify"/> turns Power.
/// </summary>
/// <param name="LastFitting">The longest context that fits the replica.</param>
public sealed record ContextTurn(ContextTurnKind Kind, double? ContextTokens, int? Before, int? After, int? LastFitting);

/// <summary>The context sweep of one mix at a site, at the site's mean usable IT power and accelerator count. Modeled.</summary>
/// <param name="Model">The catalog model.</param>
/// <param name="Convention">Realized (C_eff(c) = κ(c)·R(c)), or peak where the mix has no realized compute to anchor.</param>
/// <param name="Devices">Devices of one twin replica.</param>
/// <param name="KvCacheTokens">The replica's KV-cache capacity, tokens (twin engine defaults: 90 % of memory, 2 GiB reserve per device).</param>
/// <param name="AnchorContext">The mix's context, where anchored.</param>
/// <param name="AnchorTwinJoulesPerToken">ε_twin at the anchor context.</param>
/// <param name="AnchorTwinTokensPerSecondPerDevice">R_twin at the anchor context.</param>
public sealed record ContextSweep(
    string Mix,
    string Model,
    EpsilonModel EpsilonModel,
    Convention Convention,
    int Devices,
    int KvCacheTokens,
    int BatchLimit,
    double ItPowerWatts,
    double AcceleratorCount,
    double Utilization,
    double TieTolerance,
    int? AnchorContext,
    double? AnchorTwinJoulesPerToken,
    double? AnchorTwinTokensPerSecondPerDevice,
    IReadOnlyList<ContextPoint> Points,
    ContextTurn Turn,
    IReadOnlyList<string> Notes);

/// <summary>One rung of the mechanism ladder: the first <see cref="Index"/> mechanisms applied.</summary>
/// <param name="Mechanism">The mechanism this rung adds; null at rung 0.</param>
/// <param name="Scope">"site", or the mix the mechanism belongs to.</param>
/// <param name="Binding">The headline verdict over the horizon (Mixed when the arms take turns).</param>
/// <param name="TokensPerSecond">Mean utilization-adjusted rate over the horizon.</param>
/// <param name="EpsilonGain">ε at rung 0 ÷ ε here: the product of the ε gains so far (blended over mixes and phases).</param>
/// <param name="KappaGain">κ at rung 0 ÷ κ here.</param>
/// <param name="TokensRatio">Tokens here ÷ tokens at rung 0.</param>
public sealed record LadderRung(
    int Index,
    string? Mechanism,
    string? Scope,
    double KappaFlopPerToken,
    double EpsilonJoulesPerToken,
    double ComputeCeilingTokensPerSecond,
    double PowerCeilingTokensPerSecond,
    BindingConstraint Binding,
    double Headroom,
    double TokensPerSecond,
    double TokensPerYear,
    double KappaGain,
    double EpsilonGain,
    double TokensRatio);

/// <summary>The mechanism ladder of a site under its headline convention.</summary>
public sealed record LadderSweep(Convention Convention, IReadOnlyList<LadderRung> Rungs);

/// <summary>
/// Crossover maps of a planned site (the issue's words): the binding regime over a grid of P_IT and C_eff, over context
/// length for a model, and over the mechanism ladder. Pure: the catalogs come in loaded, nothing is read or written.
/// </summary>
public static class PlanSweep
{
    public const int DefaultGridPoints = 25;
    public const int MaxGridPoints = 200;
    public const int DefaultBatch = 256;

    /// <summary>The shortest default context; the default list doubles from here.</summary>
    public const int FirstDefaultContext = 4096;

    /// <summary>The largest replica the default device search tries.</summary>
    public const int MaxDefaultDevices = 64;

    /// <summary>The site in the plan named <paramref name="name"/> (the first when null), or an explained failure listing them.</summary>
    public static PlanSite Site(Plan plan, string? name)
    {
        if (name is null) return plan.Sites[0];
        return plan.Sites.FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase))
            ?? throw new EnergyToTokenException($"--site: the scenario has no site '{name}'. Its sites: {string.Join(", ", plan.Sites.Select(s => s.Name))}.");
    }

    /// <summary>The site's mix named <paramref name="name"/> (the first when null), or an explained failure listing them.</summary>
    public static PlanMix Mix(PlanSite site, string? name)
    {
        if (name is null) return site.Mixes[0];
        return site.Mixes.FirstOrDefault(m => string.Equals(m.Name, name, StringComparison.OrdinalIgnoreCase))
            ?? throw new EnergyToTokenException($"--mix: site '{site.Name}' has no mix '{name}'. Its mixes: {string.Join(", ", site.Mixes.Select(m => m.Name))}.");
    }

    /// <summary>
    /// The site's mean usable IT power, headline compute and utilization over the horizon: where the site sits on the map.
    /// </summary>
    public static (ConventionResult Headline, double Utilization) Operating(Plan plan, PlanSite site)
    {
        var headline = ProductionModel.Evaluate(Planner.Inputs(plan, site, Planner.Compose(site))).Headline;
        return (headline, site.Utilization.Mean(0, plan.HorizonSeconds));
    }

    /// <summary>
    /// The regime map: the site's blended κ and ε (after mechanisms) against every (P_IT, C_eff) of the two ranges.
    /// Null ranges default to 0.1×–10× the site's mean usable IT power and headline compute, 25 points each.
    /// </summary>
    public static GridSweep Grid(Plan plan, PlanSite site, LogRange? itPower = null, LogRange? compute = null)
    {
        var composite = Planner.Compose(site);
        var (headline, utilization) = Operating(plan, site);
        itPower ??= LogRange.Around(headline.ItPowerWatts);
        compute ??= LogRange.Around(headline.ComputeFlopPerSecond);
        var errors = itPower.Validate("--it-power").Concat(compute.Validate("--compute")).ToList();
        if (errors.Count > 0) throw new EnergyToTokenException(string.Join(Environment.NewLine, errors));

        var (kappa, epsilon) = (composite.KappaFlopPerToken, composite.EpsilonJoulesPerToken);
        GridCell Cell(double p, double c)
        {
            var computeCeiling = TokenProductionFunction.ComputeCeiling(c, kappa);
            var powerCeiling = TokenProductionFunction.PowerCeiling(p, epsilon);
            return new GridCell(p, c, computeCeiling, powerCeiling,
                TokenProductionFunction.Classify(computeCeiling, powerCeiling, plan.TieTolerance),
                TokenProductionFunction.Headroom(computeCeiling, powerCeiling),
                utilization * Math.Min(computeCeiling, powerCeiling));
        }
        var rows = itPower.Values();
        var columns = compute.Values();
        var cells = new List<GridCell>(rows.Count * columns.Count);
        foreach (var p in rows)
            foreach (var c in columns) cells.Add(Cell(p, c));
        var notes = new List<string>();
        if (headline.BindingConstraint == BindingConstraint.Mixed)
            notes.Add($"Over the horizon the binding arm at site '{site.Name}' changes with its inputs (mixed); the map places the site at their time-means.");
        if (headline.Convention == Convention.Peak)
            notes.Add($"Not every mix at site '{site.Name}' has a realized C_eff, so the site's compute is the peak convention's C_peak: an upper bound, not what it serves.");
        return new GridSweep(headline.Convention, kappa, epsilon, utilization, plan.TieTolerance, rows, columns, cells,
            Cell(headline.ItPowerWatts, headline.ComputeFlopPerSecond), notes);
    }

    /// <summary>The default contexts: 4 096, 8 192, … while below the model's maximum, then the maximum itself.</summary>
    public static IReadOnlyList<int> DefaultContexts(int maxContext)
    {
        var contexts = new List<int>();
        // A model shorter than the first default still gets a sweep: from an eighth of its context.
        var c = maxContext > FirstDefaultContext ? FirstDefaultContext : Math.Max(1, maxContext / 8);
        for (; c < maxContext; c *= 2) contexts.Add(c);
        contexts.Add(maxContext);
        return contexts;
    }

    /// <summary>
    /// The context sweep of <paramref name="mix"/> at <paramref name="site"/>: κ(c) from the catalog, ε(c) and R_sat(c)
    /// from the twin's step model at steady decode (anchored to the mix by default), both ceilings at the site's mean
    /// usable IT power and accelerator count, and the first turn to power-bound.
    /// </summary>
    public static ContextSweep Context(Plan plan, PlanSite site, PlanMix mix, Catalogs catalogs, ContextSweepOptions? options = null)
    {
        options ??= new ContextSweepOptions();
        var errors = options.Validate().ToList();
        if (mix.Model is null)
            errors.Add($"Mix '{mix.Name}' at site '{site.Name}' names no catalog model (its κ is declared), so κ(c) has nothing to follow. Give the mix model: NAME (e2t catalog lists them), or pick another mix with --mix.");
        // Without a model there is no κ(c) to check the contexts against; otherwise go on and list those problems too.
        if (mix.Model is null) throw new EnergyToTokenException(string.Join(Environment.NewLine, errors));
        var model = catalogs.Model(mix.Model);
        var accelerator = catalogs.Accelerator(site.Accelerator);

        var contexts = (options.Contexts ?? DefaultContexts(model.MaxContext)).Distinct().Order().ToList();
        foreach (var c in contexts.Where(c => c > model.MaxContext))
            errors.Add($"--contexts: {c} is beyond {model.DisplayName ?? model.Name}'s maximum context of {model.MaxContext} tokens.");
        var anchored = options.EpsilonModel == EpsilonModel.Anchored;
        if (anchored && mix.Context is null)
            errors.Add($"Mix '{mix.Name}' has no context, so its ε cannot anchor the sweep. Give the mix context: TOKENS, or pass --epsilon-model twin to use the twin's values directly.");
        if (errors.Count > 0) throw new EnergyToTokenException(string.Join(Environment.NewLine, errors));

        var reference = anchored ? mix.Context!.Value : contexts[0];
        var deployment = Replica(site, model, accelerator, catalogs, options.Devices, reference, anchored);
        var devices = deployment.Profile.Devices;
        var capacity = deployment.KvCacheTokens;

        (int Batch, double Joules, double Rate, double Watts) Decode(int context)
        {
            var batch = Math.Min(options.Batch, capacity / context);
            if (batch < 1) return (0, double.NaN, double.NaN, double.NaN);
            // Steady decode: every sequence emits one token attending to its whole context.
            var step = deployment.Step.Cost(StepWork.Decode(batch, (double)batch * context));
            return (batch, step.Joules / batch, batch / step.Seconds / devices, step.Watts / devices);
        }

        var notes = new List<string>();
        var (headline, utilization) = Operating(plan, site);
        var itPower = headline.ItPowerWatts;
        double? anchorJoules = null, anchorRate = null, mixRate = null;
        if (anchored)
        {
            var anchor = Decode(reference);
            (anchorJoules, anchorRate) = (anchor.Joules, anchor.Rate);
            if (mix.EffectiveComputePerDeviceFlopPerSecond is { } c) mixRate = c / mix.KappaFlopPerToken;
            else notes.Add($"Mix '{mix.Name}' has no realized C_eff to anchor R_sat, so the compute ceiling is at the peak convention (C_peak / κ(c)), an upper bound.");
            var catalogKappa = model.KappaFlopPerToken(reference);
            if (Math.Abs(catalogKappa / mix.KappaFlopPerToken - 1) > 1e-9)
                notes.Add($"Mix '{mix.Name}' declares κ = {ProductionInputs.Format(mix.KappaFlopPerToken)} FLOP/token; the sweep takes κ(c) from the catalog ({ProductionInputs.Format(catalogKappa)} at {reference} tokens).");
        }
        var convention = options.Convention == Convention.Peak || (anchored && mixRate is null) ? Convention.Peak : Convention.Realized;

        var points = new List<ContextPoint>(contexts.Count);
        foreach (var context in contexts)
        {
            var kappa = model.KappaFlopPerToken(context);
            var twin = Decode(context);
            if (twin.Batch == 0)
            {
                var after = Planner.Compose(Alone(site, mix, kappa, mix.EpsilonJoulesPerToken, null)).KappaFlopPerToken;
                points.Add(new ContextPoint(context, after, 0, null, null, null, null, null, null, null, null, null, null));
                continue;
            }
            var epsilon = anchored ? mix.EpsilonJoulesPerToken * twin.Joules / anchorJoules!.Value : twin.Joules;
            // C_eff = κ·R_sat: the token rate carries the twin's shape (anchored: the mix's level), κ the catalog's.
            double? perDevice = convention == Convention.Peak ? null
                : anchored ? kappa * mixRate!.Value * twin.Rate / anchorRate!.Value
                : kappa * twin.Rate;
            var composite = Planner.Compose(Alone(site, mix, kappa, epsilon, perDevice));
            var computeCeiling = TokenProductionFunction.ComputeCeiling(
                (composite.EffectiveComputePerDeviceFlopPerSecond ?? site.PeakPerDeviceFlopPerSecond) * site.AcceleratorCount, composite.KappaFlopPerToken);
            var powerCeiling = TokenProductionFunction.PowerCeiling(itPower, composite.EpsilonJoulesPerToken);
            points.Add(new ContextPoint(context, composite.KappaFlopPerToken, twin.Batch, twin.Joules, twin.Rate, twin.Watts,
                composite.EpsilonJoulesPerToken, composite.EffectiveComputePerDeviceFlopPerSecond ?? site.PeakPerDeviceFlopPerSecond,
                computeCeiling, powerCeiling,
                TokenProductionFunction.Classify(computeCeiling, powerCeiling, plan.TieTolerance),
                TokenProductionFunction.Headroom(computeCeiling, powerCeiling),
                utilization * Math.Min(computeCeiling, powerCeiling)));
        }
        if (site.AcceleratorCount % devices != 0)
            notes.Add($"The site's {site.AcceleratorCount} accelerators are not a whole number of {devices}-device replicas; the ceilings scale per device all the same.");
        if (site.Mechanisms.Count + mix.Mechanisms.Count > 0)
            notes.Add($"The mechanisms ({string.Join(", ", site.Mechanisms.Concat(mix.Mechanisms).Select(m => m.Name))}) divide κ(c) and ε(c) by the same gains at every context.");

        return new ContextSweep(mix.Name, model.Name, options.EpsilonModel, convention, devices, capacity, options.Batch,
            itPower, site.AcceleratorCount, utilization, plan.TieTolerance,
            anchored ? reference : null, anchorJoules, anchorRate, points, Turn(points, plan.TieTolerance), notes);
    }

    /// <summary>
    /// The first turn to power-bound along the fitting points, interpolated in log context to where the headroom falls
    /// through 1 − tolerance (where Classify turns Power).
    /// </summary>
    public static ContextTurn Turn(IReadOnlyList<ContextPoint> points, double tieTolerance)
    {
        var fitting = points.Where(p => p.Fits).ToList();
        if (fitting.Count == 0) return new ContextTurn(ContextTurnKind.NothingFits, null, null, null, null);
        var last = fitting[^1].Context;
        var first = fitting.FindIndex(p => p.Binding == BindingConstraint.Power);
        if (first < 0) return new ContextTurn(ContextTurnKind.NeverPowerBound, null, null, null, last);
        if (first == 0) return new ContextTurn(ContextTurnKind.PowerBoundThroughout, fitting[0].Context, null, fitting[0].Context, last);
        var (a, b) = (fitting[first - 1], fitting[first]);
        var target = Math.Log(1 - tieTolerance);
        var (ha, hb) = (Math.Log(a.Headroom!.Value), Math.Log(b.Headroom!.Value));
        // ha ≥ target > hb: the fraction is in [0, 1), so the turn lies in [a, b).
        var fraction = (ha - target) / (ha - hb);
        var context = Math.Exp(Math.Log(a.Context) + fraction * (Math.Log(b.Context) - Math.Log(a.Context)));
        return new ContextTurn(ContextTurnKind.TurnsPowerBound, context, a.Context, b.Context, last);
    }

    /// <summary>
    /// The mechanism ladder: rung 0 with none, rung k with the first k of the site's mechanisms followed by each mix's
    /// own (in the scenario's order), each evaluated over the horizon like the plan.
    /// </summary>
    public static LadderSweep Ladder(Plan plan, PlanSite site)
    {
        var ladder = site.Mechanisms.Select(m => (Mix: -1, Mechanism: m))
            .Concat(site.Mixes.SelectMany((mix, i) => mix.Mechanisms.Select(m => (Mix: i, Mechanism: m))))
            .ToList();
        if (ladder.Count == 0)
            throw new EnergyToTokenException($"Site '{site.Name}' has no efficiency mechanisms, so there is no ladder to climb. Add mechanisms: [{{name, kappaGain, epsilonGain}}, ...] to the site or its mixes (docs/plan.md), or sweep another --axis.");

        var rungs = new List<LadderRung>(ladder.Count + 1);
        var convention = Convention.Realized;
        for (var k = 0; k <= ladder.Count; k++)
        {
            var applied = ladder.Take(k).ToList();
            var rung = site with
            {
                Mechanisms = [.. applied.Where(a => a.Mix < 0).Select(a => a.Mechanism)],
                Mixes = [.. site.Mixes.Select((mix, i) => mix with { Mechanisms = [.. applied.Where(a => a.Mix == i).Select(a => a.Mechanism)] })],
            };
            var composite = Planner.Compose(rung);
            var headline = ProductionModel.Evaluate(Planner.Inputs(plan, rung, composite)).Headline;
            convention = headline.Convention;
            var rate = headline.Tokens / plan.HorizonSeconds;
            var first = rungs.Count > 0 ? rungs[0] : null;
            var added = k > 0 ? ladder[k - 1] : default;
            rungs.Add(new LadderRung(
                k, k > 0 ? added.Mechanism.Name : null, k > 0 ? added.Mix < 0 ? "site" : site.Mixes[added.Mix].Name : null,
                composite.KappaFlopPerToken, composite.EpsilonJoulesPerToken,
                headline.ComputeCeilingTokensPerSecond, headline.PowerCeilingTokensPerSecond, headline.BindingConstraint, headline.Headroom,
                rate, rate * Planner.YearSeconds,
                first is null ? 1 : first.KappaFlopPerToken / composite.KappaFlopPerToken,
                first is null ? 1 : first.EpsilonJoulesPerToken / composite.EpsilonJoulesPerToken,
                first is null ? 1 : rate / first.TokensPerSecond));
        }
        return new LadderSweep(convention, rungs);
    }

    /// <summary>The site serving <paramref name="mix"/> alone at the given κ, ε and per-device C_eff (its mechanisms kept).</summary>
    private static PlanSite Alone(PlanSite site, PlanMix mix, double kappa, double epsilon, double? computePerDevice) => site with
    {
        Mixes = [mix with { Share = 1, KappaFlopPerToken = kappa, EpsilonJoulesPerToken = epsilon, EffectiveComputePerDeviceFlopPerSecond = computePerDevice }],
    };

    /// <summary>
    /// The twin replica the context sweep models: <paramref name="devices"/> when given, else the smallest power of two
    /// whose KV cache holds one sequence at <paramref name="reference"/> tokens.
    /// </summary>
    private static TwinDeployment Replica(PlanSite site, ModelArchitecture model, Accelerator accelerator, Catalogs catalogs,
        int? devices, int reference, bool anchored)
    {
        var what = anchored ? $"the mix's context of {reference} tokens (the anchor)" : $"the shortest context swept ({reference} tokens)";
        TwinDeployment Create(int n) => TwinDeployment.Create(new TwinProfile
        {
            Name = $"{model.Name}-{accelerator.Name}x{n}",
            Model = model.Name,
            Accelerator = accelerator.Name,
            Devices = n,
            Precision = site.Precision,
        }, catalogs);
        if (devices is { } given)
        {
            var deployment = Create(given);
            if (deployment.KvCacheTokens < reference)
                throw new EnergyToTokenException($"On {given} × {accelerator.DisplayName ?? accelerator.Name} in {site.Precision}, {model.DisplayName ?? model.Name}'s KV cache holds {deployment.KvCacheTokens} tokens: not one sequence at {what}. Raise --devices.");
            return deployment;
        }
        for (var n = 1; n <= MaxDefaultDevices; n *= 2)
        {
            TwinDeployment deployment;
            // Create refuses a replica whose weights leave no room for a KV cache; the next power of two may have room.
            try { deployment = Create(n); }
            catch (EnergyToTokenException) when (n < MaxDefaultDevices) { continue; }
            if (deployment.KvCacheTokens >= reference) return deployment;
        }
        throw new EnergyToTokenException($"{model.DisplayName ?? model.Name} in {site.Precision} does not hold one sequence at {what} on up to {MaxDefaultDevices} × {accelerator.DisplayName ?? accelerator.Name}. Give a shorter context or a smaller precision.");
    }
}
