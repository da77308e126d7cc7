using System.Text.Json.Nodes;
using EnergyToToken.Production;
using EnergyToToken.Reporting;
using EnergyToToken.Scenarios;
using EnergyToToken.Tests.Scenarios;

namespace EnergyToToken.Tests.Reporting;

/// <summary>
/// docs/schemas/e2t.plan-scenario.v1.schema.json against the reader (what one accepts the other accepts, what the reader
/// rejects and a schema can see the schema rejects too) and docs/schemas/e2t.plan.v1.schema.json against e2t plan --json.
/// </summary>
public sealed class PlanSchemaTests
{
    private const string ScenarioSchema = "e2t.plan-scenario.v1.schema.json";
    private const string OutputSchema = "e2t.plan.v1.schema.json";

    private static string Json(string yaml) => StructuredFile.YamlToJson(yaml)!.ToJsonString();

    private static void AssertInvalid(string json, string schema) =>
        Assert.ThrowsAny<Xunit.Sdk.XunitException>(() => Schemas.AssertValid(json, schema));

    public static TheoryData<string> Examples() =>
        [.. Directory.GetFiles(Path.Combine(Cli.ModelCommandTests.RepositoryRoot(), "examples"), "plan-*.yaml").Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal)];

    [Theory]
    [MemberData(nameof(Examples))]
    public void Every_plan_example_is_valid_against_the_scenario_schema(string example)
    {
        var path = Path.Combine(Cli.ModelCommandTests.RepositoryRoot(), "examples", example);
        Schemas.AssertValid(Json(File.ReadAllText(path)), ScenarioSchema);
        Assert.NotEmpty(PlanScenarioReader.Read(path).Sites);
    }

    /// <summary>Every field, every series form and the spellings the reader takes (SI text, durations, null for left out).</summary>
    private const string KitchenSink = """
        name: 2026                          # a number reads as text
        horizon: 1d12h
        tieTolerance: 0.02
        currency: EUR
        catalogs: ~
        sites:
          - name: a
            facilityPower: { repeat: 24h, steps: [ { at: 0, value: "2 M" }, { at: 18h, value: 1.5M }, { at: 22h, value: 2e6 } ] }
            itPower: ~
            pue: [ { at: 0h, value: 1.2 }, { at: 1d, value: 1.3 } ]
            coolingCapacity: 1.6M
            racks: { count: 20, powerDensity: 80k }
            accelerator: h100-sxm
            count: ~
            wattsPerAccelerator: 1275
            precision: " FP8 "
            utilization: { file: u.csv, column: u }
            price: 0.1
            carbonIntensity: { repeat: 12h, steps: [ { at: 0s, value: 300 }, { at: 6h, value: 100 } ] }
            mechanisms:
              - { name: int4, epsilonGain: 1.5, source: projected }
              - { name: phased, kappaGain: 1.1, prefill: { epsilonGain: 1.2 }, decode: { kappaGain: 1.3, epsilonGain: ~ } }
            mixes:
              - name: chat
                share: 0.5
                model: llama-3.1-70b
                context: 8k
                epsilon: 0.6
                epsilonSource: measured on a sister site
                saturationTokensPerSecond: 1.5k
                prefillShare: 0.25
                mechanisms: [ { name: adaptive, kappaGain: 1.2 } ]
              - name: batch
                share: 0.5
                kappa: 1.6e11
                epsilon: 0.5
                kernelEfficiency: 0.2
                from: ~
          - name: b
            itPower: 500k
            accelerator: b200
            count: 2k
            utilization: 0.7
            mixes:
              - { name: chat, from: { run: RUN } }
              - { name: twin, share: ~, model: llama-3.1-8b, context: 1024, from: { twin: { profile: llama-3.1-8b-h100, devices: 1, concurrency: 4, prompt: 512, output: 128, requests: 16 } } }
        """;

    [Fact]
    public void A_scenario_with_every_field_is_valid_and_reads()
    {
        using var dir = new ScenarioDirectory();
        dir.Write("u.csv", "at,u\n0,0.6\n12h,0.8\n");
        var run = Path.Combine(AppContext.BaseDirectory, "Fixtures", "plan", "measured-run");
        // Site b's two mixes have no share (one left out, one null): both the schema and the reader reject that.
        var yaml = KitchenSink.Replace("RUN", run, StringComparison.Ordinal);
        AssertInvalid(Json(yaml), ScenarioSchema);
        Assert.Throws<EnergyToTokenException>(() => dir.Read(yaml));
        yaml = yaml.Replace("{ name: chat, from:", "{ name: chat, share: 0.5, from:", StringComparison.Ordinal)
                   .Replace("share: ~", "share: 0.5", StringComparison.Ordinal);

        Schemas.AssertValid(Json(yaml), ScenarioSchema);
        var plan = dir.Read(yaml);
        Assert.Equal("2026", plan.Name);
        Assert.Equal(1.5 * 86_400, plan.HorizonSeconds);
        Assert.Equal(2, plan.Sites.Count);
        Assert.Equal(2000, plan.Sites[1].AcceleratorCount);
        Schemas.AssertValid(PlanReport.From(Planner.Evaluate(plan)).ToJson(), OutputSchema);
    }

    /// <summary>Scenarios the reader rejects for a reason the schema can see; each is the minimal valid site with one fault.</summary>
    public static TheoryData<string, string> Invalid() => new()
    {
        { "unknown top-level field", "colour: blue\n" + Site("") },
        { "unknown site field", Site("typo: 1") },
        { "unknown mix field", Site("", mix: "colour: red") },
        { "no sites", "sites: []\n" },
        { "no mixes", Site("", mixes: "mixes: []") },
        { "no accelerator", Site("", accelerator: "") },
        { "both facility and IT power", Site("facilityPower: 2M\n    pue: 1.2") },
        { "facility power without PUE", Site("facilityPower: 2M", itPower: "") },
        { "PUE below 1", Site("pue: 0.9") },
        { "PUE below 1 in a step", Site("pue: [ { at: 0h, value: 0.9 } ]") },
        { "U above 1", Site("utilization: 1.5") },
        { "U above 1 in the first step", Site("utilization: [ { at: 0h, value: 1.5 } ]") },
        { "U above 1 in a later repeated step", Site("utilization: { repeat: 24h, steps: [ { at: 0h, value: 0.5 }, { at: 12h, value: 1.5 } ] }") },
        { "a series that does not start at 0", Site("utilization: [ { at: 1h, value: 0.5 } ]") },
        { "a bad duration", "horizon: soon\n" + Site("") },
        { "a bad step time", Site("utilization: [ { at: 0h, value: 0.5 }, { at: noon, value: 0.7 } ]") },
        { "steps without repeat", Site("utilization: { steps: [ { at: 0h, value: 0.5 } ] }") },
        { "a CSV series with another field", Site("utilization: { file: u.csv, sheet: 2 }") },
        { "a step without a value", Site("utilization: [ { at: 0h } ]") },
        { "wrong type", Site("coolingCapacity: plenty") },
        { "a count of 0", Site("count: 0") },
        { "a fractional count", Site("count: 2.5") },
        { "racks without a density", Site("racks: { count: 4 }") },
        { "an unknown precision", Site("precision: fp3") },
        { "a mechanism without a name", Site("mechanisms: [ { epsilonGain: 2 } ]") },
        { "a zero gain", Site("mechanisms: [ { name: x, kappaGain: 0 } ]") },
        { "two mixes without shares", Site("", mixes: "mixes: [ { name: a, kappa: 1e11, epsilon: 0.5 }, { name: b, kappa: 1e11, epsilon: 0.5 } ]") },
        { "a share above 1", Site("", mix: "share: 1.5") },
        { "a mix without κ", Site("", mixes: "mixes: [ { name: a, epsilon: 0.5 } ]") },
        { "a mix without ε", Site("", mixes: "mixes: [ { name: a, kappa: 1e11 } ]") },
        { "R_sat and ρ both", Site("", mix: "saturationTokensPerSecond: 100, kernelEfficiency: 0.1") },
        { "ρ above 1", Site("", mix: "kernelEfficiency: 1.5") },
        { "from with both run and twin", Site("", mixes: "mixes: [ { name: a, kappa: 1e11, from: { run: r, twin: { } } } ]") },
        { "from with neither", Site("", mixes: "mixes: [ { name: a, kappa: 1e11, from: { } } ]") },
        { "an unknown twin field", Site("", mixes: "mixes: [ { name: a, kappa: 1e11, from: { twin: { gpus: 8 } } } ]") },
        { "a twin concurrency of 0", Site("", mixes: "mixes: [ { name: a, kappa: 1e11, from: { twin: { concurrency: 0 } } } ]") },
        { "a tie tolerance of 1", "tieTolerance: 1\n" + Site("") },
        { "a catalog that is not text", "catalogs: [ 1 ]\n" + Site("") },
    };

    private static string Site(string extra, string accelerator = "accelerator: h100-sxm", string itPower = "itPower: 1M",
        string mix = "", string? mixes = null)
    {
        mixes ??= $"mixes: [ {{ name: chat, kappa: 1e11, epsilon: 0.5{(mix.Length > 0 ? ", " + mix : "")} }} ]";
        var lines = new[] { "name: a", itPower, accelerator, extra, mixes }.Where(l => l.Length > 0);
        return "sites:\n  - " + string.Join("\n    ", lines) + "\n";
    }

    [Fact]
    public void The_minimal_site_the_invalid_cases_start_from_is_valid()
    {
        using var dir = new ScenarioDirectory();
        Schemas.AssertValid(Json(Site("")), ScenarioSchema);
        Assert.Single(dir.Read(Site("")).Sites);
    }

    [Theory]
    [MemberData(nameof(Invalid))]
    public void A_scenario_the_reader_rejects_fails_the_schema_too(string fault, string yaml)
    {
        using var dir = new ScenarioDirectory();
        dir.Write("u.csv", "at,u\n0,0.5\n");
        Assert.Throws<EnergyToTokenException>(() => dir.Read(yaml));
        Assert.False(string.IsNullOrEmpty(fault));
        AssertInvalid(Json(yaml), ScenarioSchema);
    }

    [Fact]
    public void The_reader_tests_scenario_with_many_problems_fails_the_schema()
    {
        var yaml = """
            colour: blue
            sites:
              - { name: north, facilityPower: 20M, itPower: 15M, pue: 0.95, accelerator: h100-sxm, mixes: [ { name: chat, kappa: 1e11, epsilon: 0.5 } ] }
            """;
        AssertInvalid(Json(yaml), ScenarioSchema);
    }

    // ---- the --json output ----

    private static readonly string[] Plans =
    [
        // Peak only (no realized compute), no price or carbon, no PUE, a count given.
        """
        horizon: 24h
        sites:
          - { name: a, itPower: 50k, accelerator: h100-sxm, count: 64, mixes: [ { name: chat, model: llama-3.1-8b, context: 2048, epsilon: 0.3 } ] }
        """,
        // Cooling and racks binding in turn, mechanisms per phase, a balanced stretch.
        """
        name: cooling and racks
        horizon: 7d
        tieTolerance: 0.05
        currency: EUR
        sites:
          - name: hot
            facilityPower: { repeat: 24h, steps: [ { at: 0h, value: 2M }, { at: 12h, value: 1.2M } ] }
            pue: { repeat: 24h, steps: [ { at: 0h, value: 1.2 }, { at: 6h, value: 1.5 } ] }
            coolingCapacity: 1.4M
            racks: { count: 12, powerDensity: 100k }
            accelerator: h100-sxm
            wattsPerAccelerator: 1400
            utilization: 0.8
            price: { repeat: 24h, steps: [ { at: 0h, value: 0.06 }, { at: 7h, value: 0.14 } ] }
            carbonIntensity: 250
            mechanisms: [ { name: fp8-kv, prefill: { epsilonGain: 1.1 }, decode: { kappaGain: 1.2, epsilonGain: 1.4 } } ]
            mixes:
              - { name: chat, share: 0.6, kappa: 1.4e11, epsilon: 0.7, saturationTokensPerSecond: 1200, prefillShare: 0.3 }
              - { name: code, share: 0.4, kappa: 2.2e11, epsilon: 1.1, kernelEfficiency: 0.15 }
        """,
    ];

    [Fact]
    public void The_json_of_several_plans_is_valid_against_the_output_schema()
    {
        using var dir = new ScenarioDirectory();
        var example = Path.Combine(Cli.ModelCommandTests.RepositoryRoot(), "examples", "plan-two-sites.yaml");
        Schemas.AssertValid(PlanReport.From(Planner.Evaluate(PlanScenarioReader.Read(example))).ToJson(), OutputSchema);
        foreach (var yaml in Plans)
        {
            Schemas.AssertValid(Json(yaml), ScenarioSchema);
            Schemas.AssertValid(PlanReport.From(Planner.Evaluate(dir.Read(yaml))).ToJson(), OutputSchema);
        }
        var run = Path.Combine(AppContext.BaseDirectory, "Fixtures", "reports", "run-result.json");
        var twin = dir.Read($$"""
            horizon: 24h
            sites:
              - { name: run, itPower: 10k, accelerator: h100-sxm, mixes: [ { name: chat, from: { run: '{{run}}' } } ] }
              - { name: twin, itPower: 10k, accelerator: h100-sxm, mixes: [ { name: chat, from: { twin: { profile: llama-3.1-8b-h100, concurrency: 8, requests: 32, prompt: 256, output: 64 } } } ] }
            """);
        Schemas.AssertValid(PlanReport.From(Planner.Evaluate(twin)).ToJson(), OutputSchema);
    }

    [Fact]
    public void The_output_schema_rejects_a_field_it_does_not_know_and_a_missing_one()
    {
        using var dir = new ScenarioDirectory();
        var json = PlanReport.From(Planner.Evaluate(dir.Read(Site("")))).ToJson();
        Schemas.AssertValid(json, OutputSchema);
        var extra = JsonNode.Parse(json)!;
        extra["sites"]![0]!["timeline"]![0]!["surprise"] = 1;
        AssertInvalid(extra.ToJsonString(), OutputSchema);
        var missing = JsonNode.Parse(json)!;
        missing["total"]!.AsObject().Remove("tokens");
        AssertInvalid(missing.ToJsonString(), OutputSchema);
        var binding = JsonNode.Parse(json)!;
        binding["sites"]![0]!["timeline"]![0]!["binding"] = "degenerate";
        AssertInvalid(binding.ToJsonString(), OutputSchema);
    }
}
