using System.Diagnostics;
using System.Text;

namespace EnergyToToken.Tests.Fleet;

/// <summary>
/// A real Prometheus over a <see cref="SyntheticFleet"/> backfilled with promtool: the fleet's OpenMetrics text goes
/// through <c>promtool tsdb create-blocks-from openmetrics</c> into the server's storage, and the server, scraping
/// nothing, serves exactly those samples. The same numbers every run, unlike the scraped twins.
/// </summary>
internal static class BackfilledPrometheus
{
    public const string Promtool = "/usr/bin/promtool";

    /// <summary>Writes <paramref name="fleet"/>, backfills it and starts Prometheus over it; the caller disposes the server (and its files).</summary>
    public static Task<PrometheusProcess> StartAsync(SyntheticFleet fleet) =>
        PrometheusProcess.StartAsync(
            jobs: [],
            prepare: data => BackfillAsync(fleet, data),
            // Backfilled samples are older than the default retention (15 d) would keep.
            arguments: ["--storage.tsdb.retention.time=10y"]);

    /// <summary>Writes the fleet beside <paramref name="data"/> and runs promtool to turn it into blocks in <paramref name="data"/>.</summary>
    public static async Task BackfillAsync(SyntheticFleet fleet, string data)
    {
        Assert.True(File.Exists(Promtool), $"{Promtool} is missing: it comes with Debian's prometheus package (apt-get install -y prometheus), which test.sh installs.");
        var input = Path.Combine(Path.GetDirectoryName(data)!, "fleet.om");
        await using (var writer = new StreamWriter(input, append: false, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), bufferSize: 1 << 16))
            fleet.Write(writer);
        var start = new ProcessStartInfo(Promtool)
        {
            ArgumentList = { "tsdb", "create-blocks-from", "openmetrics", input, data },
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"promtool tsdb create-blocks-from openmetrics exited {process.ExitCode}:\n{await output}\n{await error}");
        File.Delete(input);
    }
}
