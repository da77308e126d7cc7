using System.Reflection;
using System.Runtime.InteropServices;

namespace EnergyToToken.Metering;

/// <summary>
/// Maps the vendor library names in the interop files to the paths chosen at run time (<c>E2T_NVML_LIBRARY</c>,
/// <c>E2T_AMDSMI_LIBRARY</c> or the options), through the one resolver an assembly may have.
/// </summary>
internal static class NativeLibraries
{
    public const string Nvml = "libnvidia-ml.so.1";
    public const string AmdSmi = "libamd_smi.so";

    private static readonly Lock Gate = new();
    private static readonly Dictionary<string, string> Paths = new(StringComparer.Ordinal);
    private static bool _installed;

    /// <summary>Sets where <paramref name="name"/> is loaded from. Takes effect only before the library's first call in this process.</summary>
    public static void Use(string name, string path)
    {
        lock (Gate)
        {
            Paths[name] = path;
            if (_installed) return;
            NativeLibrary.SetDllImportResolver(typeof(NativeLibraries).Assembly, Resolve);
            _installed = true;
        }
    }

    private static nint Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        string? path;
        lock (Gate) Paths.TryGetValue(name, out path);
        if (path is null) return 0;
        // A bare soname goes through the loader's search; a path with a directory is loaded as given.
        return NativeLibrary.TryLoad(path, assembly, searchPath, out var handle) ? handle : 0;
    }
}
