using System.Diagnostics;

namespace EnergyToToken.Tests.Metering;

/// <summary>Runs the built tool in its own process: for what one process cannot test twice (a native library that
/// is or is not loaded) or at all (running as an unprivileged user while the suite runs as root).</summary>
internal static class E2tProcess
{
    public static (int Exit, string Stdout, string Stderr) Run(IReadOnlyDictionary<string, string> environment, bool asNobody, params string[] args)
    {
        var prefix = asNobody ? new[] { "--reuid=65534", "--regid=65534", "--clear-groups", "dotnet" } : [];
        var info = new ProcessStartInfo(asNobody ? "setpriv" : "dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in prefix.Append(Path.Combine(AppContext.BaseDirectory, "e2t.dll")).Concat(args)) info.ArgumentList.Add(a);
        foreach (var (k, v) in environment) info.Environment[k] = v;
        if (asNobody)
        {
            info.Environment["HOME"] = Path.GetTempPath();
            info.Environment["DOTNET_CLI_HOME"] = Path.GetTempPath();
        }
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout.Result, stderr);
    }
}
