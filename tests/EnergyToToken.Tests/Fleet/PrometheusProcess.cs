using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace EnergyToToken.Tests.Fleet;

/// <summary>
/// A real Prometheus (Debian's /usr/bin/prometheus, installed by test.sh) on a loopback port, scraping the given twins'
/// <c>/metrics</c> (job vllm) and <c>/dcgm/metrics</c> (job dcgm) every <see cref="ScrapeIntervalSeconds"/>. Both jobs
/// label a twin's series with the same <c>instance</c>, host:port, which is what <c>--match instance</c> joins on.
/// </summary>
internal sealed class PrometheusProcess : IAsyncDisposable
{
    public const string Binary = "/usr/bin/prometheus";
    public const double ScrapeIntervalSeconds = 1;

    private readonly Process _process;
    private readonly string _directory;
    private readonly StringBuilder _log = new();

    private PrometheusProcess(Process process, string directory, Uri url)
    {
        _process = process;
        _directory = directory;
        Url = url;
    }

    public Uri Url { get; }

    public string Log { get { lock (_log) return _log.ToString(); } }

    /// <summary>Starts Prometheus scraping <paramref name="vllm"/> as job vllm and <paramref name="dcgm"/> (default: the same) as job dcgm.</summary>
    public static async Task<PrometheusProcess> StartAsync(IReadOnlyList<Uri> vllm, IReadOnlyList<Uri>? dcgm = null)
    {
        Assert.True(File.Exists(Binary), $"{Binary} is missing: test.sh installs Debian's prometheus package (apt-get install -y prometheus).");
        var directory = Directory.CreateTempSubdirectory("e2t-prometheus-").FullName;
        var targets = string.Join(", ", vllm.Select(t => $"'{t.Authority}'"));
        var dcgmTargets = string.Join(", ", (dcgm ?? vllm).Select(t => $"'{t.Authority}'"));
        var config = $"""
            global:
              scrape_interval: {ScrapeIntervalSeconds}s
              scrape_timeout: {ScrapeIntervalSeconds}s
              evaluation_interval: {ScrapeIntervalSeconds}s
            scrape_configs:
              - job_name: vllm
                metrics_path: /metrics
                static_configs:
                  - targets: [{targets}]
              - job_name: dcgm
                metrics_path: /dcgm/metrics
                static_configs:
                  - targets: [{dcgmTargets}]
            """;
        File.WriteAllText(Path.Combine(directory, "prometheus.yml"), config);
        var port = FreePort();
        var start = new ProcessStartInfo(Binary)
        {
            ArgumentList =
            {
                $"--config.file={Path.Combine(directory, "prometheus.yml")}",
                $"--storage.tsdb.path={Path.Combine(directory, "data")}",
                $"--web.listen-address=127.0.0.1:{port}",
            },
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        var process = Process.Start(start)!;
        var result = new PrometheusProcess(process, directory, new Uri($"http://127.0.0.1:{port}/"));
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (result._log) result._log.AppendLine(e.Data); };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (result._log) result._log.AppendLine(e.Data); };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.GetTimestamp() + 30 * Stopwatch.Frequency;
        while (true)
        {
            Assert.False(process.HasExited, "Prometheus exited at start:\n" + result.Log);
            try
            {
                if ((await http.GetAsync(new Uri(result.Url, "-/ready"))).StatusCode == HttpStatusCode.OK) return result;
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            Assert.True(Stopwatch.GetTimestamp() < deadline, "Prometheus was not ready within 30 s:\n" + result.Log);
            await Task.Delay(100);
        }
    }

    /// <summary>Waits until every target of both jobs has been scraped successfully at least <paramref name="scrapes"/> times.</summary>
    public async Task WaitForScrapesAsync(int targets, int scrapes = 2)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = Stopwatch.GetTimestamp() + 30 * Stopwatch.Frequency;
        var query = Uri.EscapeDataString($"count_over_time(up[1m]) >= {scrapes} and up == 1");
        while (true)
        {
            var body = await http.GetStringAsync(new Uri(Url, "api/v1/query?query=" + query));
            var count = System.Text.Json.Nodes.JsonNode.Parse(body)!["data"]!["result"]!.AsArray().Count;
            if (count >= targets) return;
            Assert.True(Stopwatch.GetTimestamp() < deadline, $"Prometheus had not scraped {targets} targets {scrapes} times within 30 s:\n{Log}");
            await Task.Delay(200);
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A temp directory left behind is harmless.
        }
    }
}
