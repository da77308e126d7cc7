using System.Globalization;

namespace EnergyToToken.Twin;

/// <summary>How the twin's simulated device sensors behave: what a real GPU's counter and power reading would show.</summary>
public sealed record SensorOptions
{
    /// <summary>The energy counter changes only at multiples of this, as NVML's does (about every 100 ms, per ML.ENERGY). Default: 100 ms.</summary>
    public TimeSpan CounterUpdatePeriod { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Power readings average this window, as nvmlDeviceGetPowerUsage does on Hopper (1 s). Default: 1 s.</summary>
    public TimeSpan PowerAveragingWindow { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Gaussian noise on power readings, as a share of the reading (σ). The counter carries none. Default: 0.01.</summary>
    public double PowerNoise { get; init; } = 0.01;

    /// <summary>Energy on each device's counter when the twin starts, J: a counter counts from the driver's load, not from zero. Default: 1,000,000 J.</summary>
    public double CounterStartJoules { get; init; } = 1e6;

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (CounterUpdatePeriod <= TimeSpan.Zero) errors.Add($"The counter update period must be positive (was {CounterUpdatePeriod.TotalMilliseconds} ms).");
        if (PowerAveragingWindow < TimeSpan.Zero) errors.Add("The power averaging window must be at least 0.");
        if (!(PowerNoise is >= 0 and < 1)) errors.Add($"Power noise must be in [0, 1) (was {PowerNoise}).");
        if (!(CounterStartJoules >= 0)) errors.Add($"The counter's start must be at least 0 J (was {CounterStartJoules}).");
        return errors;
    }
}

/// <summary>
/// The twin's device sensors, read from its power ledger: one per device, the deployment's power split evenly. The
/// counter holds the exact energy at the last update instant, in whole millijoules; power is the mean over the averaging
/// window ending at that instant, times (1 + σ·noise); SM activity is the mean compute activity over the same window.
/// </summary>
internal sealed class TwinSensors
{
    private readonly PowerLedger _ledger;
    private readonly SensorOptions _options;
    private readonly int _devices;
    private readonly object _gate = new();
    private TwinRandom _noise;

    public TwinSensors(PowerLedger ledger, SensorOptions options, int devices, ulong seed, string acceleratorName)
    {
        _ledger = ledger;
        _options = options;
        _devices = devices;
        _noise = new TwinRandom(seed);
        Uuids = Enumerable.Range(0, devices).Select(d => Uuid(seed, d)).ToArray();
        ModelName = $"{acceleratorName} (e2t twin, simulated)";
    }

    public int Devices => _devices;

    public IReadOnlyList<string> Uuids { get; }

    public string ModelName { get; }

    public SensorOptions Options => _options;

    /// <summary>The instant the sensors last updated at or before <paramref name="t"/> (seconds on the twin's clock).</summary>
    public double UpdatedAt(double t)
    {
        var period = _options.CounterUpdatePeriod.TotalSeconds;
        return Math.Floor(t / period) * period;
    }

    /// <summary>One device's counter at <paramref name="t"/>, J, quantized to 1 mJ.</summary>
    public double CounterJoules(double t) =>
        Math.Floor((_options.CounterStartJoules + _ledger.EnergyAt(UpdatedAt(t)) / _devices) * 1000) / 1000;

    /// <summary>One device's power reading at <paramref name="t"/>, W, with sensor noise.</summary>
    public double Watts(double t)
    {
        var at = UpdatedAt(t);
        var window = _options.PowerAveragingWindow.TotalSeconds;
        var mean = window > 0 && at > 0
            ? (_ledger.EnergyAt(at) - _ledger.EnergyAt(Math.Max(0, at - window))) / Math.Min(window, at)
            : _ledger.WattsAt(at);
        lock (_gate) return Math.Max(0, mean / _devices * (1 + _options.PowerNoise * _noise.NextGaussian()));
    }

    /// <summary>Mean share of the window at the compute roof, 0–1 (DCGM's SM_ACTIVE stand-in).</summary>
    public double SmActive(double t)
    {
        var at = UpdatedAt(t);
        var window = Math.Max(_options.PowerAveragingWindow.TotalSeconds, _options.CounterUpdatePeriod.TotalSeconds);
        var from = Math.Max(0, at - window);
        return at > from ? (_ledger.ActiveSecondsAt(at) - _ledger.ActiveSecondsAt(from)) / (at - from) : 0;
    }

    private static string Uuid(ulong seed, int device)
    {
        var h = KvCache.Chain(seed, [device, 0x7717]);
        var g = KvCache.Chain(h, [device]);
        var hex = (h.ToString("x16", CultureInfo.InvariantCulture) + g.ToString("x16", CultureInfo.InvariantCulture));
        return $"GPU-{hex[..8]}-{hex[8..12]}-{hex[12..16]}-{hex[16..20]}-{hex[20..32]}";
    }
}
