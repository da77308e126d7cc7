namespace EnergyToToken.Metering;

/// <summary>
/// A source of energy and power readings with one or more channels. Implementations stamp each read with the
/// <see cref="TimeProvider"/> they were opened with and never throw for a failed read: they report it in the status.
/// </summary>
public interface IPowerMeter : IDisposable
{
    /// <summary>The meter's name as <c>--meter</c> spells it: nvml, amdsmi, rapl, hwmon, ipmi, redfish, prometheus, replay, cpu-model, synthetic.</summary>
    string Name { get; }

    /// <summary>True for meters across a network or a process boundary; they are sampled at 1 s by default, not 100 ms.</summary>
    bool IsRemote { get; }

    IReadOnlyList<MeterChannel> Channels { get; }

    /// <summary>Gauges read with every sample; may be empty.</summary>
    IReadOnlyList<TelemetryChannel> Telemetry { get; }

    /// <summary>
    /// Reads every channel once into <paramref name="readings"/> (one per channel, in order) and every gauge into
    /// <paramref name="telemetry"/> (NaN where unknown). Local meters do this without allocating.
    /// </summary>
    void Read(Span<MeterReading> readings, Span<double> telemetry);

    /// <summary>Why the last read of <paramref name="channel"/> failed, in words (HTTP 503, ipmitool's stderr); empty when unknown.</summary>
    string FailureDetail(int channel) => "";
}

/// <summary>What probing one meter found: usable or not, and why.</summary>
/// <param name="Meter">The meter's name.</param>
/// <param name="Available">True when it opened and has at least one channel.</param>
/// <param name="Reason">Why it is unavailable and what to do, or what it found.</param>
public sealed record MeterProbe(string Meter, bool Available, string Reason)
{
    /// <summary>The channels it offers when available.</summary>
    public IReadOnlyList<MeterChannel> Channels { get; init; } = [];

    public IReadOnlyList<TelemetryChannel> Telemetry { get; init; } = [];

    /// <summary>Update period per channel id, seconds, measured while probing (fast reads for a moment), where it could be.</summary>
    public IReadOnlyDictionary<string, double> MeasuredUpdatePeriods { get; init; } = new Dictionary<string, double>();
}
