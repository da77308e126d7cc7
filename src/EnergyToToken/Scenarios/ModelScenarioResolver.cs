using EnergyToToken.Catalog;
using EnergyToToken.Production;

namespace EnergyToToken.Scenarios;

/// <summary>One derived quantity and the arithmetic that gave it, so a report shows its working.</summary>
public sealed record Derivation(string Quantity, double Value, string Unit, string Formula);

/// <summary>A scenario made concrete: production inputs, mechanisms, and how each number was arrived at.</summary>
public sealed record ModelPlan(
    string? Name,
    ProductionInputs Inputs,
    IReadOnlyList<EfficiencyMechanism> Mechanisms,
    double PrefillShare,
    IReadOnlyList<Derivation> Derivations,
    IReadOnlyList<string> Notes,
    ModelArchitecture? Model,
    int? Context,
    Accelerator? Accelerator,
    int Count,
    string Precision);

/// <summary>Turns a <see cref="ModelScenario"/> into a <see cref="ModelPlan"/>: names looked up, defaults applied, every problem listed at once.</summary>
public static class ModelScenarioResolver
{
    /// <summary>The precision used when none is given.</summary>
    public const string DefaultPrecision = "bf16";

    public static ModelPlan Resolve(ModelScenario scenario)
    {
        var catalogs = Catalogs.Load(scenario.Catalogs);
        var errors = new List<string>();
        var derivations = new List<Derivation>();
        var notes = new List<string>();
        string F(double v) => ProductionInputs.Format(v);

        var precision = Precisions.Normalize(scenario.Precision ?? DefaultPrecision);
        if (!Precisions.IsKnown(precision))
            errors.Add($"Unknown precision '{scenario.Precision}'. Known precisions: {string.Join(", ", Precisions.Names)}.");

        // κ: given, or from the model at a context length.
        ModelArchitecture? model = null;
        int? context = null;
        if (scenario.Model is { } modelName) model = Try(errors, () => catalogs.Model(modelName));
        double kappa = double.NaN;
        if (scenario.Kappa is { } k)
        {
            kappa = k;
            if (model is not null) notes.Add($"κ was given ({F(k)} FLOP/token); the model's own κ was not used.");
        }
        else if (model is not null)
        {
            context = scenario.Context ?? model.MaxContext;
            if (context <= 0 || context > model.MaxContext)
                errors.Add($"The context {scenario.Context} is outside 1..{model.MaxContext}, the range {model.DisplayName ?? model.Name} supports; pass --context within it.");
            else
            {
                kappa = model.KappaFlopPerToken(context.Value);
                var attended = model.SlidingWindow is { } w ? Math.Min(context.Value, w) : context.Value;
                derivations.Add(new("κ", kappa, "FLOP/token",
                    $"2·N_active + 2·layers·context·heads·(d_qk + d_v) = 2·{F(model.ActiveParameters)} + 2·{model.Layers}·{attended}·{model.AttentionHeads}·({model.QueryKeyHeadDim ?? model.HeadDim} + {model.ValueHeadDim ?? model.HeadDim})"));
                if (Precisions.IsKnown(precision))
                    derivations.Add(new("KV cache per token", model.KvCacheBytesPerToken(Precisions.Bytes(precision)), "bytes",
                        model.Attention == AttentionKind.Mla
                            ? $"layers·(latent + rope)·bytes = {model.Layers}·({model.KvLatentRank} + {model.RopeHeadDim})·{F(Precisions.Bytes(precision))}"
                            : $"2·layers·kv_heads·head_dim·bytes = 2·{model.Layers}·{model.KeyValueHeads}·{model.HeadDim}·{F(Precisions.Bytes(precision))}"));
            }
        }
        else errors.Add("No compute intensity: give --kappa (FLOP per token) or --model NAME with --context N.");

        // Peak compute: given, or from the accelerator.
        Accelerator? accelerator = null;
        var count = scenario.Count ?? 1;
        if (count < 1) errors.Add($"The accelerator count must be at least 1 (was {count}).");
        if (scenario.Accelerator is { } acceleratorName) accelerator = Try(errors, () => catalogs.Accelerator(acceleratorName));
        double? peak = scenario.PeakCompute;
        if (peak is null && accelerator is not null && count >= 1)
        {
            var perDevice = Try(errors, () => (double?)accelerator.PeakFlopPerSecond(precision));
            if (perDevice is { } p)
            {
                peak = p * count;
                derivations.Add(new("C_peak", peak.Value, "FLOP/s", $"count·peak({precision}) = {count}·{F(p)}"));
            }
        }

        // Realized compute: C_eff, or κ·R_sat.
        Series? effective = null;
        if (scenario.EffectiveCompute is not null && scenario.SaturationTokensPerSecond is not null)
            errors.Add("Both C_eff and R_sat were given; give one (C_eff = κ · R_sat).");
        else if (scenario.EffectiveCompute is { } ceff) effective = Try(errors, () => ceff.ToSeries("C_eff"));
        else if (scenario.SaturationTokensPerSecond is { } rsat && double.IsFinite(kappa))
        {
            var rates = Try(errors, () => rsat.ToSeries("R_sat"));
            if (rates is not null)
            {
                effective = rates.Map(r => r * kappa);
                derivations.Add(new("C_eff", effective.Mean(0, 1), "FLOP/s",
                    rates.IsConstant ? $"κ·R_sat = {F(kappa)}·{F(rates.At(0))}" : "κ·R_sat, per step of R_sat"));
            }
        }

        // IT power: a budget, facility/PUE, or the devices' power limits.
        var itSource = scenario.ItPowerSource ?? ItPowerSource.Declared;
        Series? itPower = null;
        if (scenario.ItPower is { } it) itPower = Try(errors, () => it.ToSeries("P_IT"));
        else if (scenario.FacilityPower is null && accelerator is not null && count >= 1)
        {
            itPower = Series.Constant(accelerator.PowerLimitWatts * count);
            itSource = ItPowerSource.DeviceLimits;
            derivations.Add(new("P_IT", accelerator.PowerLimitWatts * count, "W", $"count·power limit = {count}·{F(accelerator.PowerLimitWatts)} (the sum of device power limits)"));
        }
        var facility = scenario.FacilityPower is { } fp ? Try(errors, () => fp.ToSeries("facility power")) : null;
        if (facility is not null) itSource = ItPowerSource.FacilityOverPue;
        var pue = scenario.Pue is { } pueSpec ? Try(errors, () => pueSpec.ToSeries("PUE")) : null;
        var utilization = scenario.Utilization is { } u ? Try(errors, () => u.ToSeries("U")) : Series.Constant(1);
        var horizon = scenario.Horizon is { } h ? Try(errors, () => (TimeSpan?)Quantities.ParseDuration(h, "horizon")) : TimeSpan.FromHours(24);

        // Memory fit: a deployment that cannot hold its weights has no operating point.
        if (model is not null && accelerator is not null && count >= 1 && Precisions.IsKnown(precision))
        {
            var weights = model.WeightBytes(Precisions.Bytes(precision));
            var memory = accelerator.MemoryBytes * count;
            derivations.Add(new("weights", weights, "bytes", $"N_total·bytes({precision}) = {F(model.TotalParameters)}·{F(Precisions.Bytes(precision))}"));
            if (weights > memory)
                notes.Add($"The weights ({F(weights / 1e9)} GB at {precision}) do not fit in {count} × {accelerator.Name} ({F(memory / 1e9)} GB): this deployment cannot serve the model as described. Use more devices or a narrower precision.");
            else if (context is { } ctx)
            {
                var kvBytes = model.KvCacheBytesPerToken(Precisions.Bytes(precision));
                var tokens = Math.Floor((memory - weights) / kvBytes);
                derivations.Add(new("KV-cache capacity", tokens, "tokens", $"(memory − weights)/KV per token = ({F(memory)} − {F(weights)})/{F(kvBytes)}"));
                if (tokens < ctx)
                    notes.Add($"Only {F(tokens)} tokens of KV cache fit beside the weights, fewer than one {ctx}-token context: the operating point is not reachable at this context.");
            }
        }

        var mechanisms = (scenario.Mechanisms ?? []).Select(m => m.ToMechanism()).ToList();
        errors.AddRange(mechanisms.SelectMany(m => m.Validate()));
        var prefillShare = scenario.PrefillShare ?? 0;
        if (!(prefillShare >= 0 && prefillShare <= 1))
            errors.Add($"The prefill share must be in [0, 1] (was {F(prefillShare)}): the fraction of counted tokens that are prefill tokens.");

        var inputs = new ProductionInputs
        {
            // A value that already failed above stands in as 1 so the check below lists only the other problems.
            KappaFlopPerToken = double.IsNaN(kappa) ? 1 : kappa,
            EpsilonJoulesPerToken = scenario.Epsilon ?? 1,
            EffectiveComputeFlopPerSecond = effective,
            PeakComputeFlopPerSecond = peak,
            ItPowerWatts = itPower,
            ItPowerSource = itSource,
            FacilityPowerWatts = facility,
            Pue = pue,
            CoolingCapacityWatts = scenario.CoolingCapacity,
            Utilization = utilization ?? Series.Constant(1),
            DrawnPowerWatts = scenario.DrawnPower,
            HorizonSeconds = horizon?.TotalSeconds ?? 86_400,
            TieTolerance = scenario.TieTolerance ?? 0.01,
        };
        if (scenario.Epsilon is null)
            errors.Add("No energy intensity: give --epsilon (J per token), measured at the operating point inside a stated boundary, e.g. 0.5.");
        errors.AddRange(inputs.Validate());
        if (errors.Count > 0) throw new EnergyToTokenException(string.Join(Environment.NewLine, errors));

        return new ModelPlan(scenario.Name, inputs, mechanisms, prefillShare, derivations, notes,
            model, context, accelerator, count, precision);
    }

    private static T? Try<T>(List<string> errors, Func<T> get)
    {
        try { return get(); }
        catch (EnergyToTokenException e)
        {
            errors.Add(e.Message);
            return default;
        }
    }
}
