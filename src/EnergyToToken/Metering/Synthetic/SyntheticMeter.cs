using System.Globalization;
using EnergyToToken.Scenarios;

namespace EnergyToToken.Metering.Synthetic;

/// <summary>A scripted power profile: segments of constant power, repeated for as long as the run lasts.</summary>
/// <param name="Segments">Power (W) and how long it lasts (s).</param>
public sealed record PowerProfile(IReadOnlyList<(double Watts, double Seconds)> Segments)
{
    public double Period => Segments.Sum(s => s.Seconds);

    /// <summary>Parses <c>300W:2s,100W:1s</c> (units optional; durations as <c>--interval</c> writes them).</summary>
    public static PowerProfile Parse(string text)
    {
        var segments = new List<(double, double)>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var pieces = part.Split(':');
            if (pieces.Length != 2
                || !double.TryParse(pieces[0].TrimEnd('W', 'w'), NumberStyles.Float, CultureInfo.InvariantCulture, out var watts)
                || !double.IsFinite(watts) || watts < 0)
            {
                throw new EnergyToTokenException($"Synthetic profile segment '{part}' is not WATTS:DURATION. Write segments like 300W:2s,100W:500ms (power ≥ 0).");
            }
            var seconds = Quantities.ParseDuration(pieces[1], "synthetic profile duration").TotalSeconds;
            if (seconds <= 0) throw new EnergyToTokenException($"Synthetic profile segment '{part}' has a zero duration; every segment must last some time.");
            segments.Add((watts, seconds));
        }
        if (segments.Count == 0) throw new EnergyToTokenException($"Synthetic profile '{text}' is empty. Write segments like 300W:2s,100W:1s.");
        return new PowerProfile(segments);
    }

    public double WattsAt(double t)
    {
        var x = Math.Max(0, t) % Period;
        foreach (var (watts, seconds) in Segments)
        {
            if (x < seconds) return watts;
            x -= seconds;
        }
        return Segments[^1].Watts;
    }

    /// <summary>Exact energy from 0 to t, J.</summary>
    public double EnergyAt(double t)
    {
        if (t <= 0) return 0;
        var cycles = Math.Floor(t / Period);
        var energy = cycles * Segments.Sum(s => s.Watts * s.Seconds);
        var x = t - cycles * Period;
        foreach (var (watts, seconds) in Segments)
        {
            var part = Math.Min(x, seconds);
            energy += watts * part;
            x -= part;
            if (x <= 0) break;
        }
        return energy;
    }
}

/// <summary>Options of the synthetic meter. Default: 300 W for 2 s then 100 W for 1 s, a counter updated every 100 ms.</summary>
public sealed record SyntheticOptions
{
    public PowerProfile Profile { get; init; } = PowerProfile.Parse("300W:2s,100W:1s");

    /// <summary>Counter (cumulative energy, plus power) or power only. Default: counter.</summary>
    public ReadingKind Kind { get; init; } = ReadingKind.Counter;

    /// <summary>The counter and power change only at multiples of this, as a real sensor does. Default: 100 ms.</summary>
    public TimeSpan UpdatePeriod { get; init; } = TimeSpan.FromMilliseconds(100);

    public MeterScope Scope { get; init; } = MeterScope.Accelerator;
}

/// <summary>
/// A meter that follows a scripted power profile on the run's clock: for tests and dry runs without hardware
/// (<c>--meter synthetic</c>). Its readings are simulated, and its channel says so.
/// </summary>
public sealed class SyntheticMeter : IPowerMeter
{
    private readonly SyntheticOptions _options;
    private readonly TimeProvider _time;
    private readonly long _start;

    public SyntheticMeter(SyntheticOptions options, TimeProvider time)
    {
        _options = options;
        _time = time;
        _start = time.GetTimestamp();
        Channels =
        [
            new MeterChannel("synthetic:0", "synthetic profile (simulated, not a measurement)", options.Scope, options.Kind)
            {
                NominalUpdatePeriod = options.UpdatePeriod,
                AveragingWindow = options.Kind == ReadingKind.AveragedPower ? options.UpdatePeriod : TimeSpan.Zero,
                DeviceKey = "synthetic:0",
                Simulated = true,
                Notes = ["simulated readings from a scripted profile"],
            },
        ];
    }

    public string Name => "synthetic";

    public bool IsRemote => false;

    public IReadOnlyList<MeterChannel> Channels { get; }

    public IReadOnlyList<TelemetryChannel> Telemetry => [];

    /// <summary>Exact energy of the profile between two instants (seconds since the meter opened), for checking integration.</summary>
    public double TrueJoules(double from, double to) => _options.Profile.EnergyAt(to) - _options.Profile.EnergyAt(from);

    /// <summary>The meter's zero, a <see cref="TimeProvider.GetTimestamp"/> value.</summary>
    public long Start => _start;

    public void Read(Span<MeterReading> readings, Span<double> telemetry)
    {
        var before = _time.GetTimestamp();
        var t = (before - _start) / (double)_time.TimestampFrequency;
        var period = _options.UpdatePeriod.TotalSeconds;
        var updated = period > 0 ? Math.Floor(t / period) * period : t;
        var joules = _options.Kind == ReadingKind.Counter ? _options.Profile.EnergyAt(updated) : double.NaN;
        var watts = _options.Kind == ReadingKind.AveragedPower && period > 0
            ? (_options.Profile.EnergyAt(updated) - _options.Profile.EnergyAt(updated - period)) / period
            : _options.Profile.WattsAt(updated);
        readings[0] = new MeterReading(before, _time.GetTimestamp(), joules, watts, ReadStatus.Ok);
    }

    public void Dispose()
    {
    }
}
