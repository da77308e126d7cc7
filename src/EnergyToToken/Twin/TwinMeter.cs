using EnergyToToken.Metering;

namespace EnergyToToken.Twin;

/// <summary>
/// The twin's device meter in-process: the same sensors its DCGM-compatible endpoint shows, one accelerator channel per
/// simulated device, a counter with power beside it, and SM activity as a gauge. Every channel says it is simulated.
/// The twin's clock is the monotonic clock, so readings line up with anything else sampled on it.
/// </summary>
internal sealed class TwinMeter : IPowerMeter
{
    private readonly TwinSensors _sensors;
    private readonly long _origin;
    private readonly TimeProvider _time = TimeProvider.System;

    /// <param name="origin">The twin's zero on the system's monotonic clock (<see cref="TimeProvider.System"/>, which this meter reads).</param>
    public TwinMeter(TwinSensors sensors, long origin)
    {
        _sensors = sensors;
        _origin = origin;
        Channels = sensors.Uuids.Select((uuid, d) => new MeterChannel($"twin:{d}", $"{sensors.ModelName} {d}", MeterScope.Accelerator, ReadingKind.Counter)
        {
            NominalUpdatePeriod = sensors.Options.CounterUpdatePeriod,
            AveragingWindow = sensors.Options.PowerAveragingWindow,
            DeviceKey = uuid,
            Simulated = true,
            Notes = ["simulated by the e2t twin: energy from its physical model, not a measurement"],
        }).ToArray();
        Telemetry = sensors.Uuids.Select((_, d) => new TelemetryChannel($"twin:{d}:sm-active", "ratio")).ToArray();
    }

    public string Name => "twin";

    public bool IsRemote => false;

    public IReadOnlyList<MeterChannel> Channels { get; }

    public IReadOnlyList<TelemetryChannel> Telemetry { get; }

    public void Read(Span<MeterReading> readings, Span<double> telemetry)
    {
        var before = _time.GetTimestamp();
        var t = (before - _origin) / (double)_time.TimestampFrequency;
        var joules = _sensors.CounterJoules(t);
        var active = _sensors.SmActive(t);
        for (var d = 0; d < readings.Length; d++)
        {
            readings[d] = new MeterReading(before, _time.GetTimestamp(), joules, _sensors.Watts(t), ReadStatus.Ok);
            if (d < telemetry.Length) telemetry[d] = active;
        }
    }

    public void Dispose()
    {
    }
}
