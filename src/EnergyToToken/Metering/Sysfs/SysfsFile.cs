using System.Buffers.Text;
using System.Runtime.InteropServices;
using System.Text;

namespace EnergyToToken.Metering.Sysfs;

/// <summary>
/// One sysfs attribute holding an integer (<c>energy_uj</c>, <c>power1_input</c>), read through libc with a path
/// encoded once, so reading allocates nothing. The descriptor stays open and is re-read from offset 0 (sysfs and
/// procfs regenerate the value); every <see cref="ReopenEvery"/> reads it is closed and opened again, so a file that
/// vanishes or turns root-only is noticed within that many reads even where the kernel would keep serving the old
/// descriptor.
/// </summary>
internal sealed class SysfsFile(string path) : IDisposable
{
    /// <summary>Reads between re-opens: 100 ms at 100 Hz. Opening walks the path, which costs more than the read itself.</summary>
    public const int ReopenEvery = 10;

    private readonly byte[] _path = Encoding.UTF8.GetBytes(path + "\0");
    private int _fd = -1;
    private int _reads;

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
        if (_fd >= 0 && ++_reads % ReopenEvery == 0) Close();
        if (_fd < 0)
        {
            _fd = LibC.Open(ref _path[0], LibC.ReadOnly);
            if (_fd < 0) return Status(Marshal.GetLastPInvokeError());
        }
        var n = LibC.PRead(_fd, ref buffer[0], (nuint)buffer.Length, 0);
        if (n < 0)
        {
            var error = Marshal.GetLastPInvokeError();
            Close();
            return Status(error);
        }
        length = (int)n;
        return ReadStatus.Ok;
    }

    public void Dispose() => Close();

    private void Close()
    {
        if (_fd < 0) return;
        _ = LibC.Close(_fd); // nothing useful to do if closing a read-only descriptor fails
        _fd = -1;
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
