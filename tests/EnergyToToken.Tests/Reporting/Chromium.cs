using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace EnergyToToken.Tests.Reporting;

/// <summary>What a page did when headless Chromium opened it.</summary>
/// <param name="Console">Console messages and uncaught exceptions of level warning or error, and failed loads.</param>
/// <param name="Requests">Every URL the page asked for beyond the page itself (a self-contained page asks for none over the network).</param>
/// <param name="Charts">Each <c>figure.chart</c>: its id, whether it holds an SVG, and the SVG's rendered width and height in CSS px.</param>
/// <param name="DuplicateIds">Element ids that occur more than once (an SVG clip path resolved to another chart's).</param>
internal sealed record PageReport(IReadOnlyList<string> Console, IReadOnlyList<string> Requests, IReadOnlyList<(string Id, bool Svg, double Width, double Height)> Charts, IReadOnlyList<string> DuplicateIds, byte[] Screenshot, byte[] Pdf);

/// <summary>
/// Debian's headless Chromium driven over the DevTools protocol (a WebSocket, no package): opens a file, collects its
/// console, exceptions and network requests, measures its charts, and takes a full-page screenshot and a PDF print.
/// </summary>
internal sealed class Chromium : IAsyncDisposable
{
    private static readonly string[] Browsers = ["chromium", "chromium-browser", "google-chrome"];
    private readonly Process _process;
    private readonly string _profile;
    private readonly ClientWebSocket _socket = new();
    private readonly List<JsonObject> _events = [];
    private int _id;

    private Chromium(Process process, string profile)
    {
        _process = process;
        _profile = profile;
    }

    /// <summary>The browser on PATH (test.sh installs Debian's chromium); null when there is none.</summary>
    public static string? Find() => Browsers
        .SelectMany(name => (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(dir => Path.Combine(dir, name)))
        .FirstOrDefault(File.Exists);

    public static async Task<Chromium> StartAsync(string binary)
    {
        var profile = Directory.CreateTempSubdirectory("e2t-chromium-").FullName;
        var start = new ProcessStartInfo(binary)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        // --no-sandbox: the suite may run as root, where Chromium refuses its sandbox.
        foreach (var a in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars", "--remote-debugging-port=0", $"--user-data-dir={profile}", "--window-size=1200,900", "about:blank" })
            start.ArgumentList.Add(a);
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var browser = new Chromium(process, profile);
        // Chromium writes the port it chose to DevToolsActivePort in the profile.
        var portFile = Path.Combine(profile, "DevToolsActivePort");
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!File.Exists(portFile) || File.ReadAllLines(portFile).Length < 2)
        {
            if (process.HasExited) throw new InvalidOperationException($"{binary} exited with {process.ExitCode} before opening its DevTools port.");
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{binary} did not open its DevTools port in 60 s.");
            await Task.Delay(100);
        }
        var port = int.Parse(File.ReadAllLines(portFile)[0], System.Globalization.CultureInfo.InvariantCulture);
        using var http = new HttpClient();
        var targets = JsonNode.Parse(await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/json/list")))!.AsArray();
        var page = targets.First(t => (string?)t!["type"] == "page")!;
        await browser._socket.ConnectAsync(new Uri((string)page["webSocketDebuggerUrl"]!), CancellationToken.None);
        return browser;
    }

    public async Task<PageReport> OpenAsync(string path)
    {
        await SendAsync("Runtime.enable");
        await SendAsync("Log.enable");
        await SendAsync("Page.enable");
        await SendAsync("Network.enable");
        var url = new Uri(Path.GetFullPath(path)).AbsoluteUri;
        await SendAsync("Page.navigate", new JsonObject { ["url"] = url });
        await WaitForEventAsync("Page.loadEventFired");
        var charts = await EvaluateAsync("JSON.stringify([...document.querySelectorAll('figure.chart')].map(f => { const s = f.querySelector('svg'); const r = s ? s.getBoundingClientRect() : null; return [f.id, !!s, r ? r.width : 0, r ? r.height : 0]; }))");
        var duplicates = await EvaluateAsync("JSON.stringify(Object.entries([...document.querySelectorAll('[id]')].reduce((n, e) => (n[e.id] = (n[e.id] || 0) + 1, n), {})).filter(([, k]) => k > 1).map(([id]) => id))");
        var metrics = await SendAsync("Page.getLayoutMetrics");
        var size = metrics["cssContentSize"] ?? metrics["contentSize"];
        var screenshot = await SendAsync("Page.captureScreenshot", new JsonObject
        {
            ["format"] = "png",
            ["captureBeyondViewport"] = true,
            ["clip"] = new JsonObject { ["x"] = 0, ["y"] = 0, ["width"] = (double)size!["width"]!, ["height"] = (double)size["height"]!, ["scale"] = 1 },
        });
        var pdf = await SendAsync("Page.printToPDF", new JsonObject { ["printBackground"] = true });

        var console = new List<string>();
        var requests = new List<string>();
        foreach (var e in _events)
        {
            var p = e["params"]!;
            switch ((string?)e["method"])
            {
                case "Runtime.consoleAPICalled" when (string?)p["type"] is "error" or "warning" or "assert":
                    console.Add($"console.{p["type"]}: {p["args"]?.ToJsonString()}");
                    break;
                case "Runtime.exceptionThrown":
                    console.Add($"exception: {p["exceptionDetails"]?.ToJsonString()}");
                    break;
                case "Log.entryAdded" when (string?)p["entry"]!["level"] is "error" or "warning":
                    console.Add($"log.{p["entry"]!["level"]}: {p["entry"]!["text"]} {p["entry"]!["url"]}");
                    break;
                case "Network.loadingFailed":
                    console.Add($"load failed: {p["errorText"]}");
                    break;
                case "Network.requestWillBeSent" when (string?)p["request"]!["url"] != url:
                    requests.Add((string)p["request"]!["url"]!);
                    break;
            }
        }
        var parsed = JsonNode.Parse(charts)!.AsArray().Select(c => ((string)c![0]!, (bool)c[1]!, (double)c[2]!, (double)c[3]!)).ToList();
        return new PageReport(console, requests, parsed, [.. JsonNode.Parse(duplicates)!.AsArray().Select(d => (string)d!)], Convert.FromBase64String((string)screenshot["data"]!), Convert.FromBase64String((string)pdf["data"]!));
    }

    private async Task<string> EvaluateAsync(string expression)
    {
        var result = await SendAsync("Runtime.evaluate", new JsonObject { ["expression"] = expression, ["returnByValue"] = true });
        return (string)result["result"]!["value"]!;
    }

    private async Task<JsonNode> SendAsync(string method, JsonObject? parameters = null)
    {
        var id = ++_id;
        var message = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters ?? new JsonObject() };
        await _socket.SendAsync(Encoding.UTF8.GetBytes(message.ToJsonString()), WebSocketMessageType.Text, true, CancellationToken.None);
        while (true)
        {
            var reply = await ReceiveAsync();
            if ((int?)reply["id"] != id)
            {
                if (reply["method"] is not null) _events.Add(reply);
                continue;
            }
            if (reply["error"] is { } error) throw new InvalidOperationException($"{method}: {error.ToJsonString()}");
            return reply["result"]!;
        }
    }

    private async Task WaitForEventAsync(string method)
    {
        if (_events.Any(e => (string?)e["method"] == method)) return;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (true)
        {
            var message = await ReceiveAsync(timeout.Token);
            if (message["method"] is null) continue;
            _events.Add(message);
            if ((string?)message["method"] == method) return;
        }
    }

    private async Task<JsonObject> ReceiveAsync(CancellationToken cancellationToken = default)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[1 << 16];
        WebSocketReceiveResult result;
        do
        {
            result = await _socket.ReceiveAsync(chunk, cancellationToken);
            buffer.Write(chunk, 0, result.Count);
        }
        while (!result.EndOfMessage);
        return JsonNode.Parse(buffer.ToArray())!.AsObject();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_socket.State == WebSocketState.Open) await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);
        }
        catch (WebSocketException)
        {
        }
        _socket.Dispose();
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        _process.Dispose();
        try
        {
            Directory.Delete(_profile, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
