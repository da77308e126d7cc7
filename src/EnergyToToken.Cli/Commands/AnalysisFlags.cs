using System.CommandLine;
using System.Globalization;
using EnergyToToken.Analysis;
using EnergyToToken.Load;
using EnergyToToken.Runs;

namespace EnergyToToken.Cli.Commands;

/// <summary>The flags that shape analysis and the production function, shared by <c>e2t bench</c> and <c>e2t analyze</c>.</summary>
internal sealed class AnalysisFlags
{
    public Option<string> Window { get; } = new("--window") { Description = "Window of the headline figures: steady (batch full → drain starts) or whole. Default: steady." };
    public Option<string> Steady { get; } = new("--steady") { Description = "The steady-state window FROM:TO in s on the run's clock, instead of detecting it." };
    public Option<double?> Kappa { get; } = new("--kappa") { Description = "κ, FLOP per token. Default: the catalog model's at the run's mean context." };
    public Option<string> ModelArch { get; } = new("--model-arch") { Description = "The served model's architecture in the catalog (e2t catalog models), for κ. Default: the twin's; unknown for an endpoint." };
    public Option<string> Accelerator { get; } = new("--accelerator") { Description = "The serving accelerator in the catalog (e2t catalog accelerators), for C_peak and power limits. Default: the twin's." };
    public Option<int?> Devices { get; } = new("--devices") { Description = "Accelerators serving the model. Default: the twin's, else 1." };
    public Option<string> Precision { get; } = new("--precision") { Description = "Precision of the weights and math (bf16, fp8, …), for C_peak. Default: the twin's, else bf16." };
    public Option<string> Saturation { get; } = new("--saturation") { Description = "R_sat from an earlier run directory: a --find-max-goodput or --sweep result, or a run that met its --slo." };
    public Option<double?> PIt { get; } = new("--p-it") { Description = "Delivered IT power budget, W (a rack or node cap, an allocation). Default: the devices' power limits." };
    public Option<double?> PFacility { get; } = new("--p-facility") { Description = "Delivered facility power budget, W; needs --pue or --pue-series." };
    public Option<double?> Pue { get; } = new("--pue") { Description = "Power usage effectiveness (≥ 1), constant: facility energy = IT energy × PUE." };
    public Option<string> PueSeries { get; } = new("--pue-series") { Description = "PUE over the run: CSV with header, rows t_s,pue (s on the run's clock), each value holding until the next." };
    public Option<string[]> Quality { get; } = new("--quality") { Description = "A measured quality at the operating point, NAME=VALUE[±TOL], e.g. mmlu=0.712±0.01. Repeatable." };

    public IEnumerable<Option> All => [Window, Steady, Kappa, ModelArch, Accelerator, Devices, Precision, Saturation, PIt, PFacility, Pue, PueSeries, Quality];

    /// <summary>The analysis options from the flags; problems go to <paramref name="errors"/>, all of them.</summary>
    /// <param name="recorded">Options to keep where no flag is given (<c>e2t analyze</c> starts from those the run recorded).</param>
    public AnalysisOptions Build(ParseResult values, List<string> errors, AnalysisOptions? recorded = null)
    {
        var baseline = recorded ?? new AnalysisOptions();
        T? Try<T>(Func<T> make) where T : class
        {
            try
            {
                return make();
            }
            catch (EnergyToTokenException e)
            {
                errors.Add(e.Message);
                return null;
            }
        }

        var options = baseline;
        var headline = values.GetValue(Window) switch
        {
            null => baseline.Headline,
            "steady" => HeadlineWindow.Steady,
            "whole" => HeadlineWindow.Whole,
            var other => Fail(HeadlineWindow.Steady, $"--window {other}: write steady or whole."),
        };
        var steady = baseline.Steady;
        if (values.GetValue(Steady) is { } span)
        {
            var parts = span.Split(':');
            if (parts.Length == 2 && double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var a)
                && double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var b)) steady = (a, b);
            else errors.Add($"--steady {span}: write FROM:TO in seconds on the run's clock, e.g. 3.5:28.");
        }
        var pueSeries = values.GetValue(PueSeries) is { } path ? Try(() => AnalysisInputs.ReadPueSeries(path)) : null;
        var qualities = new List<QualityDeclaration>();
        foreach (var q in values.GetValue(Quality) ?? [])
        {
            if (Try(() => QualityDeclaration.Parse(q)) is { } declared) qualities.Add(declared);
        }
        // Given qualities replace the recorded declared ones; what the run measured (a quality set) stays.
        qualities = values.GetValue(Quality) is { Length: > 0 }
            ? [.. baseline.Quality.Where(q => q.Source != "declared"), .. qualities]
            : [.. baseline.Quality];
        options = options with
        {
            Headline = headline,
            Steady = steady,
            Kappa = values.GetValue(Kappa) ?? baseline.Kappa,
            ModelArchitecture = values.GetValue(ModelArch) ?? baseline.ModelArchitecture,
            Accelerator = values.GetValue(Accelerator) ?? baseline.Accelerator,
            Devices = values.GetValue(Devices) ?? baseline.Devices,
            Precision = values.GetValue(Precision) ?? baseline.Precision,
            Saturation = values.GetValue(Saturation) is { } dir ? Try(() => AnalysisInputs.ReadSaturation(dir)) : baseline.Saturation,
            ItPowerWatts = values.GetValue(PIt) ?? (values.GetValue(PFacility) is null ? baseline.ItPowerWatts : null),
            FacilityPowerWatts = values.GetValue(PFacility) ?? (values.GetValue(PIt) is null ? baseline.FacilityPowerWatts : null),
            Pue = values.GetValue(Pue) ?? (values.GetValue(PueSeries) is null ? baseline.Pue : null),
            PueSeries = pueSeries is not null ? (pueSeries, values.GetValue(PueSeries)!) : values.GetValue(Pue) is null ? baseline.PueSeries : null,
            Quality = qualities,
        };
        errors.AddRange(options.Validate());
        return options;

        T Fail<T>(T fallback, string message)
        {
            errors.Add(message);
            return fallback;
        }
    }

    /// <summary>The run's deployment with what the flags override.</summary>
    public static Deployment Apply(Deployment deployment, AnalysisOptions options) => deployment with
    {
        ModelArchitecture = options.ModelArchitecture ?? deployment.ModelArchitecture,
        Accelerator = options.Accelerator ?? deployment.Accelerator,
        Devices = options.Devices ?? deployment.Devices,
        Precision = options.Precision ?? deployment.Precision,
    };
}
