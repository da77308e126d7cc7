using System.Runtime.InteropServices;
using System.Text;

namespace EnergyToToken.Metering.Nvml;

/// <summary>Options of the NVML meter.</summary>
public sealed record NvmlOptions
{
    /// <summary>Path or soname of NVML. Default: <c>E2T_NVML_LIBRARY</c>, else <c>libnvidia-ml.so.1</c> (the driver's soname).</summary>
    public string Library { get; init; } = Environment.GetEnvironmentVariable("E2T_NVML_LIBRARY") is { Length: > 0 } path ? path : NativeLibraries.Nvml;
}

/// <summary>
/// Every NVIDIA GPU through NVML: the total-energy counter (mJ, Volta and newer) with instantaneous power beside it;
/// where the counter is missing, instantaneous power (field 186) or the averaged power reading. Gauges: power limit,
/// utilization, SM and memory clocks, temperature and throttle reasons.
/// </summary>
public sealed class NvmlMeter : IPowerMeter
{
    private static readonly (string Name, string Unit)[] Gauges =
    [
        ("power_limit", "W"), ("utilization", "%"), ("memory_utilization", "%"), ("sm_clock", "MHz"),
        ("memory_clock", "MHz"), ("temperature", "°C"), ("throttle_reasons", "bitmask"), ("power_average", "W"),
    ];

    private static int GaugesPerGpu => Gauges.Length;
    private readonly Gpu[] _gpus;
    private readonly TimeProvider _time;
    private bool _disposed;

    private NvmlMeter(Gpu[] gpus, TimeProvider time)
    {
        _gpus = gpus;
        _time = time;
        Channels = [.. gpus.Select(g => g.Channel)];
        Telemetry = [.. gpus.SelectMany(g => Gauges.Select(n => new TelemetryChannel($"{g.Channel.Id}:{n.Name}", n.Unit)))];
    }

    public string Name => "nvml";

    public bool IsRemote => false;

    public IReadOnlyList<MeterChannel> Channels { get; }

    public IReadOnlyList<TelemetryChannel> Telemetry { get; }

    public static NvmlMeter Open(NvmlOptions options, TimeProvider time)
    {
        NativeLibraries.Use(NativeLibraries.Nvml, options.Library);
        NvmlReturn init;
        try
        {
            init = NvmlNative.Init();
        }
        catch (DllNotFoundException)
        {
            throw new EnergyToTokenException(
                $"NVML: the library '{options.Library}' was not found. Install the NVIDIA driver (it ships libnvidia-ml.so.1), or set E2T_NVML_LIBRARY to its path.");
        }
        catch (EntryPointNotFoundException)
        {
            throw new EnergyToTokenException($"NVML: '{options.Library}' does not export nvmlInit_v2; it is not NVML or too old. Point E2T_NVML_LIBRARY at libnvidia-ml.so.1.");
        }
        if (init != NvmlReturn.Success)
        {
            throw new EnergyToTokenException(init == NvmlReturn.DriverNotLoaded
                ? "NVML: the NVIDIA driver is not loaded (no NVIDIA GPU here, or the driver is not running). Use another meter; 'e2t meters' lists them."
                : $"NVML: initialisation failed: {Error(init)}. Check 'nvidia-smi' works for this user.");
        }
        try
        {
            var count = NvmlNative.DeviceGetCount(out var n) == NvmlReturn.Success ? n : 0;
            var gpus = new List<Gpu>();
            var skipped = new List<string>();
            for (var i = 0u; i < count; i++)
            {
                if (NvmlNative.DeviceGetHandleByIndex(i, out var device) != NvmlReturn.Success) continue;
                if (Gpu.Open(i, device) is { } gpu) gpus.Add(gpu);
                else skipped.Add($"GPU {i}");
            }
            if (gpus.Count == 0)
            {
                throw new EnergyToTokenException(count == 0
                    ? "NVML: the driver reports no GPU. Use another meter; 'e2t meters' lists them."
                    : $"NVML: no GPU offers an energy counter or a power reading ({string.Join(", ", skipped)}). Use another meter.");
            }
            return new NvmlMeter([.. gpus], time);
        }
        catch
        {
            NvmlNative.Shutdown();
            throw;
        }
    }

    public void Read(Span<MeterReading> readings, Span<double> telemetry)
    {
        for (var i = 0; i < _gpus.Length; i++)
        {
            readings[i] = _gpus[i].Read(_time);
            _gpus[i].ReadGauges(telemetry.Slice(i * GaugesPerGpu, GaugesPerGpu));
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        NvmlNative.Shutdown();
    }

    internal static string Error(NvmlReturn result)
    {
        try
        {
            var text = Marshal.PtrToStringUTF8(NvmlNative.ErrorString(result));
            return $"{text ?? "unknown error"} ({(int)result})";
        }
        catch (EntryPointNotFoundException)
        {
            return $"NVML error {(int)result}";
        }
    }

    internal static ReadStatus Status(NvmlReturn result) => result switch
    {
        NvmlReturn.Success => ReadStatus.Ok,
        NvmlReturn.GpuIsLost => ReadStatus.Lost,
        NvmlReturn.NotSupported => ReadStatus.NotSupported,
        NvmlReturn.NoPermission => ReadStatus.PermissionDenied,
        _ => ReadStatus.Unavailable,
    };

    /// <summary>One GPU: its handle, which readings it supports, and its channel.</summary>
    private sealed class Gpu
    {
        private readonly nint _device;
        private readonly bool _counter;
        private readonly bool _instant;
        private readonly bool _usage;

        private Gpu(nint device, bool counter, bool instant, bool usage, MeterChannel channel)
        {
            _device = device;
            _counter = counter;
            _instant = instant;
            _usage = usage;
            Channel = channel;
        }

        public MeterChannel Channel { get; }

        public static Gpu? Open(uint index, nint device)
        {
            var name = Text(device, NvmlNative.DeviceGetName) ?? $"GPU {index}";
            var uuid = Text(device, NvmlNative.DeviceGetUuid) ?? $"nvml:{index}";
            var counter = NvmlNative.DeviceGetTotalEnergyConsumption(device, out _) == NvmlReturn.Success;
            var instant = ReadField(device, NvmlNative.FieldPowerInstant, out _) == NvmlReturn.Success;
            var usage = NvmlNative.DeviceGetPowerUsage(device, out _) == NvmlReturn.Success;
            if (!counter && !instant && !usage) return null;
            var notes = new List<string>();
            if (NvmlNative.DeviceGetMigMode(device, out var mig, out _) == NvmlReturn.Success && mig == 1)
                notes.Add("MIG is enabled: energy and power are for the whole GPU, not per MIG instance");
            if (!counter) notes.Add("no total-energy counter (pre-Volta or not supported): energy is integrated from power readings");
            notes.Add("on A100/H100 the power sensor sees only part of the runtime (SC24); the energy counter is preferred where present");
            var kind = counter ? ReadingKind.Counter : instant ? ReadingKind.InstantPower : ReadingKind.AveragedPower;
            var averaged = !instant && usage;
            var channel = new MeterChannel($"nvml:{index}", $"{name} ({uuid})", MeterScope.Accelerator, kind)
            {
                HasPower = instant || usage,
                EnergyResolutionJoules = 1e-3,
                PowerResolutionWatts = 1e-3,
                // NVML documents no update period; ~20-100 ms is typical. The sampler measures the real one.
                NominalUpdatePeriod = TimeSpan.FromMilliseconds(100),
                // nvmlDeviceGetPowerUsage is a 1 s average on Ampere and newer; older GPUs are close to instantaneous.
                AveragingWindow = averaged ? TimeSpan.FromSeconds(1) : TimeSpan.Zero,
                DeviceKey = uuid,
                Notes = notes,
            };
            return new Gpu(device, counter, instant, usage, channel);
        }

        public MeterReading Read(TimeProvider time)
        {
            var before = time.GetTimestamp();
            var joules = double.NaN;
            var result = NvmlReturn.Success;
            if (_counter)
            {
                result = NvmlNative.DeviceGetTotalEnergyConsumption(_device, out var millijoules);
                if (result == NvmlReturn.Success) joules = millijoules / 1e3;
            }
            var watts = double.NaN;
            if (result == NvmlReturn.Success || _counter)
            {
                NvmlReturn power;
                ulong milliwatts;
                if (_instant)
                {
                    power = ReadField(_device, NvmlNative.FieldPowerInstant, out milliwatts);
                }
                else if (_usage)
                {
                    power = NvmlNative.DeviceGetPowerUsage(_device, out var usage);
                    milliwatts = usage;
                }
                else
                {
                    power = NvmlReturn.NotSupported;
                    milliwatts = 0;
                }
                if (power == NvmlReturn.Success) watts = milliwatts / 1e3;
                else if (!_counter) result = power;
                else if (power == NvmlReturn.GpuIsLost) result = power;
            }
            var after = time.GetTimestamp();
            return result == NvmlReturn.Success
                ? new MeterReading(before, after, joules, watts, ReadStatus.Ok)
                : MeterReading.Failed(before, after, Status(result));
        }

        public void ReadGauges(Span<double> gauges)
        {
            gauges.Fill(double.NaN);
            if (NvmlNative.DeviceGetEnforcedPowerLimit(_device, out var limit) == NvmlReturn.Success) gauges[0] = limit / 1e3;
            if (NvmlNative.DeviceGetUtilizationRates(_device, out var utilization) == NvmlReturn.Success)
            {
                gauges[1] = utilization.Gpu;
                gauges[2] = utilization.Memory;
            }
            if (NvmlNative.DeviceGetClockInfo(_device, NvmlNative.ClockSm, out var sm) == NvmlReturn.Success) gauges[3] = sm;
            if (NvmlNative.DeviceGetClockInfo(_device, NvmlNative.ClockMemory, out var memory) == NvmlReturn.Success) gauges[4] = memory;
            if (NvmlNative.DeviceGetTemperature(_device, NvmlNative.TemperatureGpu, out var celsius) == NvmlReturn.Success) gauges[5] = celsius;
            if (NvmlNative.DeviceGetCurrentClocksThrottleReasons(_device, out var reasons) == NvmlReturn.Success) gauges[6] = reasons;
            if (ReadField(_device, NvmlNative.FieldPowerAverage, out var average) == NvmlReturn.Success) gauges[7] = average / 1e3;
        }

        /// <summary>One NVML field as an unsigned integer (the power fields are milliwatts).</summary>
        private static NvmlReturn ReadField(nint device, uint field, out ulong value)
        {
            value = 0;
            var request = new NvmlFieldValue { FieldId = field };
            var result = NvmlNative.DeviceGetFieldValues(device, 1, ref request);
            if (result != NvmlReturn.Success) return result;
            if (request.Return != NvmlReturn.Success) return request.Return;
            value = request.ValueType switch
            {
                NvmlNative.ValueTypeDouble => (ulong)BitConverter.UInt64BitsToDouble(request.Value),
                NvmlNative.ValueTypeUnsignedInt => request.Value & 0xFFFF_FFFF,
                _ => request.Value,
            };
            return NvmlReturn.Success;
        }

        private delegate NvmlReturn TextGetter(nint device, ref byte buffer, uint length);

        private static string? Text(nint device, TextGetter getter)
        {
            var buffer = new byte[96];
            if (getter(device, ref buffer[0], (uint)buffer.Length) != NvmlReturn.Success) return null;
            var end = Array.IndexOf(buffer, (byte)0);
            return Encoding.UTF8.GetString(buffer, 0, end < 0 ? buffer.Length : end);
        }
    }
}
