using System.Net.Http.Headers;
using System.Text;
using EnergyToToken.Metering.Remote;

namespace EnergyToToken.Metering.Redfish;

/// <summary>Options of the Redfish meter.</summary>
public sealed record RedfishOptions
{
    /// <summary>The BMC's base URL, e.g. <c>https://10.0.0.5</c>; <c>/redfish/v1/...</c> is appended.</summary>
    public required Uri BaseUrl { get; init; }

    /// <summary>Chassis to read, e.g. <c>1</c> or <c>System.Embedded.1</c>. Default: null (discover from <c>/redfish/v1/Chassis</c>).</summary>
    public string? ChassisId { get; init; }

    /// <summary>
    /// When discovering, read every chassis that reports power (one channel each) instead of the first. Default: false.
    /// Nested chassis (an enclosure and its blades) then overlap: set <see cref="Scope"/> with care.
    /// </summary>
    public bool AllChassis { get; init; }

    /// <summary>User for HTTP basic authentication. Default: null (no authentication).</summary>
    public string? User { get; init; }

    /// <summary>Environment variable holding the password, so it never appears on a command line. Default: <c>E2T_REDFISH_PASSWORD</c>.</summary>
    public string PasswordVariable { get; init; } = "E2T_REDFISH_PASSWORD";

    /// <summary>Accept any TLS certificate (self-signed BMC certificates). Default: false.</summary>
    public bool Insecure { get; init; }

    /// <summary>Time allowed for one HTTP request. Default: 2 s.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>What the chassis power covers. Default: node AC input. Use rack for a PDU, node DC for a DC-fed chassis.</summary>
    public MeterScope Scope { get; init; } = MeterScope.NodeAc;

    /// <summary>How often the BMC refreshes its reading. Default: 1 s (typical; the sampler measures the real period).</summary>
    public TimeSpan UpdatePeriod { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Read <c>EnergykWh</c> as a cumulative counter when the chassis publishes it. Default: true.</summary>
    public bool UseEnergyCounter { get; init; } = true;

    /// <summary>
    /// The device identity shared with other meters of the same node (the IPMI meter uses <c>bmc:HOST</c> too).
    /// Default: null (<c>bmc:HOST</c>, or <c>bmc:HOST/CHASSIS</c> with <see cref="AllChassis"/>).
    /// </summary>
    public string? DeviceKey { get; init; }

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (!BaseUrl.IsAbsoluteUri || (BaseUrl.Scheme != Uri.UriSchemeHttp && BaseUrl.Scheme != Uri.UriSchemeHttps))
            errors.Add($"The Redfish base URL must be an absolute http(s) URL such as https://bmc-host (was '{BaseUrl}').");
        if (Timeout <= TimeSpan.Zero || Timeout > TimeSpan.FromMinutes(1)) errors.Add($"The timeout must be between 0 and 1 min (was {Timeout.TotalSeconds} s).");
        if (UpdatePeriod <= TimeSpan.Zero) errors.Add("The update period must be positive.");
        if (ChassisId is { Length: 0 }) errors.Add("The chassis id is empty; leave it unset to discover chassis.");
        if (User is not null && string.IsNullOrEmpty(PasswordVariable)) errors.Add("A user is set but the password variable name is empty.");
        return errors;
    }
}

/// <summary>
/// Reads chassis power from a BMC's Redfish service: the newer <c>EnvironmentMetrics</c> (<c>PowerWatts</c>, and
/// <c>EnergykWh</c> as a counter when present) or the older <c>Power</c> resource (<c>PowerControl[].PowerConsumedWatts</c>,
/// with <c>PowerMetrics.AverageConsumedWatts</c> as telemetry). One HTTP GET per channel per read.
/// </summary>
public sealed class RedfishMeter : IPowerMeter
{
    private readonly TimeProvider _time;
    private readonly RemoteHttp _http;
    private readonly Source[] _sources;
    private readonly string[] _lastFailure;
    private readonly int[] _averageGauge;

    private RedfishMeter(TimeProvider time, RemoteHttp http, Source[] sources, IReadOnlyList<MeterChannel> channels, IReadOnlyList<TelemetryChannel> telemetry, int[] averageGauge)
    {
        _time = time;
        _http = http;
        _sources = sources;
        Channels = channels;
        Telemetry = telemetry;
        _averageGauge = averageGauge;
        _lastFailure = new string[channels.Count];
        Array.Fill(_lastFailure, "");
    }

    public string Name => "redfish";

    public bool IsRemote => true;

    public IReadOnlyList<MeterChannel> Channels { get; }

    public IReadOnlyList<TelemetryChannel> Telemetry { get; }

    /// <summary>Why the last read failed ("" after a good read).</summary>
    public string FailureDetail(int channel) => _lastFailure[channel];

    /// <summary>Finds the chassis and reads each once.</summary>
    /// <exception cref="EnergyToTokenException">Invalid options, no password, the service does not answer or refuses the credentials, or no chassis reports power.</exception>
    public static RedfishMeter Open(RedfishOptions options, TimeProvider time)
    {
        var errors = options.Validate();
        if (errors.Count > 0) throw new EnergyToTokenException(string.Join(Environment.NewLine, errors));
        AuthenticationHeaderValue? auth = null;
        if (options.User is not null)
        {
            var password = Environment.GetEnvironmentVariable(options.PasswordVariable);
            if (string.IsNullOrEmpty(password))
            {
                throw new EnergyToTokenException(
                    $"Redfish user '{options.User}' is set but the environment variable {options.PasswordVariable} that should hold the password is empty. Export it (export {options.PasswordVariable}=...) or name another variable.");
            }
            auth = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{options.User}:{password}")));
        }
        var http = new RemoteHttp(options.Timeout, options.Insecure, auth);
        try
        {
            var root = new Uri(options.BaseUrl, "/redfish/v1/Chassis");
            IReadOnlyList<string> ids;
            if (options.ChassisId is { } id)
            {
                ids = [$"/redfish/v1/Chassis/{Uri.EscapeDataString(id)}"];
            }
            else
            {
                ids = RedfishJson.Members(GetOrThrow(http, root, options));
                if (ids.Count == 0) throw new EnergyToTokenException($"{root} lists no chassis. Check the BMC's Redfish service, or set the chassis id.");
            }

            var sources = new List<Source>();
            var skipped = new List<string>();
            foreach (var path in ids)
            {
                var chassis = RedfishJson.Chassis(GetOrThrow(http, new Uri(options.BaseUrl, path), options), path.Split('/')[^1]);
                var source = Probe(http, options, chassis);
                if (source is null)
                {
                    skipped.Add($"{chassis.Id} ({(chassis.ChassisType.Length > 0 ? chassis.ChassisType : "no type")}: neither EnvironmentMetrics.PowerWatts nor Power.PowerControl has a reading)");
                    continue;
                }
                sources.Add(source);
                if (!options.AllChassis) break;
            }
            if (sources.Count == 0)
            {
                throw new EnergyToTokenException(
                    $"No Redfish chassis at {options.BaseUrl} reports power: {string.Join("; ", skipped)}. Check that the BMC firmware supports power telemetry, or read the node with the ipmi meter instead.");
            }

            var host = options.BaseUrl.Host;
            var channels = new List<MeterChannel>();
            var telemetry = new List<TelemetryChannel>();
            var gauges = new List<int>();
            foreach (var s in sources)
            {
                var counter = s.EnergyKind;
                var notes = new List<string> { $"read from {s.Resource}" };
                if (counter)
                {
                    notes.Add($"energy from EnergykWh.Reading; resolution {s.EnergyResolution / 3.6e6:0.######} kWh ({s.EnergyResolution:0.###} J), inferred from the decimals the BMC writes");
                }
                else if (s.Modern)
                {
                    notes.Add("power only (no EnergykWh): energy is integrated from power readings");
                }
                else
                {
                    notes.Add($"PowerControl \"{s.ControlName}\".PowerConsumedWatts: some BMCs report a short average rather than an instant");
                    if (double.IsFinite(s.IntervalMinutes)) notes.Add($"AverageConsumedWatts covers {s.IntervalMinutes:0.###} min; recorded as telemetry");
                }
                notes.Add("power resolution inferred from the decimals of the first reading");
                var channel = new MeterChannel($"redfish:{s.ChassisId}", $"{(s.ChassisName.Length > 0 ? s.ChassisName : s.ChassisId)} via Redfish at {host}", options.Scope,
                    counter ? ReadingKind.Counter : ReadingKind.InstantPower)
                {
                    HasPower = true,
                    EnergyResolutionJoules = counter ? s.EnergyResolution : 1e-3,
                    PowerResolutionWatts = s.PowerResolution,
                    NominalUpdatePeriod = options.UpdatePeriod,
                    DeviceKey = options.DeviceKey ?? (options.AllChassis ? $"bmc:{host}/{s.ChassisId}" : $"bmc:{host}"),
                    Notes = notes,
                };
                channels.Add(channel);
                if (!s.Modern && double.IsFinite(s.IntervalMinutes))
                {
                    gauges.Add(telemetry.Count);
                    telemetry.Add(new TelemetryChannel($"{channel.Id}:average", "W"));
                }
                else
                {
                    gauges.Add(-1);
                }
            }
            return new RedfishMeter(time, http, [.. sources], channels, telemetry, [.. gauges]);
        }
        catch
        {
            http.Dispose();
            throw;
        }
    }

    public void Read(Span<MeterReading> readings, Span<double> telemetry)
    {
        telemetry.Fill(double.NaN);
        for (var i = 0; i < _sources.Length; i++)
        {
            var s = _sources[i];
            var before = _time.GetTimestamp();
            var fetch = _http.Get(s.Resource);
            var after = _time.GetTimestamp();
            if (!fetch.Ok)
            {
                readings[i] = MeterReading.Failed(before, after, fetch.Status);
                _lastFailure[i] = fetch.Detail;
                continue;
            }
            try
            {
                double joules = double.NaN, watts;
                if (s.Modern)
                {
                    var env = RedfishJson.Environment(fetch.Body) ?? throw new EnergyToTokenException("EnvironmentMetrics.PowerWatts.Reading is missing or null");
                    watts = env.Watts;
                    if (s.EnergyKind)
                    {
                        if (!double.IsFinite(env.KilowattHours)) throw new EnergyToTokenException("EnvironmentMetrics.EnergykWh.Reading is missing or null");
                        joules = env.KilowattHours * 3.6e6;
                    }
                }
                else
                {
                    var power = RedfishJson.Power(fetch.Body) ?? throw new EnergyToTokenException("Power.PowerControl[].PowerConsumedWatts is missing or null");
                    watts = power.Watts;
                    if (_averageGauge[i] >= 0) telemetry[_averageGauge[i]] = power.AverageWatts;
                }
                readings[i] = new MeterReading(before, after, joules, watts, ReadStatus.Ok, fetch.DateUnixMilliseconds);
                _lastFailure[i] = "";
            }
            catch (EnergyToTokenException e)
            {
                readings[i] = MeterReading.Failed(before, after, ReadStatus.Unavailable);
                _lastFailure[i] = $"{s.Resource}: {e.Message}";
            }
        }
    }

    public void Dispose() => _http.Dispose();

    private static Source? Probe(RemoteHttp http, RedfishOptions options, RedfishChassis chassis)
    {
        if (chassis.EnvironmentMetrics is { } envPath)
        {
            var uri = new Uri(options.BaseUrl, envPath);
            var fetch = http.Get(uri);
            if (fetch.Ok && RedfishJson.Environment(fetch.Body) is { } env)
            {
                var counter = options.UseEnergyCounter && double.IsFinite(env.KilowattHours);
                return new Source(uri, chassis.Id, chassis.Name, true, counter,
                    counter ? RedfishJson.ResolutionOf(env.KilowattHoursText) * 3.6e6 : double.NaN, RedfishJson.ResolutionOf(env.WattsText), double.NaN, "");
            }
            if (fetch.Status == ReadStatus.PermissionDenied) throw Refused(options, fetch);
        }
        if (chassis.Power is { } powerPath)
        {
            var uri = new Uri(options.BaseUrl, powerPath);
            var fetch = http.Get(uri);
            if (fetch.Ok && RedfishJson.Power(fetch.Body) is { } power)
                return new Source(uri, chassis.Id, chassis.Name, false, false, double.NaN, RedfishJson.ResolutionOf(power.WattsText), power.IntervalMinutes, power.ControlName);
            if (fetch.Status == ReadStatus.PermissionDenied) throw Refused(options, fetch);
        }
        return null;
    }

    private static string GetOrThrow(RemoteHttp http, Uri uri, RedfishOptions options)
    {
        var fetch = http.Get(uri);
        if (fetch.Ok) return fetch.Body;
        if (fetch.Status == ReadStatus.PermissionDenied) throw Refused(options, fetch);
        var hint = fetch.HttpStatus == 404
            ? options.ChassisId is null ? "Check that the base URL points at the BMC." : $"Check the chassis id '{options.ChassisId}' (GET /redfish/v1/Chassis lists them)."
            : "Check the host, that the BMC's Redfish service is enabled, and --redfish-insecure if it uses a self-signed certificate.";
        throw new EnergyToTokenException($"The Redfish service did not answer: {fetch.Detail}. {hint}");
    }

    private static EnergyToTokenException Refused(RedfishOptions options, HttpFetch fetch) => new(options.User is null
        ? $"The Redfish service refused an unauthenticated request ({fetch.Detail}). Set a user and put the password in ${options.PasswordVariable}."
        : $"The Redfish service refused user '{options.User}' ({fetch.Detail}). Check the password in ${options.PasswordVariable} and that the account may read chassis power.");

    private sealed record Source(Uri Resource, string ChassisId, string ChassisName, bool Modern, bool EnergyKind, double EnergyResolution,
        double PowerResolution, double IntervalMinutes, string ControlName);
}
