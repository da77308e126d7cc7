using EnergyToToken.Catalog;
using EnergyToToken.Production;
using EnergyToToken.Reporting;
using EnergyToToken.Scenarios;

namespace EnergyToToken.Tests.Scenarios;

/// <summary>A directory of scenario files (and the CSVs and runs they name), deleted afterwards.</summary>
internal sealed class ScenarioDirectory : IDisposable
{
    public string Root { get; } = Directory.CreateTempSubdirectory("e2t-plan-").FullName;

    public string Write(string name, string text)
    {
        var path = Path.Combine(Root, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    public Plan Read(string yaml) => PlanScenarioReader.Read(Write("scenario.yaml", yaml));

    /// <summary>The problems listed by a scenario that does not read, without the heading and the closing hint.</summary>
    public IReadOnlyList<string> Problems(string yaml)
    {
        var e = Assert.Throws<EnergyToTokenException>(() => Read(yaml));
        var lines = e.Message.Split(Environment.NewLine);
        Assert.Matches(@"^The scenario '.*scenario\.yaml' has \d+ problems?:$", lines[0]);
        Assert.Equal($"The scenario '{Path.Combine(Root, "scenario.yaml")}' has {lines.Length - 2} problem{(lines.Length == 3 ? "" : "s")}:", lines[0]);
        Assert.Equal("See docs/plan.md for the format and examples/plan-*.yaml for examples.", lines[^1]);
        return lines[1..^1];
    }

    public void Dispose() => Directory.Delete(Root, recursive: true);
}

public sealed class PlanScenarioReaderTests
{
    private static readonly string Fixtures = Path.Combine(AppContext.BaseDirectory, "Fixtures");

    /// <summary>Asserts the whole list, in order: each line is the path, then a message that starts as given.</summary>
    private static void AssertProblems(IReadOnlyList<string> actual, params (string Path, string Message)[] expected)
    {
        Assert.True(expected.Length == actual.Count, $"expected {expected.Length} problems, got {actual.Count}:\n{string.Join("\n", actual)}");
        for (var i = 0; i < expected.Length; i++)
            Assert.StartsWith($"{expected[i].Path}: {expected[i].Message}", actual[i], StringComparison.Ordinal);
    }

    [Fact]
    public void A_scenario_with_many_problems_lists_them_all_at_once_with_their_paths()
    {
        using var dir = new ScenarioDirectory();
        dir.Write("south-power.csv", "at,watts\n0,2M\n3600,1.5M\n7200,lots\n");
        var problems = dir.Problems("""
            name: broken on purpose
            horizon: 365d
            colour: blue
            sites:
              - name: north
                facilityPower: 20M
                itPower: 15M
                pue: 0.95
                coolingCapacity: plenty
                accelerator: h100-sxm
                utilization: [ { at: 0h, value: 0.6 }, { at: 18h, value: 1.2 } ]
                mixes:
                  - { name: chat, share: 0.7, model: gpt-9, epsilon: 0.5, saturationTokensPerSecond: 1500 }
                  - { name: batch, share: 0.3, kappa: 1e11, epsilon: 0.9, saturationTokensPerSecond: 800, colour: red }
              - name: south
                itPower: { file: south-power.csv }
                count: 100
                price: { repeat: one day, steps: [ { at: 0h, value: 0.1 } ] }
                mixes:
                  - { name: chat, share: 0.5, kappa: 1e11, from: { run: runs/chat, twin: { profile: llama-3.1-8b-h100 } } }
                  - { name: measured, share: 0.5, kappa: 1e11, from: { run: runs/missing } }
              - name: east
                itPower: 2M
                accelerator: b200
                mixes:
                  - { name: chat, share: 0.6, kappa: 1e11, epsilon: 0.4 }
                  - { name: code, share: 0.3, kappa: 2e11, epsilon: 0.6 }
            """);
        AssertProblems(problems,
            ("colour", "is not a field here; the fields are: name, horizon, tieTolerance, currency, catalogs, sites."),
            ("sites[0].pue", "must be at least 1 at every step: it is facility power over IT power (typically 1.1 to 1.6) (was 0.95)."),
            ("sites[0].itPower", "and facilityPower are both given; give one: the facility power with its PUE (P_IT = P_facility / PUE), or the IT power budget."),
            ("sites[0].coolingCapacity", "must be a number (W) (was 'plenty'); write it with a dot for decimals, optionally with an exponent or an SI prefix: 0.5, 1.2e3, 20M."),
            ("sites[0].utilization", "must be in (0, 1] at every step: the share of the ceiling turned into tokens (a fraction, not a percentage) (was 1.2 at 64800 s)."),
            ("sites[0].mixes[0].model", "'gpt-9' is not in the catalog; known models: "),
            ("sites[0].mixes[1].colour", "is not a field here; the fields are: name, share, model, context, kappa, epsilon, epsilonSource, saturationTokensPerSecond, kernelEfficiency, from, prefillShare, mechanisms."),
            ("sites[1].itPower.file", $"'{Path.Combine(dir.Root, "south-power.csv")}' row 4 ('7200,lots') is not a time (seconds or a duration like 1h) and a number in column 2."),
            ("sites[1].accelerator", "is missing: name a catalog accelerator (e2t catalog lists them), e.g. accelerator: h100-sxm."),
            ("sites[1].price.repeat", "must be a duration such as 90s, 15m, 24h, 365d or 1d12h (was 'one day')."),
            ("sites[1].mixes[0].from", "must name exactly one source: {run: RUN_DIR} (a run's result.json) or {twin: {...}} (the embedded twin, simulated)."),
            ("sites[1].mixes[1].from.run", $"cannot read the run's result '{Path.Combine(dir.Root, "runs/missing")}': "),
            ("sites[2].mixes", "the shares add up to 0.9; they are each mix's share of the site's tokens and must add up to 1."));
        Assert.EndsWith("Give a run directory written by e2t bench, or its result.json.", problems[11], StringComparison.Ordinal);
    }

    [Fact]
    public void Problems_inside_series_mechanisms_racks_and_the_twin_are_listed_with_their_paths()
    {
        using var dir = new ScenarioDirectory();
        dir.Write("p.csv", "at,watts\n0,1M\n");
        var problems = dir.Problems("""
            horizon: -5
            tieTolerance: 1
            sites:
              - name: a
                facilityPower: [ { at: 1h, value: 1M } ]
                pue: 1.2
                accelerator: h100-sxm
                precision: fp3
                racks: { count: 0 }
                price: { repeat: 24h, steps: [ { at: 0h, value: 0.1 }, { at: 25h, value: 0.2 } ] }
                carbonIntensity: { file: p.csv, column: grams }
                mechanisms:
                  - { epsilonGain: 2 }
                  - { name: broken, kappaGain: 0, decode: { epsilonGain: -1 } }
                mixes:
                  - name: chat
                    share: 1.5
                    kappa: 1e11
                    epsilon: 0.5
                    saturationTokensPerSecond: 100
                    kernelEfficiency: 0.5
                    prefillShare: 2
              - name: A
                itPower: 1M
                accelerator: h100-sxm
                count: 0
                mixes:
                  - name: twin
                    model: llama-3.1-8b
                    from: { twin: { profile: no-such-profile, concurrency: 8, requests: 10 } }
            """);
        AssertProblems(problems,
            ("horizon", "must be a positive duration (was -5 s), e.g. 365d."),
            ("tieTolerance", "must be in [0, 1) (was 1): the relative gap between the ceilings reported as balanced, e.g. 0.01."),
            ("sites[0].facilityPower", "the series must start at 0 s (its first point is at 3600 s); the value before the first point would be unknown."),
            ("sites[0].racks.count", "must be at least 1 (was 0)."),
            ("sites[0].racks.powerDensity", "is missing: the IT power one rack can take, W (e.g. 120k)."),
            ("sites[0].precision", "'fp3' is not a precision; known: "),
            ("sites[0].price.steps", "has a step at 90000 s, not inside the repeat period of 86400 s."),
            ("sites[0].carbonIntensity.file", $"'{Path.Combine(dir.Root, "p.csv")}' has no column 'grams'; its columns are watts."),
            ("sites[0].mechanisms[0].name", "is missing: name the mechanism, e.g. int4-weights."),
            ("sites[0].mechanisms[1]", "Mechanism 'broken': its prefill κ gain must be a positive factor (was 0); 1 means no change, 2 halves κ."),
            ("sites[0].mechanisms[1]", "Mechanism 'broken': its decode κ gain must be a positive factor (was 0); 1 means no change, 2 halves κ."),
            ("sites[0].mechanisms[1]", "Mechanism 'broken': its decode ε gain must be a positive factor (was -1); 1 means no change, 2 halves ε."),
            ("sites[0].mixes[0].share", "must be in (0, 1] (was 1.5): the mix's share of the site's tokens."),
            ("sites[0].mixes[0].kernelEfficiency", "and saturationTokensPerSecond are both given; give one (C_eff = κ·R_sat, or C_eff = ρ·C_peak)."),
            ("sites[0].mixes[0].prefillShare", "must be in [0, 1] (was 2): the share of counted tokens that are prefill tokens."),
            ("sites[1].count", "must be at least 1 (was 0); leave it out to fit as many accelerators as the power budget allows."),
            ("sites[1].mixes[0].from.twin.requests", "must be at least 4 × concurrency (32) for the twin to reach a steady state (was 10)."));
    }

    [Fact]
    public void A_profile_the_twin_does_not_have_is_named_at_its_path()
    {
        using var dir = new ScenarioDirectory();
        var problems = dir.Problems("""
            sites:
              - name: a
                itPower: 1M
                accelerator: h100-sxm
                mixes:
                  - { name: chat, from: { twin: { profile: no-such-profile } } }
            """);
        var only = Assert.Single(problems);
        Assert.StartsWith("sites[0].mixes[0].from.twin.profile: ", only, StringComparison.Ordinal);
        Assert.Contains("no-such-profile", only, StringComparison.Ordinal);
    }

    [Fact]
    public void Duplicate_site_names_missing_sites_and_an_empty_file_are_problems()
    {
        using var dir = new ScenarioDirectory();
        AssertProblems(dir.Problems("""
            sites:
              - { name: a, itPower: 1M, accelerator: h100-sxm, mixes: [ { name: m, kappa: 1e11, epsilon: 0.5 } ] }
              - { name: A, itPower: 1M, accelerator: h100-sxm, mixes: [ { name: m, kappa: 1e11, epsilon: 0.5 } ] }
            """),
            ("sites[1].name", "'A' is the name of an earlier site too; names must be unique."));
        AssertProblems(dir.Problems("name: nothing here\n"),
            ("sites", "is missing or empty: give at least one site with its power, accelerators and mixes."));
        AssertProblems(dir.Problems(""), ("(scenario)", "is empty; it needs at least sites: [...] (see docs/plan.md)."));
        AssertProblems(dir.Problems("- just a list\n"), ("(scenario)", "must be a mapping of fields (name, horizon, tieTolerance, currency, catalogs, sites), not a list."));
        AssertProblems(dir.Problems("horizon: 1e20\nsites: []\n"),
            ("horizon", "must be a duration such as 90s, 15m, 24h, 365d or 1d12h (was 1E+20)."),
            ("sites", "is missing or empty"));
    }

    [Fact]
    public void A_mix_whose_rate_puts_c_eff_above_the_peak_is_a_problem_at_its_field()
    {
        using var dir = new ScenarioDirectory();
        AssertProblems(dir.Problems("""
            sites:
              - name: a
                itPower: 1M
                accelerator: h100-sxm
                mixes:
                  - { name: chat, kappa: 1e11, epsilon: 0.5, saturationTokensPerSecond: 20000 }
            """),
            ("sites[0].mixes[0].saturationTokensPerSecond", "gives C_eff = 2e+15 FLOP/s per accelerator (κ·R_sat with R_sat = 20000 tokens/s per accelerator, declared), above the h100-sxm bf16 peak of 9.894e+14 FLOP/s;"));
    }

    [Fact]
    public void A_mix_at_kernel_efficiency_one_plans()
    {
        using var dir = new ScenarioDirectory();
        var plan = dir.Read("""
            sites:
              - { name: a, itPower: 1M, accelerator: h100-sxm, count: 1, mixes: [ { name: chat, kappa: 1e11, epsilon: 0.5, kernelEfficiency: 1 } ] }
            """);
        Assert.Equal(989.4e12, plan.Sites[0].Mixes[0].EffectiveComputePerDeviceFlopPerSecond);
        Assert.Equal(BindingConstraint.Compute, Planner.Evaluate(plan).Sites[0].Headline.BindingConstraint);
    }

    [Fact]
    public void Defaults_fill_what_the_scenario_leaves_out()
    {
        using var dir = new ScenarioDirectory();
        var plan = dir.Read("""
            sites:
              - { name: a, itPower: 7k, accelerator: h100-sxm, mixes: [ { name: chat, kappa: 1e11, epsilon: 0.5 } ] }
            """);
        Assert.Equal(8760 * 3600.0, plan.HorizonSeconds);
        Assert.Equal(0.01, plan.TieTolerance);
        Assert.Equal("USD", plan.Currency);
        Assert.Null(plan.Name);
        var site = plan.Sites.Single();
        Assert.Equal("bf16", site.Precision);
        Assert.Equal(700, site.WattsPerAccelerator);                               // the catalog power limit
        Assert.Equal(989.4e12, site.PeakPerDeviceFlopPerSecond);
        Assert.Equal(10, site.AcceleratorCount);                                   // 7 kW / 700 W
        Assert.True(site.CountFromBudget);
        Assert.True(site.Utilization.IsConstant);
        Assert.Equal(1, site.Utilization.At(0));
        var mix = site.Mixes.Single();
        Assert.Equal(1, mix.Share);
        Assert.Equal(EpsilonOrigin.Declared, mix.EpsilonOrigin);
        Assert.Equal("declared in the scenario", mix.EpsilonSource);
        Assert.Null(mix.EffectiveComputePerDeviceFlopPerSecond);
        Assert.Equal(["Site 'a': no PUE given, so energy, cost and carbon are at the IT boundary (PUE 1), not the facility's."], plan.Notes);
    }

    [Fact]
    public void Accelerators_fit_to_the_budget_take_racks_and_cooling_into_account()
    {
        using var dir = new ScenarioDirectory();
        var plan = dir.Read("""
            sites:
              - name: a
                facilityPower: { repeat: 24h, steps: [ { at: 0h, value: 20M }, { at: 18h, value: 14M }, { at: 22h, value: 20M } ] }
                pue: 1.25
                racks: { count: 130, powerDensity: 120k }
                coolingCapacity: 15.5M
                accelerator: h100-sxm
                wattsPerAccelerator: 1275
                mixes: [ { name: chat, kappa: 1e11, epsilon: 0.5 } ]
              - name: b
                facilityPower: 20M
                pue: 1.25
                racks: { count: 130, powerDensity: 120k }
                accelerator: h100-sxm
                wattsPerAccelerator: 1275
                mixes: [ { name: chat, kappa: 1e11, epsilon: 0.5 } ]
            """);
        Assert.Equal(12_156, plan.Sites[0].AcceleratorCount);                  // ⌊min(16 MW, 15.6 MW racks, 15.5 MW cooling) / 1,275 W⌋ = ⌊12,156.9⌋
        Assert.Equal(12_235, plan.Sites[1].AcceleratorCount);                  // ⌊15.6 MW racks / 1,275 W⌋ = ⌊12,235.3⌋
        Assert.All(plan.Sites, s => Assert.True(s.CountFromBudget));
    }

    [Fact]
    public void An_hourly_year_from_a_csv_file_integrates_to_its_closed_form()
    {
        // A sawtooth: P_facility(h) = 100 kW + 5 kW · (h mod 24) for each hour h of the year, in the third column.
        using var dir = new ScenarioDirectory();
        var csv = new System.Text.StringBuilder("# hourly facility power\nat,other,watts\n");
        for (var h = 0; h < 8760; h++) csv.Append(System.Globalization.CultureInfo.InvariantCulture, $"{h * 3600},{h},{100_000 + 5000 * (h % 24)}\n");
        dir.Write("year.csv", csv.ToString());
        var plan = dir.Read("""
            sites:
              - name: a
                facilityPower: { file: year.csv, column: watts }
                pue: 1
                accelerator: h100-sxm
                count: 10000
                mixes: [ { name: chat, kappa: 1e9, epsilon: 0.5, saturationTokensPerSecond: 1e5 } ]
            """);
        Assert.Equal(8760, plan.Sites[0].FacilityPowerWatts!.Points.Count);
        var site = Planner.Evaluate(plan).Sites.Single();
        // Power-bound every hour (compute ceiling 1e9 tokens/s): Q = Σₕ 3,600 s · P(h) / ε
        // = 3,600 / 0.5 · 365 · Σ_{k=0}^{23} (100,000 + 5,000 k) = 7,200 · 365 · (2,400,000 + 5,000 · 276).
        Close.To(7200.0 * 365 * (2_400_000 + 5000 * 276), site.Tokens);
        Assert.Equal(8760, site.Timeline.Count);
        Assert.Equal(1, site.TimeShares[PlanConstraint.Power]);
        Close.To(365 * 3600.0 * (2_400_000 + 5000 * 276), site.FacilityEnergyJoules);   // PUE 1: all of it drawn
    }

    [Fact]
    public void A_csv_takes_durations_and_its_second_column_by_default()
    {
        using var dir = new ScenarioDirectory();
        dir.Write("u.csv", "0h,0.5\n\n12h,1\n");
        var plan = dir.Read("""
            horizon: 24h
            sites:
              - { name: a, itPower: 1M, accelerator: h100-sxm, count: 100, utilization: { file: u.csv }, mixes: [ { name: chat, kappa: 1e11, epsilon: 0.5, saturationTokensPerSecond: 2000 } ] }
            """);
        Assert.Equal([new SeriesPoint(0, 0.5), new SeriesPoint(43_200, 1)], plan.Sites[0].Utilization.Points);
        // Compute-bound at 100 · 2,000 = 200,000 tokens/s: Q = 200,000 · (0.5 · 12 h + 1 · 12 h).
        Close.To(200_000 * 1.5 * 12 * 3600, Planner.Evaluate(plan).Tokens);
    }

    [Fact]
    public void A_daily_repeat_read_from_yaml_integrates_to_its_closed_form()
    {
        using var dir = new ScenarioDirectory();
        var plan = dir.Read("""
            horizon: 365d
            sites:
              - name: a
                itPower: { repeat: 24h, steps: [ { at: 0h, value: 1M }, { at: 18h, value: 600k }, { at: 22h, value: 1M } ] }
                accelerator: h100-sxm
                count: 1000
                mixes: [ { name: chat, kappa: 1e11, epsilon: 0.5, saturationTokensPerSecond: 1600 } ]
            """);
        var site = Planner.Evaluate(plan).Sites.Single();
        // Compute 1000 · 1,600 = 1.6e6 tokens/s; power 2e6 for 20 h, 1.2e6 from 18 h to 22 h.
        Close.To(365 * 3600.0 * (20 * 1.6e6 + 4 * 1.2e6), site.Tokens);
        Assert.Equal(1 + 2 * 365, site.Timeline.Count);   // midnight joins 22 h to the next day's 18 h: same inputs
    }

    [Fact]
    public void Yaml_and_json_read_the_same()
    {
        using var dir = new ScenarioDirectory();
        var yaml = PlanScenarioReader.Read(dir.Write("s.yaml", """
            name: same
            horizon: 30d
            sites:
              - { name: a, facilityPower: 2M, pue: 1.2, accelerator: b200, precision: FP8, utilization: [ { at: 0h, value: 0.5 }, { at: 10d, value: 0.8 } ], mixes: [ { name: chat, model: llama-3.1-70b, context: 8192, epsilon: 0.4, kernelEfficiency: 0.3 } ] }
            """));
        var json = PlanScenarioReader.Read(dir.Write("s.json", """
            { "name": "same", "horizon": "30d", // comments and trailing commas are fine
              "sites": [ { "name": "a", "facilityPower": "2M", "pue": 1.2, "accelerator": "b200", "precision": "FP8",
                           "utilization": [ { "at": "0h", "value": 0.5 }, { "at": "10d", "value": 0.8 } ],
                           "mixes": [ { "name": "chat", "model": "llama-3.1-70b", "context": 8192, "epsilon": 0.4, "kernelEfficiency": 0.3 } ] } ], }
            """));
        Assert.Equal(PlanReport.From(Planner.Evaluate(yaml)).ToJson(), PlanReport.From(Planner.Evaluate(json)).ToJson());
        Assert.Equal("fp8", yaml.Sites[0].Precision);
        Assert.Equal(Catalogs.Load().Model("llama-3.1-70b").KappaFlopPerToken(8192), yaml.Sites[0].Mixes[0].KappaFlopPerToken);
        Assert.Equal(0.3 * 4.5e15, yaml.Sites[0].Mixes[0].EffectiveComputePerDeviceFlopPerSecond);
    }

    // ---- ε from a run or the twin ----

    [Fact]
    public void Epsilon_from_a_measured_run_takes_its_epsilon_and_rate_per_device()
    {
        using var dir = new ScenarioDirectory();
        var run = Path.Combine(Fixtures, "plan", "measured-run");
        var plan = dir.Read($$"""
            sites:
              - name: a
                itPower: 1M
                accelerator: h100-sxm
                mixes: [ { name: chat, from: { run: '{{run}}' } } ]
            """);
        var mix = plan.Sites.Single().Mixes.Single();
        Assert.Equal(0.3125, mix.EpsilonJoulesPerToken);
        Assert.Equal(EpsilonOrigin.Measured, mix.EpsilonOrigin);
        Assert.Equal($"run {run}: gross J per output token over the steady window, inside the boundary '8 × accelerator'", mix.EpsilonSource);
        // Nothing declared: the run's own measured κ, its model and mean context (1,024.4 → 1,024), and R_sat per
        // accelerator: 16,000 / 8 devices.
        const double kappa = 16_201_000_000;
        Assert.Equal(kappa, mix.KappaFlopPerToken);
        Assert.Equal("llama-3.1-8b", mix.Model);
        Assert.Equal(1024, mix.Context);
        Close.To(2000 * kappa, mix.EffectiveComputePerDeviceFlopPerSecond!.Value);
        Assert.Equal($"κ·R_sat with R_sat = 2000 tokens/s per accelerator, R_sat of run {run} ÷ its 8 devices, measured", mix.ComputeSource);

        var report = PlanReport.From(Planner.Evaluate(plan));
        Assert.False(report.Simulated);
        Assert.Equal("measured", report.Sites[0].Mixes[0].EpsilonOrigin);
    }

    [Fact]
    public void Declared_fields_override_what_a_run_gives()
    {
        using var dir = new ScenarioDirectory();
        var run = Path.Combine(Fixtures, "plan", "measured-run", "result.json");
        var plan = dir.Read($$"""
            sites:
              - name: a
                itPower: 1M
                accelerator: b200
                mixes: [ { name: chat, epsilon: 0.2, kappa: 2e10, saturationTokensPerSecond: 3000, from: { run: '{{run}}' } } ]
            """);
        var mix = plan.Sites.Single().Mixes.Single();
        Assert.Equal((0.2, EpsilonOrigin.Declared, "declared in the scenario"), (mix.EpsilonJoulesPerToken, mix.EpsilonOrigin, mix.EpsilonSource));
        Assert.Equal(2e10, mix.KappaFlopPerToken);
        Assert.Equal(3000 * 2e10, mix.EffectiveComputePerDeviceFlopPerSecond);
        Assert.Equal(["Site 'a', mix 'chat': ε and R_sat were measured on h100-sxm, but the site has b200; they are used as given.",
                      "Site 'a': no PUE given, so energy, cost and carbon are at the IT boundary (PUE 1), not the facility's."], plan.Notes);
    }

    [Fact]
    public void Epsilon_from_a_twin_run_is_simulated()
    {
        using var dir = new ScenarioDirectory();
        var run = Path.Combine(Fixtures, "reports", "run-result.json");   // a twin run: "simulated": true, 1 device
        var plan = dir.Read($$"""
            sites:
              - { name: a, itPower: 1M, accelerator: h100-sxm, mixes: [ { name: chat, from: { run: '{{run}}' } } ] }
            """);
        var mix = plan.Sites.Single().Mixes.Single();
        Assert.Equal(EpsilonOrigin.Simulated, mix.EpsilonOrigin);
        Assert.Equal(0.25787956863249334, mix.EpsilonJoulesPerToken);
        Assert.EndsWith(" (the embedded twin: simulated)", mix.EpsilonSource, StringComparison.Ordinal);
        Close.To(2005.447104492824 * mix.KappaFlopPerToken, mix.EffectiveComputePerDeviceFlopPerSecond!.Value);
        Assert.Equal(288, mix.Context);
        Assert.True(PlanReport.From(Planner.Evaluate(plan)).Simulated);
    }

    [Fact]
    public void Epsilon_from_the_twin_is_simulated_and_says_so_in_the_json()
    {
        using var dir = new ScenarioDirectory();
        var plan = dir.Read("""
            horizon: 24h
            sites:
              - name: a
                itPower: 10k
                accelerator: h100-sxm
                mixes:
                  - { name: chat, from: { twin: { profile: llama-3.1-8b-h100, concurrency: 8, prompt: 256, output: 64, requests: 32 } } }
            """);
        var mix = plan.Sites.Single().Mixes.Single();
        Assert.Equal(EpsilonOrigin.Simulated, mix.EpsilonOrigin);
        Assert.Equal("llama-3.1-8b", mix.Model);
        Assert.Equal(320, mix.Context);                                        // prompt + output
        Assert.Equal(Catalogs.Load().Model("llama-3.1-8b").KappaFlopPerToken(320), mix.KappaFlopPerToken);
        Assert.True(mix.EpsilonJoulesPerToken > 0);
        Assert.Contains("(simulated)", mix.EpsilonSource, StringComparison.Ordinal);
        Assert.Contains("(simulated)", mix.ComputeSource, StringComparison.Ordinal);
        Assert.Equal(14, plan.Sites[0].AcceleratorCount);                      // ⌊10 kW / 700 W⌋

        var json = PlanReport.From(Planner.Evaluate(plan)).ToJson();
        using var document = System.Text.Json.JsonDocument.Parse(json);
        Assert.True(document.RootElement.GetProperty("simulated").GetBoolean());
        Assert.Equal("simulated", document.RootElement.GetProperty("sites")[0].GetProperty("mixes")[0].GetProperty("epsilonOrigin").GetString());
    }
}

/// <summary>Inputs a review found mishandled: each now reads right or fails with its field's path.</summary>
public sealed class PlanScenarioEdgeTests
{
    [Fact]
    public void Accelerators_are_sized_to_the_highest_budget_inside_the_horizon_not_after_it()
    {
        using var dir = new ScenarioDirectory();
        var plan = dir.Read("""
            horizon: 1h
            sites:
              - name: a
                itPower: [ { at: 0h, value: 1M }, { at: 48h, value: 2M } ]
                accelerator: h100-sxm
                mixes: [ { name: chat, kappa: 1e11, epsilon: 0.5 } ]
            """);
        Assert.Equal(1428, plan.Sites[0].AcceleratorCount);   // ⌊1,000,000 / 700⌋, not the 2 MW of day three
    }

    [Fact]
    public void A_budget_that_asks_for_more_than_a_billion_accelerators_is_a_unit_mistake_not_a_wrapped_count()
    {
        using var dir = new ScenarioDirectory();
        var problems = dir.Problems("""
            sites:
              - name: a
                itPower: 1e13
                wattsPerAccelerator: 1
                accelerator: h100-sxm
                mixes: [ { name: chat, kappa: 1e11, epsilon: 0.5 } ]
              - name: b
                itPower: 1M
                count: 3e9
                accelerator: h100-sxm
                mixes: [ { name: chat, kappa: 1e11, epsilon: 0.5 } ]
            """);
        Assert.Equal(2, problems.Count);
        Assert.StartsWith("sites[0].count: would be 1e+13 accelerators of 1 W, more than 1,000,000,000", problems[0], StringComparison.Ordinal);
        Assert.StartsWith("sites[1].count: is out of range (was 3e+09", problems[1], StringComparison.Ordinal);
    }

    [Fact]
    public void Values_that_overflow_or_make_the_tokens_infinite_are_explained()
    {
        using var dir = new ScenarioDirectory();
        var overflow = dir.Problems("""
            sites:
              - { name: a, itPower: 1e308T, count: 1, accelerator: h100-sxm, mixes: [ { name: chat, kappa: 1e11, epsilon: 0.5 } ] }
            """);
        Assert.StartsWith("sites[0].itPower: must be a number (W) (was '1e308T')", Assert.Single(overflow), StringComparison.Ordinal);

        var plan = dir.Read("""
            sites:
              - { name: a, itPower: 1k, count: 1, accelerator: h100-sxm, mixes: [ { name: chat, kappa: 1e-320, epsilon: 1e-320 } ] }
            """);
        var e = Assert.Throws<EnergyToTokenException>(() => Planner.Evaluate(plan));
        Assert.StartsWith("Site 'a': the token count is not a finite number", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_repeat_that_would_expand_past_the_step_limit_or_has_no_period_names_its_field()
    {
        using var dir = new ScenarioDirectory();
        var problems = dir.Problems("""
            sites:
              - name: a
                itPower: { repeat: 1s, steps: [ { at: 0s, value: 1M }, { at: 0.5s, value: 2M } ] }
                pue: { repeat: 0s, steps: [ { at: 0s, value: 1.2 } ] }
                count: 1
                accelerator: h100-sxm
                mixes: [ { name: chat, kappa: 1e11, epsilon: 0.5 } ]
            """);
        Assert.Equal(2, problems.Count);
        Assert.StartsWith("sites[0].itPower.repeat: repeats 2 steps every 1 s over the horizon: 6.3072e+07 steps, more than the 3,153,600", problems[0], StringComparison.Ordinal);
        Assert.StartsWith("sites[0].pue.repeat: must be a positive period", problems[1], StringComparison.Ordinal);
    }

    [Fact]
    public void A_run_with_a_bad_epsilon_or_no_devices_is_reported_at_from_run()
    {
        using var dir = new ScenarioDirectory();
        dir.Write("bad-eps/result.json", """{ "kind": "e2t.bench", "production": { "epsilonJoulesPerToken": -1 } }""");
        dir.Write("no-devices/result.json", """{ "kind": "e2t.bench", "deployment": { "devices": 0 }, "production": { "epsilonJoulesPerToken": 0.3, "saturationOutputTokensPerSecond": 1000, "kappaFlopPerToken": 1e10 } }""");
        var problems = dir.Problems("""
            sites:
              - name: a
                itPower: 1M
                accelerator: h100-sxm
                mixes:
                  - { name: one, share: 0.5, from: { run: bad-eps } }
                  - { name: two, share: 0.5, from: { run: no-devices } }
            """);
        Assert.Equal(2, problems.Count);
        Assert.StartsWith("sites[0].mixes[0].from.run: the run 'bad-eps' has ε = -1 J per token", problems[0], StringComparison.Ordinal);
        Assert.StartsWith("sites[0].mixes[1].from.run: the run 'no-devices' names 0 devices", problems[1], StringComparison.Ordinal);
    }

    [Fact]
    public void The_twin_sizes_its_prompts_to_the_context_however_it_is_written()
    {
        using var dir = new ScenarioDirectory();
        string Source(string context) => dir.Read($$"""
            sites:
              - { name: a, itPower: 1k, count: 1, accelerator: h100-sxm, mixes: [ { name: chat, model: llama-3.1-8b, context: {{context}}, from: { twin: { concurrency: 4, requests: 16, output: 64 } } } ] }
            """).Sites[0].Mixes[0].EpsilonSource;
        // 8k in a scenario is 8,000 (an SI prefix): prompts ~(8,000 − 128) / 1.5 = 5,248, as for the number written out.
        Assert.Contains("prompts ~5248 and outputs ~64", Source("8k"), StringComparison.Ordinal);
        Assert.Equal(Source("8k"), Source("8000"));
    }

    [Fact]
    public void A_context_too_short_for_the_twin_outputs_and_duplicate_mix_names_are_errors()
    {
        using var dir = new ScenarioDirectory();
        var problems = dir.Problems("""
            sites:
              - name: a
                itPower: 1k
                count: 1
                accelerator: h100-sxm
                mixes:
                  - { name: chat, share: 0.5, model: llama-3.1-8b, context: 300, from: { twin: { output: 256 } } }
                  - { name: Chat, share: 0.5, kappa: 1e10, epsilon: 0.2 }
            """);
        Assert.Equal(2, problems.Count);
        Assert.StartsWith("sites[0].mixes[0].from.twin.output: leaves no room for prompts in the mix's context of 300 tokens", problems[0], StringComparison.Ordinal);
        Assert.StartsWith("sites[0].mixes[1].name: 'Chat' is the name of an earlier mix", problems[1], StringComparison.Ordinal);
    }
}
