using System.CommandLine;
using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using EnergyToToken.Metering;
using EnergyToToken.Reporting;
using Spectre.Console;
using static EnergyToToken.Cli.Output;

namespace EnergyToToken.Cli.Commands;

/// <summary>
/// <c>e2t measure -- COMMAND</c>: idle baseline, the command under the sampler, idle again; then energy per channel and
/// in total, gross and idle-subtracted, and J per token when the token count is known.
/// </summary>
internal static class MeasureCommand
{
    public static Command Create()
    {
        var flags = new MeterFlags();
        var meter = new Option<string[]>("--meter", "-m") { Description = "Meters to read, comma-separated or repeated: auto, nvml, amdsmi, rapl, hwmon, ipmi, redfish, prometheus, replay, cpu-model, synthetic. Default: auto." };
        var interval = MeterFlags.Duration("--interval", "Sampling interval of local meters. Default: 100ms.");
        var remoteInterval = MeterFlags.Duration("--remote-interval", "Sampling interval of remote meters. Default: 1s.");
        var idle = MeterFlags.Duration("--idle", "Idle baseline measured before and after the command (0 to skip). Default: 5s.");
        var tokens = new Option<double?>("--tokens") { Description = "Tokens the command produced, for J per token." };
        var tokensFile = new Option<string?>("--tokens-file") { Description = "A file the command writes its token count to, read when it exits." };
        var json = new Option<bool>("--json") { Description = "Print JSON (schema in docs/meters.md) instead of tables." };
        var commandLine = new Argument<string[]>("command") { Description = "The command to measure, after --.", Arity = ArgumentArity.OneOrMore };
        Command command = new("measure", "Run a command and report its duration, energy and average power per meter channel and in total.")
        {
            meter, interval, remoteInterval, idle, tokens, tokensFile, json, commandLine,
        };
        foreach (var option in flags.All) command.Options.Add(option);
        command.Validators.Add(result =>
        {
            if (result.GetValue(tokens) is { } t && (!(t >= 0) || !double.IsFinite(t))) result.AddError($"--tokens must be a count of at least 0 (was {t}).");
            if (result.GetValue(tokens) is not null && result.GetValue(tokensFile) is not null) result.AddError("Give --tokens or --tokens-file, not both.");
        });
        command.SetAction((parse, cancellation) => Task.FromResult(Run(parse, flags, meter, interval, remoteInterval, idle, tokens, tokensFile, json, commandLine, cancellation)));
        return command;
    }

    private static int Run(ParseResult parse, MeterFlags flags, Option<string[]> meterOption, Option<TimeSpan?> interval, Option<TimeSpan?> remoteInterval,
        Option<TimeSpan?> idleOption, Option<double?> tokensOption, Option<string?> tokensFileOption, Option<bool> json, Argument<string[]> commandLine,
        CancellationToken cancellation)
    {
        IReadOnlyList<IPowerMeter> meters = [];
        // Ctrl+C (and SIGTERM) stop the measurement, not the process: what was measured is printed, marked incomplete.
        using var interrupted = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Interrupt);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Interrupt);
        cancellation = interrupted.Token;
        var signalName = "INT"; // as kill(1) names it, to pass on to the command
        void Interrupt(PosixSignalContext context)
        {
            context.Cancel = true;
            signalName = context.Signal == PosixSignal.SIGTERM ? "TERM" : "INT";
            interrupted.Cancel();
        }
        try
        {
            var options = flags.Build(parse);
            var samplerOptions = new SamplerOptions();
            samplerOptions = samplerOptions with
            {
                LocalInterval = parse.GetValue(interval) ?? samplerOptions.LocalInterval,
                RemoteInterval = parse.GetValue(remoteInterval) ?? samplerOptions.RemoteInterval,
            };
            var problems = samplerOptions.Validate();
            if (problems.Count > 0) return Fail(parse, string.Join(Environment.NewLine, problems));
            var requested = parse.GetValue(meterOption) is { Length: > 0 } names ? names : ["auto"];
            (meters, var probes) = MeterRegistry.Open(requested, options, TimeProvider.System);
            foreach (var p in probes.Where(p => !p.Available && !requested.Contains("auto")))
                parse.InvocationConfiguration.Error.WriteLine($"warning: meter {p.Meter} not used: {p.Reason}");

            var argv = parse.GetValue(commandLine)!;
            var idle = parse.GetValue(idleOption) ?? TimeSpan.FromSeconds(5);
            using var sampler = new PowerSampler(meters, samplerOptions, TimeProvider.System);
            sampler.Start();
            (double, double)? idleBefore = null, idleAfter = null;
            if (idle > TimeSpan.Zero)
            {
                var start = sampler.Now;
                if (cancellation.WaitHandle.WaitOne(idle)) return Cancelled(parse);
                idleBefore = (start, sampler.Now);
            }

            int? exitCode = null;
            string? incomplete = null;
            var from = sampler.Now;
            using (var process = new Process { StartInfo = StartInfo(argv) })
            {
                try
                {
                    process.Start();
                }
                catch (Win32Exception e)
                {
                    sampler.Stop();
                    return Fail(parse, $"Cannot start '{argv[0]}': {e.Message}. Check the command after -- exists and is executable.");
                }
                try
                {
                    process.WaitForExitAsync(cancellation).GetAwaiter().GetResult();
                    exitCode = process.ExitCode;
                }
                catch (OperationCanceledException)
                {
                    // Keep what was measured and say it is incomplete. Ctrl+C in a terminal reaches the command too,
                    // so give it a moment before passing the signal on (a second SIGINT can cut its clean-up short);
                    // what has not stopped 2 s later is killed.
                    incomplete = "interrupted before the command finished";
                    if (!process.WaitForExit(300)) Signal(process.Id, signalName);
                    if (process.WaitForExit(2000)) exitCode = process.ExitCode;
                    else process.Kill(entireProcessTree: true);
                }
            }
            var to = sampler.Now;
            if (idle > TimeSpan.Zero && incomplete is null)
            {
                var start = sampler.Now;
                if (!cancellation.WaitHandle.WaitOne(idle)) idleAfter = (start, sampler.Now);
            }
            sampler.Stop();
            var summary = EnergyMeasurement.Summarize(sampler, from, to, idleBefore, idleAfter);

            double? tokens = parse.GetValue(tokensOption);
            string? tokenProblem = null;
            if (parse.GetValue(tokensFileOption) is { } file) tokens = ReadTokens(file, out tokenProblem);

            if (parse.GetValue(json)) parse.InvocationConfiguration.Output.WriteLine(EnergyReport.MeasureJson(summary, argv, exitCode, tokens, incomplete));
            else Render(Console(parse), summary, argv, exitCode, tokens, incomplete);

            if (incomplete is not null)
            {
                parse.InvocationConfiguration.Error.WriteLine($"error: {incomplete}; the measurement above covers only the part that ran.");
                return ExitCodes.Cancelled;
            }
            if (tokenProblem is not null) return Fail(parse, tokenProblem);
            if (double.IsNaN(summary.Total.Joules)) return Fail(parse, "No meter produced a good reading during the command; see the flags per channel.");
            return exitCode ?? ExitCodes.Failure;
        }
        catch (EnergyToTokenException e)
        {
            return Fail(parse, e.Message);
        }
        finally
        {
            foreach (var m in meters) m.Dispose();
        }
    }

    /// <summary>Passes a signal on to the measured command (the runtime has no call for it; kill(1) does it).</summary>
    private static void Signal(int pid, string signal)
    {
        try
        {
            using var kill = Process.Start(new ProcessStartInfo("kill", [$"-{signal}", pid.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false });
            kill?.WaitForExit(1000);
        }
        catch (Win32Exception)
        {
            // No kill(1): the command is killed after the grace period instead.
        }
    }

    private static ProcessStartInfo StartInfo(string[] argv)
    {
        var info = new ProcessStartInfo(argv[0]) { UseShellExecute = false };
        foreach (var a in argv.Skip(1)) info.ArgumentList.Add(a);
        return info;
    }

    private static int Cancelled(ParseResult parse)
    {
        parse.InvocationConfiguration.Error.WriteLine("error: cancelled during the idle baseline, before the command started; nothing was measured.");
        return ExitCodes.Cancelled;
    }

    private static double? ReadTokens(string path, out string? problem)
    {
        problem = null;
        string text;
        try
        {
            text = File.ReadAllText(path).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problem = $"--tokens-file '{path}' could not be read after the command ({e.Message}); J per token is not reported. The energy above is complete.";
            return null;
        }
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && n >= 0 && double.IsFinite(n)) return n;
        problem = $"--tokens-file '{path}' holds '{(text.Length > 40 ? text[..40] + "…" : text)}', not a token count (a number ≥ 0); J per token is not reported. The energy above is complete.";
        return null;
    }

    private static void Render(IAnsiConsole console, EnergySummary s, string[] argv, int? exitCode, double? tokens, string? incomplete)
    {
        var total = s.Total;
        console.WriteLine($"command: {string.Join(' ', argv)}");
        console.WriteLine($"exit code: {(exitCode is { } c ? c.ToString(CultureInfo.InvariantCulture) : "none (did not finish)")}");
        console.WriteLine($"duration: {Number(s.DurationSeconds)} s");
        console.WriteLine($"boundary: {total.Boundary}");
        if (incomplete is not null) console.WriteLine($"INCOMPLETE: {incomplete}");
        var table = new Table().Border(TableBorder.Rounded).Title("Energy per channel")
            .AddColumns("channel", "method", "energy J", "mean W", "idle W before / after", "dynamic J", "update period");
        foreach (var r in s.Channels)
        {
            var period = r.UpdatePeriod is { } p ? $"{(r.UpdatePeriodResolved ? "" : "≤ ")}{Number(p.TotalMilliseconds)} ms" : "n/a";
            table.AddRow(Markup.Escape(r.Channel.Id), r.Run.Method.ToString(), $"{Number(r.Run.Joules)} ± {Number(r.Run.UncertaintyJoules)}",
                Number(r.Run.MeanWatts), $"{Opt(r.IdleWattsBefore)} / {Opt(r.IdleWattsAfter)}", Opt(r.DynamicJoules), period);
        }
        console.Write(table);
        foreach (var r in s.Channels)
        {
            var notes = r.Run.Flags.Concat(r.Run.CrossCheck is { } x ? [$"counter vs integrated power: {Percent(x)}"] : []);
            foreach (var note in notes) console.WriteLine($"{r.Channel.Id}: {note}");
        }
        console.WriteLine($"total gross: {Number(total.Joules)} J ± {Number(total.UncertaintyJoules)} J, mean {Number(s.MeanWatts)} W");
        console.WriteLine(s.StaticJoules is { } st
            ? $"total static (idle): {Number(st)} J; dynamic (gross − static): {Number(s.DynamicJoules!.Value)} J"
            : "total static and dynamic: n/a (no idle baseline; pass --idle 5s)");
        if (tokens is { } n)
        {
            console.WriteLine($"tokens: {Number(n)}; gross {Opt(n > 0 ? total.Joules / n : null)} J/token; dynamic {Opt(n > 0 ? s.DynamicJoules / n : null)} J/token");
        }
        foreach (var e in total.Excluded) console.WriteLine($"not added: {e}");
        foreach (var g in s.Gauges) console.WriteLine($"{g.Id}: min {Number(g.Min)}, mean {Number(g.Mean)}, max {Number(g.Max)} {g.Unit}");
    }

    private static string Opt(double? value) => value is { } v ? Number(v) : "n/a";
}
