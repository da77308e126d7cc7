using System.Text.Json;
using System.Text.Json.Nodes;
using EnergyToToken.Catalog;
using EnergyToToken.Production;
using EnergyToToken.Reporting;
using EnergyToToken.Twin;

namespace EnergyToToken.Scenarios;

/// <summary>
/// Reads a planning scenario (YAML or JSON; docs/plan.md, schema in docs/schemas/e2t.plan-scenario.v1.schema.json)
/// into a <see cref="Plan"/>: catalog names looked up, ε taken from a run or the twin where asked, accelerators sized
/// from the budget where no count is given. Every problem in the file is reported at once, each with its field's path.
/// </summary>
public static class PlanScenarioReader
{
    /// <summary>Default closed-loop concurrency when ε and R_sat come from the twin.</summary>
    public const int DefaultTwinConcurrency = 64;

    /// <summary>The most accelerators a site may have (given or sized): beyond it a unit was surely mistyped.</summary>
    public const int MaxAccelerators = 1_000_000_000;

    /// <summary>Default mean output length when ε and R_sat come from the twin.</summary>
    public const int DefaultTwinOutputTokens = 256;

    private static readonly string[] TopFields = ["name", "horizon", "tieTolerance", "currency", "catalogs", "sites"];
    private static readonly string[] SiteFields =
    [
        "name", "facilityPower", "itPower", "pue", "coolingCapacity", "racks", "accelerator", "count", "wattsPerAccelerator",
        "precision", "boundaryFactor", "utilization", "price", "carbonIntensity", "mechanisms", "mixes",
    ];
    private static readonly string[] MixFields =
    [
        "name", "share", "model", "context", "kappa", "epsilon", "epsilonSource", "saturationTokensPerSecond",
        "kernelEfficiency", "from", "prefillShare", "mechanisms",
    ];

    /// <summary>Reads and resolves <paramref name="path"/>; throws one <see cref="EnergyToTokenException"/> listing every problem.</summary>
    public static Plan Read(string path)
    {
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new EnergyToTokenException($"Cannot read the scenario '{path}': {e.Message} Give the path of a YAML or JSON scenario (docs/plan.md).", e);
        }
        var yaml = !path.EndsWith(".json", StringComparison.OrdinalIgnoreCase);
        return Parse(text, yaml, Path.GetDirectoryName(Path.GetFullPath(path))!, path);
    }

    /// <summary>Resolves a scenario's text; relative paths in it are taken from <paramref name="baseDirectory"/>.</summary>
    public static Plan Parse(string text, bool yaml, string baseDirectory, string origin)
    {
        JsonNode? root;
        try
        {
            root = yaml ? StructuredFile.YamlToJson(text)
                : JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (Exception e) when (e is YamlDotNet.Core.YamlException or JsonException)
        {
            throw new EnergyToTokenException($"'{origin}' is not valid {(yaml ? "YAML" : "JSON")}: {e.Message}", e);
        }
        var fields = new ScenarioFields(baseDirectory);
        var plan = Resolve(root, fields);
        if (fields.Errors.Count > 0)
        {
            throw new EnergyToTokenException(
                $"The scenario '{origin}' has {fields.Errors.Count} problem{(fields.Errors.Count == 1 ? "" : "s")}:{Environment.NewLine}{string.Join(Environment.NewLine, fields.Errors)}{Environment.NewLine}See docs/plan.md for the format and examples/plan-*.yaml for examples.");
        }
        return plan!;
    }

    private static Plan? Resolve(JsonNode? root, ScenarioFields f)
    {
        // Top-level fields are named bare (horizon, sites), so an unknown one is too; "(scenario)" names only the whole file.
        var top = f.Object(root, root is JsonObject ? "" : "(scenario)", TopFields);
        if (top is null)
        {
            if (!f.Failed("(scenario)")) f.Error("(scenario)", "is empty; it needs at least sites: [...] (see docs/plan.md).");
            return null;
        }
        var horizon = f.Duration(top, "", "horizon")?.TotalSeconds ?? Planner.YearSeconds;
        if (!(horizon > 0)) f.Error("horizon", $"must be a positive duration (was {ScenarioFields.Format(horizon)} s), e.g. 365d.");
        var tie = f.Number(top, "", "tieTolerance", "") ?? 0.01;
        if (!(tie is >= 0 and < 1)) f.Error("tieTolerance", $"must be in [0, 1) (was {ScenarioFields.Format(tie)}): the relative gap between the ceilings reported as balanced, e.g. 0.01.");

        var catalogFiles = f.List(top, "", "catalogs").Select(c => (Text: c.Node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null, c.Path)).ToList();
        foreach (var c in catalogFiles.Where(c => c.Text is null)) f.Error(c.Path, "must be the path of a catalog file.");
        Catalogs? catalogs = null;
        try { catalogs = Catalogs.Load(catalogFiles.Where(c => c.Text is not null).Select(c => Path.Combine(f.BaseDirectory, c.Text!))); }
        catch (EnergyToTokenException e) { f.Error("catalogs", e.Message); }

        var sites = new List<PlanSite>();
        var notes = new List<string>();
        var siteNodes = f.List(top, "", "sites");
        if (siteNodes.Count == 0 && !f.Failed("sites")) f.Error("sites", "is missing or empty: give at least one site with its power, accelerators and mixes.");
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (node, path) in siteNodes)
        {
            var site = Site(node, path, f, catalogs, horizon > 0 ? horizon : Planner.YearSeconds, notes);
            if (site is null) continue;
            if (!names.Add(site.Name)) f.Error(ScenarioFields.Join(path, "name"), $"'{site.Name}' is the name of an earlier site too; names must be unique.");
            sites.Add(site);
        }
        return new Plan
        {
            Name = f.Text(top, "", "name"),
            HorizonSeconds = horizon,
            TieTolerance = tie,
            Currency = f.Text(top, "", "currency") ?? "USD",
            Sites = sites,
            Notes = notes,
            CatalogFiles = [.. catalogFiles.Where(c => c.Text is not null).Select(c => Path.Combine(f.BaseDirectory, c.Text!))],
        };
    }

    private static PlanSite? Site(JsonNode? node, string path, ScenarioFields f, Catalogs? catalogs, double horizon, List<string> notes)
    {
        var o = f.Object(node, path, SiteFields);
        if (o is null)
        {
            if (!f.Failed(path)) f.Error(path, "must be a site: a mapping with name, power, accelerator and mixes.");
            return null;
        }
        string At(string field) => ScenarioFields.Join(path, field);
        var errorsBefore = f.Errors.Count;

        var name = f.Text(o, path, "name");
        if (name is null && !f.Failed(At("name"))) f.Error(At("name"), "is missing: name the site, e.g. name: campus-a.");
        var who = name ?? path;

        var facility = f.Series(o, path, "facilityPower", "W", horizon);
        var it = f.Series(o, path, "itPower", "W", horizon);
        var pue = f.Series(o, path, "pue", "", horizon);
        f.Check(facility, At("facilityPower"), w => w > 0, "must be a positive power in W at every step");
        f.Check(it, At("itPower"), w => w > 0, "must be a positive power in W at every step");
        f.Check(pue, At("pue"), p => p >= 1, "must be at least 1 at every step: it is facility power over IT power (typically 1.1 to 1.6)");
        if (facility is not null && it is not null)
            f.Error(At("itPower"), "and facilityPower are both given; give one: the facility power with its PUE (P_IT = P_facility / PUE), or the IT power budget.");
        if (facility is not null && pue is null && !f.Failed(At("pue")))
            f.Error(At("pue"), "is missing: a facility power needs its PUE to give the IT power (P_IT = P_facility / PUE), e.g. pue: 1.3.");

        var cooling = f.Number(o, path, "coolingCapacity", "W");
        if (cooling is { } c && !(c > 0)) f.Error(At("coolingCapacity"), $"must be a positive power in W (was {ScenarioFields.Format(c)}): the IT heat the site can reject.");
        var racks = f.Object(o["racks"], At("racks"), "count", "powerDensity");
        var rackCount = f.Integer(racks, At("racks"), "count");
        var rackDensity = f.Number(racks, At("racks"), "powerDensity", "W per rack");
        if (racks is not null)
        {
            if (rackCount is null && !f.Failed(At("racks.count"))) f.Error(At("racks.count"), "is missing: how many racks the site has.");
            else if (rackCount is < 1) f.Error(At("racks.count"), $"must be at least 1 (was {rackCount}).");
            if (rackDensity is null && !f.Failed(At("racks.powerDensity"))) f.Error(At("racks.powerDensity"), "is missing: the IT power one rack can take, W (e.g. 120k).");
            else if (rackDensity is { } d && !(d > 0)) f.Error(At("racks.powerDensity"), $"must be a positive power in W (was {ScenarioFields.Format(d)}).");
        }

        var precision = Precisions.Normalize(f.Text(o, path, "precision") ?? ModelScenarioResolver.DefaultPrecision);
        if (!Precisions.IsKnown(precision)) f.Error(At("precision"), $"'{precision}' is not a precision; known: {string.Join(", ", Precisions.Names)}.");
        Accelerator? accelerator = null;
        var acceleratorName = f.Text(o, path, "accelerator");
        if (acceleratorName is null && !f.Failed(At("accelerator")))
            f.Error(At("accelerator"), "is missing: name a catalog accelerator (e2t catalog lists them), e.g. accelerator: h100-sxm.");
        else if (acceleratorName is not null && catalogs is not null)
        {
            accelerator = catalogs.Accelerators.FirstOrDefault(a => string.Equals(a.Name, acceleratorName.Trim(), StringComparison.OrdinalIgnoreCase));
            if (accelerator is null)
                f.Error(At("accelerator"), $"'{acceleratorName}' is not in the catalog; known accelerators: {string.Join(", ", catalogs.Accelerators.Select(a => a.Name))}. Add your own in a catalog file listed under catalogs: (docs/catalogs.md).");
        }
        double? peak = null;
        if (accelerator is not null && Precisions.IsKnown(precision))
        {
            try { peak = accelerator.PeakFlopPerSecond(precision); }
            catch (EnergyToTokenException e) { f.Error(At("precision"), e.Message); }
        }
        var watts = f.Number(o, path, "wattsPerAccelerator", "W") ?? accelerator?.PowerLimitWatts;
        if (watts is { } w0 && !(w0 > 0)) f.Error(At("wattsPerAccelerator"), $"must be a positive power in W (was {ScenarioFields.Format(w0)}).");
        var count = f.Integer(o, path, "count");
        if (count is < 1) f.Error(At("count"), $"must be at least 1 (was {count}); leave it out to fit as many accelerators as the power budget allows.");
        else if (count > MaxAccelerators) f.Error(At("count"), $"must be at most {MaxAccelerators:N0} (was {count:N0}).");
        if (count is null && facility is null && it is null && !f.Failed(At("count")) && !f.Failed(At("facilityPower")) && !f.Failed(At("itPower")))
            f.Error(At("count"), "is missing and there is no power budget to size it from: give count, or facilityPower (with pue) or itPower.");

        var boundary = f.Number(o, path, "boundaryFactor", "") ?? 1;
        if (!(boundary >= 1)) f.Error(At("boundaryFactor"), $"must be at least 1 (was {ScenarioFields.Format(boundary)}): it carries ε from its measurement boundary out to the wider boundary of the IT budget (node IT power ÷ accelerator power, e.g. 1.4).");
        var utilization = f.Series(o, path, "utilization", "", horizon) ?? Series.Constant(1);
        f.Check(utilization, At("utilization"), u => u is > 0 and <= 1, "must be in (0, 1] at every step: the share of the ceiling turned into tokens (a fraction, not a percentage)");
        var price = f.Series(o, path, "price", "currency per kWh", horizon);
        f.Check(price, At("price"), p => p >= 0, "must be at least 0 at every step");
        var carbon = f.Series(o, path, "carbonIntensity", "gCO2e per kWh", horizon);
        f.Check(carbon, At("carbonIntensity"), g => g >= 0, "must be at least 0 at every step");
        var mechanisms = Mechanisms(o, path, f);

        var mixes = new List<PlanMix>();
        var mixNodes = f.List(o, path, "mixes");
        if (mixNodes.Count == 0 && !f.Failed(At("mixes"))) f.Error(At("mixes"), "is missing or empty: give at least one model and workload mix.");
        var shares = new List<double>();
        var mixNames = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (mixNode, mixPath) in mixNodes)
        {
            var (mix, share) = Mix(mixNode, mixPath, f, catalogs, accelerator, precision, mixNodes.Count, who, notes);
            // Checked on the name as written, so a duplicate shows even beside a mix with other problems.
            if (mixNode is JsonObject written && written["name"] is JsonValue n && n.GetValueKind() == JsonValueKind.String && !mixNames.Add(n.GetValue<string>()))
                f.Error(ScenarioFields.Join(mixPath, "name"), $"'{n.GetValue<string>()}' is the name of an earlier mix at this site too; names must be unique within a site.");
            if (mix is not null) mixes.Add(mix);
            if (share is { } w) shares.Add(w);
        }
        // Checked on every share that was readable, even where its mix has other problems, so all come out at once.
        if (shares.Count == mixNodes.Count && shares.Count > 0 && Math.Abs(shares.Sum() - 1) > 1e-6)
            f.Error(At("mixes"), $"the shares add up to {ScenarioFields.Format(shares.Sum())}; they are each mix's share of the site's tokens and must add up to 1.");

        if (f.Errors.Count > errorsBefore || accelerator is null || peak is null || watts is null) return null;
        var site = new PlanSite
        {
            Name = name!,
            FacilityPowerWatts = facility,
            ItPowerWatts = it,
            Pue = pue,
            CoolingCapacityWatts = cooling,
            RackCount = rackCount,
            RackPowerDensityWatts = rackDensity,
            Accelerator = accelerator.Name,
            PeakPerDeviceFlopPerSecond = peak.Value,
            AcceleratorCount = count ?? 0,
            CountFromBudget = count is null,
            WattsPerAccelerator = watts.Value,
            Precision = precision,
            BoundaryFactor = boundary,
            Utilization = utilization,
            PricePerKilowattHour = price,
            CarbonGramsPerKilowattHour = carbon,
            Mechanisms = mechanisms,
            Mixes = mixes,
        };
        if (count is null)
        {
            var sized = Planner.AcceleratorsForBudget(site, horizon);
            if (sized < 1)
            {
                f.Error(At("count"), $"cannot be sized: the usable IT power at its highest does not take one accelerator of {ScenarioFields.Format(watts.Value)} W. Raise the budget or give count.");
                return null;
            }
            if (sized > MaxAccelerators)
            {
                f.Error(At("count"), $"would be {ScenarioFields.Format(sized)} accelerators of {ScenarioFields.Format(watts.Value)} W, more than {MaxAccelerators:N0}: check the budget's unit (W, with SI prefixes: 20M is 20 MW) or give count.");
                return null;
            }
            site = site with { AcceleratorCount = sized };
        }
        if (pue is null) notes.Add($"Site '{who}': no PUE given, so energy, cost and carbon are at the IT boundary (PUE 1), not the facility's.");
        return site;
    }

    /// <summary>One mix, or null when it has problems; and its share of the site's tokens when that could be read.</summary>
    private static (PlanMix? Mix, double? Share) Mix(JsonNode? node, string path, ScenarioFields f, Catalogs? catalogs, Accelerator? accelerator,
        string precision, int mixCount, string site, List<string> notes)
    {
        var o = f.Object(node, path, MixFields);
        if (o is null)
        {
            if (!f.Failed(path)) f.Error(path, "must be a mix: a mapping with name, model (or kappa) and epsilon (or from).");
            return (null, null);
        }
        string At(string field) => ScenarioFields.Join(path, field);
        var errorsBefore = f.Errors.Count;
        var name = f.Text(o, path, "name");
        if (name is null && !f.Failed(At("name"))) f.Error(At("name"), "is missing: name the mix, e.g. name: chat.");

        var share = f.Number(o, path, "share", "") ?? (mixCount == 1 ? 1 : double.NaN);
        if (double.IsNaN(share) && !f.Failed(At("share"))) f.Error(At("share"), $"is missing: with {mixCount} mixes each needs its share of the site's tokens (they add up to 1).");
        else if (!double.IsNaN(share) && !(share is > 0 and <= 1)) f.Error(At("share"), $"must be in (0, 1] (was {ScenarioFields.Format(share)}): the mix's share of the site's tokens.");

        // Measured or simulated inputs first, so declared fields can override them.
        var context = f.Integer(o, path, "context");
        var from = Source(o, path, f, catalogs, accelerator, precision, notes, site, name, context);

        ModelArchitecture? model = null;
        var declaredModel = f.Text(o, path, "model");
        var kappa = f.Number(o, path, "kappa", "FLOP per token");
        if (kappa is { } k && !(k > 0)) f.Error(At("kappa"), $"must be a positive number of FLOP per token (was {ScenarioFields.Format(k)}).");
        if (declaredModel is not null && catalogs is not null)
        {
            model = catalogs.Models.FirstOrDefault(m => string.Equals(m.Name, declaredModel.Trim(), StringComparison.OrdinalIgnoreCase));
            if (model is null)
                f.Error(At("model"), $"'{declaredModel}' is not in the catalog; known models: {string.Join(", ", catalogs.Models.Select(m => m.Name))}. Add your own in a catalog file listed under catalogs: (docs/catalogs.md), or give kappa.");
        }
        else if (declaredModel is null && kappa is null && context is null && from?.Kappa is { } sourceKappa)
        {
            // Nothing declared: the source's own κ at its own context (a run's measured κ at its mean context).
            kappa = sourceKappa;
            context = from.Context;
            model = from.Model is { } m && catalogs is not null
                ? catalogs.Models.FirstOrDefault(c => string.Equals(c.Name, m, StringComparison.OrdinalIgnoreCase))
                : null;
        }
        else if (from?.Model is { } sourceModel && catalogs is not null)
        {
            // A context or nothing declared over a source's model: κ from the catalog at the declared context.
            model = catalogs.Models.FirstOrDefault(c => string.Equals(c.Name, sourceModel, StringComparison.OrdinalIgnoreCase));
            if (model is null && kappa is null)
                f.Error(At("kappa"), $"is missing: the source's model '{sourceModel}' is not in the catalog, so κ at context {context} cannot be computed; give kappa, or add the model in a catalog file.");
        }
        if (kappa is null && model is not null)
        {
            context ??= from?.Context is { } c0 && c0 <= model.MaxContext ? c0 : model.MaxContext;
            if (context is < 1 || context > model.MaxContext)
                f.Error(At("context"), $"{context} is outside 1..{model.MaxContext}, the context {model.DisplayName ?? model.Name} supports.");
            else kappa = model.KappaFlopPerToken(context!.Value);
        }
        if (kappa is null && !f.Failed(At("kappa")) && !f.Failed(At("model")) && !f.Failed(At("context")) && !f.FailedUnder(At("from")))
            f.Error(At("kappa"), "is missing: give model (a catalog name, with context) or kappa in FLOP per token.");

        var epsilon = f.Number(o, path, "epsilon", "J per token");
        if (epsilon is { } e0 && !(e0 > 0)) f.Error(At("epsilon"), $"must be a positive number of J per token (was {ScenarioFields.Format(e0)}), measured at the operating point inside a stated boundary.");
        var origin = epsilon is null ? from?.Origin ?? EpsilonOrigin.Declared : EpsilonOrigin.Declared;
        var epsilonSource = f.Text(o, path, "epsilonSource") ?? (epsilon is null ? from?.EpsilonSource : null) ?? "declared in the scenario";
        epsilon ??= from?.Epsilon;
        if (epsilon is null && !f.Failed(At("epsilon")) && !f.FailedUnder(At("from")))
            f.Error(At("epsilon"), "is missing: give epsilon in J per token (measured at the operating point), or from: {run: RUN_DIR} or from: {twin: {...}}.");

        var rate = f.Number(o, path, "saturationTokensPerSecond", "tokens/s per accelerator");
        if (rate is { } r && !(r > 0)) f.Error(At("saturationTokensPerSecond"), $"must be a positive token rate per accelerator (was {ScenarioFields.Format(r)}).");
        var rho = f.Number(o, path, "kernelEfficiency", "");
        if (rho is { } q && !(q is > 0 and <= 1)) f.Error(At("kernelEfficiency"), $"must be in (0, 1] (was {ScenarioFields.Format(q)}): ρ = C_eff / C_peak.");
        if (rate is not null && rho is not null) f.Error(At("kernelEfficiency"), "and saturationTokensPerSecond are both given; give one (C_eff = κ·R_sat, or C_eff = ρ·C_peak).");
        double? effective = null;
        string? computeSource = null;
        if (rate is { } rSat && kappa is { } k1)
            (effective, computeSource) = (rSat * k1, $"κ·R_sat with R_sat = {ScenarioFields.Format(rSat)} tokens/s per accelerator, declared");
        else if (rho is { } rho1 && accelerator is not null && Precisions.IsKnown(precision) && accelerator.PeakDenseFlopPerSecond.TryGetValue(precision, out var p))
            (effective, computeSource) = (rho1 * p, $"ρ·C_peak = {ScenarioFields.Format(rho1)} × {ScenarioFields.Format(p)} FLOP/s, declared");
        else if (from?.SaturationPerDevice is { } fromRate && kappa is { } k2)
            (effective, computeSource) = (fromRate * k2, $"κ·R_sat with R_sat = {ScenarioFields.Format(fromRate)} tokens/s per accelerator, {from.RateSource}");
        // Checked here so the problem has its field; the production model would otherwise reject the site without one.
        var computeField = At(rate is not null ? "saturationTokensPerSecond" : rho is not null ? "kernelEfficiency" : "from");
        if (effective is { } ce && !f.Failed(computeField) && accelerator is not null
            && accelerator.PeakDenseFlopPerSecond.TryGetValue(precision, out var peakPerDevice) && ce > peakPerDevice)
            f.Error(computeField, $"gives C_eff = {ScenarioFields.Format(ce)} FLOP/s per accelerator ({computeSource}), above the {accelerator.Name} {precision} peak of {ScenarioFields.Format(peakPerDevice)} FLOP/s; realized throughput cannot beat the spec sheet. R_sat is tokens/s per accelerator, not for the whole site.");

        var prefillShare = f.Number(o, path, "prefillShare", "") ?? 0;
        if (!(prefillShare is >= 0 and <= 1)) f.Error(At("prefillShare"), $"must be in [0, 1] (was {ScenarioFields.Format(prefillShare)}): the share of counted tokens that are prefill tokens.");
        var mechanisms = Mechanisms(o, path, f);

        double? readShare = double.IsNaN(share) || f.Failed(At("share")) ? null : share;
        if (f.Errors.Count > errorsBefore || kappa is null || epsilon is null) return (null, readShare);
        return (new PlanMix
        {
            Name = name!,
            Share = share,
            KappaFlopPerToken = kappa.Value,
            EpsilonJoulesPerToken = epsilon.Value,
            EpsilonOrigin = origin,
            EpsilonSource = epsilonSource,
            EffectiveComputePerDeviceFlopPerSecond = effective,
            ComputeSource = computeSource,
            PrefillShare = prefillShare,
            Mechanisms = mechanisms,
            Model = model?.Name,
            Context = kappa is not null && model is not null ? context : null,
        }, readShare);
    }

    /// <summary>What a mix takes from a run or the twin; every figure is per accelerator.</summary>
    private sealed record SourceFigures(
        EpsilonOrigin Origin, double? Epsilon, string EpsilonSource, double? SaturationPerDevice, string RateSource,
        double? Kappa, string? Model, int? Context);

    private static SourceFigures? Source(JsonObject o, string path, ScenarioFields f, Catalogs? catalogs,
        Accelerator? accelerator, string precision, List<string> notes, string site, string? mix, int? context)
    {
        var at = ScenarioFields.Join(path, "from");
        var spec = f.Object(o["from"], at, "run", "twin");
        if (spec is null) return null;
        if (spec.ContainsKey("run") == spec.ContainsKey("twin"))
        {
            f.Error(at, "must name exactly one source: {run: RUN_DIR} (a run's result.json) or {twin: {...}} (the embedded twin, simulated).");
            return null;
        }
        var before = f.Errors.Count;
        var figures = spec.ContainsKey("run")
            ? FromRun(f.Text(spec, at, "run"), ScenarioFields.Join(at, "run"), f, accelerator, notes, site, mix)
            : FromTwin(spec["twin"], ScenarioFields.Join(at, "twin"), f, catalogs, accelerator, precision, o, context);
        // A run that cannot be read or a twin that cannot run fails from, so ε and κ are not called missing as well.
        if (figures is null && f.Errors.Count > before) f.Failing(at);
        return figures;
    }

    private static SourceFigures? FromRun(string? run, string path, ScenarioFields f, Accelerator? accelerator, List<string> notes, string site, string? mix)
    {
        if (run is null) return null;
        var full = Path.Combine(f.BaseDirectory, run);
        var file = Directory.Exists(full) ? Path.Combine(full, "result.json") : full;
        JsonElement result;
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(file));
            result = document.RootElement.Clone();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            f.Error(path, $"cannot read the run's result '{file}': {e.Message} Give a run directory written by e2t bench, or its result.json.");
            return null;
        }
        switch (ResultJson.Text(result, "kind"))
        {
            case "e2t.bench":
                break;
            case "e2t.bench.series":
                // A series' own result holds its points, not one operating point; each point carries the series' R_sat.
                f.Error(path, $"'{run}' is a sweep or SLO search; give one of its points' directories (they carry the series' R_sat), e.g. {Path.Combine(run, ResultJson.Text(result, "points.0.directory") ?? "POINT")}.");
                return null;
            case var kind:
                f.Error(path, $"'{file}' is not a benchmark result (kind '{kind}'); give a run directory written by e2t bench.");
                return null;
        }
        var epsilon = ResultJson.Double(result, "production.epsilonJoulesPerToken");
        if (epsilon is null)
        {
            f.Error(path, $"the run '{run}' has no measured ε (production.epsilonJoulesPerToken is null); re-analyse it with e2t analyze, or declare epsilon.");
            return null;
        }
        if (!(epsilon > 0) || !double.IsFinite(epsilon.Value))
        {
            f.Error(path, $"the run '{run}' has ε = {ScenarioFields.Format(epsilon.Value)} J per token, not a positive number; re-analyse it with e2t analyze, or declare epsilon.");
            return null;
        }
        var devices = (int)(ResultJson.Double(result, "deployment.devices") ?? 1);
        if (devices < 1)
        {
            f.Error(path, $"the run '{run}' names {devices} devices in deployment.devices; it needs at least 1 to give R_sat per accelerator. Re-analyse it with e2t analyze --devices, or declare saturationTokensPerSecond.");
            return null;
        }
        var runAccelerator = ResultJson.Text(result, "deployment.accelerator");
        if (accelerator is not null && runAccelerator is not null && !string.Equals(runAccelerator, accelerator.Name, StringComparison.OrdinalIgnoreCase))
            notes.Add($"Site '{site}', mix '{mix}': ε and R_sat were measured on {runAccelerator}, but the site has {accelerator.Name}; they are used as given.");
        var simulated = ResultJson.Bool(result, "simulated") == true;
        var rate = ResultJson.Double(result, "production.saturationOutputTokensPerSecond");
        if (rate is null)
            notes.Add($"Site '{site}', mix '{mix}': the run '{run}' has no saturation throughput R_sat, so only the peak convention can be computed unless saturationTokensPerSecond is declared.");
        var context = ResultJson.Double(result, "production.meanContextTokens");
        return new SourceFigures(
            simulated ? EpsilonOrigin.Simulated : EpsilonOrigin.Measured,
            epsilon,
            $"run {run}: {ResultJson.Text(result, "production.epsilonSource")}{(simulated ? " (the embedded twin: simulated)" : "")}",
            rate / devices,
            $"R_sat of run {run} ÷ its {devices} device{(devices == 1 ? "" : "s")}{(simulated ? ", simulated" : ", measured")}",
            ResultJson.Double(result, "production.kappaFlopPerToken"),
            ResultJson.Text(result, "deployment.modelArchitecture"),
            context is { } c ? (int)Math.Round(c) : null);
    }

    private static SourceFigures? FromTwin(JsonNode? node, string path, ScenarioFields f, Catalogs? catalogs,
        Accelerator? accelerator, string precision, JsonObject mix, int? context)
    {
        var spec = f.Object(node ?? new JsonObject(), path, "profile", "devices", "concurrency", "prompt", "output", "requests");
        if (spec is null) return null;
        var profileName = f.Text(spec, path, "profile");
        var devices = f.Integer(spec, path, "devices");
        var concurrency = f.Integer(spec, path, "concurrency") ?? DefaultTwinConcurrency;
        var output = f.Integer(spec, path, "output") ?? DefaultTwinOutputTokens;
        if (context is { } ctx && spec["prompt"] is null && ctx < 2 * output + 2)
            f.Error(ScenarioFields.Join(path, "output"), $"leaves no room for prompts in the mix's context of {ctx} tokens: outputs run up to twice {output}, so the context must be at least {2 * output + 2}. Lower output or give prompt.");
        // Prompts spread over ±50 % and outputs up to 2×, so the longest request, 1.5·prompt + 2·output, fits the context.
        var prompt = f.Integer(spec, path, "prompt") ?? Math.Max(1, (int)(((context ?? 1536) - 2.0 * output) / 1.5));
        var requests = f.Integer(spec, path, "requests") ?? 8 * concurrency;
        foreach (var (value, field) in new[] { (concurrency, "concurrency"), (prompt, "prompt"), (output, "output"), (requests, "requests"), (devices ?? 1, "devices") })
        {
            if (value < 1) f.Error(ScenarioFields.Join(path, field), $"must be at least 1 (was {value}).");
        }
        if (requests < 4 * concurrency && requests >= 1)
            f.Error(ScenarioFields.Join(path, "requests"), $"must be at least 4 × concurrency ({4 * concurrency}) for the twin to reach a steady state (was {requests}).");
        if (catalogs is null || f.FailedUnder(path)) return null;

        TwinProfile profile;
        var modelName = mix["model"] is JsonValue mv && mv.GetValueKind() == JsonValueKind.String ? mv.GetValue<string>() : null;
        if (profileName is not null)
        {
            try { profile = TwinProfiles.Find(profileName); }
            catch (EnergyToTokenException e) { f.Error(ScenarioFields.Join(path, "profile"), e.Message); return null; }
            if (devices is not null) profile = profile with { Devices = devices.Value };
        }
        else if (modelName is not null && !catalogs.Models.Any(m => string.Equals(m.Name, modelName.Trim(), StringComparison.OrdinalIgnoreCase)))
        {
            return null;   // the mix's model field reports it, in the scenario's terms
        }
        else if (modelName is not null && accelerator is not null)
        {
            profile = new TwinProfile
            {
                Name = $"{modelName}-{accelerator.Name}x{devices ?? 1}",
                Model = modelName,
                Accelerator = accelerator.Name,
                Devices = devices ?? 1,
                Precision = precision,
            };
        }
        else
        {
            f.Error(path, "needs a profile (e2t twin profiles lists them), or the mix's model and the site's accelerator to compose one.");
            return null;
        }
        try
        {
            // Sites often share a deployment (the same technology under two budgets): simulate each one once.
            var key = (profile, concurrency, prompt, output, requests);
            if (!f.TwinRuns.TryGetValue(key, out var steady))
                f.TwinRuns[key] = steady = TwinOperatingPoint.Measure(profile, catalogs, concurrency, prompt, output, requests);
            var model = catalogs.Model(profile.Model);
            var meanContext = prompt + output;
            var what = $"twin {profile.Name} ({profile.Devices} × {profile.Accelerator}, {profile.Precision}) at concurrency {concurrency}, prompts ~{prompt} and outputs ~{output} tokens, steady state";
            return new SourceFigures(EpsilonOrigin.Simulated, steady.JoulesPerOutputToken,
                $"gross J per output token of the {what} (simulated)",
                steady.OutputTokensPerSecond / profile.Devices, $"output tokens/s of the {what} ÷ {profile.Devices} (simulated)",
                model.KappaFlopPerToken(Math.Min(meanContext, model.MaxContext)), profile.Model, meanContext);
        }
        catch (EnergyToTokenException e)
        {
            f.Error(path, e.Message.Replace(Environment.NewLine, " ", StringComparison.Ordinal));
            return null;
        }
    }

    private static List<EfficiencyMechanism> Mechanisms(JsonObject o, string path, ScenarioFields f)
    {
        var result = new List<EfficiencyMechanism>();
        foreach (var (node, at) in f.List(o, path, "mechanisms"))
        {
            var m = f.Object(node, at, "name", "kappaGain", "epsilonGain", "prefill", "decode", "source");
            if (m is null)
            {
                if (!f.Failed(at)) f.Error(at, "must be a mechanism: {name, kappaGain, epsilonGain} or per phase {name, prefill: {...}, decode: {...}}.");
                continue;
            }
            var name = f.Text(m, at, "name");
            if (name is null && !f.Failed(ScenarioFields.Join(at, "name"))) f.Error(ScenarioFields.Join(at, "name"), "is missing: name the mechanism, e.g. int4-weights.");
            var kappa = f.Number(m, at, "kappaGain", "");
            var epsilon = f.Number(m, at, "epsilonGain", "");
            PhaseGains Phase(string phase)
            {
                var p = f.Object(m[phase], ScenarioFields.Join(at, phase), "kappaGain", "epsilonGain");
                return new PhaseGains(f.Number(p, ScenarioFields.Join(at, phase), "kappaGain", "") ?? kappa ?? 1,
                    f.Number(p, ScenarioFields.Join(at, phase), "epsilonGain", "") ?? epsilon ?? 1);
            }
            var mechanism = new EfficiencyMechanism(name ?? "", Phase("prefill"), Phase("decode"), f.Text(m, at, "source"));
            foreach (var problem in name is null ? [] : mechanism.Validate()) f.Error(at, problem);
            result.Add(mechanism);
        }
        return result;
    }
}
