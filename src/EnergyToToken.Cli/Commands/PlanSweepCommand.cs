using System.CommandLine;
using System.Globalization;
using EnergyToToken.Catalog;
using EnergyToToken.Production;
using EnergyToToken.Reporting;
using EnergyToToken.Scenarios;

namespace EnergyToToken.Cli.Commands;

/// <summary>
/// <c>e2t plan sweep SCENARIO --axis grid|context|ladder</c>: crossover maps of one site of a plan, the binding regime
/// over a grid of P_IT and C_eff, over context length, or over the mechanism ladder (docs/plan-sweep.md).
/// </summary>
internal static class PlanSweepCommand
{
    private static readonly string[] Axes = ["grid", "context", "ladder"];

    private static readonly Argument<string> Scenario = new("SCENARIO") { Description = "A planning scenario, YAML or JSON (docs/plan.md)." };
    private static readonly Option<string> Axis = new("--axis") { Description = "What to sweep: grid (P_IT × C_eff), context (context length of a mix's model, modeled with the twin) or ladder (the site's mechanisms, one after another)." };
    private static readonly Option<string> Site = new("--site") { Description = "The site to sweep. Default: the scenario's first." };
    private static readonly Option<string> Mix = new("--mix") { Description = "--axis context: the mix whose model is swept. Default: the site's first." };
    private static readonly Option<string> ItPower = new("--it-power") { Description = "--axis grid: usable IT power FROM:TO[:N], W, log-spaced (SI prefixes allowed: 1M:100M:25). Default: 0.1× to 10× the site's mean, 25 points." };
    private static readonly Option<string> Compute = new("--compute") { Description = "--axis grid: effective compute FROM:TO[:N], FLOP/s, log-spaced (e.g. 1e17:1e19). Default: 0.1× to 10× the site's headline compute, 25 points." };
    private static readonly Option<string> Contexts = new("--contexts") { Description = "--axis context: contexts in tokens, comma-separated; k = 1024, M = 1048576 (4k,8k,128k). Default: doubling from 4k to the model's maximum." };
    private static readonly Option<string> Batch = new("--batch") { Description = "--axis context: the most sequences decoding at once (vLLM max_num_seqs); the KV cache may allow fewer. Default: 256." };
    private static readonly Option<string> Devices = new("--devices") { Description = "--axis context: devices of one twin replica (tensor parallel). Default: the smallest power of two that holds the weights and one sequence at the reference context." };
    private static readonly Option<string> ConventionOption = new("--convention") { Description = "--axis context: the compute in the compute ceiling, realized (κ(c)·R_sat(c); default) or peak (C_peak, an upper bound)." };
    private static readonly Option<string> EpsilonModelOption = new("--epsilon-model") { Description = "--axis context: anchored (the mix's ε and R_sat at its context, the twin's shape; default) or twin (the twin's values)." };
    private static readonly Option<bool> Json = new("--json") { Description = "Print the sweep as JSON (kind e2t.plan.sweep, docs/plan-sweep.md) instead of the table." };
    private static readonly Option<string> Out = new("--out") { Description = "Also write sweep.json, sweep.md and a self-contained sweep.html to this directory." };

    public static Command Create()
    {
        var command = new Command("sweep", "Crossover maps of a planned site: the binding regime over a grid of P_IT and C_eff, over context length (modeled), or over the mechanism ladder.")
        {
            Scenario, Axis, Site, Mix, ItPower, Compute, Contexts, Batch, Devices, EpsilonModelOption, ConventionOption, Json, Out,
        };
        command.SetAction(Run);
        return command;
    }

    private static int Run(ParseResult parse)
    {
        try
        {
            var (plan, site, request) = Resolve(parse);
            var report = request.Axis switch
            {
                SweepAxis.Grid => PlanSweepReport.From(plan, site, PlanSweep.Grid(plan, site, request.ItPower, request.Compute)),
                SweepAxis.Context => PlanSweepReport.From(plan, site, PlanSweep.Context(plan, site, request.Mix!, Catalogs.Load(plan.CatalogFiles), request.Context)),
                _ => PlanSweepReport.From(plan, site, PlanSweep.Ladder(plan, site)),
            };
            var json = report.ToJson();
            if (parse.GetValue(Out) is { } directory) Write(directory, report, json);
            if (parse.GetValue(Json)) parse.InvocationConfiguration.Output.WriteLine(json);
            else PlanSweepTable.Render(Output.Console(parse), report);
            return ExitCodes.Success;
        }
        catch (EnergyToTokenException e)
        {
            return Output.Fail(parse, e.Message);
        }
    }

    private sealed record Request(SweepAxis Axis, LogRange? ItPower, LogRange? Compute, PlanMix? Mix, ContextSweepOptions Context);

    /// <summary>The flags and the scenario resolved; every problem with either is reported at once.</summary>
    private static (Plan Plan, PlanSite Site, Request Request) Resolve(ParseResult parse)
    {
        var errors = new List<string>();
        SweepAxis? axis = null;
        switch (parse.GetValue(Axis)?.Trim().ToLowerInvariant())
        {
            case null:
                errors.Add($"--axis is missing: give {string.Join(", ", Axes)}.");
                break;
            case "grid": axis = SweepAxis.Grid; break;
            case "context": axis = SweepAxis.Context; break;
            case "ladder": axis = SweepAxis.Ladder; break;
            case var other:
                errors.Add($"--axis: '{other}' is not an axis; give {string.Join(", ", Axes)}.");
                break;
        }

        // Flags that belong to one axis are refused on another rather than ignored: a sweep that silently drops a
        // range someone typed would answer a different question.
        foreach (var (option, owner) in new (Option, SweepAxis)[]
        {
            (ItPower, SweepAxis.Grid), (Compute, SweepAxis.Grid), (Mix, SweepAxis.Context), (Contexts, SweepAxis.Context),
            (Batch, SweepAxis.Context), (Devices, SweepAxis.Context), (EpsilonModelOption, SweepAxis.Context), (ConventionOption, SweepAxis.Context),
        })
        {
            if (axis is { } a && a != owner && parse.GetResult(option) is { Implicit: false })
                errors.Add($"{option.Name} applies to --axis {owner.ToString().ToLowerInvariant()} only, not --axis {a.ToString().ToLowerInvariant()}.");
        }

        var itPower = Range(parse.GetValue(ItPower), ItPower.Name, errors);
        var compute = Range(parse.GetValue(Compute), Compute.Name, errors);
        var contexts = parse.GetValue(Contexts) is { } list ? ParseContexts(list, errors) : null;
        var batch = Integer(parse.GetValue(Batch), Batch.Name, errors);
        var devices = Integer(parse.GetValue(Devices), Devices.Name, errors);
        var model = EpsilonModel.Anchored;
        switch (parse.GetValue(EpsilonModelOption)?.Trim().ToLowerInvariant())
        {
            case null or "anchored": break;
            case "twin": model = EpsilonModel.Twin; break;
            case var other:
                errors.Add($"--epsilon-model: '{other}' is not a model; give anchored (the mix's ε at its context, the twin's shape) or twin (the twin's values).");
                break;
        }
        var convention = Convention.Realized;
        switch (parse.GetValue(ConventionOption)?.Trim().ToLowerInvariant())
        {
            case null or "realized": break;
            case "peak": convention = Convention.Peak; break;
            case var other:
                errors.Add($"--convention: '{other}' is not a convention; give realized (κ(c)·R_sat(c), the headline) or peak (C_peak, an upper bound).");
                break;
        }
        var options = new ContextSweepOptions
        {
            Convention = convention,
            Contexts = contexts,
            Batch = batch ?? PlanSweep.DefaultBatch,
            Devices = devices,
            EpsilonModel = model,
        };
        // Empty or non-positive contexts were already reported as written; the rest is the options' own check.
        errors.AddRange(options.Validate().Where(e => !e.StartsWith("--contexts", StringComparison.Ordinal)));

        Plan? plan = null;
        try { plan = PlanScenarioReader.Read(parse.GetValue(Scenario)!); }
        catch (EnergyToTokenException e) { errors.Add(e.Message); }
        PlanSite? site = null;
        PlanMix? mix = null;
        if (plan is not null)
        {
            try { site = PlanSweep.Site(plan, parse.GetValue(Site)); }
            catch (EnergyToTokenException e) { errors.Add(e.Message); }
            if (site is not null && axis == SweepAxis.Context)
            {
                try { mix = PlanSweep.Mix(site, parse.GetValue(Mix)); }
                catch (EnergyToTokenException e) { errors.Add(e.Message); }
            }
        }
        if (errors.Count > 0) throw new EnergyToTokenException(string.Join(Environment.NewLine, errors));
        return (plan!, site!, new Request(axis!.Value, itPower, compute, mix, options));
    }

    /// <summary>FROM:TO[:N] with SI prefixes; null when not given; problems added to <paramref name="errors"/>.</summary>
    internal static LogRange? Range(string? text, string flag, List<string> errors)
    {
        if (text is null) return null;
        var parts = text.Split(':');
        if (parts.Length is < 2 or > 3)
        {
            errors.Add($"{flag}: '{text}' is not a range; write FROM:TO or FROM:TO:N, e.g. 1M:100M:25.");
            return null;
        }
        var before = errors.Count;
        double Bound(string part)
        {
            try { return Quantities.ParseNumber(part, $"{flag} '{text}'"); }
            catch (EnergyToTokenException e) { errors.Add(e.Message); return double.NaN; }
        }
        var (from, to) = (Bound(parts[0]), Bound(parts[1]));
        var count = PlanSweep.DefaultGridPoints;
        var counted = parts.Length < 3 || int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out count);
        if (!counted)
        {
            errors.Add($"{flag} '{text}': the number of points '{parts[2]}' is not a whole number; write e.g. 1M:100M:25.");
            count = PlanSweep.DefaultGridPoints;
        }
        // What did parse is still checked, so a bad count does not hide bounds in the wrong order.
        if (!double.IsNaN(from) && !double.IsNaN(to)) errors.AddRange(new LogRange(from, to, count).Validate($"{flag} '{text}'"));
        return errors.Count > before ? null : new LogRange(from, to, count);
    }

    /// <summary>Comma-separated contexts: whole tokens, or with k (1024) or M (1048576), the way contexts are quoted.</summary>
    internal static List<int> ParseContexts(string text, List<string> errors)
    {
        var contexts = new List<int>();
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        if (parts.All(p => p.Length == 0))
        {
            errors.Add("--contexts is empty: give at least one context, e.g. 4k,8k,16k.");
            return contexts;
        }
        foreach (var part in parts)
        {
            var (digits, scale) = part.Length > 1 ? part[^1] switch
            {
                'k' or 'K' => (part[..^1], 1024L),
                'M' => (part[..^1], 1024L * 1024),
                _ => (part, 1L),
            } : (part, 1L);
            if (double.TryParse(digits, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value)
                && value * scale is var tokens && tokens >= 1 && tokens <= int.MaxValue && tokens == Math.Floor(tokens))
                contexts.Add((int)tokens);
            else
                errors.Add($"--contexts: '{part}' is not a context; write whole tokens, or with k (×1024) or M (×1048576): 4096, 4k, 128k, 1M.");
        }
        return contexts;
    }

    private static int? Integer(string? text, string flag, List<string> errors)
    {
        if (text is null) return null;
        if (int.TryParse(text.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)) return value;
        errors.Add($"{flag}: '{text}' is not a whole number.");
        return null;
    }

    private static void Write(string directory, PlanSweepReport report, string json) =>
        Output.WriteFiles(directory, "the sweep", [(PlanSweepReport.JsonFile, json + "\n"), .. report.Render()]);
}
