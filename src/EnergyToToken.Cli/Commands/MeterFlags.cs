using System.CommandLine;
using System.CommandLine.Parsing;
using EnergyToToken.Metering;
using EnergyToToken.Metering.CpuModel;
using EnergyToToken.Metering.Hwmon;
using EnergyToToken.Metering.Ipmi;
using EnergyToToken.Metering.Prometheus;
using EnergyToToken.Metering.Redfish;
using EnergyToToken.Metering.Replay;
using EnergyToToken.Metering.Synthetic;
using EnergyToToken.Scenarios;

namespace EnergyToToken.Cli.Commands;

/// <summary>The flags that configure meters, shared by <c>e2t meters</c> and <c>e2t measure</c>.</summary>
internal sealed class MeterFlags
{
    public Option<double?> CpuTdp { get; } = new("--cpu-tdp") { Description = "TDP of all CPU sockets together, W, for the modeled CPU meter. Default: looked up from /proc/cpuinfo." };

    public Option<bool> AllowModeled { get; } = new("--allow-modeled") { Description = "When no meter measures anything, estimate CPU energy from CPU time (labelled modeled, not measured)." };

    public Option<string> Synthetic { get; } = new("--synthetic") { Description = "Power profile of the synthetic meter, repeated: WATTS:DURATION,... Default: 300W:2s,100W:1s." };

    public Option<ReadingKind> SyntheticKind { get; } = new("--synthetic-kind") { Description = "What the synthetic meter offers: Counter (energy + power), InstantPower or AveragedPower. Default: Counter.", DefaultValueFactory = _ => ReadingKind.Counter };

    public Option<string[]> HwmonScope { get; } = new("--hwmon-scope") { Description = "Scope of a hwmon driver, NAME=SCOPE (Accelerator, CpuPackage, Dram, Platform, NodeDc, NodeAc, Rack, Facility). Repeatable." };

    public Option<string> IpmiArgs { get; } = new("--ipmi-args") { Description = "Arguments for ipmitool before 'dcmi power reading', e.g. \"-I lanplus -H bmc -U admin -E\" (password in IPMI_PASSWORD). Puts ipmi in auto." };

    public Option<string> IpmiCommand { get; } = new("--ipmi-command") { Description = "The ipmitool executable. Default: ipmitool." };

    public Option<Uri> Redfish { get; } = new("--redfish") { Description = "Redfish service root of a BMC or PDU, e.g. https://bmc. Puts redfish in auto.", CustomParser = AbsoluteUri };

    public Option<string> RedfishUser { get; } = new("--redfish-user") { Description = "Redfish basic-auth user; the password is read from E2T_REDFISH_PASSWORD." };

    public Option<string> RedfishChassis { get; } = new("--redfish-chassis") { Description = "Chassis id to read. Default: the first chassis that reports power." };

    public Option<bool> Insecure { get; } = new("--insecure") { Description = "Accept any TLS certificate from the Redfish service (self-signed BMCs)." };

    public Option<Uri> Prometheus { get; } = new("--prometheus") { Description = "A Prometheus text-format endpoint, e.g. a DCGM exporter at http://host:9400/metrics. Puts prometheus in auto.", CustomParser = AbsoluteUri };

    public Option<string> PrometheusSelector { get; } = new("--prometheus-selector") { Description = "Exact label matches, e.g. instance=\"node1\",job=\"dcgm\"." };

    public Option<string> PrometheusEnergyMetric { get; } = new("--prometheus-energy-metric") { Description = "Energy counter series. Default: DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION (mJ)." };

    public Option<double?> PrometheusEnergyScale { get; } = new("--prometheus-energy-scale") { Description = "Joules per unit of the energy series. Default: 0.001 (mJ)." };

    public Option<string> PrometheusPowerMetric { get; } = new("--prometheus-power-metric") { Description = "Power series, W. Default: DCGM_FI_DEV_POWER_USAGE." };

    public Option<MeterScope?> PrometheusScope { get; } = new("--prometheus-scope") { Description = "Scope of the scraped series. Default: Accelerator." };

    public Option<string> Replay { get; } = new("--replay") { Description = "A log to play back: nvidia-smi CSV, DCGM CSV or PDU CSV (docs/meters.md)." };

    public Option<ReplayFormat?> ReplayFormatOption { get; } = new("--replay-format") { Description = "Format of the --replay file. Default: detected from its header." };

    public Option<bool> ReplayLoop { get; } = new("--replay-loop") { Description = "Start the --replay log again when it ends." };

    public IEnumerable<Option> All =>
    [
        CpuTdp, AllowModeled, Synthetic, SyntheticKind, HwmonScope, IpmiArgs, IpmiCommand, Redfish, RedfishUser, RedfishChassis, Insecure,
        Prometheus, PrometheusSelector, PrometheusEnergyMetric, PrometheusEnergyScale, PrometheusPowerMetric, PrometheusScope, Replay, ReplayFormatOption, ReplayLoop,
    ];

    /// <summary>Builds the options, throwing one <see cref="EnergyToTokenException"/> that lists every problem.</summary>
    public MeterOptions Build(ParseResult parse)
    {
        var errors = new List<string>();
        var options = new MeterOptions { AllowModeled = parse.GetValue(AllowModeled) };
        if (parse.GetValue(CpuTdp) is { } tdp)
        {
            if (!(tdp > 0) || !double.IsFinite(tdp)) errors.Add($"--cpu-tdp must be a power in W greater than 0 (was {tdp}).");
            options = options with { CpuModel = options.CpuModel with { TdpWatts = tdp } };
        }
        var synthetic = options.Synthetic with { Kind = parse.GetValue(SyntheticKind) };
        if (parse.GetValue(Synthetic) is { } profile)
        {
            try
            {
                synthetic = synthetic with { Profile = PowerProfile.Parse(profile) };
            }
            catch (EnergyToTokenException e)
            {
                errors.Add(e.Message);
            }
        }
        options = options with { Synthetic = synthetic };
        var scopes = new Dictionary<string, MeterScope>(StringComparer.Ordinal);
        foreach (var pair in parse.GetValue(HwmonScope) ?? [])
        {
            var parts = pair.Split('=', 2);
            if (parts.Length == 2 && Enum.TryParse<MeterScope>(parts[1], ignoreCase: true, out var scope) && !int.TryParse(parts[1], out _)) scopes[parts[0]] = scope;
            else errors.Add($"--hwmon-scope '{pair}' is not NAME=SCOPE; SCOPE is one of {string.Join(", ", Enum.GetNames<MeterScope>())}.");
        }
        options = options with { Hwmon = new HwmonOptions { Scopes = scopes } };

        var ipmi = options.Ipmi;
        if (parse.GetValue(IpmiArgs) is { } ipmiArgs) ipmi = ipmi with { Arguments = ipmiArgs.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) };
        if (parse.GetValue(IpmiCommand) is { } ipmiCommand) ipmi = ipmi with { Command = ipmiCommand };
        errors.AddRange(ipmi.Validate());
        options = options with { Ipmi = ipmi };

        if (parse.GetValue(Redfish) is { } redfishUrl)
        {
            var redfish = new RedfishOptions { BaseUrl = redfishUrl, User = parse.GetValue(RedfishUser), ChassisId = parse.GetValue(RedfishChassis), Insecure = parse.GetValue(Insecure) };
            errors.AddRange(redfish.Validate());
            options = options with { Redfish = redfish };
        }
        if (parse.GetValue(Prometheus) is { } prometheusUrl)
        {
            var prometheus = new PrometheusTextOptions { Url = prometheusUrl };
            if (parse.GetValue(PrometheusSelector) is { } selector) prometheus = prometheus with { Selector = selector };
            if (parse.GetValue(PrometheusEnergyMetric) is { } energyMetric) prometheus = prometheus with { EnergyMetric = energyMetric };
            if (parse.GetValue(PrometheusEnergyScale) is { } energyScale) prometheus = prometheus with { EnergyScale = energyScale };
            if (parse.GetValue(PrometheusPowerMetric) is { } powerMetric) prometheus = prometheus with { PowerMetric = powerMetric };
            if (parse.GetValue(PrometheusScope) is { } scope) prometheus = prometheus with { Scope = scope };
            errors.AddRange(prometheus.Validate());
            options = options with { Prometheus = prometheus };
        }
        if (parse.GetValue(Replay) is { } replayPath)
        {
            options = options with
            {
                Replay = new ReplayOptions { Path = replayPath, Format = parse.GetValue(ReplayFormatOption) ?? ReplayFormat.Auto, Loop = parse.GetValue(ReplayLoop) },
            };
        }
        if (errors.Count > 0) throw new EnergyToTokenException(string.Join(Environment.NewLine, errors));
        return options;
    }

    private static Uri? AbsoluteUri(ArgumentResult result)
    {
        var text = result.Tokens.Single().Value;
        if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https") return uri;
        result.AddError($"{((OptionResult)result.Parent!).Option.Name}: '{text}' is not an absolute http(s) URL, e.g. https://bmc.example or http://127.0.0.1:9400/metrics.");
        return null;
    }

    /// <summary>A duration option parsed like every other duration in e2t (100ms, 2s, 1m).</summary>
    /// <remarks>Nullable so that an absent flag (take the default) differs from an explicit 0; the default is in the description.</remarks>
    public static Option<TimeSpan?> Duration(string name, string description) => new(name)
    {
        Description = description,
        CustomParser = ParseDuration,
    };

    private static TimeSpan? ParseDuration(ArgumentResult result)
    {
        var text = result.Tokens.Single().Value;
        try
        {
            var value = Quantities.ParseDuration(text, ((OptionResult)result.Parent!).Option.Name);
            if (value >= TimeSpan.Zero) return value;
            result.AddError($"{((OptionResult)result.Parent!).Option.Name} must not be negative (was '{text}').");
        }
        catch (EnergyToTokenException e)
        {
            result.AddError(e.Message);
        }
        return default;
    }
}
