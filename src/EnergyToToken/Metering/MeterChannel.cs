namespace EnergyToToken.Metering;

/// <summary>
/// What a channel's energy covers. Scopes nest (CPU package and DRAM ⊂ platform; accelerator and platform ⊂ node DC
/// ⊂ node AC ⊂ rack ⊂ facility), so a channel inside another present channel's scope is never added (measurement.md §3.5).
/// </summary>
public enum MeterScope
{
    Accelerator,
    CpuPackage,
    Dram,

    /// <summary>
    /// The platform without its accelerators: RAPL psys (CPU packages, DRAM and the SoC's rails), or a board sensor
    /// whose reach is not known. Contains CPU packages and DRAM, not accelerators.
    /// </summary>
    Platform,
    NodeDc,
    NodeAc,
    Rack,
    Facility,
}

/// <summary>How a channel's primary reading behaves, which decides how energy is taken from it.</summary>
public enum ReadingKind
{
    /// <summary>A cumulative energy counter (NVML total energy, RAPL <c>energy_uj</c>, DCGM total energy). Preferred.</summary>
    Counter,

    /// <summary>Power at the instant of the read.</summary>
    InstantPower,

    /// <summary>Power averaged by the source over <see cref="MeterChannel.AveragingWindow"/> before the read.</summary>
    AveragedPower,
}

/// <summary>The outcome of one read of one channel.</summary>
public enum ReadStatus : byte
{
    Ok,

    /// <summary>The source answered that this quantity is not supported.</summary>
    NotSupported,

    /// <summary>A transient failure (timeout, 5xx, busy): the next read may succeed.</summary>
    Unavailable,

    /// <summary>The device is gone (NVML GPU lost, file vanished); reads will keep failing.</summary>
    Lost,

    /// <summary>The source refused us (root-only counter, 401).</summary>
    PermissionDenied,
}

/// <summary>
/// One channel of a meter: a device or a domain whose energy and/or power we read.
/// </summary>
/// <param name="Id">Unique within a run, <c>meter:device</c>, e.g. <c>nvml:0</c>, <c>rapl:package-0</c>.</param>
/// <param name="Description">For people: the device's name or the domain's.</param>
/// <param name="Scope">What the energy covers.</param>
/// <param name="Kind">Counter, instantaneous or averaged power.</param>
public sealed record MeterChannel(string Id, string Description, MeterScope Scope, ReadingKind Kind)
{
    /// <summary>Whether reads carry cumulative energy (J). True for counters; may also be true beside power.</summary>
    public bool HasEnergy => Kind == ReadingKind.Counter;

    /// <summary>Whether reads carry power (W). Counters may carry it too (NVML reads both).</summary>
    public bool HasPower { get; init; } = true;

    /// <summary>Smallest step of the energy counter, J. Default: 1 mJ (NVML).</summary>
    public double EnergyResolutionJoules { get; init; } = 1e-3;

    /// <summary>Smallest step of a power reading, W. Default: 1 mW (NVML).</summary>
    public double PowerResolutionWatts { get; init; } = 1e-3;

    /// <summary>The counter wraps to zero after this many joules (RAPL <c>max_energy_range_uj</c>); null when it does not wrap.</summary>
    public double? WrapJoules { get; init; }

    /// <summary>How often the source refreshes, as the source documents it; the sampler measures the real period.</summary>
    public TimeSpan NominalUpdatePeriod { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>For <see cref="ReadingKind.AveragedPower"/>: the window the source averages over (NVML on Ampere+: 1 s).</summary>
    public TimeSpan AveragingWindow { get; init; }

    /// <summary>
    /// The physical thing measured (a GPU UUID, a host:domain). Two meters that read the same device (NVML and DCGM on one GPU)
    /// share it, so totals count the device once.
    /// </summary>
    public string DeviceKey { get; init; } = "";

    /// <summary>True when the energy is modeled, not measured (the CPU model): every result that uses it says so.</summary>
    public bool Modeled { get; init; }

    /// <summary>True when the readings are simulated (the synthetic meter, the twin's meter): results say so.</summary>
    public bool Simulated { get; init; }

    /// <summary>Known limits of this channel, for the report (MIG not per instance, a 25 % duty-cycle sensor, ...).</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];
}

/// <summary>A gauge read beside power: temperature, clocks, utilization, power limit, throttle reasons.</summary>
/// <param name="Id">e.g. <c>nvml:0:temperature</c>.</param>
/// <param name="Unit">e.g. <c>°C</c>, <c>MHz</c>, <c>%</c>, <c>W</c>, <c>bitmask</c>.</param>
public sealed record TelemetryChannel(string Id, string Unit);

/// <summary>
/// One read of one channel. Timestamps are <see cref="TimeProvider.GetTimestamp"/> ticks taken just before and just after the
/// read, so the read's latency is known and its instant bounded.
/// </summary>
/// <param name="Joules">The counter's value in joules (NaN when the channel has no counter or the read failed).</param>
/// <param name="Watts">Power (NaN when the channel has no power reading or the read failed).</param>
/// <param name="SourceUnixMilliseconds">The source's own timestamp, when it gives one (remote meters); 0 otherwise.</param>
public readonly record struct MeterReading(long Before, long After, double Joules, double Watts, ReadStatus Status, long SourceUnixMilliseconds = 0)
{
    public static MeterReading Failed(long before, long after, ReadStatus status) => new(before, after, double.NaN, double.NaN, status);
}
