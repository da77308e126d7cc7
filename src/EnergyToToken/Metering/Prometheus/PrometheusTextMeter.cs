using System.Globalization;
using EnergyToToken.Metering.Remote;

namespace EnergyToToken.Metering.Prometheus;

/// <summary>Options of the Prometheus text meter. The defaults read an NVIDIA DCGM exporter.</summary>
public sealed record PrometheusTextOptions
{
    /// <summary>The URL serving the Prometheus text format, e.g. <c>http://node1:9400/metrics</c> (DCGM exporter's default port).</summary>
    public required Uri Url { get; init; }

    /// <summary>Cumulative energy counter to read; "" for none. Default: <c>DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION</c> (mJ since boot).</summary>
    public string EnergyMetric { get; init; } = "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION";

    /// <summary>Joules per unit of <see cref="EnergyMetric"/>. Default: 0.001 (mJ). Use 1 for <c>*_joules_total</c>, 3.6e6 for kWh.</summary>
    public double EnergyScale { get; init; } = 1e-3;

    /// <summary>Power gauge to read; "" for none. Default: <c>DCGM_FI_DEV_POWER_USAGE</c> (W).</summary>
    public string PowerMetric { get; init; } = "DCGM_FI_DEV_POWER_USAGE";

    /// <summary>Watts per unit of <see cref="PowerMetric"/>. Default: 1 (W). Use 0.001 for mW.</summary>
    public double PowerScale { get; init; } = 1;

    /// <summary>Smallest step of a power reading, W. Default: 0.001 W (DCGM reports NVML's milliwatts as watts with decimals).</summary>
    public double PowerResolutionWatts { get; init; } = 1e-3;

    /// <summary>
    /// When the power metric is an average computed by the source, its window; then a channel without an energy counter
    /// is read as averaged power. Default: zero (treated as instantaneous).
    /// </summary>
    public TimeSpan PowerAveragingWindow { get; init; }

    /// <summary>Gauges recorded beside power, per device. Default: <c>DCGM_FI_PROF_SM_ACTIVE</c> and <c>DCGM_FI_DEV_GPU_TEMP</c>.</summary>
    public IReadOnlyList<string> TelemetryMetrics { get; init; } = ["DCGM_FI_PROF_SM_ACTIVE", "DCGM_FI_DEV_GPU_TEMP"];

    /// <summary>Labels that tell devices apart: one channel per distinct combination. Default: <c>gpu</c> and <c>UUID</c> (DCGM exporter).</summary>
    public IReadOnlyList<string> DeviceLabels { get; init; } = ["gpu", "UUID"];

    /// <summary>The label whose value is the device's stable identity (shared with NVML so a GPU is counted once). Default: <c>UUID</c>.</summary>
    public string DeviceKeyLabel { get; init; } = "UUID";

    /// <summary>Exact-match label selector, e.g. <c>instance="node1:9400",job="dcgm"</c>. Default: "" (every series).</summary>
    public string Selector { get; init; } = "";

    /// <summary>What each channel covers. Default: accelerator (DCGM). Set node AC or rack for a PDU exporter.</summary>
    public MeterScope Scope { get; init; } = MeterScope.Accelerator;

    /// <summary>How often the exporter refreshes its values. Default: 30 s (DCGM exporter's default collect interval, <c>-c 30000</c>).</summary>
    public TimeSpan UpdatePeriod { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Time allowed for one scrape. Default: 2 s.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(2);

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (!Url.IsAbsoluteUri || (Url.Scheme != Uri.UriSchemeHttp && Url.Scheme != Uri.UriSchemeHttps))
            errors.Add($"The Prometheus URL must be an absolute http(s) URL such as http://node1:9400/metrics (was '{Url}').");
        if (EnergyMetric.Length == 0 && PowerMetric.Length == 0) errors.Add("Set an energy metric, a power metric or both; both are empty.");
        if (!(EnergyScale > 0) || !double.IsFinite(EnergyScale)) errors.Add($"The energy scale must be a positive number of joules per unit (was {EnergyScale}).");
        if (!(PowerScale > 0) || !double.IsFinite(PowerScale)) errors.Add($"The power scale must be a positive number of watts per unit (was {PowerScale}).");
        if (DeviceLabels.Count == 0) errors.Add("At least one device label is needed to tell channels apart (DCGM: gpu, UUID).");
        if (UpdatePeriod <= TimeSpan.Zero) errors.Add("The update period must be positive.");
        if (Timeout <= TimeSpan.Zero || Timeout > TimeSpan.FromMinutes(1)) errors.Add($"The timeout must be between 0 and 1 min (was {Timeout.TotalSeconds} s).");
        return errors;
    }
}

/// <summary>
/// Scrapes a Prometheus text endpoint (an NVIDIA DCGM exporter by default) at every read: one channel per device (the
/// <c>gpu</c>/<c>UUID</c> labels), energy from a cumulative counter when the exporter has one, power beside it, and
/// gauges as telemetry. Exporter timestamps, when present, are passed on as the source's time.
/// </summary>
public sealed class PrometheusTextMeter : IPowerMeter
{
    private readonly PrometheusTextOptions _options;
    private readonly TimeProvider _time;
    private readonly RemoteHttp _http;
    private readonly IReadOnlyDictionary<string, string> _selector;
    private readonly string[] _keys;
    private readonly (int Channel, string Metric)[] _gauges;
    private readonly string[] _lastFailure;

    private PrometheusTextMeter(PrometheusTextOptions options, TimeProvider time, RemoteHttp http, IReadOnlyDictionary<string, string> selector,
        IReadOnlyList<MeterChannel> channels, string[] keys, IReadOnlyList<TelemetryChannel> telemetry, (int, string)[] gauges)
    {
        _options = options;
        _time = time;
        _http = http;
        _selector = selector;
        Channels = channels;
        _keys = keys;
        Telemetry = telemetry;
        _gauges = gauges;
        _lastFailure = new string[channels.Count];
        Array.Fill(_lastFailure, "");
    }

    public string Name => "prometheus";

    public bool IsRemote => true;

    public IReadOnlyList<MeterChannel> Channels { get; }

    public IReadOnlyList<TelemetryChannel> Telemetry { get; }

    /// <summary>Why the last read failed ("" after a good read).</summary>
    public string FailureDetail(int channel) => _lastFailure[channel];

    /// <summary>Scrapes the URL once to discover the devices.</summary>
    /// <exception cref="EnergyToTokenException">Invalid options, the URL does not answer, or no series matches (the message lists what was there).</exception>
    public static PrometheusTextMeter Open(PrometheusTextOptions options, TimeProvider time)
    {
        var errors = options.Validate();
        if (errors.Count > 0) throw new EnergyToTokenException(string.Join(Environment.NewLine, errors));
        var selector = PrometheusText.ParseSelector(options.Selector);
        var http = new RemoteHttp(options.Timeout);
        try
        {
            var fetch = http.Get(options.Url);
            if (!fetch.Ok)
            {
                throw new EnergyToTokenException(
                    $"The Prometheus endpoint {options.Url} did not answer: {fetch.Detail}. Check that the exporter runs and the URL (host, port, /metrics path) is right, e.g. curl {options.Url}.");
            }
            var samples = PrometheusText.Parse(fetch.Body);
            var wanted = samples.Where(s => (s.Name == options.EnergyMetric || s.Name == options.PowerMetric) && Matches(s, selector)).ToList();
            if (wanted.Count == 0)
            {
                var seen = samples.Select(s => s.Name).Distinct().Take(10).ToList();
                var names = string.Join(" or ", new[] { options.EnergyMetric, options.PowerMetric }.Where(n => n.Length > 0));
                throw new EnergyToTokenException(
                    $"{options.Url} serves no {names} series{(selector.Count > 0 ? $" matching {options.Selector}" : "")}. " +
                    (seen.Count == 0 ? "It serves no samples at all. " : $"Metrics seen: {string.Join(", ", seen)}{(samples.Select(s => s.Name).Distinct().Count() > 10 ? ", …" : "")}. ") +
                    "Set the energy and power metric names (and their unit scales) for this exporter, or fix the label selector.");
            }
            var devices = wanted.Select(s => Key(s, options.DeviceLabels)).Distinct().ToList();
            var channels = new List<MeterChannel>();
            var telemetry = new List<TelemetryChannel>();
            var gauges = new List<(int, string)>();
            foreach (var key in devices)
            {
                var energy = wanted.FirstOrDefault(s => s.Name == options.EnergyMetric && Key(s, options.DeviceLabels) == key);
                var power = wanted.FirstOrDefault(s => s.Name == options.PowerMetric && Key(s, options.DeviceLabels) == key);
                var any = energy ?? power!;
                var id = $"prometheus:{Describe(any, options.DeviceLabels)}";
                var uuid = any.Label(options.DeviceKeyLabel);
                var kind = energy is not null ? ReadingKind.Counter : options.PowerAveragingWindow > TimeSpan.Zero ? ReadingKind.AveragedPower : ReadingKind.InstantPower;
                var notes = new List<string>
                {
                    $"scraped from {options.Url}; the exporter refreshes about every {options.UpdatePeriod.TotalSeconds:0.###} s, so windows shorter than ~10 periods carry large error",
                };
                if (energy is null && options.EnergyMetric.Length > 0) notes.Add($"no {options.EnergyMetric} series for this device: energy is integrated from power");
                if (uuid.Length == 0) notes.Add($"no {options.DeviceKeyLabel} label: this device cannot be matched with the same device read by another meter");
                if (options.PowerMetric == "DCGM_FI_DEV_POWER_USAGE") notes.Add("DCGM power is NVML's reading: a 1 s average on Ampere and newer");
                // The e2t twin labels its simulated devices; results read from it must say they are simulated.
                var simulated = any.Label("e2t_simulated") == "true";
                if (simulated) notes.Add("simulated by the e2t twin (label e2t_simulated=\"true\"): not a measurement");
                channels.Add(new MeterChannel(id, Title(any, options), options.Scope, kind)
                {
                    HasPower = power is not null,
                    EnergyResolutionJoules = options.EnergyScale,
                    PowerResolutionWatts = options.PowerResolutionWatts,
                    NominalUpdatePeriod = options.UpdatePeriod,
                    AveragingWindow = kind == ReadingKind.AveragedPower ? options.PowerAveragingWindow : TimeSpan.Zero,
                    DeviceKey = uuid,
                    Simulated = simulated,
                    Notes = notes,
                });
                foreach (var metric in options.TelemetryMetrics)
                {
                    if (!samples.Any(s => s.Name == metric && Matches(s, selector) && Key(s, options.DeviceLabels) == key)) continue;
                    telemetry.Add(new TelemetryChannel($"{id}:{metric}", Unit(metric)));
                    gauges.Add((channels.Count - 1, metric));
                }
            }
            return new PrometheusTextMeter(options, time, http, selector, channels, [.. devices], telemetry, [.. gauges]);
        }
        catch
        {
            http.Dispose();
            throw;
        }
    }

    public void Read(Span<MeterReading> readings, Span<double> telemetry)
    {
        var before = _time.GetTimestamp();
        var fetch = _http.Get(_options.Url);
        IReadOnlyList<PrometheusSample>? samples = null;
        var failure = fetch.Detail;
        if (fetch.Ok)
        {
            try
            {
                samples = PrometheusText.Parse(fetch.Body);
            }
            catch (EnergyToTokenException e)
            {
                failure = e.Message;
            }
        }
        var after = _time.GetTimestamp();
        telemetry.Fill(double.NaN);
        if (samples is null)
        {
            for (var i = 0; i < Channels.Count; i++)
            {
                readings[i] = MeterReading.Failed(before, after, fetch.Ok ? ReadStatus.Unavailable : fetch.Status);
                _lastFailure[i] = failure;
            }
            return;
        }

        var byKey = new Dictionary<(string Metric, string Key), PrometheusSample>();
        foreach (var s in samples)
        {
            if (!Matches(s, _selector)) continue;
            byKey.TryAdd((s.Name, Key(s, _options.DeviceLabels)), s);
        }
        for (var i = 0; i < Channels.Count; i++)
        {
            var channel = Channels[i];
            byKey.TryGetValue((_options.EnergyMetric, _keys[i]), out var energy);
            byKey.TryGetValue((_options.PowerMetric, _keys[i]), out var power);
            var joules = energy is not null ? energy.Value * _options.EnergyScale : double.NaN;
            var watts = power is not null ? power.Value * _options.PowerScale : double.NaN;
            var primary = channel.HasEnergy ? energy : power;
            if (primary is null)
            {
                readings[i] = MeterReading.Failed(before, after, ReadStatus.Unavailable);
                _lastFailure[i] = $"the series {(channel.HasEnergy ? _options.EnergyMetric : _options.PowerMetric)} for {channel.Id} is gone from {_options.Url}";
                continue;
            }
            var stamp = Math.Max(energy?.TimestampUnixMilliseconds ?? 0, power?.TimestampUnixMilliseconds ?? 0);
            readings[i] = new MeterReading(before, after, joules, channel.HasPower ? watts : double.NaN, ReadStatus.Ok, stamp);
            _lastFailure[i] = "";
        }
        for (var g = 0; g < _gauges.Length; g++)
        {
            var (channel, metric) = _gauges[g];
            if (byKey.TryGetValue((metric, _keys[channel]), out var s)) telemetry[g] = s.Value;
        }
    }

    public void Dispose() => _http.Dispose();

    private static bool Matches(PrometheusSample sample, IReadOnlyDictionary<string, string> selector)
    {
        foreach (var (name, value) in selector)
        {
            if (sample.Label(name) != value) return false;
        }
        return true;
    }

    private static string Key(PrometheusSample sample, IReadOnlyList<string> labels) =>
        string.Join('\u001f', labels.Select(sample.Label));

    private static string Describe(PrometheusSample sample, IReadOnlyList<string> labels)
    {
        // The first device label that is present names the channel: prometheus:0 for DCGM's gpu="0".
        var parts = labels.Select(sample.Label).Where(v => v.Length > 0).ToList();
        var host = sample.Label("Hostname");
        var device = parts.Count > 0 ? parts[0] : "0";
        return host.Length > 0 ? $"{host}:{device}" : device;
    }

    private static string Title(PrometheusSample sample, PrometheusTextOptions options)
    {
        var model = sample.Label("modelName");
        var parts = options.DeviceLabels.Select(l => (l, v: sample.Label(l))).Where(p => p.v.Length > 0).Select(p => $"{p.l}={p.v}");
        return string.Create(CultureInfo.InvariantCulture, $"{(model.Length > 0 ? model + " " : "")}({string.Join(", ", parts)}) via {options.Url.Authority}");
    }

    private static string Unit(string metric) => metric switch
    {
        "DCGM_FI_DEV_GPU_TEMP" or "DCGM_FI_DEV_MEMORY_TEMP" => "°C",
        "DCGM_FI_PROF_SM_ACTIVE" or "DCGM_FI_PROF_SM_OCCUPANCY" or "DCGM_FI_PROF_GR_ENGINE_ACTIVE" or "DCGM_FI_PROF_DRAM_ACTIVE" => "ratio",
        "DCGM_FI_DEV_GPU_UTIL" or "DCGM_FI_DEV_MEM_COPY_UTIL" => "%",
        "DCGM_FI_DEV_SM_CLOCK" or "DCGM_FI_DEV_MEM_CLOCK" => "MHz",
        "DCGM_FI_DEV_POWER_USAGE" or "DCGM_FI_DEV_POWER_MGMT_LIMIT" => "W",
        _ => "",
    };
}
