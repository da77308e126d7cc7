using EnergyToToken.Fleet;

namespace EnergyToToken.Tests.Fleet;

/// <summary>The aggregation on hand-made series: matching, grouping, energy from counters or power, idle, binding.</summary>
public sealed class FleetEvaluatorTests
{
    private static readonly FleetOptions Options = new() { Prometheus = new Uri("http://p/"), From = 0, To = 4, Step = 1 };

    private static RangeSeries Series(string name, Dictionary<string, string> labels, params double[] values) =>
        new(new Dictionary<string, string>(labels) { ["__name__"] = name }, values.Select((v, i) => new RangePoint(i, v)).ToArray());

    private static Dictionary<string, string> L(string instance, string pool, string? uuid = null)
    {
        var labels = new Dictionary<string, string> { ["instance"] = instance, ["pool"] = pool };
        if (uuid is not null) labels["UUID"] = uuid;
        return labels;
    }

    [Fact]
    public void Instances_join_their_GPUs_by_the_match_label_and_groups_sum_them()
    {
        var data = new FleetData(
            PromptTokens: [Series("p", L("a", "chat"), 0, 10, 10, 10, 10), Series("p", L("b", "chat"), 0, 0, 0, 0, 0)],
            // a: one step idle (0→0), then 100 tokens a second; b: a reset in the middle (50 → 20 counts 20: 50 + 20 + 20).
            GenerationTokens: [Series("g", L("a", "chat"), 0, 0, 100, 200, 300), Series("g", L("b", "chat"), 0, 0, 50, 20, 40)],
            // a's GPU: 100 W idle then 300 W (mJ counter); b has no counter, only power: 200 W.
            Energy: [Series("e", L("a", "chat", "GPU-a"), 0, 100_000, 400_000, 700_000, 1_000_000)],
            Power: [Series("w", L("a", "chat", "GPU-a"), 100, 100, 300, 300, 300), Series("w", L("b", "chat", "GPU-b"), 200, 200, 200, 200, 200)],
            SmActive: [Series("u", L("a", "chat", "GPU-a"), 0, 0, 0.95, 0.95, 0.95), Series("u", L("b", "chat", "GPU-b"), 0.5, 0.5, 0.5, 0.5, 0.5)],
            Pue: []);

        var report = FleetEvaluator.Evaluate(Options with { FacilityBudgetWatts = 10_000 }, data);

        Assert.Equal(["a", "b"], report.Groups.Select(g => g.Name));
        var a = report.Groups[0];
        Assert.Equal(300, a.OutputTokens);
        Assert.Equal(10, a.PromptTokens);
        Assert.Equal(1000, a.EnergyJoules, 9);
        Assert.Equal(1000 / 300.0, a.JoulesPerOutputToken, 9);
        // Step 0 has prompt tokens, so no step of a is token-free: no idle estimate.
        Assert.Null(a.IdleWatts);
        var b = report.Groups[1];
        Assert.Equal(90, b.OutputTokens);
        Assert.Equal(800, b.EnergyJoules, 9);
        Assert.Equal(200, b.IdleWatts);
        Assert.Equal(0, b.DynamicJoules);
        Assert.Equal([FleetConstraint.Demand, FleetConstraint.Compute, FleetConstraint.Compute, FleetConstraint.Compute], a.Binding);
        Assert.Equal(0.75, a.BindingShares[FleetConstraint.Compute]);
        Assert.Equal(FleetConstraint.Demand, b.MostlyBinding);
        Assert.Equal(1800, report.Fleet.EnergyJoules, 9);
        Assert.Equal(390, report.Fleet.OutputTokens);
        Assert.Empty(report.Warnings);

        var pooled = FleetEvaluator.Evaluate(Options with { GroupBy = "pool" }, data);
        var chat = Assert.Single(pooled.Groups);
        Assert.Equal(2, chat.Gpus);
        Assert.Equal(390, chat.OutputTokens);
    }

    [Fact]
    public void The_power_arm_binds_when_facility_power_nears_the_budget()
    {
        var data = new FleetData(
            [], [Series("g", L("a", "x"), 0, 10, 20, 30, 40)],
            [Series("e", L("a", "x", "GPU-a"), 0, 500_000, 1_000_000, 1_500_000, 2_000_000)], [],
            [Series("u", L("a", "x", "GPU-a"), 0.3, 0.3, 0.3, 0.3, 0.3)], []);
        // 500 W IT × PUE 1.2 = 600 W against 640 W: load 0.94.
        var report = FleetEvaluator.Evaluate(Options with { FacilityBudgetWatts = 640, Pue = 1.2 }, data);
        Assert.All(report.Timeline, s => Assert.Equal(FleetConstraint.Power, s.Binding));
        Assert.Equal(600, report.Fleet.MeanFacilityWatts, 9);
    }

    [Fact]
    public void Unmatched_GPUs_and_instances_without_GPUs_are_warned_about_and_no_tokens_is_an_explained_failure()
    {
        var data = new FleetData(
            [], [Series("g", L("a", "x"), 0, 1, 2, 3, 4)],
            [Series("e", L("z", "x", "GPU-z"), 0, 1000, 2000, 3000, 4000)], [], [], []);
        var report = FleetEvaluator.Evaluate(Options, data);
        Assert.Equal(2, report.Warnings.Count);
        Assert.Contains(report.Warnings, w => w.Contains("instance=\"a\" has token series but no GPU", StringComparison.Ordinal));
        Assert.Contains(report.Warnings, w => w.Contains("instance=\"z\", which no token series has", StringComparison.Ordinal));
        Assert.Equal(4, report.Fleet.EnergyJoules, 9);

        var e = Assert.Throws<EnergyToTokenException>(() => FleetEvaluator.Evaluate(Options, new FleetData([], [], [], [], [], [])));
        Assert.Contains("no token series", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_JSON_is_camel_case_writes_NaN_as_null_and_names_constraints_in_kebab_case()
    {
        var data = new FleetData([], [Series("g", L("a", "x"), 0, 0, 0, 0, 0)], [Series("e", L("a", "x", "G"), 0, 1000, 2000, 3000, 4000)], [], [], []);
        var json = System.Text.Json.Nodes.JsonNode.Parse(FleetEvaluator.Evaluate(Options, data).ToJson())!;
        Assert.Equal("e2t.fleet", (string?)json["kind"]);
        Assert.Equal(1, (int)json["schemaVersion"]!);
        Assert.Null(json["fleet"]!["joulesPerOutputToken"]);
        Assert.Null(json["fleet"]!["meanU"]);
        Assert.Equal("no-data", (string?)json["timeline"]![0]!["binding"]);
        Assert.Equal(4, json["timeline"]!.AsArray().Count);
        EnergyToToken.Tests.Reporting.Schemas.AssertValid(json.ToJsonString(), "e2t.fleet.v1.schema.json");
    }

    [Fact]
    public void Series_fed_in_chunks_give_the_report_they_give_whole()
    {
        // Counters with a reset and a gap, split into pieces as chunked range queries deliver them.
        var generation = Series("g", L("a", "chat"), 0, 5, 15, 3, 9, 20, 20, 31, 40);
        var energy = Series("e", L("a", "chat", "GPU-a"), 0, 2_000, 5_000, 9_000, 1_000, 4_000, 8_000, 9_000, 12_000);
        var sm = Series("u", L("a", "chat", "GPU-a"), 0.1, 0.2, 0.95, 0.9, 0.3, 0.5, 0.99, 0.2, 0.1);
        var options = Options with { To = 8, FacilityBudgetWatts = 4 };
        var whole = FleetEvaluator.Evaluate(options, new FleetData([], [generation], [energy], [], [sm], []));
        foreach (var cut in new[] { 1, 2, 3, 5 })
        {
            var pieces = new FleetAccumulator(options);
            foreach (var piece in Pieces(generation, cut)) pieces.AddGenerationTokens(piece);
            foreach (var piece in Pieces(energy, cut)) pieces.AddEnergy(piece);
            foreach (var piece in Pieces(sm, cut)) pieces.AddSmActive(piece);
            Assert.Equal(whole.ToJson(), pieces.Finish().ToJson());
        }
        // 5 + 10 + 3 (reset) + 6 + 11 + 0 + 11 + 9.
        Assert.Equal(55, whole.Fleet.OutputTokens);
        Assert.Equal(2 + 3 + 4 + 1 + 3 + 4 + 1 + 3, whole.Fleet.EnergyJoules, 9);

        static IEnumerable<RangeSeries> Pieces(RangeSeries s, int size) =>
            s.Points.Chunk(size).Select(points => new RangeSeries(s.Labels, points));
    }

    [Fact]
    public void A_group_with_its_own_budget_is_judged_against_it_and_an_unknown_group_is_an_error()
    {
        var data = new FleetData(
            [], [Series("g", L("a", "chat"), 0, 10, 20, 30, 40), Series("g", L("b", "batch"), 0, 10, 20, 30, 40)],
            [Series("e", L("a", "chat", "GPU-a"), 0, 500_000, 1_000_000, 1_500_000, 2_000_000), Series("e", L("b", "batch", "GPU-b"), 0, 100_000, 200_000, 300_000, 400_000)],
            [], [Series("u", L("a", "chat", "GPU-a"), 0.3, 0.3, 0.3, 0.3, 0.3), Series("u", L("b", "batch", "GPU-b"), 0.3, 0.3, 0.3, 0.3, 0.3)], []);
        // The fleet draws 600 W against 10 kW: demand. chat's 500 W against its own 520 W binds power; batch shares the fleet's.
        var report = FleetEvaluator.Evaluate(Options with { GroupBy = "pool", FacilityBudgetWatts = 10_000, GroupBudgets = new Dictionary<string, double> { ["chat"] = 520 } }, data);
        var chat = report.Groups.Single(g => g.Name == "chat");
        var batch = report.Groups.Single(g => g.Name == "batch");
        Assert.Equal(FleetConstraint.Power, chat.MostlyBinding);
        Assert.Equal(520, chat.BudgetWatts);
        Assert.Equal(FleetConstraint.Demand, batch.MostlyBinding);
        Assert.Equal(10_000, batch.BudgetWatts);
        Assert.Equal(FleetConstraint.Demand, report.Fleet.MostlyBinding);
        Assert.Equal(10_520, report.Fleet.BudgetWatts);

        // The shared budget sees only the groups without their own: batch's 100 W against a shared 105 W binds power,
        // while chat's 500 W sits well inside its own 2 kW and the fleet's 600 W inside 2,105 W.
        var tight = FleetEvaluator.Evaluate(Options with { GroupBy = "pool", FacilityBudgetWatts = 105, GroupBudgets = new Dictionary<string, double> { ["chat"] = 2_000 } }, data);
        Assert.Equal(FleetConstraint.Demand, tight.Groups.Single(g => g.Name == "chat").MostlyBinding);
        Assert.Equal(FleetConstraint.Power, tight.Groups.Single(g => g.Name == "batch").MostlyBinding);
        Assert.Equal(FleetConstraint.Demand, tight.Fleet.MostlyBinding);
        // And chat's draw does not count against it: 550 W shared holds batch's 100 W easily, though the fleet draws 600 W.
        var roomy = FleetEvaluator.Evaluate(Options with { GroupBy = "pool", FacilityBudgetWatts = 550, GroupBudgets = new Dictionary<string, double> { ["chat"] = 520 } }, data);
        Assert.Equal(FleetConstraint.Demand, roomy.Groups.Single(g => g.Name == "batch").MostlyBinding);
        Assert.Equal(FleetConstraint.Power, roomy.Groups.Single(g => g.Name == "chat").MostlyBinding);

        EnergyToToken.Tests.Reporting.Schemas.AssertValid(report.ToJson(), "e2t.fleet.v1.schema.json");
        var e = Assert.Throws<EnergyToTokenException>(() => FleetEvaluator.Evaluate(Options with { GroupBy = "pool", GroupBudgets = new Dictionary<string, double> { ["chatt"] = 520 } }, data));
        Assert.Contains("'chatt'", e.Message, StringComparison.Ordinal);
        Assert.Contains("batch, chat", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Node_energy_sets_the_boundary_and_the_GPUs_own_energy_is_kept_beside_it()
    {
        // Node a: 700 W (J counter); its GPU: 300 W. Node z has no tokens: its energy counts in the fleet's power only.
        var data = new FleetData(
            [], [Series("g", L("a", "chat"), 0, 10, 20, 30, 40)],
            [Series("e", L("a", "chat", "GPU-a"), 0, 300_000, 600_000, 900_000, 1_200_000)], [],
            [Series("u", L("a", "chat", "GPU-a"), 0.5, 0.5, 0.5, 0.5, 0.5)], [],
            NodeEnergy: [Series("n", L("a", "chat"), 0, 700, 1400, 2100, 2800), Series("n", L("z", "chat"), 0, 100, 200, 300, 400)]);
        var options = Options with { Metrics = new FleetMetrics { NodeEnergy = "kepler_node_platform_joules_total" } };
        var report = FleetEvaluator.Evaluate(options, data);
        var a = Assert.Single(report.Groups);
        Assert.Equal(2800, a.EnergyJoules, 9);
        Assert.Equal(1200, a.AcceleratorEnergyJoules, 9);
        Assert.Equal(70, a.JoulesPerOutputToken, 9);
        Assert.Equal(3200, report.Fleet.EnergyJoules, 9);
        Assert.StartsWith("node (", options.Boundary, StringComparison.Ordinal);
        EnergyToToken.Tests.Reporting.Schemas.AssertValid(report.ToJson(), "e2t.fleet.v1.schema.json");
        Assert.Contains(report.Warnings, w => w.Contains("instance=\"z\", which no token series has", StringComparison.Ordinal));

        var noNodes = Assert.Throws<EnergyToTokenException>(() => FleetEvaluator.Evaluate(options, data with { NodeEnergy = [] }));
        Assert.Contains("no node energy or power series (kepler_node_platform_joules_total)", noNodes.Message, StringComparison.Ordinal);
    }
}
