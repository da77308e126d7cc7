using System.CommandLine;
using System.CommandLine.Parsing;
using EnergyToToken.Metering;
using EnergyToToken.Metering.CpuModel;
using EnergyToToken.Metering.Hwmon;
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

    public Option<string[]> HwmonScope { get; } = new("--hwmon-scope") { Description = "Scope of a hwmon driver, NAME=SCOPE (Accelerator, CpuPackage, Dram, NodeDc, NodeAc, Rack, Facility). Repeatable." };

    public IEnumerable<Option> All => [CpuTdp, AllowModeled, Synthetic, SyntheticKind, HwmonScope];

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
        if (errors.Count > 0) throw new EnergyToTokenException(string.Join(Environment.NewLine, errors));
        return options;
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
