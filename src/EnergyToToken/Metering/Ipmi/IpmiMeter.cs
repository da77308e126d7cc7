using System.ComponentModel;
using System.Diagnostics;

namespace EnergyToToken.Metering.Ipmi;

/// <summary>Options of the IPMI DCMI meter.</summary>
public sealed record IpmiOptions
{
    /// <summary>The ipmitool executable (a path or a name on PATH); tests point it at a script. Default: <c>ipmitool</c>.</summary>
    public string Command { get; init; } = "ipmitool";

    /// <summary>
    /// Arguments placed before <c>dcmi power reading</c>, e.g. <c>-I lanplus -H bmc-host -U admin -E</c> (<c>-E</c> reads the
    /// password from <c>IPMI_PASSWORD</c>). Default: none (the local BMC through /dev/ipmi0, which needs root).
    /// </summary>
    public IReadOnlyList<string> Arguments { get; init; } = [];

    /// <summary>Time allowed for one ipmitool run; it is killed after that. Default: 5 s (a lanplus session takes about 1 s).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>What the reading covers. Default: node AC input (DCMI reads the power supplies' input).</summary>
    public MeterScope Scope { get; init; } = MeterScope.NodeAc;

    /// <summary>How often the BMC refreshes the reading. Default: 1 s (typical; the sampler measures the real period).</summary>
    public TimeSpan UpdatePeriod { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The device identity shared with other meters of the same node (the Redfish meter uses <c>bmc:HOST</c> too).
    /// Default: null (<c>bmc:HOST</c> from <c>-H</c>, else <c>bmc:local:MACHINE</c>).
    /// </summary>
    public string? DeviceKey { get; init; }

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(Command)) errors.Add("The ipmitool command is empty; leave it unset for 'ipmitool' or give a path.");
        if (Timeout <= TimeSpan.Zero || Timeout > TimeSpan.FromMinutes(1)) errors.Add($"The timeout must be between 0 and 1 min (was {Timeout.TotalSeconds} s).");
        if (UpdatePeriod <= TimeSpan.Zero) errors.Add("The update period must be positive.");
        if (Arguments.Any(a => a.Equals("-P", StringComparison.Ordinal)))
            errors.Add("Do not pass the BMC password with -P (it shows in the process list); export IPMI_PASSWORD and pass -E.");
        return errors;
    }
}

/// <summary>
/// Node power from the BMC through <c>ipmitool dcmi power reading</c>, one process per read. Integer watts; the
/// minimum, maximum and average over the BMC's sampling period are recorded as telemetry.
/// </summary>
public sealed class IpmiMeter : IPowerMeter
{
    private readonly IpmiOptions _options;
    private readonly TimeProvider _time;
    private string _lastFailure = "";

    private IpmiMeter(IpmiOptions options, TimeProvider time, MeterChannel channel)
    {
        _options = options;
        _time = time;
        Channels = [channel];
        Telemetry =
        [
            new TelemetryChannel($"{channel.Id}:average", "W"),
            new TelemetryChannel($"{channel.Id}:minimum", "W"),
            new TelemetryChannel($"{channel.Id}:maximum", "W"),
        ];
    }

    public string Name => "ipmi";

    public bool IsRemote => true;

    public IReadOnlyList<MeterChannel> Channels { get; }

    public IReadOnlyList<TelemetryChannel> Telemetry { get; }

    /// <summary>Why the last read failed ("" after a good read).</summary>
    public string FailureDetail(int channel) => _lastFailure;

    /// <summary>Runs ipmitool once.</summary>
    /// <exception cref="EnergyToTokenException">ipmitool is missing, has no BMC or no permission, times out, prints no reading, or the reading is deactivated.</exception>
    public static IpmiMeter Open(IpmiOptions options, TimeProvider time)
    {
        var errors = options.Validate();
        if (errors.Count > 0) throw new EnergyToTokenException(string.Join(Environment.NewLine, errors));
        var run = Run(options);
        if (run.NotFound)
        {
            throw new EnergyToTokenException(
                $"ipmitool was not found ('{options.Command}': {run.Stderr}). Install it (Debian/Ubuntu: apt-get install ipmitool) or set the ipmitool command to its path.");
        }
        if (run.TimedOut)
            throw new EnergyToTokenException($"'{Describe(options)}' did not finish within {options.Timeout.TotalSeconds:0.###} s. Check that the BMC is reachable, or raise the timeout.");
        if (run.ExitCode != 0)
        {
            var (_, reason) = IpmiOutput.Classify(run.ExitCode, run.Stdout, run.Stderr);
            throw new EnergyToTokenException($"'{Describe(options)}' failed: {reason}.");
        }
        var reading = IpmiOutput.Parse(run.Stdout)
            ?? throw new EnergyToTokenException(
                $"'{Describe(options)}' printed no 'Instantaneous power reading' line (it printed '{Shorten(run.Stdout)}'). This BMC may not implement DCMI power readings; try the redfish meter.");
        if (!reading.Activated)
        {
            throw new EnergyToTokenException(
                $"The BMC reports 'Power reading state is: deactivated' (reading {reading.Watts} W is not maintained). Enable DCMI power monitoring in the BMC's settings, or use the redfish meter.");
        }

        var host = HostOf(options.Arguments);
        var notes = new List<string>
        {
            "integer watts from ipmitool dcmi power reading; one process per read, so reads take 0.1–1 s",
            "some BMCs report a short average as the 'instantaneous' reading",
        };
        if (reading.SamplingPeriod is { } period)
            notes.Add($"BMC sampling period {period.TotalSeconds:0} s (the window of the min/max/average telemetry)");
        notes.Add("the IPMI timestamp has 1 s resolution and the BMC's clock is often not synchronized");
        var channel = new MeterChannel($"ipmi:{host ?? "local"}", $"node power via DCMI ({host ?? "local BMC"})", options.Scope, ReadingKind.InstantPower)
        {
            HasPower = true,
            PowerResolutionWatts = 1,
            NominalUpdatePeriod = options.UpdatePeriod,
            DeviceKey = options.DeviceKey ?? (host is null ? $"bmc:local:{Environment.MachineName}" : $"bmc:{host}"),
            Notes = notes,
        };
        return new IpmiMeter(options, time, channel);
    }

    public void Read(Span<MeterReading> readings, Span<double> telemetry)
    {
        telemetry.Fill(double.NaN);
        var before = _time.GetTimestamp();
        var run = Run(_options);
        var after = _time.GetTimestamp();
        var status = ReadStatus.Unavailable;
        if (run.NotFound)
        {
            status = ReadStatus.Lost;
            _lastFailure = $"ipmitool is gone: {run.Stderr}";
        }
        else if (run.TimedOut)
        {
            _lastFailure = $"ipmitool did not finish within {_options.Timeout.TotalSeconds:0.###} s";
        }
        else if (run.ExitCode != 0)
        {
            (status, _lastFailure) = IpmiOutput.Classify(run.ExitCode, run.Stdout, run.Stderr);
        }
        else if (IpmiOutput.Parse(run.Stdout) is not { } reading)
        {
            _lastFailure = $"no 'Instantaneous power reading' in '{Shorten(run.Stdout)}'";
        }
        else if (!reading.Activated)
        {
            status = ReadStatus.NotSupported;
            _lastFailure = "power reading state is deactivated";
        }
        else
        {
            readings[0] = new MeterReading(before, after, double.NaN, reading.Watts, ReadStatus.Ok, reading.TimestampUnixMilliseconds);
            telemetry[0] = reading.AverageWatts;
            telemetry[1] = reading.MinimumWatts;
            telemetry[2] = reading.MaximumWatts;
            _lastFailure = "";
            return;
        }
        readings[0] = MeterReading.Failed(before, after, status);
    }

    public void Dispose()
    {
    }

    /// <summary>The BMC host named by <c>-H</c>, or null for the local BMC.</summary>
    internal static string? HostOf(IReadOnlyList<string> arguments)
    {
        for (var i = 0; i < arguments.Count - 1; i++)
        {
            if (arguments[i] == "-H") return arguments[i + 1];
        }
        return null;
    }

    private static string Describe(IpmiOptions options) => string.Join(' ', [options.Command, .. options.Arguments, "dcmi", "power", "reading"]);

    private static string Shorten(string text)
    {
        var t = text.Trim().ReplaceLineEndings(" ");
        return t.Length > 120 ? t[..120] + "…" : t;
    }

    private readonly record struct ProcessRun(int ExitCode, string Stdout, string Stderr, bool TimedOut, bool NotFound);

    private static ProcessRun Run(IpmiOptions options)
    {
        var start = new ProcessStartInfo(options.Command)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            CreateNoWindow = true,
        };
        foreach (var a in options.Arguments) start.ArgumentList.Add(a);
        start.ArgumentList.Add("dcmi");
        start.ArgumentList.Add("power");
        start.ArgumentList.Add("reading");
        // ipmitool's messages are English in every locale, but its timestamp follows LC_TIME.
        start.Environment["LC_ALL"] = "C";
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new Win32Exception("the process did not start");
        }
        catch (Win32Exception e)
        {
            return new ProcessRun(-1, "", e.Message, false, true);
        }
        using (process)
        {
            process.StandardInput.Close();
            // Plain threads, not the thread pool: a busy pool must not make a finished ipmitool look silent.
            string stdout = "", stderr = "";
            var readOut = new Thread(() => stdout = process.StandardOutput.ReadToEnd()) { IsBackground = true, Name = "e2t ipmitool stdout" };
            var readErr = new Thread(() => stderr = process.StandardError.ReadToEnd()) { IsBackground = true, Name = "e2t ipmitool stderr" };
            readOut.Start();
            readErr.Start();
            if (!process.WaitForExit(options.Timeout))
            {
                try
                {
                    process.Kill(entireProcessTree: true);
                }
                catch (InvalidOperationException)
                {
                    // It exited between the wait and the kill.
                }
                process.WaitForExit(TimeSpan.FromSeconds(1));
                return new ProcessRun(-1, "", "", true, false);
            }
            // Exited; the pipes close with it (a grandchild that keeps them open is cut off by the same timeout).
            var joined = readOut.Join(options.Timeout) & readErr.Join(options.Timeout);
            return joined
                ? new ProcessRun(process.ExitCode, stdout, stderr, false, false)
                : new ProcessRun(-1, "", "", true, false);
        }
    }
}
