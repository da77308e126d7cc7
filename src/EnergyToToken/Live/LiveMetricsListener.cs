using System.Globalization;
using System.Net;
using EnergyToToken.Analysis;
using EnergyToToken.Catalog;
using EnergyToToken.Runs;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace EnergyToToken.Live;

/// <summary>
/// A small HTTP server of <see cref="LiveMetrics"/> at <c>/metrics</c> for a Prometheus scrape during a bench run
/// (<c>e2t bench --metrics-listen ADDRESS</c>). Kestrel, as the twin uses, so no second HTTP stack; it lives only as
/// long as the run.
/// </summary>
public sealed class LiveMetricsListener : IAsyncDisposable
{
    private readonly WebApplication _app;

    private LiveMetricsListener(WebApplication app, Uri address)
    {
        _app = app;
        MetricsUrl = address;
    }

    /// <summary>Where the exposition is served, e.g. <c>http://127.0.0.1:9464/metrics</c> (the real port when 0 was asked for).</summary>
    public Uri MetricsUrl { get; }

    /// <summary>Parses HOST:PORT (an IPv4 address, [IPv6] or localhost, and a port 0–65535; 0 picks a free one).</summary>
    /// <exception cref="EnergyToTokenException">The address is not of that form.</exception>
    public static IPEndPoint ParseAddress(string text)
    {
        var colon = text.LastIndexOf(':');
        var host = colon > 0 ? text[..colon] : "";
        var portText = colon >= 0 ? text[(colon + 1)..] : "";
        IPAddress? ip = host == "localhost" ? IPAddress.Loopback
            : IPAddress.TryParse(host.Trim('[', ']'), out var parsed) ? parsed : null;
        if (ip is null || !int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > 65535)
        {
            throw new EnergyToTokenException(
                $"--metrics-listen '{text}' is not HOST:PORT. Write an IP address (or localhost) and a port 0–65535, e.g. 127.0.0.1:9464 (loopback), 0.0.0.0:9464 (all interfaces) or 127.0.0.1:0 (a free port).");
        }
        return new IPEndPoint(ip, port);
    }

    /// <exception cref="EnergyToTokenException">The address is malformed or cannot be listened on (in use, not this machine's).</exception>
    public static async Task<LiveMetricsListener> StartAsync(string address, LiveMetrics metrics, CancellationToken cancellationToken = default)
    {
        var endpoint = ParseAddress(address);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(endpoint);
        });
        var app = builder.Build();
        app.MapGet("/metrics", (RequestDelegate)(async context =>
        {
            context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            await context.Response.WriteAsync(metrics.Render(), context.RequestAborted).ConfigureAwait(false);
        }));
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw new EnergyToTokenException($"--metrics-listen {address}: cannot listen there: {e.Message} Choose another port (0 picks a free one) or an address of this machine.");
        }
        var bound = app.Services.GetService(typeof(IServer)) is IServer s ? s.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() : null;
        return new LiveMetricsListener(app, new Uri((bound ?? $"http://{endpoint}").TrimEnd('/') + "/metrics"));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}

/// <summary>The production inputs a bench knows before it ends, chosen as the analysis chooses them (<see cref="MeasuredProduction"/>).</summary>
public static class LiveInputs
{
    /// <summary>
    /// κ (--kappa, else the catalog model at the live mean context), C (realized κ·R_sat with --saturation, else the
    /// catalog peak × devices at the precision), P_IT (--p-it, else the devices' enforced or spec power limits). A name
    /// the catalog does not know leaves that input out: the run's own analysis reports it at the end.
    /// </summary>
    public static LiveProductionInputs For(Deployment deployment, AnalysisOptions options, Catalogs catalogs)
    {
        var hardware = ResolvedDeployment.Of(deployment, options);
        var (modelName, acceleratorName, devices, precision) = (hardware.ModelName, hardware.AcceleratorName, hardware.Devices, hardware.Precision);
        ModelArchitecture? model = null;
        Accelerator? accelerator = null;
        try
        {
            if (modelName is not null) model = catalogs.Model(modelName);
        }
        catch (EnergyToTokenException)
        {
        }
        try
        {
            if (acceleratorName is not null) accelerator = catalogs.Accelerator(acceleratorName);
        }
        catch (EnergyToTokenException)
        {
        }
        double? peak = null;
        try
        {
            peak = accelerator?.PeakFlopPerSecond(precision) * devices;
        }
        catch (EnergyToTokenException)
        {
        }
        return new LiveProductionInputs
        {
            KappaFlopPerToken = options.Kappa,
            Model = model,
            PeakComputeFlopPerSecond = peak,
            SaturationOutputTokensPerSecond = options.Saturation?.OutputTokensPerSecond,
            ItPowerWatts = options.ItPowerWatts ?? (accelerator is null ? null : hardware.LimitWatts(accelerator) * devices),
        };
    }
}
