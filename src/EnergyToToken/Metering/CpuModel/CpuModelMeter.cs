using System.Buffers.Text;
using System.Globalization;
using EnergyToToken.Metering.Sysfs;

namespace EnergyToToken.Metering.CpuModel;

/// <summary>Options of the modeled CPU meter.</summary>
public sealed record CpuModelOptions
{
    /// <summary>Root under which <c>proc/</c> is read. Default: <c>E2T_SYSFS_ROOT</c>, else <c>/</c>.</summary>
    public string Root { get; init; } = SysfsFile.DefaultRoot;

    /// <summary>Thermal design power of all CPU sockets together, W. Default: null, looked up from the model name in <c>/proc/cpuinfo</c>.</summary>
    public double? TdpWatts { get; init; }

    /// <summary>Model the CPU time of this process only (and its reaped children); 0 models the whole system. Default: 0.</summary>
    public int ProcessId { get; init; }
}

/// <summary>
/// Not a meter: a model. Energy = busy CPU seconds × (TDP ÷ logical CPUs), as CodeCarbon does without RAPL. It is
/// used only when nothing measured exists and the user allows it, and every result that uses it says
/// "modeled, not measured". It models busy time only, so it has no idle power to subtract.
/// </summary>
public sealed class CpuModelMeter : IPowerMeter
{
    /// <summary>TDP per socket of common server CPUs (vendor specifications), matched as substrings of the model name.</summary>
    internal static readonly (string Model, double Watts)[] KnownTdp =
    [
        ("EPYC 9654", 360), ("EPYC 9554", 360), ("EPYC 9474F", 360), ("EPYC 9354", 280), ("EPYC 7763", 280), ("EPYC 7742", 225),
        ("EPYC 7543", 225), ("EPYC 7443", 200), ("Xeon(R) Platinum 8480", 350), ("Xeon(R) Platinum 8468", 350), ("Xeon(R) Platinum 8380", 270),
        ("Xeon(R) Platinum 8358", 250), ("Xeon(R) Gold 6338", 205), ("Xeon(R) Platinum 8592", 350), ("Grace", 250),
    ];

    private readonly SysfsFile _stat;
    private readonly double _wattsPerCpu;
    private readonly bool _process;
    private readonly TimeProvider _time;
    private readonly byte[] _buffer = new byte[1024];

    private CpuModelMeter(SysfsFile stat, double wattsPerCpu, bool process, MeterChannel channel, TimeProvider time)
    {
        _stat = stat;
        _wattsPerCpu = wattsPerCpu;
        _process = process;
        _time = time;
        Channels = [channel];
    }

    public string Name => "cpu-model";

    public bool IsRemote => false;

    public IReadOnlyList<MeterChannel> Channels { get; }

    public IReadOnlyList<TelemetryChannel> Telemetry => [];

    public static CpuModelMeter Open(CpuModelOptions options, TimeProvider time)
    {
        var cpuinfo = SysfsFile.ReadText(Path.Combine(options.Root, "proc", "cpuinfo"))
            ?? throw new EnergyToTokenException($"cpu-model: {Path.Combine(options.Root, "proc", "cpuinfo")} cannot be read (not Linux?).");
        var lines = cpuinfo.Split('\n');
        var cpus = lines.Count(l => l.StartsWith("processor", StringComparison.Ordinal));
        var sockets = lines.Where(l => l.StartsWith("physical id", StringComparison.Ordinal)).Distinct().Count();
        var model = lines.FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU";
        double tdp;
        string source;
        if (options.TdpWatts is { } given)
        {
            tdp = given;
            source = "--cpu-tdp";
        }
        else if (KnownTdp.FirstOrDefault(k => model.Contains(k.Model, StringComparison.Ordinal)) is { Model: not null } known)
        {
            tdp = known.Watts * Math.Max(1, sockets);
            source = $"{known.Watts} W per socket for {known.Model} × {Math.Max(1, sockets)} socket(s)";
        }
        else
        {
            throw new EnergyToTokenException($"cpu-model: the TDP of '{model}' is not in e2t's table. Pass --cpu-tdp WATTS (all sockets together).");
        }
        if (cpus == 0 || !(tdp > 0)) throw new EnergyToTokenException($"cpu-model: cannot model {cpus} CPUs at {tdp} W. Pass --cpu-tdp WATTS greater than 0.");
        var stat = options.ProcessId > 0
            ? new SysfsFile(Path.Combine(options.Root, "proc", options.ProcessId.ToString(CultureInfo.InvariantCulture), "stat"))
            : new SysfsFile(Path.Combine(options.Root, "proc", "stat"));
        var channel = new MeterChannel("cpu-model:0", $"{model}: busy CPU time × {tdp:0.#} W ÷ {cpus} CPUs ({source})", MeterScope.CpuPackage, ReadingKind.Counter)
        {
            HasPower = false,
            Modeled = true,
            // /proc/stat counts in USER_HZ (100 per second on Linux).
            EnergyResolutionJoules = 0.01 * tdp / cpus,
            NominalUpdatePeriod = TimeSpan.FromMilliseconds(10),
            DeviceKey = "cpu-model",
            Notes = ["modeled, not measured: busy CPU time × TDP share; idle power is not modeled"],
        };
        var meter = new CpuModelMeter(stat, tdp / cpus, options.ProcessId > 0, channel, time);
        Span<MeterReading> probe = stackalloc MeterReading[1];
        meter.Read(probe, []);
        if (probe[0].Status != ReadStatus.Ok)
        {
            meter.Dispose();
            throw new EnergyToTokenException($"cpu-model: {stat.Path} cannot be read ({probe[0].Status}).");
        }
        return meter;
    }

    public void Read(Span<MeterReading> readings, Span<double> telemetry)
    {
        var before = _time.GetTimestamp();
        var status = _stat.TryRead(_buffer, out var length);
        var after = _time.GetTimestamp();
        if (status != ReadStatus.Ok || !TryBusyTicks(_buffer.AsSpan(0, length), _process, out var ticks))
        {
            readings[0] = MeterReading.Failed(before, after, status == ReadStatus.Ok ? ReadStatus.Unavailable : status);
            return;
        }
        readings[0] = new MeterReading(before, after, ticks / 100.0 * _wattsPerCpu, double.NaN, ReadStatus.Ok);
    }

    /// <summary>
    /// Busy ticks from the first line of <c>/proc/stat</c> (user nice system idle iowait irq softirq steal: all but
    /// idle and iowait), or from <c>/proc/PID/stat</c> (utime stime cutime cstime, fields 14-17 after the command name).
    /// </summary>
    internal static bool TryBusyTicks(ReadOnlySpan<byte> text, bool process, out ulong ticks)
    {
        ticks = 0;
        if (process)
        {
            var close = text.LastIndexOf((byte)')');
            if (close < 0) return false;
            text = text[(close + 1)..];
            // After ")": state(3) ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime(14) stime cutime cstime.
            for (var field = 3; field <= 17; field++)
            {
                text = text.TrimStart((byte)' ');
                var end = text.IndexOf((byte)' ');
                var token = end < 0 ? text : text[..end];
                if (field >= 14)
                {
                    if (!Utf8Parser.TryParse(token, out ulong v, out _)) return false;
                    ticks += v;
                }
                if (end < 0) return field == 17;
                text = text[end..];
            }
            return true;
        }
        if (!text.StartsWith("cpu "u8)) return false;
        text = text[4..];
        for (var field = 0; field < 8; field++)
        {
            text = text.TrimStart((byte)' ');
            if (!Utf8Parser.TryParse(text, out ulong v, out var used)) return field >= 4;
            if (field is not (3 or 4)) ticks += v;
            text = text[used..];
        }
        return true;
    }

    public void Dispose() => _stat.Dispose();
}
