using System.Buffers.Text;
using System.Runtime.InteropServices;
using System.Text;

namespace EnergyToToken.Metering.Sysfs;

/// <summary>
/// One sysfs attribute holding an integer (<c>energy_uj</c>, <c>power1_input</c>), read afresh on every call:
/// opened, read and closed through libc with a path encoded once, so reading allocates nothing and a file that
/// vanishes or turns root-only is noticed at the next read.
/// </summary>
internal sealed class SysfsFile(string path)
{
    private readonly byte[] _path = Encoding.UTF8.GetBytes(path + "\0");

    public string Path { get; } = path;

    /// <summary>Reads the integer; on failure returns the status and leaves <paramref name="value"/> at 0.</summary>
    public ReadStatus TryRead(out ulong value)
    {
        value = 0;
        Span<byte> buffer = stackalloc byte[64];
        var status = TryRead(buffer, out var length);
        if (status != ReadStatus.Ok) return status;
        return Utf8Parser.TryParse(buffer[..length].TrimEnd((byte)'\n'), out value, out _) ? ReadStatus.Ok : ReadStatus.Unavailable;
    }

    /// <summary>Reads up to <paramref name="buffer"/>'s length from the start of the file.</summary>
    public ReadStatus TryRead(Span<byte> buffer, out int length)
    {
        length = 0;
        var fd = LibC.Open(ref _path[0], LibC.ReadOnly);
        if (fd < 0) return Status(Marshal.GetLastPInvokeError());
        var n = LibC.PRead(fd, ref buffer[0], (nuint)buffer.Length, 0);
        var error = n < 0 ? Marshal.GetLastPInvokeError() : 0;
        _ = LibC.Close(fd); // nothing useful to do if closing a read-only descriptor fails
        if (n < 0) return Status(error);
        length = (int)n;
        return ReadStatus.Ok;
    }

    private static ReadStatus Status(int errno) => errno switch
    {
        LibC.PermissionDenied or LibC.NotPermitted => ReadStatus.PermissionDenied,
        LibC.NoEntry or LibC.NoDevice => ReadStatus.Lost,
        _ => ReadStatus.Unavailable,
    };

    /// <summary>Reads a small text attribute (<c>name</c>, <c>label</c>) with ordinary file I/O: only at open time.</summary>
    public static string? ReadText(string path)
    {
        try
        {
            return File.Exists(path) ? File.ReadAllText(path).Trim() : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary><c>E2T_SYSFS_ROOT</c> (default <c>/</c>): where <c>sys/</c> and <c>proc/</c> are looked for.</summary>
    public static string DefaultRoot => Environment.GetEnvironmentVariable("E2T_SYSFS_ROOT") is { Length: > 0 } root ? root : "/";
}
