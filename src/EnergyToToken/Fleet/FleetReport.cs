using System.Text.Json;

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

    /// <summary>
    /// The report as indented JSON (docs/schemas/e2t.fleet.v1.schema.json), written straight to UTF-8 rather than through
    /// a node tree: a week at 1 s is 604,800 steps. A quantity that cannot be computed (NaN, ±Inf) is null.
    /// </summary>
    public string ToJson()
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            var o = Options;
            w.WriteStartObject();
            w.WriteNumber("schemaVersion", SchemaVersion);
            w.WriteString("kind", Kind);
            w.WriteString("prometheus", o.Prometheus.ToString());
            Number(w, "from", From);
            Number(w, "to", To);
            Number(w, "stepSeconds", o.Step);
            w.WriteString("match", o.Match);
            w.WriteString("groupBy", GroupLabel);
            w.WriteString("boundary", o.Boundary);
            Number(w, "pue", o.PueQuery is null ? o.Pue : null);
            w.WriteString("pueQuery", o.PueQuery);
            Number(w, "facilityBudgetWatts", o.FacilityBudgetWatts);
            w.WriteStartObject("groupBudgets");
            foreach (var (group, watts) in o.GroupBudgets.OrderBy(p => p.Key, StringComparer.Ordinal)) Number(w, group, watts);
            w.WriteEndObject();
            Number(w, "saturation", o.Saturation);
            Number(w, "tieTolerance", o.TieTolerance);
            w.WriteStartObject("metrics");
            w.WriteString("energy", o.Metrics.Energy);
            w.WriteString("power", o.Metrics.Power);
            w.WriteString("smActive", o.Metrics.SmActive);
            w.WriteString("promptTokens", o.Metrics.PromptTokens);
            w.WriteString("generationTokens", o.Metrics.GenerationTokens);
            w.WriteString("nodeEnergy", o.Metrics.NodeEnergy);
            w.WriteString("nodePower", o.Metrics.NodePower);
            w.WriteEndObject();
            w.WritePropertyName("fleet");
            Group(w, Fleet);
            w.WriteStartArray("groups");
            foreach (var g in Groups) Group(w, g);
            w.WriteEndArray();
            w.WriteStartArray("timeline");
            for (var k = 0; k < Timeline.Count; k++)
            {
                var s = Timeline[k];
                w.WriteStartObject();
                Number(w, "start", s.Start);
                Number(w, "end", s.End);
                Number(w, "promptTokens", s.PromptTokens);
                Number(w, "outputTokens", s.OutputTokens);
                Number(w, "energyJoules", s.EnergyJoules);
                Number(w, "itWatts", s.ItWatts);
                Number(w, "facilityWatts", s.FacilityWatts);
                Number(w, "u", s.U);
                w.WriteString("binding", Name(s.Binding));
                w.WriteStartObject("groups");
                foreach (var g in Groups) w.WriteString(g.Name, Name(g.Binding[k]));
                w.WriteEndObject();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("warnings");
            foreach (var warning in Warnings) w.WriteStringValue(warning);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    public static string Name(FleetConstraint c) => c switch
    {
        FleetConstraint.NoData => "no-data",
        _ => c.ToString().ToLowerInvariant(),
    };

    private static void Group(Utf8JsonWriter w, FleetGroup g)
    {
        w.WriteStartObject();
        w.WriteString("name", g.Name);
        w.WriteStartArray("instances");
        foreach (var i in g.Instances) w.WriteStringValue(i);
        w.WriteEndArray();
        w.WriteNumber("gpus", g.Gpus);
        Number(w, "promptTokens", g.PromptTokens);
        Number(w, "outputTokens", g.OutputTokens);
        Number(w, "energyJoules", g.EnergyJoules);
        Number(w, "acceleratorEnergyJoules", g.AcceleratorEnergyJoules);
        Number(w, "outputTokensPerSecond", g.OutputTokensPerSecond);
        Number(w, "tokensPerSecond", g.TokensPerSecond);
        Number(w, "joulesPerOutputToken", g.JoulesPerOutputToken);
        Number(w, "joulesPerToken", g.JoulesPerToken);
        Number(w, "idleWatts", g.IdleWatts);
        Number(w, "dynamicJoules", g.DynamicJoules);
        Number(w, "dynamicJoulesPerOutputToken", g.DynamicJoulesPerOutputToken);
        Number(w, "meanU", g.MeanU);
        Number(w, "meanItWatts", g.MeanItWatts);
        Number(w, "peakItWatts", g.PeakItWatts);
        Number(w, "meanFacilityWatts", g.MeanFacilityWatts);
        Number(w, "budgetWatts", g.BudgetWatts);
        w.WriteString("binding", Name(g.MostlyBinding));
        w.WriteStartObject("bindingShares");
        foreach (var (c, share) in g.BindingShares) Number(w, Name(c), share);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary>A number, or null where it is missing or not finite (JSON has no NaN or infinity).</summary>
    private static void Number(Utf8JsonWriter w, string name, double? value)
    {
        if (value is { } v && double.IsFinite(v)) w.WriteNumber(name, v);
        else w.WriteNull(name);
    }
}
