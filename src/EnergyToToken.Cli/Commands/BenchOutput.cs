using System.Globalization;
using EnergyToToken.Analysis;
using EnergyToToken.Load;
using EnergyToToken.Reporting;
using EnergyToToken.Runs;
using Spectre.Console;
using static EnergyToToken.Cli.Output;

namespace EnergyToToken.Cli.Commands;

/// <summary>What <c>e2t bench</c> prints on stdout: the run's summary, or a series' table.</summary>
internal static class BenchOutput
{
    public static void Run(IAnsiConsole console, BenchRun run, string directory) => Run(console, run.Data, run.Analysis, directory);

    /// <summary>A run's summary from its data and analysis: what <c>e2t bench</c> and <c>e2t analyze</c> print.</summary>
    public static void Run(IAnsiConsole console, RunData data, RunAnalysisResult a, string directory)
    {
        var (m, verdict) = (a.Metrics, a.Verdict);
        var target = data.Facts.GetProperty("target");
        console.WriteLine($"run: {data.Name}{(data.Simulated ? " (SIMULATED: embedded twin)" : "")}");
        console.WriteLine($"directory: {directory}");
        if (File.Exists(Path.Combine(directory, RunReport.HtmlFile))) console.WriteLine($"report: {Path.Combine(directory, RunReport.HtmlFile)}");
        console.WriteLine($"target: {target.GetProperty("model").GetString()} at {target.GetProperty("endpoint").GetString()} ({target.GetProperty("api").GetString()} API)");
        if (!data.Complete) console.WriteLine("INCOMPLETE: interrupted; what follows covers what was measured.");
        console.WriteLine($"window: {Number(m.WindowSeconds)} s; requests: {m.Issued} issued, {m.WarmupRequests} warm-up, {m.MeasuredRequests} measured");
        var states = string.Join(", ", m.States.Where(s => s.Value > 0).Select(s => $"{Reporting.ModelReport.Camel(s.Key)} {s.Value}"));
        console.WriteLine($"states: {(states.Length > 0 ? states : "none")}; error rate {Percent(m.ErrorRate)}");
        console.WriteLine($"throughput: {Number(m.OutputTokensPerSecond)} output tok/s, {Number(m.InputTokensPerSecond)} input tok/s, {Number(m.RequestsPerSecond)} req/s"
            + (m.GoodputRequestsPerSecond is { } g ? $", goodput {Number(g)} req/s" : ""));
        var table = new Table().Border(TableBorder.Rounded).Title("Latency (ms)").AddColumns("metric", "count", "mean", "p50", "p90", "p99", "max");
        foreach (var (name, stats) in new[] { ("TTFT", m.Ttft), ("TPOT", m.Tpot), ("ITL", m.Itl), ("E2E", m.E2e), ("schedule lag", m.ScheduleLag) })
        {
            if (stats is null) table.AddRow(name, "0", "", "", "", "", "");
            else table.AddRow(name, stats.Count.ToString(CultureInfo.InvariantCulture), Ms(stats.Mean), Ms(stats.P50), Ms(stats.P90), Ms(stats.P99), Ms(stats.Max));
        }
        console.Write(table);
        foreach (var c in m.SloChecks)
            console.WriteLine($"SLO {c.Target}: {Ms(c.Value)} ms — {(c.Met ? "met" : "MISSED")}");
        if (a.Whole.Energy is { } e)
        {
            var accounting = e.Total.Simulated ? "simulated" : e.Total.Modeled ? "modeled" : "measured";
            console.WriteLine($"energy ({accounting}), boundary {e.Total.Boundary}: {Number(e.Total.Joules)} J ± {Number(e.Total.UncertaintyJoules)} J, mean {Number(e.MeanWatts)} W");
            if (e.StaticJoules is { } st) console.WriteLine($"static (idle) {Number(st)} J, dynamic {Number(e.DynamicJoules!.Value)} J");
            var h = a.Headline;
            if (verdict.JoulesPerTokenReported && h.GrossJoulesPerOutputToken is { } j)
            {
                console.WriteLine($"J per output token: {Number(j)} gross, {(h.DynamicJoulesPerOutputToken is { } d ? Number(d) : "n/a")} dynamic ({accounting}, {h.Name} window)");
                console.WriteLine($"uncertainty: ± {Number(h.MeterUncertaintyJoulesPerToken ?? double.NaN)} J/token (meter bound), {Number(h.BootstrapStdJoulesPerToken)} (bootstrap std)");
                if (h.FacilityJoulesPerOutputToken is { } f) console.WriteLine($"facility J per output token: {Number(f)} ({h.FacilitySource})");
            }
            else
            {
                console.WriteLine("J per output token: not reported (see notes)");
            }
            if (a.Phases is { } p)
                console.WriteLine($"phases: prefill {Number(p.PrefillGross)} J/input token gross ({Number(p.PrefillDynamic)} dynamic), decode {Number(p.DecodeGross)} J/output token gross ({Number(p.DecodeDynamic)} dynamic)");
            if (a.Attribution is { } at) console.WriteLine($"attribution: {at.Model} model ({at.Coefficients.Source}), R² {Number(at.Coefficients.RSquared)}");
            if (a.RequestEnergy?.GrossJoules is { } r)
                console.WriteLine($"per request: {Number(r.P50)} J median, {Number(r.P90)} J p90, {Number(r.Max)} J max (gross, {r.Count} requests; Σ = measured, error {a.Attribution!.ConservationError:E1})");
        }
        Production(console, a.Production);
        foreach (var q in a.Quality) console.WriteLine($"quality: {q} ({q.Source})");
        console.WriteLine($"client CPU: {Percent(data.ClientCpuShare)} of {Environment.ProcessorCount} cores{(data.ClientCpuShare > BenchResult.ClientLimitedShare ? " — CLIENT-LIMITED" : "")}");
        foreach (var note in verdict.Notes) console.WriteLine($"note: {note}");
        foreach (var flag in a.Flags) console.WriteLine($"flag: {flag}");
        console.WriteLine(verdict.Valid ? "valid: yes" : $"valid: NO ({string.Join("; ", verdict.Problems)})");
    }

    private static void Production(IAnsiConsole console, MeasuredProduction p)
    {
        if (p.Result is not { } r)
        {
            console.WriteLine($"production function: not computed ({string.Join("; ", p.Missing)})");
            return;
        }
        foreach (var c in r.Conventions)
        {
            console.WriteLine($"{Reporting.ModelReport.Camel(c.Convention)} convention: compute ceiling {Number(c.ComputeCeilingTokensPerSecond)} tok/s, power ceiling {Number(c.PowerCeilingTokensPerSecond)} tok/s "
                + $"(P_IT {Number(c.ItPowerWatts)} W): {Reporting.ModelReport.Camel(c.BindingConstraint).ToUpperInvariant()}, headroom {Number(c.Headroom)}");
        }
        console.WriteLine($"utilization {Number(p.Utilization)} ({p.UtilizationSource}); utilization-adjusted output {Number(r.Headline.UtilizationAdjustedTokensPerSecond)} tok/s");
        foreach (var missing in p.Missing) console.WriteLine($"not computed: {missing}");
    }

    public static void Series(IAnsiConsole console, SeriesResult series, string directory)
    {
        console.WriteLine($"directory: {directory}");
        if (File.Exists(Path.Combine(directory, RunReport.HtmlFile))) console.WriteLine($"report: {Path.Combine(directory, RunReport.HtmlFile)}");
        if (!series.Complete) console.WriteLine("INCOMPLETE: interrupted; the points below are what was measured.");
        var table = new Table().Border(TableBorder.Rounded).Title($"Series over {series.Parameter}")
            .AddColumns(series.Parameter, "out tok/s", "goodput req/s", "TTFT p99 ms", "TPOT p99 ms", "J/out token", "errors", "SLO", "valid");
        foreach (var p in series.Points)
        {
            var m = p.Run.Metrics;
            table.AddRow(Number(p.Run.Point!.Value.Value), Number(m.OutputTokensPerSecond), m.GoodputRequestsPerSecond is { } g ? Number(g) : "",
                m.Ttft is { } t ? Ms(t.P99) : "", m.Tpot is { } tp ? Ms(tp.P99) : "", p.Run.JoulesPerOutputToken is { } j ? Number(j) : "n/a",
                Percent(m.ErrorRate), p.Run.Plan.Slo is null ? "" : m.SloMet ? "met" : "missed", p.Run.Verdict.Valid ? "yes" : "NO");
        }
        console.Write(table);
        if (series.Saturation is { } s)
            console.WriteLine($"saturation: the highest {s.Parameter} meeting the SLO is {Number(s.Value)}: R_sat = {Number(s.OutputTokensPerSecond)} output tok/s");
        else if (series.Points.Count > 0 && series.Points[0].Run.Plan.Slo is not null)
            console.WriteLine("saturation: no run met the SLO; lower the starting load or relax --slo.");
    }

    private static string Ms(double seconds) => double.IsFinite(seconds) ? (seconds * 1000).ToString("#,0.##", CultureInfo.InvariantCulture) : "n/a";
}

/// <summary>
/// Live progress on stderr: one line rewritten in place on a terminal, a plain line every 10 s otherwise (logs, CI).
/// </summary>
internal sealed class ProgressLine(TextWriter error) : IProgress<BenchProgress>
{
    private readonly bool _terminal = ReferenceEquals(error, System.Console.Error) && !System.Console.IsErrorRedirected;
    private readonly Lock _gate = new();
    private long _lastPlain = -1;
    private bool _dirty;

    /// <summary>The figures served by --metrics-listen, updated with every report; null without the flag.</summary>
    public Live.LiveMetrics? Live { get; init; }

    public void Report(BenchProgress p)
    {
        Live?.Update(p);
        var text = $"{p.Phase}: {p.Done} done, {p.Failed} failed, {Number(Math.Round(p.TokensPerSecond))} tok/s"
            + (double.IsFinite(p.Watts) ? $", {Number(Math.Round(p.Watts, 1))} W" : "")
            + (double.IsFinite(p.JoulesPerOutputToken) ? $", {Number(Math.Round(p.JoulesPerOutputToken, 4))} J/token so far" : "")
            + (p.SecondsLeft is { } left ? $", {Number(Math.Ceiling(left))} s left" : "");
        lock (_gate)
        {
            if (_terminal)
            {
                AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(error) }).Write(new Text("\r" + text.PadRight(Math.Min(160, System.Console.WindowWidth - 1))));
                _dirty = true;
            }
            else if ((long)(p.ElapsedSeconds / 10) != _lastPlain)
            {
                _lastPlain = (long)(p.ElapsedSeconds / 10);
                error.WriteLine($"e2t bench: {text}");
            }
        }
    }

    /// <summary>Ends the rewritten line so what follows starts on its own.</summary>
    public void Done()
    {
        lock (_gate)
        {
            if (_dirty) error.WriteLine();
            _dirty = false;
        }
    }
}
