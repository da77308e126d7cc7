using System.Runtime.InteropServices;

namespace EnergyToToken.Metering.Sysfs;

/// <summary>The four libc calls a sysfs read needs, so a sample allocates nothing (signatures only).</summary>
internal static partial class LibC
{
    private const string Library = "libc";

    /// <summary>O_RDONLY | O_CLOEXEC: a descriptor open while the measured command is forked must not leak into it.</summary>
    public const int ReadOnly = 0x80000;
    public const int NoEntry = 2;
    public const int PermissionDenied = 13;
    public const int NotPermitted = 1;
    public const int NoDevice = 19;

    [LibraryImport(Library, EntryPoint = "open", SetLastError = true)]
    public static partial int Open(ref byte path, int flags);

    [LibraryImport(Library, EntryPoint = "pread", SetLastError = true)]
    public static partial nint PRead(int fd, ref byte buffer, nuint count, long offset);

    [LibraryImport(Library, EntryPoint = "close")]
    public static partial int Close(int fd);
}
