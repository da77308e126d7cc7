using System.Net;
using System.Net.Sockets;
using System.Text;

namespace EnergyToToken.Tests.Metering;

/// <summary>A real HTTP server on 127.0.0.1 and a free port; the handler decides each answer and may be swapped between reads.</summary>
internal sealed class LoopbackServer : IDisposable
{
    private readonly HttpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private int _requests;

    public LoopbackServer(Func<HttpListenerRequest, Answer> handler)
    {
        Handler = handler;
        for (var attempt = 0; ; attempt++)
        {
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            var port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            _listener = new HttpListener();
            _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            try
            {
                _listener.Start();
                BaseUrl = new Uri($"http://127.0.0.1:{port}/");
                break;
            }
            catch (HttpListenerException) when (attempt < 5)
            {
                _listener.Close();
            }
        }
        _ = Task.Run(Loop);
    }

    public sealed record Answer(int Status, string Body, string ContentType = "application/json")
    {
        public TimeSpan Delay { get; init; }
    }

    public Uri BaseUrl { get; }

    public Func<HttpListenerRequest, Answer> Handler { get; set; }

    public int Requests => Volatile.Read(ref _requests);

    public Uri At(string path) => new(BaseUrl, path);

    private async Task Loop()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (HttpListenerException)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            Interlocked.Increment(ref _requests);
            _ = Task.Run(() => Serve(context));
        }
    }

    private async Task Serve(HttpListenerContext context)
    {
        try
        {
            var answer = Handler(context.Request);
            if (answer.Delay > TimeSpan.Zero) await Task.Delay(answer.Delay, _stop.Token);
            var bytes = Encoding.UTF8.GetBytes(answer.Body);
            context.Response.StatusCode = answer.Status;
            context.Response.ContentType = answer.ContentType;
            context.Response.ContentLength64 = bytes.Length;
            await context.Response.OutputStream.WriteAsync(bytes);
            context.Response.Close();
        }
        catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or OperationCanceledException or IOException)
        {
            // The client gave up (a timeout test) or the server is stopping.
        }
    }

    public void Dispose()
    {
        if (_stop.IsCancellationRequested) return;
        _stop.Cancel();
        _listener.Close();
    }
}
