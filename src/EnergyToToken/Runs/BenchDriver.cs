using System.Globalization;
using EnergyToToken.Analysis;
using EnergyToToken.Load;
using EnergyToToken.Metering;
using EnergyToToken.Reporting;

namespace EnergyToToken.Runs;

/// <summary>A sweep: one run per value of concurrency or rate, e.g. <c>concurrency=1,4,16,64</c>.</summary>
public sealed record Sweep(string Parameter, IReadOnlyList<double> Values)
{
    public static Sweep Parse(string text)
    {
        var eq = text.IndexOf('=', StringComparison.Ordinal);
        var parameter = eq < 0 ? text : text[..eq];
        if (parameter is not ("concurrency" or "rate") || eq < 0)
            throw new EnergyToTokenException($"Sweep '{text}' is not understood. Write concurrency=1,4,16,64 or rate=1,2,4,8 (requests/s).");
        var values = new List<double>();
        foreach (var part in text[(eq + 1)..].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!double.TryParse(part, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !(v > 0) || !double.IsFinite(v) || (parameter == "concurrency" && v != Math.Floor(v)))
                throw new EnergyToTokenException($"Sweep value '{part}' in '{text}' is not a positive {(parameter == "concurrency" ? "whole number" : "number")}.");
            values.Add(v);
        }
        if (values.Count == 0) throw new EnergyToTokenException($"Sweep '{text}' has no values. Write {parameter}=1,4,16.");
        return new Sweep(parameter, values);
    }

    /// <summary>The plan with the parameter set: a rate turns a closed loop into Poisson arrivals.</summary>
    public static BenchPlan Apply(BenchPlan plan, string parameter, double value) => parameter == "concurrency"
        ? plan with { Arrivals = plan.Arrivals with { Kind = ArrivalKind.Closed, Concurrency = (int)value } }
        : plan with { Arrivals = plan.Arrivals with { Kind = plan.Arrivals.Kind is ArrivalKind.Closed or ArrivalKind.Trace ? ArrivalKind.Poisson : plan.Arrivals.Kind, Rate = value } };
}

/// <summary>How the SLO search moves: doubling from the plan's own load until the SLO fails, then bisecting.</summary>
public sealed record SearchOptions
{
    /// <summary>Bisection steps after the first failure. Default: 3.</summary>
    public int Steps { get; init; } = 3;

    /// <summary>Most runs in all (doubling and bisection). Default: 10.</summary>
    public int MaxRuns { get; init; } = 10;
}

/// <summary>The calibration probes of <c>--calibrate</c>.</summary>
public sealed record CalibrationOptions
{
    /// <summary>Prompt length of the prefill-heavy burst, whose requests ask for one output token. Default: 2048.</summary>
    public int PrefillPromptTokens { get; init; } = 2048;

    /// <summary>Output length of the decode-heavy burst, whose prompts are 16 tokens. Default: 512.</summary>
    public int DecodeOutputTokens { get; init; } = 512;

    /// <summary>Requests in each burst; null: 4 × the run's concurrency, at least 32.</summary>
    public int? Requests { get; init; }

    /// <summary>Concurrency of the bursts when the run itself is open-loop. Default: 16.</summary>
    public int OpenLoopConcurrency { get; init; } = 16;
}

/// <summary>Where one point of a series went, and what it measured.</summary>
public sealed record SeriesPoint(BenchRun Run, string Directory);

/// <summary>A sweep's or search's runs, with the highest load that met the SLO.</summary>
public sealed record SeriesResult(string Parameter, IReadOnlyList<SeriesPoint> Points, Saturation? Saturation, bool Complete);

/// <summary>
/// Runs benches against one target and writes each to its run directory: a single run, a sweep (one directory per
/// point under <c>points/</c> and the series in the top <c>result.json</c>), or the SLO search for the saturated
/// throughput. A run cut short keeps what it measured and is marked incomplete.
/// </summary>
public sealed class BenchDriver(HttpClient http, IReadOnlyList<IPowerMeter> meters, Uri? serverMetrics, TimeProvider time)
{
    /// <summary>How often the server's <c>/metrics</c> is scraped. Default: 1 s.</summary>
    public TimeSpan ScrapeInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>What served the run: recorded in run.json for the production function. Default: unknown.</summary>
    public Deployment Deployment { get; init; } = Deployment.Unknown;

    /// <summary>How each run is analysed. Default: the documented defaults.</summary>
    public AnalysisOptions Analysis { get; init; } = new();

    /// <summary>The catalogs κ, peaks and power limits come from. Default: the bundled ones.</summary>
    public Catalog.Catalogs Catalogs { get; init; } = Catalog.Catalogs.Load();

    /// <summary>Calibration probes before each run (<c>--calibrate</c>); null: the phase split comes from the run's own regression.</summary>
    public CalibrationOptions? Calibrate { get; init; }

    /// <summary>Called before each run of a series with the parameter's value.</summary>
    public Action<string, double>? Starting { get; init; }

    /// <summary>
    /// One run, written to <paramref name="directory"/> (after its calibration probes, under <c>calibration/</c>, when
    /// asked). A failure to write is thrown after the run is measured; the returned run is then lost only on disk.
    /// </summary>
    public async Task<BenchRun> RunAsync(BenchPlan plan, string directory, IProgress<BenchProgress>? progress, CancellationToken cancellationToken,
        (string, double)? point = null)
    {
        var analysis = Analysis;
        if (Calibrate is { } calibrate && Analysis.Calibration is null)
            analysis = analysis with { Calibration = await CalibrateAsync(plan, calibrate, directory, progress, cancellationToken).ConfigureAwait(false) };
        return await MeasureAsync(plan, directory, analysis, progress, cancellationToken, point).ConfigureAwait(false);
    }

    /// <summary>
    /// The phase coefficients from two bursts at the run's concurrency: prompts of <see cref="CalibrationOptions.PrefillPromptTokens"/>
    /// with one output token each (a = dynamic energy ÷ prompt tokens), then 16-token prompts with
    /// <see cref="CalibrationOptions.DecodeOutputTokens"/> outputs (b = (dynamic energy − a · prompt tokens) ÷ (output − 1) tokens).
    /// </summary>
    private async Task<PhaseCoefficients> CalibrateAsync(BenchPlan plan, CalibrationOptions options, string directory, IProgress<BenchProgress>? progress, CancellationToken cancellationToken)
    {
        var concurrency = plan.Arrivals.Kind == ArrivalKind.Closed ? plan.Arrivals.Concurrency : options.OpenLoopConcurrency;
        var requests = options.Requests ?? Math.Max(32, 4 * concurrency);
        BenchPlan Probe(string name, int input, int output) => plan with
        {
            Name = $"{plan.Name}-calibration-{name}",
            Workload = plan.Workload with
            {
                InputTokens = LengthDistribution.Parse($"fixed:{input}"),
                OutputTokens = LengthDistribution.Parse($"fixed:{output}"),
                FixedOutput = true,
                Dataset = null,
                SharedPrefixTokens = 0,
                WarmupRequests = 0,
            },
            Arrivals = plan.Arrivals with { Kind = ArrivalKind.Closed, Concurrency = concurrency, Count = requests, Duration = null, RampTo = null },
            Slo = null,
        };
        var plain = Analysis with { Calibration = null, Saturation = null };
        Starting?.Invoke("calibration (prefill)", options.PrefillPromptTokens);
        var prefill = await MeasureAsync(Probe("prefill", options.PrefillPromptTokens, 1), Path.Combine(directory, "calibration", "prefill"), plain, progress, cancellationToken).ConfigureAwait(false);
        Starting?.Invoke("calibration (decode)", options.DecodeOutputTokens);
        var decode = await MeasureAsync(Probe("decode", 16, options.DecodeOutputTokens), Path.Combine(directory, "calibration", "decode"), plain, progress, cancellationToken).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        foreach (var probe in new[] { prefill, decode })
        {
            if (!probe.Verdict.Valid || !probe.Verdict.JoulesPerTokenReported || probe.Analysis.Whole.Energy?.DynamicJoules is null)
                throw new EnergyToTokenException($"Calibration probe {probe.Data.Name} gave no usable dynamic energy ({string.Join("; ", probe.Verdict.Problems.Concat(probe.Verdict.Notes))}). Its run is in {probe.Data.Directory}; run without --calibrate, or fix the meter.");
        }
        var (pe, pin) = (prefill.Analysis.Whole.Energy!, prefill.Metrics.InputTokens);
        var (de, din, dout) = (decode.Analysis.Whole.Energy!, decode.Metrics.InputTokens, decode.Metrics.OutputTokens - decode.Metrics.MeasuredRequests);
        var a = pe.DynamicJoules!.Value / pin;
        var b = (de.DynamicJoules!.Value - a * din) / dout;
        var aError = pe.Total.UncertaintyJoules / pin;
        return new PhaseCoefficients(Math.Max(0, a), Math.Max(0, b), "calibration", aError, (de.Total.UncertaintyJoules + aError * din) / dout, 0, double.NaN);
    }

    private async Task<BenchRun> MeasureAsync(BenchPlan plan, string directory, AnalysisOptions analysis, IProgress<BenchProgress>? progress, CancellationToken cancellationToken,
        (string, double)? point = null)
    {
        var client = new StreamingClient(http, plan.Client, time);
        await PreflightAsync(client, plan, cancellationToken).ConfigureAwait(false);
        var started = time.GetUtcNow();
        using var run = RunDirectory.Create(directory);
        run.Append(w =>
        {
            w.WriteString("event", "start");
            w.WriteString("utc", started.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
            w.WriteString("name", plan.Name);
            w.WriteString("endpoint", plan.Target.Endpoint.ToString());
            w.WriteString("model", plan.Target.Model);
        });
        var runner = new LoadRunner(client, plan.Target.Model, time);
        var scraper = serverMetrics is null ? null : new ServerMetricsScraper(http, serverMetrics, ScrapeInterval, time);
        BenchResult result;
        try
        {
            result = await BenchSession.RunAsync(runner, plan.Workload, plan.Arrivals, meters, plan.Bench, time, cancellationToken, scraper, progress, run.AppendRequest).ConfigureAwait(false);
        }
        finally
        {
            if (scraper is not null) await scraper.DisposeAsync().ConfigureAwait(false);
        }
        var facts = RunFacts.Json(plan, result, started, point, Deployment, analysis);
        var data = RunData.From(directory, facts, result);
        var bench = new BenchRun(plan, result, data, RunAnalysis.Analyze(data, analysis, Catalogs), started, point);
        run.Append(w =>
        {
            w.WriteString("event", "end");
            w.WriteBoolean("complete", result.Complete);
        });
        try
        {
            run.WriteTimelines(result);
            run.WriteFacts(facts);
            var json = BenchReport.Json(bench);
            run.WriteResult(json);
            foreach (var (file, text) in RunReport.Render(data, json)) run.WriteAtomic(file, w => w.Write(text));
            RunManifest.Write(directory, time);
        }
        catch (IOException e)
        {
            throw new RunWriteException(bench, directory, e);
        }
        catch (EnergyToTokenException e) when (e.InnerException is IOException io)
        {
            // The manifest reports a failure to read or write as an explained error, with the I/O error inside.
            throw new RunWriteException(bench, directory, io);
        }
        if (run.LogFailure is { } failure) throw new RunWriteException(bench, directory, failure);
        return bench;
    }

    /// <summary>
    /// One tiny request before anything is measured: a wrong model or API is refused at once with the server's answer,
    /// instead of after a run of failures, and the client's first-request costs (connection, JIT) stay out of the run.
    /// Only a client error (4xx but 429) refuses; anything else is left for the run to measure and count.
    /// </summary>
    private static async Task PreflightAsync(StreamingClient client, BenchPlan plan, CancellationToken cancellationToken)
    {
        var probe = new GenerationRequest { Api = plan.Workload.Api, Model = plan.Target.Model, Prompt = "Hello", MaxTokens = 1, IgnoreEos = plan.Workload.FixedOutput };
        var record = await client.SendAsync(probe, cancellationToken).ConfigureAwait(false);
        if (record.State == TerminalState.HttpError && record.HttpStatus is >= 400 and < 500 and not 429)
        {
            var body = record.Detail.Length > 300 ? record.Detail[..300] + "…" : record.Detail;
            throw new EnergyToTokenException($"{plan.Target.Endpoint} refused a test request for model '{plan.Target.Model}' on the {plan.Workload.Api.ToString().ToLowerInvariant()} API ({body}). Check --model and --api.");
        }
    }

    /// <summary>One run per sweep value, each in <c>points/NN-PARAMETER-VALUE</c>; the series in the top <c>result.json</c>.</summary>
    public async Task<SeriesResult> SweepAsync(BenchPlan plan, Sweep sweep, string directory, IProgress<BenchProgress>? progress, CancellationToken cancellationToken)
    {
        var points = new List<SeriesPoint>();
        foreach (var value in sweep.Values)
        {
            if (cancellationToken.IsCancellationRequested) break;
            points.Add(await PointAsync(plan, sweep.Parameter, value, points.Count, directory, progress, cancellationToken).ConfigureAwait(false));
        }
        return Finish(plan, sweep.Parameter, points, directory, cancellationToken);
    }

    /// <summary>
    /// The highest concurrency (closed loop) or rate (open loop) whose run meets the SLO, is valid and complete: from
    /// the plan's own load, halving while it fails and doubling while it passes, then bisecting between the last pass
    /// and the first failure.
    /// </summary>
    public async Task<SeriesResult> SearchAsync(BenchPlan plan, SearchOptions search, string directory, IProgress<BenchProgress>? progress, CancellationToken cancellationToken)
    {
        if (plan.Slo is null) throw new EnergyToTokenException("The search for the highest load that meets the SLO needs the SLO: give --slo ttft-p99=500ms,tpot-p99=50ms.");
        if (plan.Arrivals.Kind == ArrivalKind.Trace) throw new EnergyToTokenException("A trace sets its own times: the SLO search varies concurrency or rate, so leave out --trace (use --dataset for its prompts).");
        var closed = plan.Arrivals.Kind == ArrivalKind.Closed;
        var parameter = closed ? "concurrency" : "rate";
        var points = new List<SeriesPoint>();
        bool Passes(SeriesPoint p) => p.Run.Verdict.Valid && p.Run.Metrics.SloMet && p.Run.Result.Complete;
        async Task<bool> Probe(double value)
        {
            var p = await PointAsync(plan, parameter, value, points.Count, directory, progress, cancellationToken).ConfigureAwait(false);
            points.Add(p);
            return Passes(p);
        }

        double? pass = null, fail = null;
        var v = closed ? plan.Arrivals.Concurrency : plan.Arrivals.Rate;
        var floor = closed ? 1 : v / 64;
        while (points.Count < search.MaxRuns && !cancellationToken.IsCancellationRequested)
        {
            if (await Probe(v).ConfigureAwait(false))
            {
                pass = v;
                if (fail is not null) break;
                v *= 2;
            }
            else
            {
                fail = v;
                if (pass is not null || v <= floor) break;
                v = closed ? Math.Max(1, Math.Floor(v / 2)) : v / 2;
            }
        }
        for (var step = 0; step < search.Steps && pass is { } lo && fail is { } hi && points.Count < search.MaxRuns && !cancellationToken.IsCancellationRequested; step++)
        {
            var mid = closed ? Math.Floor((lo + hi) / 2) : (lo + hi) / 2;
            if (closed && mid <= lo) break;
            if (await Probe(mid).ConfigureAwait(false)) pass = mid;
            else fail = mid;
        }
        return Finish(plan, parameter, points, directory, cancellationToken, Passes);
    }

    /// <summary>Re-analyses a point with the series' saturation and rewrites its run.json and result.json.</summary>
    private SeriesPoint WithSaturation(SeriesPoint point, string directory, Saturation saturation)
    {
        var run = point.Run;
        var options = run.Data.RecordedAnalysis with { Saturation = saturation };
        var facts = RunFacts.Json(run.Plan, run.Result, run.StartedUtc, run.Point, Deployment, options);
        var path = Path.Combine(directory, point.Directory);
        var data = RunData.From(path, facts, run.Result);
        var updated = run with { Data = data, Analysis = RunAnalysis.Analyze(data, options, Catalogs) };
        var json = BenchReport.Json(updated);
        RunDirectory.WriteFile(path, RunFacts.File, facts);
        RunDirectory.WriteFile(path, RunDirectory.Result, json);
        foreach (var (file, text) in RunReport.Render(data, json)) RunDirectory.WriteFile(path, file, text);
        RunManifest.Write(path, time);
        return point with { Run = updated };
    }

    private async Task<SeriesPoint> PointAsync(BenchPlan plan, string parameter, double value, int ordinal, string directory, IProgress<BenchProgress>? progress, CancellationToken cancellationToken)
    {
        Starting?.Invoke(parameter, value);
        var label = $"{ordinal:00}-{parameter}-{value.ToString("0.###", CultureInfo.InvariantCulture)}";
        var relative = Path.Combine("points", label);
        var run = await RunAsync(Sweep.Apply(plan, parameter, value) with { Name = $"{plan.Name}-{label}" }, Path.Combine(directory, relative), progress, cancellationToken, (parameter, value)).ConfigureAwait(false);
        return new SeriesPoint(run, relative);
    }

    private SeriesResult Finish(BenchPlan plan, string parameter, List<SeriesPoint> points, string directory, CancellationToken cancellationToken, Func<SeriesPoint, bool>? passes = null)
    {
        passes ??= p => p.Run.Verdict.Valid && p.Run.Metrics.SloMet && p.Run.Result.Complete;
        var ordered = points.OrderBy(p => p.Run.Point!.Value.Value).ToList();
        var best = plan.Slo is null ? null : ordered.LastOrDefault(passes);
        var saturation = best is null ? null
            : new Saturation(parameter, best.Run.Point!.Value.Value, best.Run.Analysis.Headline.OutputTokensPerSecond, best.Run.Metrics.GoodputRequestsPerSecond ?? double.NaN,
                $"this series: {parameter} {best.Run.Point!.Value.Value.ToString("0.###", CultureInfo.InvariantCulture)}, the highest load that met the SLO",
                Saturation.MeanSmActivity(best.Run.Analysis.Headline.Energy));
        // With R_sat known, every point's production function gains the realized convention and U = R_actual / R_sat.
        if (saturation is not null && Analysis.Saturation is null) ordered = [.. ordered.Select(p => WithSaturation(p, directory, saturation))];
        var complete = !cancellationToken.IsCancellationRequested && points.All(p => p.Run.Result.Complete);
        var series = new SeriesResult(parameter, ordered, saturation, complete);
        var json = BenchReport.SeriesJson(plan.Name, parameter, [.. ordered.Select(p => (p.Run, p.Directory))], saturation, complete);
        var temporary = Path.Combine(directory, RunDirectory.Result + ".tmp");
        try
        {
            Directory.CreateDirectory(directory);
            File.WriteAllText(temporary, json);
            File.Move(temporary, Path.Combine(directory, RunDirectory.Result), overwrite: true);
            foreach (var (file, text) in SeriesReport.Render(directory, json)) RunDirectory.WriteFile(directory, file, text);
            RunManifest.Write(directory, time);
        }
        catch (Exception e) when (e is IOException || e is EnergyToTokenException { InnerException: IOException })
        {
            throw new EnergyToTokenException($"Could not write the series to '{directory}': {e.Message}. Each point's own directory holds its result.");
        }
        return series;
    }
}

/// <summary>A run was measured but could not be written in full (a full disk): the run is kept in memory for the summary.</summary>
public sealed class RunWriteException(BenchRun run, string directory, IOException inner)
    : Exception($"Could not write the run to '{directory}': {inner.Message}. The summary printed is what was measured; free space and run again to keep the timelines.", inner)
{
    public BenchRun Run { get; } = run;
}
