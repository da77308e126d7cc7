using System.Diagnostics;
using System.Globalization;

namespace EnergyToToken.Benchmarks;

/// <summary>
/// The twin in a child process (<c>twin-serve</c>), so that its CPU time is its own and the bench process's CPU time
/// is the client's. Disposing closes the child's stdin, which ends it.
/// </summary>
internal sealed class TwinChild : IAsyncDisposable
{
    private readonly Process _process;
    private readonly HttpClient _metrics;

    private TwinChild(Process process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
        _metrics = new HttpClient { BaseAddress = baseAddress };
    }

    /// <summary>Environment variables that tune the runtime's sockets and thread pool, which a client experiment may set.</summary>
    private static readonly string[] ClientOnlySettings = ["DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "DOTNET_ThreadPool_UnfairSemaphoreSpinLimit"];

    public Uri BaseAddress { get; }

    public CpuTime Cpu => CpuTime.Of(_process.Id);

    /// <summary>Starts <c>twin-serve</c> with these arguments and waits for the base address it prints.</summary>
    public static async Task<TwinChild> StartAsync(params IEnumerable<object> arguments)
    {
        var self = Environment.ProcessPath!;
        var start = new ProcessStartInfo(self) { RedirectStandardInput = true, RedirectStandardOutput = true };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet") start.ArgumentList.Add(typeof(TwinChild).Assembly.Location);
        start.ArgumentList.Add("twin-serve");
        foreach (var argument in arguments) start.ArgumentList.Add(Convert.ToString(argument, CultureInfo.InvariantCulture)!);
        // Runtime settings tried on the client (the bench process) stay the client's: the twin keeps its defaults.
        foreach (var name in ClientOnlySettings) start.Environment.Remove(name);
        var process = Process.Start(start)!;
        var line = await process.StandardOutput.ReadLineAsync();
        if (line is null)
        {
            await process.WaitForExitAsync();
            throw new InvalidOperationException($"twin-serve {string.Join(' ', start.ArgumentList.Skip(1))} exited ({process.ExitCode}) before printing its address.");
        }
        return new TwinChild(process, new Uri(line));
    }

    /// <summary>The twin's /metrics now.</summary>
    public async Task<MetricsText> ScrapeAsync() => new(await _metrics.GetStringAsync("metrics"));

    public async ValueTask DisposeAsync()
    {
        _process.StandardInput.Close();
        await _process.WaitForExitAsync();
        _process.Dispose();
        _metrics.Dispose();
    }
}

/// <summary>A Prometheus exposition read once; <see cref="Value"/> takes the first series whose line starts with the name.</summary>
internal sealed class MetricsText(string text)
{
    private readonly string[] _lines = text.Split('\n');

    public double Value(string name) => double.Parse(_lines.First(l => l.StartsWith(name, StringComparison.Ordinal)).Split(' ')[^1], CultureInfo.InvariantCulture);
}

/// <summary>A process's CPU time from /proc/PID/stat, s: user and system.</summary>
internal readonly record struct CpuTime(double User, double System)
{
    public double Total => User + System;

    public static CpuTime Self => Of(Environment.ProcessId);

    public static CpuTime Of(int pid)
    {
        // Fields 14 and 15 of /proc/PID/stat (after the parenthesised name): utime and stime in clock ticks (100 Hz).
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return new(long.Parse(fields[11], CultureInfo.InvariantCulture) / 100.0, long.Parse(fields[12], CultureInfo.InvariantCulture) / 100.0);
    }

    public static CpuTime operator -(CpuTime a, CpuTime b) => new(a.User - b.User, a.System - b.System);
}

/// <summary>The whole machine's CPU time from the first line of /proc/stat, s: busy (user, nice, system, irq, softirq) and stolen by the hypervisor.</summary>
internal readonly record struct MachineCpu(double Busy, double Steal)
{
    public static MachineCpu Now
    {
        get
        {
            var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            double Ticks(int i) => long.Parse(fields[i], CultureInfo.InvariantCulture) / 100.0;
            return new(Ticks(1) + Ticks(2) + Ticks(3) + Ticks(6) + Ticks(7), Ticks(8));
        }
    }

    public static MachineCpu operator -(MachineCpu a, MachineCpu b) => new(a.Busy - b.Busy, a.Steal - b.Steal);
}
