using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using EnergyToToken.Fleet;
using EnergyToToken.Tests.Fleet;

namespace EnergyToToken.Benchmarks;

/// <summary>
/// <c>e2t fleet</c> at fleet scale against a real Prometheus: a synthetic fleet (the tests' <see cref="SyntheticFleet"/>,
/// 1,000 GPUs over 24 h at 15 s by default) backfilled with promtool, served by Debian's Prometheus, and evaluated in a
/// child process so that its peak working set is the evaluation's own.
/// </summary>
internal static class FleetCommands
{
    private const string Prometheus = "/usr/bin/prometheus";
    private const string Promtool = "/usr/bin/promtool";

    /// <summary>fleet-synthetic [GPUS] [HOURS] [STEP_S]: generate, backfill, serve, evaluate, check against the generator's totals.</summary>
    public static async Task Synthetic(int gpus, double hours, double stepSeconds)
    {
        foreach (var tool in new[] { Prometheus, Promtool })
            if (!File.Exists(tool)) throw new InvalidOperationException($"{tool} is missing: apt-get install prometheus.");
        const int GpusPerInstance = 8;
        var fleet = new SyntheticFleet
        {
            Instances = Math.Max(1, gpus / GpusPerInstance),
            GpusPerInstance = Math.Min(gpus, GpusPerInstance),
            Duration = TimeSpan.FromHours(hours),
            Interval = TimeSpan.FromSeconds(stepSeconds),
        };
        var directory = Directory.CreateTempSubdirectory("e2t-fleet-bench-").FullName;
        Process? server = null;
        try
        {
            var clock = Stopwatch.StartNew();
            var input = Path.Combine(directory, "fleet.om");
            using (var writer = new StreamWriter(input, append: false, new System.Text.UTF8Encoding(false), 1 << 20)) fleet.Write(writer);
            var series = fleet.Instances * (2 + 3 * fleet.GpusPerInstance) - (fleet.PowerOnlyGpu is { } p && p.Instance < fleet.Instances && p.Gpu < fleet.GpusPerInstance ? 1 : 0);
            Console.WriteLine(FormattableString.Invariant(
                $"fleet-synthetic: {fleet.Instances * fleet.GpusPerInstance:N0} GPUs in {fleet.Instances:N0} instances, {hours:0.#} h at {stepSeconds:0.#} s: {series:N0} series × {fleet.Steps + 1:N0} samples = {(long)series * (fleet.Steps + 1):N0} samples, {new FileInfo(input).Length / 1e9:0.00} GB of OpenMetrics written in {clock.Elapsed.TotalSeconds:0.0} s"));

            clock.Restart();
            var data = Path.Combine(directory, "data");
            Run(Promtool, "tsdb", "create-blocks-from", "openmetrics", input, data);
            File.Delete(input);
            var tsdbBytes = Directory.EnumerateFiles(data, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
            Console.WriteLine(FormattableString.Invariant($"  promtool backfill: {clock.Elapsed.TotalSeconds:0.0} s, TSDB {tsdbBytes / 1e6:0} MB"));

            var port = FreePort();
            var config = Path.Combine(directory, "prometheus.yml");
            File.WriteAllText(config, "global:\n  scrape_interval: 15s\nscrape_configs: []\n");
            server = Process.Start(new ProcessStartInfo(Prometheus)
            {
                ArgumentList = { $"--config.file={config}", $"--storage.tsdb.path={data}", "--storage.tsdb.retention.time=10y", $"--web.listen-address=127.0.0.1:{port}" },
                RedirectStandardError = true,
                RedirectStandardOutput = true,
            })!;
            server.ErrorDataReceived += (_, _) => { };
            server.OutputDataReceived += (_, _) => { };
            server.BeginErrorReadLine();
            server.BeginOutputReadLine();
            var url = new Uri($"http://127.0.0.1:{port}/");
            await WaitReady(url, server);

            var cpu0 = server.TotalProcessorTime;
            Measure(url, fleet.StartSeconds, fleet.EndSeconds, stepSeconds, inChild: true, fleet);
            server.Refresh();
            Console.WriteLine(FormattableString.Invariant($"  Prometheus answering: CPU {(server.TotalProcessorTime - cpu0).TotalSeconds:0.00} s"));
        }
        finally
        {
            if (server is { HasExited: false })
            {
                server.Kill();
                await server.WaitForExitAsync();
            }
            server?.Dispose();
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>
    /// Runs the fleet evaluation against URL and prints wall time, CPU time, peak working set, requests and bytes; in a
    /// child process when <paramref name="inChild"/>, so that the generator's and the parent's memory are not counted.
    /// </summary>
    public static void Measure(Uri url, double from, double to, double step, bool inChild, SyntheticFleet? expected = null)
    {
        if (inChild)
        {
            var self = Environment.ProcessPath!;
            var start = new ProcessStartInfo(self) { RedirectStandardOutput = true };
            if (Path.GetFileNameWithoutExtension(self) == "dotnet") start.ArgumentList.Add(typeof(FleetCommands).Assembly.Location);
            foreach (var a in new[] { "fleet-measure", url.ToString(), Invariant(from), Invariant(to), Invariant(step) }) start.ArgumentList.Add(a);
            using var child = Process.Start(start)!;
            var output = child.StandardOutput.ReadToEnd();
            child.WaitForExit();
            Console.Write(output);
            if (child.ExitCode != 0) throw new InvalidOperationException($"fleet-measure exited with {child.ExitCode}.");
            if (expected is not null) Check(output, expected);
            return;
        }

        var process = Process.GetCurrentProcess();
        var counter = new CountingHandler(new SocketsHttpHandler());
        using var http = new HttpClient(counter) { Timeout = TimeSpan.FromMinutes(5) };
        var options = new FleetOptions { Prometheus = url, From = from, To = to, Step = step, GroupBy = "pool", Pue = 1.2, FacilityBudgetWatts = 800_000 };
        var cpu0 = process.TotalProcessorTime;
        var wall = Stopwatch.StartNew();
        var report = FleetQuery.RunAsync(options, http).GetAwaiter().GetResult();
        var queried = wall.Elapsed.TotalSeconds;
        var json = report.ToJson();
        var total = wall.Elapsed.TotalSeconds;
        process.Refresh();
        var cpu = (process.TotalProcessorTime - cpu0).TotalSeconds;
        Console.WriteLine(FormattableString.Invariant(
            $"  e2t fleet: {report.Timeline.Count:N0} steps, {report.Fleet.Gpus:N0} GPUs, {report.Groups.Count} groups; {counter.Requests:N0} range queries, {counter.Bytes / 1e6:N0} MB of answers"));
        Console.WriteLine(FormattableString.Invariant(
            $"  e2t fleet: wall {queried:0.00} s to the report (+{total - queried:0.00} s for its {json.Length / 1e6:0.0} MB JSON), e2t CPU {cpu:0.00} s; peak working set {process.PeakWorkingSet64 / 1e6:0} MB; allocated {GC.GetTotalAllocatedBytes() / 1e9:0.00} GB, GCs gen0/1/2 {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)}"));
        Console.WriteLine(FormattableString.Invariant(
            $"  totals: outputTokens {report.Fleet.OutputTokens:R} promptTokens {report.Fleet.PromptTokens:R} energyJoules {report.Fleet.EnergyJoules:R}"));
    }

    /// <summary>The child's totals against what the generator wrote: tokens exact, energy to float rounding.</summary>
    private static void Check(string output, SyntheticFleet fleet)
    {
        var line = output.Split('\n').Single(l => l.Contains("totals:", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        double Field(string name) => double.Parse(line[Array.IndexOf(line, name) + 1], System.Globalization.CultureInfo.InvariantCulture);
        var instances = fleet.ExpectedInstances();
        var expectedOutput = instances.Sum(i => (double)i.OutputTokens);
        var expectedPrompt = instances.Sum(i => (double)i.PromptTokens);
        var expectedEnergy = fleet.ExpectedGpus().Sum(g => g.Joules);
        var energyError = Math.Abs(Field("energyJoules") - expectedEnergy) / expectedEnergy;
        Console.WriteLine(FormattableString.Invariant(
            $"  check: output tokens {(Field("outputTokens") == expectedOutput ? "exact" : $"OFF ({Field("outputTokens")} vs {expectedOutput})")}, prompt tokens {(Field("promptTokens") == expectedPrompt ? "exact" : $"OFF ({Field("promptTokens")} vs {expectedPrompt})")}, energy relative error {energyError:E1}"));
        if (Field("outputTokens") != expectedOutput || Field("promptTokens") != expectedPrompt || energyError > 1e-9)
            throw new InvalidOperationException("The fleet evaluation does not match the generator's totals.");
    }

    private static void Run(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited with {process.ExitCode}: {stderr.Result}");
    }

    private static async Task WaitReady(Uri url, Process server)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        for (var i = 0; i < 600; i++)
        {
            if (server.HasExited) throw new InvalidOperationException("Prometheus exited at start.");
            try
            {
                if ((await http.GetAsync(new Uri(url, "-/ready"))).StatusCode == HttpStatusCode.OK) return;
            }
            catch (HttpRequestException)
            {
            }
            await Task.Delay(100);
        }
        throw new InvalidOperationException("Prometheus did not become ready in 60 s.");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string Invariant(double value) => value.ToString("R", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Counts the requests and the answer bytes, so the figures say how the range was split.</summary>
    private sealed class CountingHandler(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        public int Requests;
        public long Bytes;

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            Interlocked.Increment(ref Requests);
            await response.Content.LoadIntoBufferAsync(cancellationToken);
            Interlocked.Add(ref Bytes, response.Content.Headers.ContentLength ?? 0);
            return response;
        }
    }
}
