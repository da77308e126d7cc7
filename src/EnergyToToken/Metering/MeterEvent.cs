namespace EnergyToToken.Metering;

public enum MeterEventKind
{
    /// <summary>No successful read for longer than three sampling intervals, or reads failed in between.</summary>
    Gap,

    /// <summary>The counter wrapped; the delta is exact.</summary>
    Wrap,

    /// <summary>The counter went backwards: energy before the reset was estimated from power and carries its own uncertainty.</summary>
    Reset,

    /// <summary>The counter stepped back by less than a restart would (a cached or re-rounded value): ignored, nothing counted.</summary>
    Backstep,

    /// <summary>The value did not change for longer than the stale limit: the source may have stopped updating.</summary>
    Stale,

    /// <summary>A read failed (the detail says how); one event per run of failures.</summary>
    ReadError,

    /// <summary>The device is gone; its channel records nothing more.</summary>
    Lost,
}

/// <summary>Something the sampler noticed about one channel, between two instants (seconds from the run's origin).</summary>
public sealed record MeterEvent(string Channel, MeterEventKind Kind, double From, double To, string Detail)
{
    /// <summary>For a reset: the energy bridged by estimate, J, which is also its uncertainty.</summary>
    public double EstimatedJoules { get; init; }
}
