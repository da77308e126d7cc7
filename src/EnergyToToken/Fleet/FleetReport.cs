using System.Text.Json;
using System.Text.Json.Nodes;

namespace EnergyToToken.Fleet;

/// <summary>One group's figures (or the whole fleet's) over the range.</summary>
/// <param name="OutputTokensPerSecond">Generated tokens over the range's seconds.</param>
/// <param name="JoulesPerOutputToken">Gross: all the group's GPU energy over its generated tokens; NaN without tokens.</param>
/// <param name="JoulesPerToken">Gross, over prompt plus generated tokens.</param>
/// <param name="IdleWatts">Mean IT power in steps without tokens; null where every step had tokens.</param>
/// <param name="DynamicJoules">Energy above idle: gross − idle × seconds; null without an idle estimate.</param>
/// <param name="MeanU">Mean SM activity of the group's GPUs over the steps that have it; NaN without it.</param>
/// <param name="BindingShares">Each constraint's share of the steps.</param>
/// <param name="EnergyJoules">Energy inside the report's boundary (<see cref="FleetOptions.Boundary"/>): the GPUs', or the nodes'.</param>
/// <param name="Binding">The binding constraint in each step (serialized in the timeline, each step naming each group's).</param>
public sealed record FleetGroup(
    string Name, IReadOnlyList<string> Instances, int Gpus, double PromptTokens, double OutputTokens, double EnergyJoules,
    double OutputTokensPerSecond, double TokensPerSecond, double JoulesPerOutputToken, double JoulesPerToken,
    double? IdleWatts, double? DynamicJoules, double? DynamicJoulesPerOutputToken, double MeanU,
    double MeanItWatts, double PeakItWatts, double MeanFacilityWatts,
    IReadOnlyDictionary<FleetConstraint, double> BindingShares, IReadOnlyList<FleetConstraint> Binding)
{
    /// <summary>The constraint that binds most of the time.</summary>
    public FleetConstraint MostlyBinding => BindingShares.OrderByDescending(p => p.Value).ThenBy(p => p.Key).First().Key;

    /// <summary>The GPUs' own energy (DCGM), J: the same as <see cref="EnergyJoules"/> unless the boundary is the node's.</summary>
    public double AcceleratorEnergyJoules { get; init; }

    /// <summary>The facility power budget this group is judged against: its own, else the fleet's; null without one.</summary>
    public double? BudgetWatts { get; init; }

    /// <summary>Prompt tokens in each step.</summary>
    public IReadOnlyList<double> PromptTokensPerStep { get; init; } = [];

    /// <summary>Output tokens in each step.</summary>
    public IReadOnlyList<double> OutputTokensPerStep { get; init; } = [];

    /// <summary>Mean SM activity of the group's GPUs in each step; NaN where none reported.</summary>
    public IReadOnlyList<double> UPerStep { get; init; } = [];
}

/// <summary>One step of the fleet timeline, (Start, End].</summary>
public sealed record FleetStep(
    double Start, double End, double PromptTokens, double OutputTokens, double EnergyJoules, double ItWatts,
    double FacilityWatts, double U, FleetConstraint Binding);

/// <summary>The fleet evaluation: the options it ran with, the fleet and each group, the timeline, and warnings.</summary>
public sealed record FleetReport(
    FleetOptions Options, double From, double To, string GroupLabel, FleetGroup Fleet, IReadOnlyList<FleetGroup> Groups,
    IReadOnlyList<FleetStep> Timeline, IReadOnlyList<string> Warnings)
{
    public const string Kind = "e2t.fleet";

    public const int SchemaVersion = 1;

    /// <summary>The report as indented JSON (docs/schemas/e2t.fleet.v1.schema.json); NaN is written as null.</summary>
    public string ToJson()
    {
        var root = new JsonObject
        {
            ["schemaVersion"] = SchemaVersion,
            ["kind"] = Kind,
            ["prometheus"] = Options.Prometheus.ToString(),
            ["from"] = From,
            ["to"] = To,
            ["stepSeconds"] = Options.Step,
            ["match"] = Options.Match,
            ["groupBy"] = GroupLabel,
            ["boundary"] = Options.Boundary,
            ["pue"] = Options.PueQuery is null ? Options.Pue : null,
            ["pueQuery"] = Options.PueQuery,
            ["facilityBudgetWatts"] = Options.FacilityBudgetWatts,
            ["saturation"] = Options.Saturation,
            ["tieTolerance"] = Options.TieTolerance,
            ["metrics"] = new JsonObject
            {
                ["energy"] = Options.Metrics.Energy,
                ["power"] = Options.Metrics.Power,
                ["smActive"] = Options.Metrics.SmActive,
                ["promptTokens"] = Options.Metrics.PromptTokens,
                ["generationTokens"] = Options.Metrics.GenerationTokens,
                ["nodeEnergy"] = Options.Metrics.NodeEnergy,
                ["nodePower"] = Options.Metrics.NodePower,
            },
            ["fleet"] = Group(Fleet),
            ["groups"] = new JsonArray([.. Groups.Select(g => (JsonNode)Group(g))]),
            ["timeline"] = new JsonArray([.. Timeline.Select((s, k) => (JsonNode)new JsonObject
            {
                ["start"] = s.Start,
                ["end"] = s.End,
                ["promptTokens"] = s.PromptTokens,
                ["outputTokens"] = s.OutputTokens,
                ["energyJoules"] = s.EnergyJoules,
                ["itWatts"] = s.ItWatts,
                ["facilityWatts"] = s.FacilityWatts,
                ["u"] = Number(s.U),
                ["binding"] = Name(s.Binding),
                ["groups"] = new JsonObject(Groups.Select(g => KeyValuePair.Create(g.Name, (JsonNode?)Name(g.Binding[k])))),
            })]),
            ["warnings"] = new JsonArray([.. Warnings.Select(w => (JsonNode)w)]),
        };
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }

    public static string Name(FleetConstraint c) => c switch
    {
        FleetConstraint.NoData => "no-data",
        _ => c.ToString().ToLowerInvariant(),
    };

    private static JsonObject Group(FleetGroup g) => new()
    {
        ["name"] = g.Name,
        ["instances"] = new JsonArray([.. g.Instances.Select(i => (JsonNode)i)]),
        ["gpus"] = g.Gpus,
        ["promptTokens"] = g.PromptTokens,
        ["outputTokens"] = g.OutputTokens,
        ["energyJoules"] = g.EnergyJoules,
        ["acceleratorEnergyJoules"] = g.AcceleratorEnergyJoules,
        ["outputTokensPerSecond"] = g.OutputTokensPerSecond,
        ["tokensPerSecond"] = g.TokensPerSecond,
        ["joulesPerOutputToken"] = Number(g.JoulesPerOutputToken),
        ["joulesPerToken"] = Number(g.JoulesPerToken),
        ["idleWatts"] = g.IdleWatts,
        ["dynamicJoules"] = g.DynamicJoules,
        ["dynamicJoulesPerOutputToken"] = g.DynamicJoulesPerOutputToken,
        ["meanU"] = Number(g.MeanU),
        ["meanItWatts"] = g.MeanItWatts,
        ["peakItWatts"] = g.PeakItWatts,
        ["meanFacilityWatts"] = g.MeanFacilityWatts,
        ["budgetWatts"] = g.BudgetWatts,
        ["binding"] = Name(g.MostlyBinding),
        ["bindingShares"] = new JsonObject(g.BindingShares.Select(p => KeyValuePair.Create(Name(p.Key), (JsonNode?)p.Value))),
    };

    private static double? Number(double value) => double.IsNaN(value) || double.IsInfinity(value) ? null : value;
}
