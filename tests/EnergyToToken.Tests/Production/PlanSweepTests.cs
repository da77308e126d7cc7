using EnergyToToken.Catalog;
using EnergyToToken.Production;
using EnergyToToken.Twin;
using FsCheck;
using FsCheck.Xunit;

namespace EnergyToToken.Tests.Production;

/// <summary><c>e2t plan sweep</c>'s pure core: the regime map, the context axis and the mechanism ladder.</summary>
public sealed class PlanSweepTests
{
    private static readonly Catalogs Bundled = Catalogs.Load();

    /// <summary>The bundled catalogs and a made-up 1M-context model (Fixtures/plan-sweep/catalog-1m.yaml).</summary>
    private static readonly Catalogs WithMillion = Catalogs.Load([Path.Combine(Cli.ModelCommandTests.RepositoryRoot(), "tests", "EnergyToToken.Tests", "Fixtures", "plan-sweep", "catalog-1m.yaml")]);

    /// <summary>
    /// Two accelerators of 1e14 FLOP/s realized each under a 1 kW IT budget, κ 1e11 and ε 0.5: both ceilings 2 000
    /// tokens/s, so the site sits on the crossover, φ = 5e-12 J/FLOP.
    /// </summary>
    private static (Plan Plan, PlanSite Site) Balanced(IReadOnlyList<EfficiencyMechanism>? mechanisms = null, IReadOnlyList<EfficiencyMechanism>? mixMechanisms = null)
    {
        var site = new PlanSite
        {
            Name = "hand",
            ItPowerWatts = Series.Constant(1000),
            Accelerator = "h100-sxm",
            PeakPerDeviceFlopPerSecond = 1e15,
            AcceleratorCount = 2,
            WattsPerAccelerator = 500,
            Utilization = Series.Constant(0.5),
            Mechanisms = mechanisms ?? [],
            Mixes =
            [
                new PlanMix { Name = "chat", KappaFlopPerToken = 1e11, EpsilonJoulesPerToken = 0.5, EffectiveComputePerDeviceFlopPerSecond = 1e14, Mechanisms = mixMechanisms ?? [] },
            ],
        };
        return (new Plan { Sites = [site], HorizonSeconds = 3600 }, site);
    }

    /// <summary>One node of <paramref name="count"/> accelerators serving a catalog model at a context, ε and R_sat declared.</summary>
    private static (Plan Plan, PlanSite Site, PlanMix Mix) Node(string model, string accelerator, string precision, double wattsPerDevice,
        int context = 4096, double epsilon = 0.2, double? ratePerDevice = 2000, int count = 8)
    {
        var architecture = WithMillion.Model(model);
        var kappa = architecture.KappaFlopPerToken(context);
        var mix = new PlanMix
        {
            Name = "chat",
            Model = model,
            Context = context,
            KappaFlopPerToken = kappa,
            EpsilonJoulesPerToken = epsilon,
            EffectiveComputePerDeviceFlopPerSecond = ratePerDevice * kappa,
        };
        var device = WithMillion.Accelerator(accelerator);
        var site = new PlanSite
        {
            Name = "node",
            ItPowerWatts = Series.Constant(wattsPerDevice * count),
            Accelerator = accelerator,
            PeakPerDeviceFlopPerSecond = device.PeakFlopPerSecond(precision),
            AcceleratorCount = count,
            WattsPerAccelerator = device.PowerLimitWatts,
            Precision = precision,
            Mixes = [mix],
        };
        return (new Plan { Sites = [site], HorizonSeconds = 3600 }, site, mix);
    }

    [Fact]
    public void Sweep_grid_cells_match_hand_arithmetic()
    {
        var (plan, site) = Balanced();
        var grid = PlanSweep.Grid(plan, site, new LogRange(100, 10_000, 3), new LogRange(2e13, 2e15, 3));

        Close.To(1000, grid.ItPowerWatts[1]);
        Close.To(2e14, grid.ComputeFlopPerSecond[1]);
        // Top left: 10 kW over 2e13 FLOP/s. Compute ceiling 2e13 / 1e11 = 200, power 1e4 / 0.5 = 20 000 tokens/s.
        var topLeft = grid.At(2, 0);
        Close.To(200, topLeft.ComputeCeilingTokensPerSecond);
        Close.To(20_000, topLeft.PowerCeilingTokensPerSecond);
        Assert.Equal(BindingConstraint.Compute, topLeft.Binding);
        Close.To(100, topLeft.Headroom);
        Close.To(0.5 * 200, topLeft.TokensPerSecond);
        // Bottom right: 100 W over 2e15 FLOP/s. Compute 20 000, power 200: power-bound, H = 0.01.
        var bottomRight = grid.At(0, 2);
        Close.To(20_000, bottomRight.ComputeCeilingTokensPerSecond);
        Close.To(200, bottomRight.PowerCeilingTokensPerSecond);
        Assert.Equal(BindingConstraint.Power, bottomRight.Binding);
        Close.To(0.01, bottomRight.Headroom);
        Close.To(100, bottomRight.TokensPerSecond);
        // The diagonal is σ = φ: P_IT / C_eff = 100 / 2e13 = 5e-12 = ε / κ, balanced in every row.
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(BindingConstraint.Balanced, grid.At(i, i).Binding);
            Close.To(1, grid.At(i, i).Headroom);
        }
    }

    [Fact]
    public void Sweep_grid_reports_the_crossover_line_and_the_site_on_it()
    {
        var (plan, site) = Balanced();
        var grid = PlanSweep.Grid(plan, site, new LogRange(100, 10_000, 3), new LogRange(2e13, 2e15, 3));

        Close.To(5e-12, grid.PhiJoulesPerFlop);
        Close.To(1000, grid.CrossoverItPowerWatts(2e14));
        Close.To(1e4, grid.CrossoverItPowerWatts(2e15));
        // The site: 1 kW and 2 × 1e14 realized; both ceilings 2 000 tokens/s.
        Assert.Equal(Convention.Realized, grid.Convention);
        Close.To(1000, grid.Site.ItPowerWatts);
        Close.To(2e14, grid.Site.ComputeFlopPerSecond);
        Close.To(2000, grid.Site.ComputeCeilingTokensPerSecond);
        Close.To(2000, grid.Site.PowerCeilingTokensPerSecond);
        Assert.Equal(BindingConstraint.Balanced, grid.Site.Binding);
    }

    [Fact]
    public void Sweep_grid_defaults_to_a_tenth_to_ten_times_the_site_with_the_site_in_the_middle()
    {
        var (plan, site) = Balanced();
        var grid = PlanSweep.Grid(plan, site);

        Assert.Equal(PlanSweep.DefaultGridPoints, grid.ItPowerWatts.Count);
        Assert.Equal(PlanSweep.DefaultGridPoints, grid.ComputeFlopPerSecond.Count);
        Close.To(100, grid.ItPowerWatts[0]);
        Close.To(10_000, grid.ItPowerWatts[^1]);
        Close.To(1000, grid.ItPowerWatts[12]);
        Close.To(2e13, grid.ComputeFlopPerSecond[0]);
        Close.To(2e14, grid.ComputeFlopPerSecond[12]);
        // Log spacing: every step is the same ratio, 100^(1/24).
        for (var i = 1; i < grid.ItPowerWatts.Count; i++) Close.To(Math.Pow(100, 1 / 24.0), grid.ItPowerWatts[i] / grid.ItPowerWatts[i - 1], 1e-12);
    }

    [Fact]
    public void Sweep_grid_lists_every_problem_with_its_ranges()
    {
        var (plan, site) = Balanced();
        var e = Assert.Throws<EnergyToTokenException>(() => PlanSweep.Grid(plan, site, new LogRange(-1, 10, 1), new LogRange(5, 1, 3)));
        Assert.Contains("--it-power: the start must be a positive number", e.Message, StringComparison.Ordinal);
        Assert.Contains("--it-power: the number of points must be from 2", e.Message, StringComparison.Ordinal);
        Assert.Contains("--compute: the end (1) must be above the start (5)", e.Message, StringComparison.Ordinal);
    }

    private static readonly (string Model, string Accelerator, string Precision)[] GqaDeployments =
    [
        ("llama-3.1-8b", "h100-sxm", "bf16"),
        ("llama-3.1-8b", "l40s", "fp8"),
        ("qwen2.5-7b", "a100-sxm-80gb", "bf16"),
        ("llama-3.1-70b", "h200", "fp8"),
        ("mixtral-8x7b", "mi300x", "bf16"),
        ("llama-3.1-70b", "b200", "bf16"),
        ("test-8b-1m", "h100-sxm", "bf16"),
    ];

    /// <summary>
    /// As context grows the KV traffic per token grows, so κ and ε never fall, and with ε the power ceiling never rises;
    /// for any GQA model on any accelerator, batch limit, IT budget and ε model.
    /// </summary>
    [Property(MaxTest = 60)]
    public bool Sweep_context_kappa_and_epsilon_never_fall_and_the_power_ceiling_never_rises(PositiveInt pick, PositiveInt batch, PositiveInt watts, bool twin)
    {
        var (model, accelerator, precision) = GqaDeployments[pick.Get % GqaDeployments.Length];
        var (plan, site, mix) = Node(model, accelerator, precision, 100 + watts.Get % 1000, context: 1024);
        var max = WithMillion.Model(model).MaxContext;
        var sweep = PlanSweep.Context(plan, site, mix, WithMillion, new ContextSweepOptions
        {
            Contexts = [.. new[] { 1024, 2048, 3000, 4096, 6000, 8192, 16_384, 32_768, 65_536, 100_000, 131_072, 600_000, max }.Where(c => c <= max)],
            Batch = 1 + batch.Get % 512,
            EpsilonModel = twin ? EpsilonModel.Twin : EpsilonModel.Anchored,
        });
        var fitting = sweep.Points.Where(p => p.Fits).ToList();
        var kappaNeverFalls = sweep.Points.Zip(sweep.Points.Skip(1)).All(p => p.Second.KappaFlopPerToken >= p.First.KappaFlopPerToken);
        var epsilonNeverFalls = fitting.Zip(fitting.Skip(1)).All(p => p.Second.EpsilonJoulesPerToken >= p.First.EpsilonJoulesPerToken * (1 - 1e-12));
        var powerNeverRises = fitting.Zip(fitting.Skip(1)).All(p => p.Second.PowerCeilingTokensPerSecond <= p.First.PowerCeilingTokensPerSecond * (1 + 1e-12));
        // What does not fit is a tail: a longer context never fits where a shorter one did not.
        var tail = sweep.Points.SkipWhile(p => p.Fits).All(p => !p.Fits);
        return kappaNeverFalls && epsilonNeverFalls && powerNeverRises && tail && fitting.Count > 0;
    }

    [Fact]
    public void Sweep_context_anchored_keeps_the_mix_level_at_its_own_context()
    {
        var (plan, site, mix) = Node("llama-3.1-8b", "h100-sxm", "bf16", 500, context: 4096, epsilon: 0.3, ratePerDevice: 1500);
        var sweep = PlanSweep.Context(plan, site, mix, Bundled, new ContextSweepOptions { Contexts = [4096, 16_384] });
        var at = sweep.Points[0];

        Close.To(0.3, at.EpsilonJoulesPerToken!.Value);
        Close.To(1500 * mix.KappaFlopPerToken, at.ComputePerDeviceFlopPerSecond!.Value);
        Close.To(8 * 1500, at.ComputeCeilingTokensPerSecond!.Value);
        Close.To(4000 / 0.3, at.PowerCeilingTokensPerSecond!.Value);
        // Further out, the twin's ratio: ε(c) = ε_mix · ε_twin(c) / ε_twin(c_mix).
        var far = sweep.Points[1];
        Close.To(0.3 * far.TwinJoulesPerToken!.Value / at.TwinJoulesPerToken!.Value, far.EpsilonJoulesPerToken!.Value);
        Close.To(1500 * far.TwinTokensPerSecondPerDevice!.Value / at.TwinTokensPerSecondPerDevice!.Value * 8, far.ComputeCeilingTokensPerSecond!.Value);
        Assert.Equal(4096, sweep.AnchorContext);
        Assert.Equal(1, sweep.Devices);
    }

    [Fact]
    public void Sweep_context_twin_values_are_one_steady_decode_step_of_the_step_model()
    {
        var (plan, site, mix) = Node("llama-3.1-8b", "h100-sxm", "bf16", 500);
        var sweep = PlanSweep.Context(plan, site, mix, Bundled, new ContextSweepOptions { Contexts = [8192], Batch = 32, EpsilonModel = EpsilonModel.Twin });
        var deployment = TwinDeployment.Create(new TwinProfile { Name = "t", Model = "llama-3.1-8b", Accelerator = "h100-sxm" }, Bundled);
        var step = deployment.Step.Cost(StepWork.Decode(32, 32.0 * 8192));
        var p = sweep.Points[0];

        Assert.Equal(32, p.Batch);
        Assert.Equal(deployment.KvCacheTokens, sweep.KvCacheTokens);
        Close.To(step.Joules / 32, p.TwinJoulesPerToken!.Value);
        Close.To(step.Joules / 32, p.EpsilonJoulesPerToken!.Value);
        Close.To(32 / step.Seconds, p.TwinTokensPerSecondPerDevice!.Value);
        Close.To(Bundled.Model("llama-3.1-8b").KappaFlopPerToken(8192) * 32 / step.Seconds, p.ComputePerDeviceFlopPerSecond!.Value);
        Close.To(4000 / (step.Joules / 32), p.PowerCeilingTokensPerSecond!.Value);
    }

    [Fact]
    public void Sweep_context_under_the_peak_convention_takes_the_peak_over_kappa_and_keeps_the_anchored_epsilon()
    {
        var (plan, site, mix) = Node("llama-3.1-8b", "h100-sxm", "bf16", 500, context: 4096, epsilon: 0.3, ratePerDevice: 1500);
        var realized = PlanSweep.Context(plan, site, mix, Bundled, new ContextSweepOptions { Contexts = [4096, 65_536] });
        var peak = PlanSweep.Context(plan, site, mix, Bundled, new ContextSweepOptions { Contexts = [4096, 65_536], Convention = Convention.Peak });

        Assert.Equal(Convention.Realized, realized.Convention);
        Assert.Equal(Convention.Peak, peak.Convention);
        foreach (var (r, p) in realized.Points.Zip(peak.Points))
        {
            // Same κ(c) and ε(c); only the compute in the compute ceiling changes, to 8 · C_peak / κ(c).
            Assert.Equal(r.EpsilonJoulesPerToken, p.EpsilonJoulesPerToken);
            Assert.Equal(r.PowerCeilingTokensPerSecond, p.PowerCeilingTokensPerSecond);
            Close.To(8 * 989.4e12 / p.KappaFlopPerToken, p.ComputeCeilingTokensPerSecond!.Value);
        }
        // Under the peak the headroom falls with context as ε outgrows κ: φ = ε/κ rises, σ = P_IT/C_peak does not.
        Assert.True(peak.Points[1].Headroom < peak.Points[0].Headroom);
    }

    [Fact]
    public void Sweep_context_turns_power_bound_where_classify_flips()
    {
        // No realized C_eff to anchor: the peak convention, whose compute ceiling falls only with κ while ε grows with
        // the KV read, so a generous budget turns power-bound somewhere along the way.
        var (plan, site, mix) = Node("llama-3.1-8b", "h100-sxm", "bf16", 1000, epsilon: 0.01, ratePerDevice: null);
        var sweep = PlanSweep.Context(plan, site, mix, Bundled);
        var turn = sweep.Turn;

        Assert.Equal(Convention.Peak, sweep.Convention);
        Assert.Equal(ContextTurnKind.TurnsPowerBound, turn.Kind);
        var before = sweep.Points.Single(p => p.Context == turn.Before);
        var after = sweep.Points.Single(p => p.Context == turn.After);
        Assert.True(sweep.Points.TakeWhile(p => p.Context <= turn.Before).All(p => p.Binding != BindingConstraint.Power));
        Assert.Equal(BindingConstraint.Power, after.Binding);
        Assert.Equal(BindingConstraint.Power, TokenProductionFunction.Classify(after.ComputeCeilingTokensPerSecond!.Value, after.PowerCeilingTokensPerSecond!.Value, plan.TieTolerance));
        Assert.NotEqual(BindingConstraint.Power, TokenProductionFunction.Classify(before.ComputeCeilingTokensPerSecond!.Value, before.PowerCeilingTokensPerSecond!.Value, plan.TieTolerance));
        Assert.InRange(turn.ContextTokens!.Value, before.Context, after.Context);
        // Interpolated in log context, the headroom at the turn is exactly where Classify's band ends.
        var fraction = Math.Log(turn.ContextTokens.Value / before.Context) / Math.Log((double)after.Context / before.Context);
        var headroom = Math.Exp(Math.Log(before.Headroom!.Value) + fraction * (Math.Log(after.Headroom!.Value) - Math.Log(before.Headroom.Value)));
        Close.To(1 - plan.TieTolerance, headroom);
    }

    [Fact]
    public void Sweep_context_turn_covers_every_shape()
    {
        ContextPoint P(int c, double h) => new(c, 1, 1, 1, 1, 1, 1, 1, 1000, 1000 * h, TokenProductionFunction.Classify(1000, 1000 * h, 0.01), h, 1);
        ContextPoint Out(int c) => new(c, 1, 0, null, null, null, null, null, null, null, null, null, null);

        Assert.Equal(ContextTurnKind.PowerBoundThroughout, PlanSweep.Turn([P(1, 0.5), P(2, 0.4)], 0.01).Kind);
        var never = PlanSweep.Turn([P(1, 2), P(2, 1.5), Out(4)], 0.01);
        Assert.Equal(ContextTurnKind.NeverPowerBound, never.Kind);
        Assert.Equal(2, never.LastFitting);
        Assert.Equal(ContextTurnKind.NothingFits, PlanSweep.Turn([Out(1)], 0.01).Kind);
        // H from 1.98 to 0.495 over one doubling: ln H falls by ln 4, and reaches ln 0.99 halfway, at √2 · 1 000 tokens.
        var turn = PlanSweep.Turn([P(1000, 1.98), P(2000, 0.495)], 0.01);
        Assert.Equal(ContextTurnKind.TurnsPowerBound, turn.Kind);
        Close.To(1000 * Math.Sqrt(2), turn.ContextTokens!.Value, 1e-12);
    }

    [Fact]
    public void Sweep_context_reports_contexts_that_do_not_fit_as_such()
    {
        // One H100 holds about 410k tokens of Llama-3.1-8B's bf16 KV cache, so a 1M-context model of its shape (a
        // catalog entry of the test's own: the sweep must work for any catalog model) outgrows it at 512k.
        var (plan, site, mix) = Node("test-8b-1m", "h100-sxm", "bf16", 500);
        var sweep = PlanSweep.Context(plan, site, mix, WithMillion, new ContextSweepOptions { Devices = 1 });

        Assert.Equal(PlanSweep.DefaultContexts(1 << 20), sweep.Points.Select(p => p.Context));
        Assert.Equal([524_288, 1_048_576], sweep.Points.Where(p => !p.Fits).Select(p => p.Context));
        var outside = sweep.Points.Where(p => !p.Fits).ToList();
        Assert.NotEmpty(outside);
        Assert.All(outside, p =>
        {
            Assert.Equal(0, p.Batch);
            Assert.Null(p.EpsilonJoulesPerToken);
            Assert.Null(p.PowerCeilingTokensPerSecond);
            Assert.Null(p.Binding);
            Assert.True(p.Context > sweep.KvCacheTokens);
        });
        Assert.All(sweep.Points.Where(p => p.Fits), p => Assert.Equal(Math.Min(256, sweep.KvCacheTokens / p.Context), p.Batch));
    }

    [Fact]
    public void Sweep_context_picks_the_smallest_replica_that_holds_the_anchor()
    {
        // 141 GB of bf16 weights leave no room for a KV cache on two H100s (90 % of 160 GB, less 2 GiB each): four.
        // In fp8, 71 GB: not on one, but on two.
        var (plan, site, mix) = Node("llama-3.1-70b", "h100-sxm", "bf16", 700);
        Assert.Equal(4, PlanSweep.Context(plan, site, mix, Bundled).Devices);
        var (plan8, site8, mix8) = Node("llama-3.1-70b", "h100-sxm", "fp8", 700);
        Assert.Equal(2, PlanSweep.Context(plan8, site8, mix8, Bundled).Devices);
    }

    [Fact]
    public void Sweep_context_default_contexts_double_to_the_model_maximum()
    {
        Assert.Equal([4096, 8192, 16_384, 32_768, 65_536, 131_072], PlanSweep.DefaultContexts(131_072));
        Assert.Equal([4096, 8192, 16_384, 32_768, 65_536, 131_072, 163_840], PlanSweep.DefaultContexts(163_840));
        Assert.Equal([4096, 8192, 16_384, 32_768, 65_536, 131_072, 262_144, 524_288, 1_048_576], PlanSweep.DefaultContexts(1 << 20));
        Assert.Equal([256, 512, 1024, 2048], PlanSweep.DefaultContexts(2048));
    }

    [Fact]
    public void Sweep_context_lists_every_problem_at_once()
    {
        var (plan, site, mix) = Node("llama-3.1-8b", "h100-sxm", "bf16", 500);
        var e = Assert.Throws<EnergyToTokenException>(() => PlanSweep.Context(plan, site, mix with { Context = null }, Bundled,
            new ContextSweepOptions { Contexts = [4096, 262_144], Batch = 0 }));
        Assert.Contains("--batch must be at least 1", e.Message, StringComparison.Ordinal);
        Assert.Contains("262144 is beyond Llama-3.1-8B's maximum context of 131072", e.Message, StringComparison.Ordinal);
        Assert.Contains("has no context, so its ε cannot anchor", e.Message, StringComparison.Ordinal);
        var declared = Assert.Throws<EnergyToTokenException>(() => PlanSweep.Context(plan, site, mix with { Model = null }, Bundled));
        Assert.Contains("names no catalog model", declared.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Sweep_ladder_epsilon_ratios_are_the_product_of_the_gains()
    {
        EfficiencyMechanism M(string name, double kappa, double epsilon) => new(name, new PhaseGains(kappa, epsilon), new PhaseGains(kappa, epsilon));
        var (plan, site) = Balanced([M("int4", 1, 1.6), M("mla", 1.1, 2)], [M("eviction", 1, 1.25)]);
        var ladder = PlanSweep.Ladder(plan, site);

        Assert.Equal([null, "int4", "mla", "eviction"], ladder.Rungs.Select(r => r.Mechanism));
        Assert.Equal([null, "site", "site", "chat"], ladder.Rungs.Select(r => r.Scope));
        Assert.Equal([1, 1.6, 1.6 * 2, 1.6 * 2 * 1.25], ladder.Rungs.Select(r => Math.Round(r.EpsilonGain, 12)));
        Assert.Equal([1, 1, 1.1, 1.1], ladder.Rungs.Select(r => Math.Round(r.KappaGain, 12)));
        Close.To(0.5 / 4, ladder.Rungs[^1].EpsilonJoulesPerToken);
        // Balanced at rung 0; int4 lifts the power ceiling, so compute binds from then on and only κ gains add tokens.
        Assert.Equal(BindingConstraint.Balanced, ladder.Rungs[0].Binding);
        Assert.Equal(BindingConstraint.Compute, ladder.Rungs[1].Binding);
        Close.To(1, ladder.Rungs[1].TokensRatio);
        Close.To(1.1, ladder.Rungs[2].TokensRatio);
        Close.To(0.5 * 2000 * Planner.YearSeconds, ladder.Rungs[0].TokensPerYear);
    }

    [Fact]
    public void Sweep_ladder_without_mechanisms_is_an_explained_error()
    {
        var (plan, site) = Balanced();
        var e = Assert.Throws<EnergyToTokenException>(() => PlanSweep.Ladder(plan, site));
        Assert.Contains("Site 'hand' has no efficiency mechanisms", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Sweep_site_and_mix_lookups_name_what_exists()
    {
        var (plan, site) = Balanced();
        Assert.Same(site, PlanSweep.Site(plan, null));
        Assert.Same(site, PlanSweep.Site(plan, "HAND"));
        Assert.Contains("Its sites: hand.", Assert.Throws<EnergyToTokenException>(() => PlanSweep.Site(plan, "elsewhere")).Message, StringComparison.Ordinal);
        Assert.Contains("Its mixes: chat.", Assert.Throws<EnergyToTokenException>(() => PlanSweep.Mix(site, "code")).Message, StringComparison.Ordinal);
    }
}
