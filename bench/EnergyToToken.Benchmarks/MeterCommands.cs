using System.Diagnostics;
using System.Globalization;
using EnergyToToken.Metering;
using EnergyToToken.Metering.Hwmon;
using EnergyToToken.Metering.Rapl;
using EnergyToToken.Metering.Synthetic;
using Microsoft.Extensions.Time.Testing;

namespace EnergyToToken.Benchmarks;

/// <summary>
/// Bench commands that BenchmarkDotNet's per-operation timing cannot express: the sampler's CPU share and jitter
/// over wall-clock time, and integration error against signals with known integrals.
/// </summary>
internal static class MeterCommands
{
    /// <summary>Runs the real sampler at 100 Hz over the local meters and reports its CPU share of one core, allocation and lateness.</summary>
    public static void SamplerOverhead(TimeSpan duration)
    {
        using var tree = new FakeSysfs();
        var time = TimeProvider.System;
        IPowerMeter[] meters =
        [
            new SyntheticMeter(new SyntheticOptions(), time),
            new SyntheticMeter(new SyntheticOptions { Kind = ReadingKind.InstantPower }, time),
            RaplMeter.Open(new RaplOptions { Root = tree.Root }, time),
            HwmonMeter.Open(new HwmonOptions { Root = tree.Root }, time),
        ];
        // The same process doing nothing for the same time: the baseline the sampler's share is measured against.
        var idleProcess = Process.GetCurrentProcess();
        Thread.Sleep(1000);
        idleProcess.Refresh();
        var idle0 = idleProcess.TotalProcessorTime;
        var idleWall = Stopwatch.StartNew();
        Thread.Sleep(duration);
        idleProcess.Refresh();
        var idleShare = (idleProcess.TotalProcessorTime - idle0).TotalSeconds / idleWall.Elapsed.TotalSeconds;
        using var sampler = new PowerSampler(meters, new SamplerOptions { LocalInterval = TimeSpan.FromMilliseconds(10), ExpectedDuration = duration * 1.5 }, time);
        // Warm up (JIT, first allocations), then measure a steady stretch.
        sampler.Start();
        Thread.Sleep(1000);
        var process = Process.GetCurrentProcess();
        process.Refresh();
        var cpu0 = process.TotalProcessorTime;
        var bytes0 = GC.GetTotalAllocatedBytes(precise: true);
        var reads0 = sampler.Tracks.Sum(t => t.Reads);
        var wall = Stopwatch.StartNew();
        Thread.Sleep(duration);
        var bytes = GC.GetTotalAllocatedBytes(precise: true) - bytes0;
        process.Refresh();
        var cpu = (process.TotalProcessorTime - cpu0).TotalSeconds;
        var reads = sampler.Tracks.Sum(t => t.Reads) - reads0;
        var seconds = wall.Elapsed.TotalSeconds;
        sampler.Stop();
        var lateness = sampler.Lateness;
        var samples = reads / (double)sampler.Tracks.Count;
        Console.WriteLine(FormattableString.Invariant($"sampler at 100 Hz over {meters.Length} meters ({sampler.Tracks.Count} channels), {seconds:0.#} s:"));
        Console.WriteLine(FormattableString.Invariant($"  process CPU while sampling: {cpu / seconds * 100:0.###} % of one core; the same process idle: {idleShare * 100:0.###} %; sampler: {(cpu / seconds - idleShare) * 100:0.###} %"));
        Console.WriteLine(FormattableString.Invariant($"  reads per channel: {samples:0} ({samples / seconds:0.#} per second)"));
        Console.WriteLine(FormattableString.Invariant($"  allocated while sampling: {bytes} B ({bytes / Math.Max(1, samples):0.##} B per sample round)"));
        Console.WriteLine(FormattableString.Invariant($"  lateness of each read's start: p50 {lateness.P50 * 1e3:0.###} ms, p99 {lateness.P99 * 1e3:0.###} ms, max {lateness.Max * 1e3:0.###} ms"));
        foreach (var m in meters) m.Dispose();
    }

    /// <summary>
    /// Integration error against synthetic profiles with exact integrals: a counter updated every 100 ms (NVML-like)
    /// sampled at 100 Hz and at 10 Hz, and power-only channels, over random windows of 10, 30 and 100 update periods.
    /// </summary>
    public static void IntegrationError()
    {
        var random = new Random(7);
        var profiles = new[]
        {
            ("square 650/120 W", "650W:1.33s,120W:0.71s"),
            ("LLM-like bursts", "700W:0.35s,420W:0.9s,690W:0.2s,150W:2.1s,560W:1.15s"),
            ("random steps", string.Join(",", Enumerable.Range(0, 40).Select(_ => FormattableString.Invariant($"{random.Next(60, 700)}W:{random.Next(5, 120) * 10}ms")))),
        };
        Console.WriteLine("| signal | channel | sampling | window (update periods) | windows | mean error | max error | within stated bound |");
        Console.WriteLine("|---|---|---|---:|---:|---:|---:|---:|");
        foreach (var (name, text) in profiles)
        {
            foreach (var (kind, kindName) in new[] { (ReadingKind.Counter, "counter, 100 ms updates"), (ReadingKind.InstantPower, "power only, 100 ms updates") })
            {
                foreach (var interval in new[] { 10, 100 })
                {
                    var time = new FakeTimeProvider();
                    var meter = new SyntheticMeter(new SyntheticOptions { Profile = PowerProfile.Parse(text), Kind = kind }, time);
                    using var sampler = new PowerSampler([meter], new SamplerOptions { LocalInterval = TimeSpan.FromMilliseconds(interval) }, time);
                    var offset = (sampler.Origin - meter.Start) / (double)time.TimestampFrequency;
                    // Reads land at a phase that drifts against the source's updates, as a real sampler's do.
                    var step = TimeSpan.FromMilliseconds(interval) + TimeSpan.FromTicks(37);
                    for (var i = 0; i < 600_000 / interval; i++)
                    {
                        time.Advance(step);
                        sampler.SampleOnce();
                    }
                    var track = sampler.Tracks[0];
                    foreach (var periods in new[] { 10, 30, 100 })
                    {
                        var errors = new List<double>();
                        var within = 0;
                        for (var w = 0; w < 2000; w++)
                        {
                            var length = periods * 0.1;
                            var from = 1 + random.NextDouble() * (550 - length);
                            var energy = EnergyWindow.Integrate(track, from, from + length);
                            var truth = meter.TrueJoules(from + offset, from + length + offset);
                            var error = Math.Abs(energy.Joules - truth);
                            errors.Add(error / truth);
                            if (error <= energy.UncertaintyJoules) within++;
                        }
                        Console.WriteLine(FormattableString.Invariant(
                            $"| {name} | {kindName} | {interval} ms | {periods} | {errors.Count} | {errors.Average() * 100:0.###} % | {errors.Max() * 100:0.###} % | {within * 100.0 / errors.Count:0.#} % |"));
                    }
                }
            }
        }
    }
}
