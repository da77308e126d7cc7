using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;

namespace EnergyToToken.Metering.Remote;

/// <summary>The outcome of one HTTP GET by a remote meter: a status the sampler understands, the body, and why it failed.</summary>
/// <param name="DateUnixMilliseconds">The server's <c>Date</c> header (1 s resolution), 0 when absent.</param>
internal readonly record struct HttpFetch(ReadStatus Status, string Body, string Detail, long DateUnixMilliseconds, int HttpStatus)
{
    public bool Ok => Status == ReadStatus.Ok;
}

/// <summary>
/// One reused <see cref="HttpClient"/> for a remote meter: synchronous GETs with a hard timeout, failures mapped to
/// <see cref="ReadStatus"/> (401/403: permission denied; timeouts, 5xx, other errors: unavailable). Never throws for a failed request.
/// </summary>
internal sealed class RemoteHttp : IDisposable
{
    private readonly HttpClient _client;
    private readonly TimeSpan _timeout;

    public RemoteHttp(TimeSpan timeout, bool insecure = false, AuthenticationHeaderValue? authorization = null)
    {
        _timeout = timeout;
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = timeout,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            AllowAutoRedirect = true,
        };
        if (insecure)
        {
            // Opted in by the user (Insecure = true, default false): BMCs ship self-signed certificates more often than not.
#pragma warning disable CA5359
            handler.SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = AcceptAny };
#pragma warning restore CA5359
        }
        _client = new HttpClient(handler) { Timeout = timeout };
        _client.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        _client.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("text/plain"));
        _client.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("*/*", 0.1));
        if (authorization is not null) _client.DefaultRequestHeaders.Authorization = authorization;
    }

    public HttpFetch Get(Uri uri)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, uri);
            using var response = _client.Send(request, HttpCompletionOption.ResponseContentRead);
            var date = response.Headers.Date is { } d ? d.ToUnixTimeMilliseconds() : 0;
            var code = (int)response.StatusCode;
            using var stream = response.Content.ReadAsStream();
            using var reader = new StreamReader(stream);
            var body = reader.ReadToEnd();
            if (response.IsSuccessStatusCode) return new HttpFetch(ReadStatus.Ok, body, "", date, code);
            var status = response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden ? ReadStatus.PermissionDenied : ReadStatus.Unavailable;
            return new HttpFetch(status, body, $"HTTP {code} {response.ReasonPhrase} from {uri}", date, code);
        }
        catch (TaskCanceledException)
        {
            return new HttpFetch(ReadStatus.Unavailable, "", $"no answer from {uri} within {_timeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s", 0, 0);
        }
        catch (HttpRequestException e)
        {
            return new HttpFetch(ReadStatus.Unavailable, "", $"{uri}: {e.Message}", 0, 0);
        }
        catch (IOException e)
        {
            return new HttpFetch(ReadStatus.Unavailable, "", $"{uri}: {e.Message}", 0, 0);
        }
    }

    public void Dispose() => _client.Dispose();

    private static bool AcceptAny(object sender, System.Security.Cryptography.X509Certificates.X509Certificate? certificate,
        System.Security.Cryptography.X509Certificates.X509Chain? chain, SslPolicyErrors errors) => true;
}
