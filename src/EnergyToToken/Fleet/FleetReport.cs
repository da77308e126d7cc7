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
/// <param name="Binding">The binding constraint in each step (not serialized per group: the timeline carries it).</param>
public sealed record FleetGroup(
    string Name, IReadOnlyList<string> Instances, int Gpus, double PromptTokens, double OutputTokens, double EnergyJoules,
    double OutputTokensPerSecond, double TokensPerSecond, double JoulesPerOutputToken, double JoulesPerToken,
    double? IdleWatts, double? DynamicJoules, double? DynamicJoulesPerOutputToken, double MeanU,
    double MeanItWatts, double PeakItWatts, double MeanFacilityWatts,
    IReadOnlyDictionary<FleetConstraint, double> BindingShares, IReadOnlyList<FleetConstraint> Binding)
{
    /// <summary>The constraint that binds most of the time.</summary>
    public FleetConstraint MostlyBinding => BindingShares.OrderByDescending(p => p.Value).ThenBy(p => p.Key).First().Key;
}

/// <summary>One step of the fleet timeline, (Start, End].</summary>
public sealed record FleetStep(
    double Start, double End, double PromptTokens, double OutputTokens, double EnergyJoules, double ItWatts,
    double FacilityWatts, double U, FleetConstraint Binding, IReadOnlyDictionary<string, FleetConstraint> GroupBinding);

/// <summary>The fleet evaluation: the options it ran with, the fleet and each group, the timeline, and warnings.</summary>
public sealed record FleetReport(
    FleetOptions Options, double From, double To, string GroupLabel, FleetGroup Fleet, IReadOnlyList<FleetGroup> Groups,
    IReadOnlyList<FleetStep> Timeline, IReadOnlyList<string> Warnings)
{
    public const string Schema = "e2t.fleet.v1";

    /// <summary>The report as indented JSON; NaN is written as null.</summary>
    public string ToJson()
    {
        var root = new JsonObject
        {
            ["schema"] = Schema,
            ["prometheus"] = Options.Prometheus.ToString(),
            ["from"] = From,
            ["to"] = To,
            ["step_seconds"] = Options.Step,
            ["match"] = Options.Match,
            ["group_by"] = GroupLabel,
            ["pue"] = Options.PueQuery is null ? Options.Pue : null,
            ["pue_query"] = Options.PueQuery,
            ["facility_budget_watts"] = Options.FacilityBudgetWatts,
            ["saturation"] = Options.Saturation,
            ["tie_tolerance"] = Options.TieTolerance,
            ["fleet"] = Group(Fleet),
            ["groups"] = new JsonArray([.. Groups.Select(g => (JsonNode)Group(g))]),
            ["timeline"] = new JsonArray([.. Timeline.Select(s => (JsonNode)new JsonObject
            {
                ["start"] = s.Start,
                ["end"] = s.End,
                ["prompt_tokens"] = s.PromptTokens,
                ["output_tokens"] = s.OutputTokens,
                ["energy_joules"] = s.EnergyJoules,
                ["it_watts"] = s.ItWatts,
                ["facility_watts"] = s.FacilityWatts,
                ["u"] = Number(s.U),
                ["binding"] = Name(s.Binding),
                ["groups"] = new JsonObject(s.GroupBinding.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)Name(p.Value)))),
            })]),
            ["warnings"] = new JsonArray([.. Warnings.Select(w => (JsonNode)w)]),
        };
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
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
        ["prompt_tokens"] = g.PromptTokens,
        ["output_tokens"] = g.OutputTokens,
        ["energy_joules"] = g.EnergyJoules,
        ["output_tokens_per_second"] = g.OutputTokensPerSecond,
        ["tokens_per_second"] = g.TokensPerSecond,
        ["joules_per_output_token"] = Number(g.JoulesPerOutputToken),
        ["joules_per_token"] = Number(g.JoulesPerToken),
        ["idle_watts"] = g.IdleWatts,
        ["dynamic_joules"] = g.DynamicJoules,
        ["dynamic_joules_per_output_token"] = g.DynamicJoulesPerOutputToken,
        ["mean_u"] = Number(g.MeanU),
        ["mean_it_watts"] = g.MeanItWatts,
        ["peak_it_watts"] = g.PeakItWatts,
        ["mean_facility_watts"] = g.MeanFacilityWatts,
        ["binding"] = Name(g.MostlyBinding),
        ["binding_shares"] = new JsonObject(g.BindingShares.Select(p => KeyValuePair.Create(Name(p.Key), (JsonNode?)p.Value))),
    };

    private static double? Number(double value) => double.IsNaN(value) || double.IsInfinity(value) ? null : value;
}
