namespace EnergyToToken.Production;

/// <summary>
/// Evaluates <see cref="ProductionInputs"/>: the two ceilings, the binding constraint under each convention, tokens
/// over the horizon and the elasticities. Pure: the same inputs give the same result.
/// </summary>
public static class ProductionModel
{
    /// <summary>Validates the inputs (every problem at once) and evaluates them under every convention they allow.</summary>
    public static ProductionResult Evaluate(ProductionInputs inputs)
    {
        inputs.EnsureValid();
        var conventions = new List<ConventionResult>();
        if (inputs.EffectiveComputeFlopPerSecond is not null) conventions.Add(Diagnose(inputs, Convention.Realized));
        if (inputs.PeakComputeFlopPerSecond is not null) conventions.Add(Diagnose(inputs, Convention.Peak));

        var horizon = inputs.HorizonSeconds;
        var itPower = ItPowerSeries(inputs);
        double? facility = (inputs.FacilityPowerWatts, inputs.Pue) switch
        {
            ({ } f, _) => f.Mean(0, horizon),
            (null, { } pue) => MeanOver(inputs, t => TokenProductionFunction.FacilityPower(itPower(t), pue.At(t))),
            _ => null,
        };
        double? kernel = (inputs.EffectiveComputeFlopPerSecond, inputs.PeakComputeFlopPerSecond) switch
        {
            ({ } c, { } peak) => c.Mean(0, horizon) / peak,
            _ => null,
        };
        return new ProductionResult(inputs, conventions, MeanOver(inputs, itPower), facility, kernel);
    }

    /// <summary>
    /// Splits [<paramref name="fromSeconds"/>, <paramref name="toSeconds"/>) where any input steps and evaluates each
    /// piece. Every input is constant inside a piece, so summing the pieces integrates Eq. 1 exactly.
    /// </summary>
    public static IReadOnlyList<ProductionSegment> Segments(ProductionInputs inputs, Convention convention,
        double fromSeconds, double toSeconds)
    {
        var compute = ComputeSeries(inputs, convention);
        var itPower = ItPowerSeries(inputs);
        var breaks = SplitPoints(inputs, fromSeconds, toSeconds);
        var segments = new List<ProductionSegment>(breaks.Count - 1);
        var start = fromSeconds;
        foreach (var end in breaks.Skip(1))
        {
            var delivered = itPower(start);
            var (usable, limit) = inputs.CoolingCapacityWatts is { } cooling && cooling < delivered
                ? (cooling, ItBudgetLimit.Cooling)
                : (delivered, ItBudgetLimit.Delivery);
            var c = compute(start);
            segments.Add(new ProductionSegment(start, end, inputs.Utilization.At(start), c, delivered, usable, limit,
                TokenProductionFunction.ComputeCeiling(c, inputs.KappaFlopPerToken),
                TokenProductionFunction.PowerCeiling(usable, inputs.EpsilonJoulesPerToken)));
            start = end;
        }
        return segments;
    }

    /// <summary><c>Q = ∫ q̇ dt</c> over [<paramref name="fromSeconds"/>, <paramref name="toSeconds"/>), in tokens.</summary>
    public static double Tokens(ProductionInputs inputs, Convention convention, double fromSeconds, double toSeconds)
    {
        var total = 0.0;
        foreach (var segment in Segments(inputs, convention, fromSeconds, toSeconds)) total += segment.Tokens;
        return total;
    }

    /// <summary>Eq. 3 under one convention, over the whole horizon.</summary>
    public static ConventionResult Diagnose(ProductionInputs inputs, Convention convention)
    {
        var horizon = inputs.HorizonSeconds;
        var segments = Segments(inputs, convention, 0, horizon);
        double computeCeiling = 0, powerCeiling = 0, compute = 0, itPower = 0, tokens = 0, computeBoundSeconds = 0, powerBoundSeconds = 0;
        var verdicts = new HashSet<BindingConstraint>();
        var coolingSeconds = 0.0;
        foreach (var s in segments)
        {
            var d = s.DurationSeconds;
            computeCeiling += s.ComputeCeilingTokensPerSecond * d;
            powerCeiling += s.PowerCeilingTokensPerSecond * d;
            compute += s.ComputeFlopPerSecond * d;
            itPower += s.ItPowerWatts * d;
            tokens += s.Tokens;
            var verdict = TokenProductionFunction.Classify(s.ComputeCeilingTokensPerSecond, s.PowerCeilingTokensPerSecond, inputs.TieTolerance);
            verdicts.Add(verdict);
            if (s.ComputeCeilingTokensPerSecond < s.PowerCeilingTokensPerSecond) computeBoundSeconds += d;
            else if (s.PowerCeilingTokensPerSecond < s.ComputeCeilingTokensPerSecond) powerBoundSeconds += d;
            if (s.ItBudgetLimit == ItBudgetLimit.Cooling) coolingSeconds += d;
        }
        computeCeiling /= horizon;
        powerCeiling /= horizon;
        compute /= horizon;
        itPower /= horizon;

        var binding = verdicts.Count == 1 ? verdicts.Single() : BindingConstraint.Mixed;
        var degenerate = convention == Convention.Realized && IsDrawnPower(inputs, itPower);
        if (degenerate) binding = BindingConstraint.Degenerate;

        return new ConventionResult(
            Convention: convention,
            ComputeFlopPerSecond: compute,
            ItPowerWatts: itPower,
            ComputeCeilingTokensPerSecond: computeCeiling,
            PowerCeilingTokensPerSecond: powerCeiling,
            BindingConstraint: binding,
            Headroom: TokenProductionFunction.Headroom(computeCeiling, powerCeiling),
            PhiJoulesPerFlop: TokenProductionFunction.Phi(inputs.EpsilonJoulesPerToken, inputs.KappaFlopPerToken),
            SigmaJoulesPerFlop: TokenProductionFunction.Sigma(itPower, compute),
            UtilizationAdjustedTokensPerSecond: tokens / horizon,
            Tokens: tokens,
            ComputeBoundShare: computeBoundSeconds / horizon,
            PowerBoundShare: powerBoundSeconds / horizon,
            CoolingLimitedShare: coolingSeconds / horizon,
            Explanation: Explain(convention, binding, inputs),
            Elasticities: Elasticities(inputs, convention, segments, tokens),
            Segments: segments);
    }

    /// <summary>
    /// The elasticity of Q to scaling each input by a constant factor: per segment from the chain rule through the
    /// nested <c>min</c>s, then weighted by each segment's tokens. Under a power-bound point κ and C_eff get 0 and ε −1.
    /// </summary>
    public static IReadOnlyList<InputElasticity> Elasticities(ProductionInputs inputs, Convention convention,
        IReadOnlyList<ProductionSegment> segments, double tokens)
    {
        var names = new List<ProductionInput>
        {
            ProductionInput.Utilization,
            convention == Convention.Realized ? ProductionInput.EffectiveCompute : ProductionInput.PeakCompute,
            ProductionInput.Kappa,
            ProductionInput.Epsilon,
        };
        if (inputs.FacilityPowerWatts is not null) names.AddRange([ProductionInput.FacilityPower, ProductionInput.Pue]);
        else names.Add(ProductionInput.ItPower);
        if (inputs.CoolingCapacityWatts is not null) names.Add(ProductionInput.CoolingCapacity);

        var result = new List<InputElasticity>(names.Count);
        foreach (var name in names)
        {
            double up = 0, down = 0;
            foreach (var s in segments)
            {
                if (tokens <= 0) break;
                var e = SegmentElasticity(inputs, s, name);
                var weight = s.Tokens / tokens;
                up += weight * e.Up;
                down += weight * e.Down;
            }
            result.Add(new InputElasticity(name, new Elasticity(up, down)));
        }
        return result;
    }

    private static Elasticity SegmentElasticity(ProductionInputs inputs, ProductionSegment s, ProductionInput input)
    {
        if (input == ProductionInput.Utilization) return Elasticity.Of(1);
        Elasticity Leaf(params ProductionInput[] names) => names.Contains(input) ? Elasticity.Of(1) : Elasticity.Zero;
        Elasticity Inverse(ProductionInput name) => input == name ? Elasticity.Of(-1) : Elasticity.Zero;

        // compute arm C/κ
        var ofCompute = Sum(Leaf(ProductionInput.EffectiveCompute, ProductionInput.PeakCompute), Inverse(ProductionInput.Kappa));
        // delivered IT power: P_IT, or P_facility / PUE; then the cooling cap
        var delivered = inputs.FacilityPowerWatts is not null
            ? Sum(Leaf(ProductionInput.FacilityPower), Inverse(ProductionInput.Pue))
            : Leaf(ProductionInput.ItPower);
        var budget = delivered;
        if (inputs.CoolingCapacityWatts is { } cooling)
            budget = Elasticity.OfMin(s.DeliveredItPowerWatts, delivered, cooling, Leaf(ProductionInput.CoolingCapacity));
        // power arm budget/ε
        var ofPower = Sum(budget, Inverse(ProductionInput.Epsilon));
        return Elasticity.OfMin(s.ComputeCeilingTokensPerSecond, ofCompute, s.PowerCeilingTokensPerSecond, ofPower);
    }

    private static Elasticity Sum(Elasticity a, Elasticity b) => new(a.Up + b.Up, a.Down + b.Down);

    private static bool IsDrawnPower(ProductionInputs inputs, double meanItPowerWatts) =>
        inputs.ItPowerSource == ItPowerSource.Drawn
        || (inputs.DrawnPowerWatts is { } drawn
            && Math.Abs(meanItPowerWatts - drawn) <= inputs.TieTolerance * drawn);

    private static string Explain(Convention convention, BindingConstraint binding, ProductionInputs inputs)
    {
        var bound = convention == Convention.Peak
            ? " Under the peak denominator this is an upper-bound calibration, not the headline."
            : "";
        return binding switch
        {
            BindingConstraint.Compute =>
                "Compute-bound: the compute ceiling is the lower one (φ < σ), so delivered power has slack. Raising C_eff or lowering κ raises output; lowering ε alone does not until power binds." + bound,
            BindingConstraint.Power =>
                "Power-bound: the power ceiling is the lower one (φ > σ), so compute has slack. Lowering ε or raising the IT budget raises output; κ and C_eff do not move it." + bound,
            BindingConstraint.Balanced =>
                $"Balanced: the two ceilings are within {ProductionInputs.Format(inputs.TieTolerance * 100)} % of each other (|H − 1| ≤ tolerance), so neither arm clearly binds; a gain must move both κ and ε to raise output." + bound,
            BindingConstraint.Mixed =>
                "Mixed: over the horizon the binding arm changes with the inputs' time series; see the shares of time each arm binds and the segments." + bound,
            BindingConstraint.Degenerate =>
                "Degenerate, no verdict: the IT power given is the power drawn during the run. With the realized C_eff = κ·R_sat and ε measured at the same point, σ = φ by construction, so the test cannot say which arm binds. Give the delivered budget instead: facility allocation / PUE, a rack or node power cap, or the sum of device power limits.",
            _ => throw new ArgumentOutOfRangeException(nameof(binding), binding, null),
        };
    }

    private static Func<double, double> ComputeSeries(ProductionInputs inputs, Convention convention) =>
        convention switch
        {
            Convention.Realized => inputs.EffectiveComputeFlopPerSecond!.At,
            Convention.Peak => _ => inputs.PeakComputeFlopPerSecond!.Value,
            _ => throw new ArgumentOutOfRangeException(nameof(convention), convention, null),
        };

    private static Func<double, double> ItPowerSeries(ProductionInputs inputs) =>
        inputs.ItPowerWatts is { } it
            ? it.At
            : t => TokenProductionFunction.ItPower(inputs.FacilityPowerWatts!.At(t), inputs.Pue!.At(t));

    private static IEnumerable<Series> AllSeries(ProductionInputs inputs)
    {
        yield return inputs.Utilization;
        if (inputs.EffectiveComputeFlopPerSecond is { } c) yield return c;
        if (inputs.ItPowerWatts is { } it) yield return it;
        if (inputs.FacilityPowerWatts is { } f) yield return f;
        if (inputs.Pue is { } pue) yield return pue;
    }

    /// <summary>The window's ends and every step of every input inside it, in order: each gap has constant inputs.</summary>
    private static SortedSet<double> SplitPoints(ProductionInputs inputs, double fromSeconds, double toSeconds)
    {
        var breaks = new SortedSet<double> { fromSeconds, toSeconds };
        foreach (var series in AllSeries(inputs)) breaks.UnionWith(series.Breaks(fromSeconds, toSeconds));
        return breaks;
    }

    private static double MeanOver(ProductionInputs inputs, Func<double, double> value)
    {
        var horizon = inputs.HorizonSeconds;
        var breaks = SplitPoints(inputs, 0, horizon);
        double sum = 0, start = 0;
        foreach (var end in breaks.Skip(1))
        {
            sum += value(start) * (end - start);
            start = end;
        }
        return sum / horizon;
    }
}
