using System.Runtime.InteropServices;

namespace EnergyToToken.Metering.AmdSmi;

/// <summary>Options of the AMD SMI meter.</summary>
public sealed record AmdSmiOptions
{
    /// <summary>Path of AMD SMI. Default: <c>E2T_AMDSMI_LIBRARY</c>, else <c>/opt/rocm/lib/libamd_smi.so</c> if it exists, else <c>libamd_smi.so</c>.</summary>
    public string Library { get; init; } =
        Environment.GetEnvironmentVariable("E2T_AMDSMI_LIBRARY") is { Length: > 0 } path ? path
        : File.Exists("/opt/rocm/lib/libamd_smi.so") ? "/opt/rocm/lib/libamd_smi.so" : NativeLibraries.AmdSmi;
}

/// <summary>
/// AMD Instinct and Radeon GPUs through AMD SMI: the energy accumulator (counter × its resolution in µJ) with socket
/// power beside it (current socket power on MI300 and newer, else the average).
/// </summary>
public sealed class AmdSmiMeter : IPowerMeter
{
    private readonly (nint Handle, double Resolution)[] _gpus;
    private readonly TimeProvider _time;
    private readonly byte[] _power = new byte[512];
    private bool _disposed;

    private AmdSmiMeter((nint, double)[] gpus, IReadOnlyList<MeterChannel> channels, TimeProvider time)
    {
        _gpus = gpus;
        Channels = channels;
        _time = time;
    }

    public string Name => "amdsmi";

    public bool IsRemote => false;

    public IReadOnlyList<MeterChannel> Channels { get; }

    public IReadOnlyList<TelemetryChannel> Telemetry => [];

    public static AmdSmiMeter Open(AmdSmiOptions options, TimeProvider time)
    {
        NativeLibraries.Use(NativeLibraries.AmdSmi, options.Library);
        int init;
        try
        {
            init = AmdSmiNative.Init(AmdSmiNative.InitAmdGpus);
        }
        catch (DllNotFoundException)
        {
            throw new EnergyToTokenException($"AMD SMI: the library '{options.Library}' was not found. Install ROCm's amd-smi-lib, or set E2T_AMDSMI_LIBRARY to libamd_smi.so.");
        }
        catch (EntryPointNotFoundException)
        {
            throw new EnergyToTokenException($"AMD SMI: '{options.Library}' does not export amdsmi_init; point E2T_AMDSMI_LIBRARY at libamd_smi.so.");
        }
        if (init != AmdSmiNative.Success)
            throw new EnergyToTokenException($"AMD SMI: initialisation failed with status {init} (no AMD GPU, or the amdgpu driver is not loaded).");
        try
        {
            uint sockets = 0;
            _ = AmdSmiNative.GetSocketHandles(ref sockets, null);
            var socketHandles = new nint[sockets];
            _ = AmdSmiNative.GetSocketHandles(ref sockets, socketHandles);
            var gpus = new List<(nint, double)>();
            var channels = new List<MeterChannel>();
            foreach (var socket in socketHandles)
            {
                uint count = 0;
                _ = AmdSmiNative.GetProcessorHandles(socket, ref count, null);
                var processors = new nint[count];
                if (AmdSmiNative.GetProcessorHandles(socket, ref count, processors) != AmdSmiNative.Success) continue;
                foreach (var processor in processors)
                {
                    if (AmdSmiNative.GetEnergyCount(processor, out _, out var resolution, out _) != AmdSmiNative.Success) continue;
                    var index = gpus.Count;
                    // Keyed by PCI address, as hwmon's amdgpu sensors are: a GPU read by both counts once.
                    var key = AmdSmiNative.GetDeviceBdf(processor, out var bdf) == AmdSmiNative.Success
                        ? FormattableString.Invariant($"pci:{bdf >> 16:x4}:{(bdf >> 8) & 0xFF:x2}:{(bdf >> 3) & 0x1F:x2}.{bdf & 0x7:x}")
                        : $"amdsmi:{index}";
                    gpus.Add((processor, resolution * 1e-6));
                    channels.Add(new MeterChannel($"amdsmi:{index}", $"AMD GPU {index}", MeterScope.Accelerator, ReadingKind.Counter)
                    {
                        EnergyResolutionJoules = resolution * 1e-6,
                        PowerResolutionWatts = 1,
                        NominalUpdatePeriod = TimeSpan.FromMilliseconds(1),
                        DeviceKey = key,
                        Notes = ["socket power is reported in whole watts"],
                    });
                }
            }
            if (gpus.Count == 0) throw new EnergyToTokenException("AMD SMI: no GPU with an energy counter was found. Use another meter; 'e2t meters' lists them.");
            return new AmdSmiMeter([.. gpus], channels, time);
        }
        catch
        {
            _ = AmdSmiNative.ShutDown();
            throw;
        }
    }

    public void Read(Span<MeterReading> readings, Span<double> telemetry)
    {
        for (var i = 0; i < _gpus.Length; i++)
        {
            var before = _time.GetTimestamp();
            var status = AmdSmiNative.GetEnergyCount(_gpus[i].Handle, out var accumulator, out _, out _);
            var watts = double.NaN;
            if (AmdSmiNative.GetPowerInfo(_gpus[i].Handle, ref _power[0]) == AmdSmiNative.Success)
            {
                var info = MemoryMarshal.Read<AmdSmiPowerInfo>(_power);
                // Unsupported members are UINT32_MAX, or 0xFFFF copied from gpu_metrics on some GPUs.
                watts = info.CurrentSocketPower is not (0 or 0xFFFF or uint.MaxValue) ? info.CurrentSocketPower
                    : info.AverageSocketPower is not (0 or 0xFFFF or uint.MaxValue) ? info.AverageSocketPower : double.NaN;
            }
            var after = _time.GetTimestamp();
            readings[i] = status == AmdSmiNative.Success
                ? new MeterReading(before, after, accumulator * _gpus[i].Resolution, watts, ReadStatus.Ok)
                : MeterReading.Failed(before, after, status == AmdSmiNative.NotSupported ? ReadStatus.NotSupported : ReadStatus.Unavailable);
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _ = AmdSmiNative.ShutDown();
    }
}
