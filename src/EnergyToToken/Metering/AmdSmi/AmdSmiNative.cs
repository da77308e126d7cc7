using System.Runtime.InteropServices;

namespace EnergyToToken.Metering.AmdSmi;

/// <summary>The prefix of <c>amdsmi_power_info_t</c> (ROCm 6.x layout); the rest of the struct is reserved space we never read.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct AmdSmiPowerInfo
{
    public ulong SocketPower;
    public uint CurrentSocketPower;
    public uint AverageSocketPower;
}

/// <summary>AMD SMI signatures only; the logic is in <see cref="AmdSmiMeter"/>.</summary>
internal static partial class AmdSmiNative
{
    private const string Library = NativeLibraries.AmdSmi;

    public const ulong InitAmdGpus = 1 << 1;
    public const int Success = 0;
    public const int NotSupported = 2;

    [LibraryImport(Library, EntryPoint = "amdsmi_init")]
    public static partial int Init(ulong flags);

    [LibraryImport(Library, EntryPoint = "amdsmi_shut_down")]
    public static partial int ShutDown();

    [LibraryImport(Library, EntryPoint = "amdsmi_get_socket_handles")]
    public static partial int GetSocketHandles(ref uint count, nint[]? sockets);

    [LibraryImport(Library, EntryPoint = "amdsmi_get_processor_handles")]
    public static partial int GetProcessorHandles(nint socket, ref uint count, nint[]? processors);

    /// <summary>Accumulated energy in units of <paramref name="resolutionMicrojoules"/>; timestamp in ns.</summary>
    [LibraryImport(Library, EntryPoint = "amdsmi_get_energy_count")]
    public static partial int GetEnergyCount(nint processor, out ulong accumulator, out float resolutionMicrojoules, out ulong timestamp);

    /// <summary>PCI address packed as function:3, device:5, bus:8, domain:48 bits (<c>amdsmi_bdf_t</c>).</summary>
    [LibraryImport(Library, EntryPoint = "amdsmi_get_gpu_device_bdf")]
    public static partial int GetDeviceBdf(nint processor, out ulong bdf);

    /// <summary>Fills an <c>amdsmi_power_info_t</c>; the buffer is larger than any published layout.</summary>
    [LibraryImport(Library, EntryPoint = "amdsmi_get_power_info")]
    public static partial int GetPowerInfo(nint processor, ref byte info);
}
