using System.Runtime.InteropServices;

namespace EnergyToToken.Metering.Nvml;

/// <summary>NVML return codes we act on (nvml.h).</summary>
internal enum NvmlReturn
{
    Success = 0,
    Uninitialized = 1,
    InvalidArgument = 2,
    NotSupported = 3,
    NoPermission = 4,
    NotFound = 6,
    DriverNotLoaded = 9,
    Timeout = 10,
    LibraryNotFound = 12,
    GpuIsLost = 15,
    Unknown = 999,
}

/// <summary><c>nvmlFieldValue_t</c>: 40 bytes, the layout of nvml.h.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NvmlFieldValue
{
    public uint FieldId;
    public uint ScopeId;
    public long TimestampMicroseconds;
    public long LatencyMicroseconds;
    public int ValueType;
    public NvmlReturn Return;
    public ulong Value;
}

[StructLayout(LayoutKind.Sequential)]
internal struct NvmlUtilization
{
    public uint Gpu;
    public uint Memory;
}

/// <summary>NVML signatures only (dotnet/runtime's interop style); the logic is in <see cref="NvmlMeter"/>.</summary>
internal static partial class NvmlNative
{
    // The driver ships the versioned soname; the unversioned libnvidia-ml.so comes only with dev packages.
    private const string Library = NativeLibraries.Nvml;

    public const uint FieldPowerAverage = 185;
    public const uint FieldPowerInstant = 186;
    public const int ValueTypeDouble = 0;
    public const int ValueTypeUnsignedInt = 1;
    public const int ValueTypeUnsignedLong = 2;
    public const int ValueTypeUnsignedLongLong = 3;
    public const int ValueTypeSignedLongLong = 4;
    public const int ClockSm = 1;
    public const int ClockMemory = 2;
    public const int TemperatureGpu = 0;

    [LibraryImport(Library, EntryPoint = "nvmlInit_v2")]
    public static partial NvmlReturn Init();

    [LibraryImport(Library, EntryPoint = "nvmlShutdown")]
    public static partial NvmlReturn Shutdown();

    [LibraryImport(Library, EntryPoint = "nvmlErrorString")]
    public static partial nint ErrorString(NvmlReturn result);

    [LibraryImport(Library, EntryPoint = "nvmlDeviceGetCount_v2")]
    public static partial NvmlReturn DeviceGetCount(out uint count);

    [LibraryImport(Library, EntryPoint = "nvmlDeviceGetHandleByIndex_v2")]
    public static partial NvmlReturn DeviceGetHandleByIndex(uint index, out nint device);

    [LibraryImport(Library, EntryPoint = "nvmlDeviceGetName")]
    public static partial NvmlReturn DeviceGetName(nint device, ref byte name, uint length);

    [LibraryImport(Library, EntryPoint = "nvmlDeviceGetUUID")]
    public static partial NvmlReturn DeviceGetUuid(nint device, ref byte uuid, uint length);

    [LibraryImport(Library, EntryPoint = "nvmlDeviceGetTotalEnergyConsumption")]
    public static partial NvmlReturn DeviceGetTotalEnergyConsumption(nint device, out ulong millijoules);

    /// <summary>On Ampere and newer this is a 1 s average, not an instant (measurement.md §3.1).</summary>
    [LibraryImport(Library, EntryPoint = "nvmlDeviceGetPowerUsage")]
    public static partial NvmlReturn DeviceGetPowerUsage(nint device, out uint milliwatts);

    [LibraryImport(Library, EntryPoint = "nvmlDeviceGetFieldValues")]
    public static partial NvmlReturn DeviceGetFieldValues(nint device, int count, ref NvmlFieldValue values);

    [LibraryImport(Library, EntryPoint = "nvmlDeviceGetEnforcedPowerLimit")]
    public static partial NvmlReturn DeviceGetEnforcedPowerLimit(nint device, out uint milliwatts);

    [LibraryImport(Library, EntryPoint = "nvmlDeviceGetUtilizationRates")]
    public static partial NvmlReturn DeviceGetUtilizationRates(nint device, out NvmlUtilization utilization);

    [LibraryImport(Library, EntryPoint = "nvmlDeviceGetClockInfo")]
    public static partial NvmlReturn DeviceGetClockInfo(nint device, int clock, out uint megahertz);

    [LibraryImport(Library, EntryPoint = "nvmlDeviceGetTemperature")]
    public static partial NvmlReturn DeviceGetTemperature(nint device, int sensor, out uint celsius);

    [LibraryImport(Library, EntryPoint = "nvmlDeviceGetCurrentClocksThrottleReasons")]
    public static partial NvmlReturn DeviceGetCurrentClocksThrottleReasons(nint device, out ulong reasons);

    [LibraryImport(Library, EntryPoint = "nvmlDeviceGetMigMode")]
    public static partial NvmlReturn DeviceGetMigMode(nint device, out uint current, out uint pending);
}
