using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace EnergyToToken.Tests.Fleet;

/// <summary>
/// A real Prometheus (Debian's /usr/bin/prometheus, installed by test.sh) on a loopback port, scraping whatever jobs it is
/// given every <see cref="ScrapeIntervalSeconds"/>, or none (a server over backfilled blocks). The twins' form scrapes
/// <c>/metrics</c> (job vllm) and <c>/dcgm/metrics</c> (job dcgm); both jobs label a twin's series with the same
/// <c>instance</c>, host:port, which is what <c>--match instance</c> joins on.
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
    public static Task<PrometheusProcess> StartAsync(IReadOnlyList<Uri> vllm, IReadOnlyList<Uri>? dcgm = null) =>
        StartAsync([Job("vllm", "/metrics", vllm), Job("dcgm", "/dcgm/metrics", dcgm ?? vllm)]);

    /// <summary>One <c>scrape_configs</c> entry: a job scraping <paramref name="path"/> on each target's host:port.</summary>
    public static string Job(string name, string path, IReadOnlyList<Uri> targets) => $"""
          - job_name: {name}
            metrics_path: {path}
            static_configs:
              - targets: [{string.Join(", ", targets.Select(t => $"'{t.Authority}'"))}]
        """;

    /// <summary>
    /// Starts Prometheus with these <c>scrape_configs</c> entries (none: it scrapes nothing). <paramref name="prepare"/>
    /// runs first with the (empty) storage directory, e.g. to backfill blocks into it; <paramref name="arguments"/> are
    /// added to the command line.
    /// </summary>
    public static async Task<PrometheusProcess> StartAsync(IReadOnlyList<string> jobs, Func<string, Task>? prepare = null, IReadOnlyList<string>? arguments = null)
    {
        Assert.True(File.Exists(Binary), $"{Binary} is missing: test.sh installs Debian's prometheus package (apt-get install -y prometheus).");
        var directory = Directory.CreateTempSubdirectory("e2t-prometheus-").FullName;
        var data = Path.Combine(directory, "data");
        Directory.CreateDirectory(data);
        var config = $"""
            global:
              scrape_interval: {ScrapeIntervalSeconds}s
              scrape_timeout: {ScrapeIntervalSeconds}s
              evaluation_interval: {ScrapeIntervalSeconds}s
            scrape_configs:{(jobs.Count == 0 ? " []" : "")}

            """ + string.Join("\n", jobs);
        File.WriteAllText(Path.Combine(directory, "prometheus.yml"), config);
        try
        {
            if (prepare is not null) await prepare(data);
        }
        catch
        {
            Directory.Delete(directory, recursive: true);
            throw;
        }
        var port = FreePort();
        var start = new ProcessStartInfo(Binary)
        {
            ArgumentList =
            {
                $"--config.file={Path.Combine(directory, "prometheus.yml")}",
                $"--storage.tsdb.path={data}",
                $"--web.listen-address=127.0.0.1:{port}",
            },
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments ?? []) start.ArgumentList.Add(argument);
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
            if (process.HasExited)
            {
                await result.DisposeAsync();
                Assert.Fail("Prometheus exited at start:\n" + result.Log);
            }
            try
            {
                if ((await http.GetAsync(new Uri(result.Url, "-/ready"))).StatusCode == HttpStatusCode.OK) return result;
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            if (Stopwatch.GetTimestamp() >= deadline)
            {
                await result.DisposeAsync();
                Assert.Fail("Prometheus was not ready within 30 s:\n" + result.Log);
            }
            await Task.Delay(100);
        }
    }

    /// <summary>
    /// An instant query (<c>GET /api/v1/query</c>) at <paramref name="unixSeconds"/> (default: now): the answer's JSON,
    /// whatever its status, so that a caller can assert on a refusal's <c>error</c>.
    /// </summary>
    public async Task<JsonNode> QueryAsync(string promql, double? unixSeconds = null)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var query = "api/v1/query?query=" + Uri.EscapeDataString(promql)
            + (unixSeconds is { } t ? "&time=" + t.ToString("0.###", CultureInfo.InvariantCulture) : "");
        using var response = await http.GetAsync(new Uri(Url, query));
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
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
            var count = JsonNode.Parse(body)!["data"]!["result"]!.AsArray().Count;
            if (count >= targets) return;
            Assert.True(Stopwatch.GetTimestamp() < deadline, $"Prometheus had not scraped {targets} targets {scrapes} times within 30 s:\n{Log}");
            await Task.Delay(200);
        }
    }

    /// <summary>Each target's job, URL, health and last scrape error, for a failure's message.</summary>
    public async Task<string> TargetsAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var targets = JsonNode.Parse(await http.GetStringAsync(new Uri(Url, "api/v1/targets")))!["data"]!["activeTargets"]!.AsArray();
        return string.Join("; ", targets.Select(t => $"{t!["labels"]!["job"]} {t["scrapeUrl"]} {t["health"]} {t["lastError"]}"));
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
