using System.CommandLine;
using EnergyToToken.Production;
using EnergyToToken.Reporting;
using EnergyToToken.Scenarios;

namespace EnergyToToken.Cli.Commands;

/// <summary><c>e2t model</c>: the Token Production Function for a deployment described by flags or a scenario file.</summary>
internal static class ModelCommand
{
    private static readonly Argument<string?> ScenarioFile = new("scenario")
    {
        Description = "A scenario file (YAML or JSON, see docs/model.md). Flags override its values.",
        Arity = ArgumentArity.ZeroOrOne,
    };

    private static readonly Option<string> Kappa = new("--kappa") { Description = "κ: compute per token at the operating point, FLOP/token (e.g. 1.36e11)." };
    private static readonly Option<string> Model = new("--model") { Description = "A catalog model (κ follows from --context); see 'e2t catalog'." };
    private static readonly Option<int?> Context = new("--context") { Description = "Context length in tokens for κ from --model. Default: the model's maximum." };
    private static readonly Option<string> Epsilon = new("--epsilon") { Description = "ε: measured energy per token at the operating point, J/token." };
    private static readonly Option<string> EffectiveCompute = new("--c-eff") { Description = "Realized effective compute C_eff, FLOP/s (the headline convention)." };
    private static readonly Option<string> SaturationRate = new("--r-sat") { Description = "Saturation token rate R_sat meeting s*, tokens/s; C_eff = κ·R_sat." };
    private static readonly Option<string> PeakCompute = new("--c-peak") { Description = "Peak compute C_peak, FLOP/s (upper bound only)." };
    private static readonly Option<string> Accelerator = new("--accelerator") { Description = "A catalog accelerator: gives C_peak and, without a budget, P_IT = count·power limit." };
    private static readonly Option<int?> Count = new("--count") { Description = "Number of accelerators. Default: 1." };
    private static readonly Option<string> Precision = new("--precision") { Description = "Precision for the peak and weight memory: fp32, tf32, bf16, fp16, fp8, int8, fp4, int4. Default: bf16." };
    private static readonly Option<string> ItPower = new("--p-it") { Description = "Delivered IT power budget P_IT, W (a cap or allocation, not the power drawn)." };
    private static readonly Option<ItPowerSource?> ItPowerSourceOption = new("--p-it-source") { Description = "Where --p-it comes from: Declared (default), DeviceLimits or Drawn (makes the realized test degenerate)." };
    private static readonly Option<string> FacilityPower = new("--p-facility") { Description = "Delivered facility power, W; P_IT = P_facility / PUE." };
    private static readonly Option<string> Pue = new("--pue") { Description = "Power usage effectiveness (≥ 1). With --p-it it gives the implied facility power." };
    private static readonly Option<string> Cooling = new("--cooling") { Description = "Cooling capacity as an IT power cap, W. Default: none." };
    private static readonly Option<string> Utilization = new("--utilization") { Description = "Effective utilization U in (0, 1], applied after the ceilings. Default: 1." };
    private static readonly Option<string> DrawnPower = new("--p-drawn") { Description = "Mean power drawn during the run that measured ε and C_eff, W (detects the degenerate test)." };
    private static readonly Option<string> Horizon = new("--horizon") { Description = "Horizon for Q(T), e.g. 24h, 7d, 90m. Default: 24h." };
    private static readonly Option<string> TieTolerance = new("--tie-tolerance") { Description = "Relative gap between the ceilings reported as balanced. Default: 0.01." };
    private static readonly Option<string> PrefillShare = new("--prefill-share") { Description = "Share of counted tokens that are prefill tokens, for per-phase mechanisms. Default: 0." };
    private static readonly Option<string[]> Mechanism = new("--mechanism")
    {
        Description = "An efficiency mechanism NAME:KAPPA_GAIN:EPSILON_GAIN[:prefill|decode|both], e.g. int4:1:2:decode. Repeatable.",
        AllowMultipleArgumentsPerToken = false,
    };
    private static readonly Option<string[]> Catalog = new("--catalog") { Description = "A catalog file of your own models/accelerators (YAML or JSON). Repeatable." };
    private static readonly Option<bool> Json = new("--json") { Description = "Print camelCase JSON (schema in docs/model.md) instead of the table." };

    public static Command Create()
    {
        Command command = new("model", "Ceilings, binding constraint, token output and elasticities of a deployment (the Token Production Function).")
        {
            ScenarioFile, Kappa, Model, Context, Epsilon, EffectiveCompute, SaturationRate, PeakCompute, Accelerator, Count,
            Precision, ItPower, ItPowerSourceOption, FacilityPower, Pue, Cooling, Utilization, DrawnPower, Horizon,
            TieTolerance, PrefillShare, Mechanism, Catalog, Json,
        };
        command.SetAction(Run);
        return command;
    }

    private static int Run(ParseResult parse)
    {
        try
        {
            var scenario = parse.GetValue(ScenarioFile) is { } path ? ModelScenario.Read(path) : new ModelScenario();
            scenario = scenario.With(FromFlags(parse));
            var plan = ModelScenarioResolver.Resolve(scenario);
            var result = ProductionModel.Evaluate(plan.Inputs);
            var effect = plan.Mechanisms.Count > 0 ? EfficiencyMechanisms.Apply(plan.Inputs, plan.Mechanisms, plan.PrefillShare) : null;
            var report = ModelReport.From(plan, result, effect);
            if (parse.GetValue(Json)) parse.InvocationConfiguration.Output.WriteLine(report.ToJson());
            else ModelTable.Render(Output.Console(parse), report);
            return ExitCodes.Success;
        }
        catch (EnergyToTokenException e)
        {
            return Output.Fail(parse, e.Message);
        }
    }

    /// <summary>The flags as a scenario overlay; every unparsable value is reported at once.</summary>
    private static ModelScenario FromFlags(ParseResult parse)
    {
        var errors = new List<string>();
        double? Number(Option<string> option)
        {
            if (parse.GetValue(option) is not { } text) return null;
            try { return Quantities.ParseNumber(text, option.Name); }
            catch (EnergyToTokenException e) { errors.Add(e.Message); return null; }
        }
        SeriesSpec? Constant(Option<string> option) => Number(option) is { } v ? SeriesSpec.Constant(v) : null;

        var horizon = parse.GetValue(Horizon);
        if (horizon is not null)
        {
            try { Quantities.ParseDuration(horizon, Horizon.Name); }
            catch (EnergyToTokenException e) { errors.Add(e.Message); }
        }
        var scenario = new ModelScenario
        {
            Kappa = Number(Kappa),
            Model = parse.GetValue(Model),
            Context = parse.GetValue(Context),
            Epsilon = Number(Epsilon),
            EffectiveCompute = Constant(EffectiveCompute),
            SaturationTokensPerSecond = Constant(SaturationRate),
            PeakCompute = Number(PeakCompute),
            Accelerator = parse.GetValue(Accelerator),
            Count = parse.GetValue(Count),
            Precision = parse.GetValue(Precision),
            ItPower = Constant(ItPower),
            ItPowerSource = parse.GetValue(ItPowerSourceOption),
            FacilityPower = Constant(FacilityPower),
            Pue = Constant(Pue),
            CoolingCapacity = Number(Cooling),
            Utilization = Constant(Utilization),
            DrawnPower = Number(DrawnPower),
            Horizon = horizon,
            TieTolerance = Number(TieTolerance),
            PrefillShare = Number(PrefillShare),
            Mechanisms = parse.GetValue(Mechanism) is { Length: > 0 } specs ? specs.Select(s => ParseMechanism(s, errors)).ToList() : null,
            Catalogs = parse.GetValue(Catalog),
        };
        if (errors.Count > 0) throw new EnergyToTokenException(string.Join(Environment.NewLine, errors));
        return scenario;
    }

    private static MechanismSpec ParseMechanism(string text, List<string> errors)
    {
        var parts = text.Split(':');
        const string Shape = "Write it as NAME:KAPPA_GAIN:EPSILON_GAIN[:prefill|decode|both], e.g. int4-weights:1:2:decode.";
        if (parts.Length is < 3 or > 4)
        {
            errors.Add($"--mechanism: '{text}' has {parts.Length} part(s). {Shape}");
            return new MechanismSpec { Name = parts[0] };
        }
        double Gain(string part)
        {
            try { return Quantities.ParseNumber(part, $"--mechanism '{text}'"); }
            catch (EnergyToTokenException e) { errors.Add(e.Message); return 1; }
        }
        var gains = new PhaseGainsSpec { KappaGain = Gain(parts[1]), EpsilonGain = Gain(parts[2]) };
        var none = new PhaseGainsSpec { KappaGain = 1, EpsilonGain = 1 };
        var phase = parts.Length == 4 ? parts[3].Trim().ToLowerInvariant() : "both";
        switch (phase)
        {
            case "both": return new MechanismSpec { Name = parts[0], Prefill = gains, Decode = gains };
            case "prefill": return new MechanismSpec { Name = parts[0], Prefill = gains, Decode = none };
            case "decode": return new MechanismSpec { Name = parts[0], Prefill = none, Decode = gains };
            default:
                errors.Add($"--mechanism: '{text}' names phase '{parts[3]}'; valid phases are prefill, decode and both. {Shape}");
                return new MechanismSpec { Name = parts[0] };
        }
    }
}
