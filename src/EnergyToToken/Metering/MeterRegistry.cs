using EnergyToToken.Metering.AmdSmi;
using EnergyToToken.Metering.CpuModel;
using EnergyToToken.Metering.Hwmon;
using EnergyToToken.Metering.Ipmi;
using EnergyToToken.Metering.Nvml;
using EnergyToToken.Metering.Prometheus;
using EnergyToToken.Metering.Rapl;
using EnergyToToken.Metering.Redfish;
using EnergyToToken.Metering.Replay;
using EnergyToToken.Metering.Synthetic;

namespace EnergyToToken.Metering;

/// <summary>Options of every meter, for the registry. Remote meters are null until configured.</summary>
public sealed record MeterOptions
{
    public NvmlOptions Nvml { get; init; } = new();

    public AmdSmiOptions AmdSmi { get; init; } = new();

    public RaplOptions Rapl { get; init; } = new();

    public HwmonOptions Hwmon { get; init; } = new();

    public CpuModelOptions CpuModel { get; init; } = new();

    public SyntheticOptions Synthetic { get; init; } = new();

    /// <summary>IPMI DCMI through ipmitool. In <c>auto</c> only when arguments (a remote BMC) were given.</summary>
    public IpmiOptions Ipmi { get; init; } = new();

    /// <summary>Redfish; null until a URL is given.</summary>
    public RedfishOptions? Redfish { get; init; }

    /// <summary>A Prometheus text-format endpoint (a DCGM exporter); null until a URL is given.</summary>
    public PrometheusTextOptions? Prometheus { get; init; }

    /// <summary>A log to play back; null until a file is given.</summary>
    public ReplayOptions? Replay { get; init; }

    /// <summary>Allow the CPU model when nothing measured is available. Default: false.</summary>
    public bool AllowModeled { get; init; }
}

/// <summary>Every meter by name: probing for <c>e2t meters</c>, opening a selection for <c>e2t measure</c>.</summary>
public static class MeterRegistry
{
    /// <summary>The names <c>--meter</c> accepts, besides <c>auto</c>.</summary>
    public static IReadOnlyList<string> Names { get; } = ["nvml", "amdsmi", "rapl", "hwmon", "ipmi", "redfish", "prometheus", "replay", "cpu-model", "synthetic"];

    /// <summary>
    /// What <c>auto</c> tries: every local hardware meter, and the remote ones that were configured (IPMI when given
    /// arguments for a BMC, Redfish and Prometheus when given a URL). Replay, the model and the synthetic meter are
    /// used only when named.
    /// </summary>
    public static IReadOnlyList<string> AutoNames(MeterOptions options) =>
    [
        "nvml", "amdsmi", "rapl", "hwmon",
        .. options.Ipmi.Arguments.Count > 0 ? ["ipmi"] : Array.Empty<string>(),
        .. options.Redfish is not null ? ["redfish"] : Array.Empty<string>(),
        .. options.Prometheus is not null ? ["prometheus"] : Array.Empty<string>(),
    ];

    /// <summary>Expands <c>auto</c> and checks every name at once.</summary>
    public static IReadOnlyList<string> Resolve(IReadOnlyList<string> requested, MeterOptions options)
    {
        var names = new List<string>();
        var unknown = new List<string>();
        foreach (var name in requested.SelectMany(r => r.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)))
        {
            if (name == "auto") names.AddRange(AutoNames(options));
            else if (Names.Contains(name)) names.Add(name);
            else unknown.Add(name);
        }
        if (unknown.Count > 0)
            throw new EnergyToTokenException($"Unknown meter {string.Join(", ", unknown.Select(u => $"'{u}'"))}. Valid meters: auto, {string.Join(", ", Names)}. Run 'e2t meters' to see which are available here.");
        return [.. names.Distinct()];
    }

    /// <summary>Opens one meter, or explains why it cannot be used.</summary>
    public static (IPowerMeter? Meter, MeterProbe Probe) TryOpen(string name, MeterOptions options, TimeProvider time)
    {
        try
        {
            IPowerMeter meter = name switch
            {
                "nvml" => NvmlMeter.Open(options.Nvml, time),
                "amdsmi" => AmdSmiMeter.Open(options.AmdSmi, time),
                "rapl" => RaplMeter.Open(options.Rapl, time),
                "hwmon" => HwmonMeter.Open(options.Hwmon, time),
                "ipmi" => IpmiMeter.Open(options.Ipmi, time),
                "redfish" => RedfishMeter.Open(options.Redfish ?? throw NotConfigured("Redfish", "--redfish https://BMC"), time),
                "prometheus" => PrometheusTextMeter.Open(options.Prometheus ?? throw NotConfigured("Prometheus", "--prometheus http://HOST:9400/metrics"), time),
                "replay" => ReplayMeter.Open(options.Replay ?? throw NotConfigured("Replay", "--replay FILE"), time),
                "cpu-model" => CpuModelMeter.Open(options.CpuModel, time),
                "synthetic" => new SyntheticMeter(options.Synthetic, time),
                _ => throw new EnergyToTokenException($"Unknown meter '{name}'. Valid meters: {string.Join(", ", Names)}."),
            };
            var found = $"{meter.Channels.Count} channel{(meter.Channels.Count == 1 ? "" : "s")}";
            return (meter, new MeterProbe(name, true, found) { Channels = meter.Channels, Telemetry = meter.Telemetry });
        }
        catch (EnergyToTokenException e)
        {
            return (null, new MeterProbe(name, false, e.Message));
        }
    }

    private static EnergyToTokenException NotConfigured(string meter, string flag) =>
        new($"{meter}: not configured. Pass {flag} to use it.");

    /// <summary>
    /// Opens the requested meters. Unavailable ones are reported in the probes; the CPU model is refused beside any
    /// measured meter and without <see cref="MeterOptions.AllowModeled"/> unless asked for by name.
    /// </summary>
    public static (IReadOnlyList<IPowerMeter> Meters, IReadOnlyList<MeterProbe> Probes) Open(IReadOnlyList<string> requested, MeterOptions options, TimeProvider time)
    {
        var names = Resolve(requested, options);
        var explicitModel = names.Contains("cpu-model");
        var meters = new List<IPowerMeter>();
        var probes = new List<MeterProbe>();
        foreach (var name in names.Where(n => n != "cpu-model"))
        {
            var (meter, probe) = TryOpen(name, options, time);
            probes.Add(probe);
            if (meter is not null) meters.Add(meter);
        }
        if (meters.Count == 0 && (explicitModel || options.AllowModeled))
        {
            var (meter, probe) = TryOpen("cpu-model", options, time);
            probes.Add(probe);
            if (meter is not null) meters.Add(meter);
        }
        else if (explicitModel)
        {
            probes.Add(new MeterProbe("cpu-model", false, "not used: a measured meter is available, and a model is used only when nothing is measured"));
        }
        if (meters.Count == 0)
        {
            var why = string.Join(Environment.NewLine, probes.Select(p => $"  {p.Meter}: {p.Reason}"));
            throw new EnergyToTokenException(
                $"No power meter is available.{Environment.NewLine}{why}{Environment.NewLine}" +
                "Run 'e2t meters' to see what was probed, pass --meter synthetic to try the tool without hardware, or --allow-modeled to estimate CPU energy from CPU time.");
        }
        return (meters, probes);
    }

    /// <summary>
    /// Probes every meter, available or not and why; the available ones are read every 10 ms for
    /// <paramref name="probeTime"/> to measure how often each channel really updates.
    /// </summary>
    public static IReadOnlyList<MeterProbe> ProbeAll(MeterOptions options, TimeProvider time, TimeSpan probeTime)
    {
        var opened = Names.Select(n => TryOpen(n, options, time)).ToList();
        var meters = opened.Where(o => o.Meter is not null).Select(o => o.Meter!).ToList();
        try
        {
            if (meters.Count == 0 || probeTime <= TimeSpan.Zero) return [.. opened.Select(o => o.Probe)];
            using var sampler = new PowerSampler(meters, new SamplerOptions
            {
                LocalInterval = TimeSpan.FromMilliseconds(10),
                RemoteInterval = TimeSpan.FromMilliseconds(500),
                ExpectedDuration = probeTime,
            }, time);
            sampler.Start();
            Thread.Sleep(probeTime);
            sampler.Stop();
            var periods = sampler.Tracks.Where(t => t.UpdatePeriod is not null).ToDictionary(t => t.Channel.Id, t => t.UpdatePeriod!.Value.TotalSeconds);
            return [.. opened.Select(o => o.Probe with { MeasuredUpdatePeriods = o.Probe.Channels.Where(c => periods.ContainsKey(c.Id)).ToDictionary(c => c.Id, c => periods[c.Id]) })];
        }
        finally
        {
            foreach (var meter in meters) meter.Dispose();
        }
    }
}
