using System.Globalization;
using System.Text.Json;
using EnergyToToken.Analysis;
using EnergyToToken.Catalog;
using EnergyToToken.Load;
using EnergyToToken.Reporting;
using EnergyToToken.Runs;
using EnergyToToken.Twin;

namespace EnergyToToken.Benchmarks;

/// <summary>
/// <c>validate-attribution [SECONDS]</c>: e2t's phase split and per-request attribution (issue 6) against the twin's
/// ground truth. Each workload runs the twin in process with its meter through <see cref="BenchDriver"/>, exactly as
/// <c>e2t bench</c> does, then compares what e2t attributed with what the twin charged each request.
/// Targets: ≤ 5 % error on the phase coefficients, ≤ 10 % median per-request error in the steady state.
/// docs/validation/attribution.md holds the table and how to read it.
/// </summary>
internal static class AttributionValidation
{
    /// <summary>One workload: prompt and output lengths (<see cref="LengthDistribution"/> syntax), closed-loop concurrency, and a power limit per device.</summary>
    internal sealed record Workload(string Name, string Input, string Output, int Concurrency, double? PowerLimitWatts = null);

    /// <summary>Truth and e2t side by side for one run. Coefficients in J per token, errors relative (signed for coefficients).</summary>
    /// <param name="Matched">Measured ok requests found in the twin's ground truth.</param>
    /// <param name="Steady">Of those, requests sent at or after the steady window's start and ended at or before its end.</param>
    /// <param name="TruthPrefill">Σ truth prefill J ÷ Σ prompt tokens.</param>
    /// <param name="TruthDecode">Σ truth decode J ÷ Σ (output − 1).</param>
    /// <param name="PhasePrefill">e2t's <c>Phases.PrefillDynamic</c>: Σ attributed prefill dynamic J ÷ Σ input tokens.</param>
    /// <param name="RegressionPrefill">The regression's marginal coefficient, J per prompt token.</param>
    /// <param name="MedianRequestError">Median over steady requests of |attributed dynamic − truth dynamic| ÷ truth dynamic.</param>
    /// <param name="TotalError">(Σ attributed dynamic − Σ truth dynamic) ÷ Σ truth dynamic over the matched requests.</param>
    /// <param name="CachedPromptTokens">Prompt tokens the twin served from its prefix cache (no prefill work).</param>
    internal sealed record Comparison(
        int Matched,
        int Steady,
        double TruthPrefill,
        double TruthDecode,
        double PhasePrefill,
        double PhaseDecode,
        double RegressionPrefill,
        double RegressionDecode,
        double MedianRequestError,
        double P90RequestError,
        double MedianPrefillError,
        double MedianDecodeError,
        double TotalError,
        double ConservationError,
        double RSquared,
        int Intervals,
        long CachedPromptTokens)
    {
        public double PhasePrefillError => PhasePrefill / TruthPrefill - 1;

        public double PhaseDecodeError => PhaseDecode / TruthDecode - 1;

        public double RegressionPrefillError => RegressionPrefill / TruthPrefill - 1;

        public double RegressionDecodeError => RegressionDecode / TruthDecode - 1;

        /// <summary>Issue 6's targets on e2t's reported phase figures and the per-request median.</summary>
        public bool MeetsTargets(double coefficientTarget = 0.05, double requestTarget = 0.10) =>
            Math.Abs(PhasePrefillError) <= coefficientTarget && Math.Abs(PhaseDecodeError) <= coefficientTarget && MedianRequestError <= requestTarget;
    }

    /// <summary>What the twin charged one request (<see cref="RequestTruth"/>, or a line of its ground-truth log), J of dynamic energy.</summary>
    internal sealed record Truth(long Id, int PromptTokens, int CachedPromptTokens, int OutputTokens, double PrefillJoules, double DecodeJoules)
    {
        public double Joules => PrefillJoules + DecodeJoules;

        public static Truth Of(RequestTruth r) => new(r.Id, r.PromptTokens, r.CachedPromptTokens, r.OutputTokens, r.PrefillJoules, r.DecodeJoules);

        /// <summary>A ground-truth log written with <see cref="TwinServerOptions.GroundTruthPath"/>.</summary>
        public static IReadOnlyList<Truth> Read(string path) => [.. File.ReadLines(path).Where(l => l.Length > 0).Select(line =>
        {
            using var json = JsonDocument.Parse(line);
            var r = json.RootElement;
            return new Truth(r.GetProperty("id").GetInt64(), r.GetProperty("promptTokens").GetInt32(), r.GetProperty("cachedPromptTokens").GetInt32(),
                r.GetProperty("outputTokens").GetInt32(), r.GetProperty("prefillJoules").GetDouble(), r.GetProperty("decodeJoules").GetDouble());
        })];
    }

    /// <summary>The workloads of issue 6: short prompts and long outputs, long prompts and short outputs, mixed; low and high concurrency; with and without a power limit.</summary>
    internal static IReadOnlyList<Workload> Workloads { get; } =
    [
        new("short-in/long-out c4", "fixed:128", "fixed:1024", 4),
        new("short-in/long-out c64", "fixed:128", "fixed:1024", 64),
        new("long-in/short-out c4", "fixed:4096", "fixed:32", 4),
        new("long-in/short-out c64", "fixed:4096", "fixed:32", 64),
        new("mixed c4", "lognormal:512,1", "lognormal:256,1", 4),
        new("mixed c64", "lognormal:512,1", "lognormal:256,1", 64),
        new("mixed c64, 400 W cap", "lognormal:512,1", "lognormal:256,1", 64, 400),
        new("long-in/short-out c64, 400 W cap", "fixed:4096", "fixed:32", 64, 400),
    ];

    /// <summary>Name of the twin's ground-truth log inside each run directory.</summary>
    internal const string TruthFile = "ground-truth.jsonl";

    /// <summary>Runs every workload; <paramref name="keep"/> keeps the run directories (with the twin's ground truth) for <see cref="Reanalyze"/>.</summary>
    public static async Task Run(TimeSpan seconds, string? keep)
    {
        var root = keep ?? Path.Combine(Path.GetTempPath(), $"e2t-validate-attribution-{Environment.ProcessId}");
        Console.Error.WriteLine($"validate-attribution: {Workloads.Count} workloads of {seconds.TotalSeconds:0} s each on the twin ({TwinProfiles.Default.Name}), run directories under {root}");
        var rows = new List<(Workload Workload, Comparison Comparison)>();
        try
        {
            foreach (var workload in Workloads)
            {
                Console.Error.WriteLine($"  {workload.Name} …");
                var (run, truths) = await MeasureAsync(workload, seconds, Path.Combine(root, Slug(workload.Name)), keepTruth: keep is not null, CancellationToken.None);
                var comparison = Compare(run.Data, run.Analysis, truths);
                rows.Add((workload, comparison));
                Report(comparison);
            }
        }
        finally
        {
            if (keep is null) Delete(root);
        }
        Console.Write(Table(rows, seconds));
    }

    /// <summary>Analyses again the run directories <see cref="Run"/> kept, with the analysis options each recorded: for trying a change to the attribution without running the twin again.</summary>
    public static void Reanalyze(string root)
    {
        var rows = new List<(Workload Workload, Comparison Comparison)>();
        var seconds = TimeSpan.Zero;
        foreach (var workload in Workloads)
        {
            var directory = Path.Combine(root, Slug(workload.Name));
            if (!File.Exists(Path.Combine(directory, TruthFile))) continue;
            Console.Error.WriteLine($"  {workload.Name} …");
            var data = RunData.Load(directory);
            seconds = TimeSpan.FromSeconds(data.Facts.GetProperty("arrivals").GetProperty("durationSeconds").GetDouble());
            var comparison = Compare(data, RunAnalysis.Analyze(data, data.RecordedAnalysis, Catalogs.Load([])), Truth.Read(Path.Combine(directory, TruthFile)));
            rows.Add((workload, comparison));
            Report(comparison);
        }
        Console.Write(Table(rows, seconds));
    }

    private static void Report(Comparison c) => Console.Error.WriteLine(
        $"    {c.Matched} requests ({c.Steady} steady): prefill {Percent(c.PhasePrefillError)}, decode {Percent(c.PhaseDecodeError)}, median per request {Percent(c.MedianRequestError, signed: false)}");

    /// <summary>One bench run of <paramref name="workload"/> against a fresh twin that keeps its ground truth (also in the run directory when <paramref name="keepTruth"/>).</summary>
    internal static async Task<(BenchRun Run, IReadOnlyList<Truth> Truths)> MeasureAsync(Workload workload, TimeSpan seconds, string directory, bool keepTruth, CancellationToken cancellationToken)
    {
        var profile = TwinProfiles.Default;
        profile = profile with
        {
            // The queue must hold the whole closed loop, as e2t bench sizes it.
            Engine = profile.Engine with { MaxWaiting = Math.Max(profile.Engine.MaxWaiting, workload.Concurrency) },
            Step = profile.Step with { PowerLimitWatts = workload.PowerLimitWatts },
        };
        if (keepTruth) Directory.CreateDirectory(directory);
        var options = new TwinServerOptions { Profile = profile, KeepGroundTruth = true, GroundTruthPath = keepTruth ? Path.Combine(directory, TruthFile) : null };
        var twin = await TwinServer.StartAsync(options, Catalogs.Load([]), cancellationToken);
        await using (twin)
        {
            using var meter = twin.CreateMeter();
            using var http = new HttpClient { BaseAddress = twin.BaseAddress, Timeout = Timeout.InfiniteTimeSpan };
            var driver = new BenchDriver(http, [meter], serverMetrics: null, TimeProvider.System)
            {
                Deployment = new Deployment(profile.Model, profile.Accelerator, profile.Devices, profile.Precision, profile.Step.PowerLimitWatts, $"e2t twin {profile.Name}"),
            };
            var plan = new BenchPlan(
                Slug(workload.Name),
                new BenchTarget(twin.BaseAddress, twin.ModelName, ApiKind.Completions, profile.Name),
                new WorkloadOptions { InputTokens = LengthDistribution.Parse(workload.Input), OutputTokens = LengthDistribution.Parse(workload.Output) },
                new ArrivalOptions { Kind = ArrivalKind.Closed, Concurrency = workload.Concurrency, Count = null, Duration = seconds },
                new BenchOptions(),
                new StreamingClientOptions(),
                new ValidityOptions(),
                null);
            var run = await driver.RunAsync(plan, directory, progress: null, cancellationToken);
            // A finished request's truth is committed on the thread pool just after its stream ends: wait for every one.
            var expected = run.Result.Requests.Where(r => r.Record.State == TerminalState.Ok).Select(r => Ordinal(r.Record.ResponseId ?? "")).ToHashSet();
            var truths = twin.GroundTruth.Requests;
            for (var waited = 0; !expected.IsSubsetOf(truths.Select(r => (long?)r.Id)) && waited < 100; waited++)
            {
                await Task.Delay(50, cancellationToken);
                truths = twin.GroundTruth.Requests;
            }
            return (run, [.. truths.Select(Truth.Of)]);
        }
    }

    /// <summary>
    /// Matches the run's measured ok requests to the twin's truth by response id (<c>cmpl-</c> + the ordinal in hex,
    /// which is <see cref="RequestTruth.Id"/>) and compares the phase coefficients and each request's dynamic energy.
    /// </summary>
    internal static Comparison Compare(RunData data, RunAnalysisResult analysis, IReadOnlyList<Truth> truths)
    {
        var attribution = analysis.Attribution ?? throw new InvalidOperationException("The run has no attribution: its energy was not reported.");
        var phases = analysis.Phases!;
        var steady = analysis.Steady ?? throw new InvalidOperationException("The run has no steady window: run it longer.");
        var t = data.Requests;
        var byId = truths.ToDictionary(r => r.Id);
        double truthPrefill = 0, truthDecode = 0, attributed = 0, truth = 0;
        long prompt = 0, decode = 0, cached = 0;
        var matched = 0;
        List<double> errors = [], prefillErrors = [], decodeErrors = [];
        for (var r = 0; r < t.Count; r++)
        {
            if (t.Warmup[r] || t.State[r] != TerminalState.Ok || t.ChunkCount(r) == 0) continue;
            if (Ordinal(t.ResponseId[r]) is not { } id || !byId.TryGetValue(id, out var truthOf))
                throw new InvalidOperationException($"Request {t.Index[r]} ({t.ResponseId[r]}) is not in the twin's ground truth.");
            if (truthOf.PromptTokens != t.InputTokens(r) || truthOf.OutputTokens != t.OutputTokens[r])
                throw new InvalidOperationException($"Request {t.Index[r]} ({t.ResponseId[r]}): the run counts {t.InputTokens(r)} + {t.OutputTokens[r]} tokens, the twin {truthOf.PromptTokens} + {truthOf.OutputTokens}.");
            matched++;
            truthPrefill += truthOf.PrefillJoules;
            truthDecode += truthOf.DecodeJoules;
            prompt += truthOf.PromptTokens;
            decode += Math.Max(0, truthOf.OutputTokens - 1);
            cached += truthOf.CachedPromptTokens;
            var e = attribution.Requests[r];
            attributed += e.Dynamic;
            truth += truthOf.Joules;
            if (t.Sent[r] >= steady.From && t.End[r] <= steady.To)
            {
                errors.Add(Math.Abs(e.Dynamic - truthOf.Joules) / truthOf.Joules);
                prefillErrors.Add(Math.Abs(e.PrefillDynamic - truthOf.PrefillJoules) / truthOf.PrefillJoules);
                if (truthOf.DecodeJoules > 0) decodeErrors.Add(Math.Abs(e.DecodeDynamic - truthOf.DecodeJoules) / truthOf.DecodeJoules);
            }
        }
        var c = attribution.Coefficients;
        return new Comparison(matched, errors.Count, truthPrefill / prompt, truthDecode / decode, phases.PrefillDynamic, phases.DecodeDynamic,
            c.PrefillJoulesPerToken, c.DecodeJoulesPerToken, Quantile(errors, 0.5), Quantile(errors, 0.9), Quantile(prefillErrors, 0.5), Quantile(decodeErrors, 0.5),
            attributed / truth - 1, attribution.ConservationError, c.RSquared, c.Intervals, cached);
    }

    private static void Delete(string root)
    {
        try
        {
            Directory.Delete(root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>The twin's ordinal from a response id (<c>cmpl-0000002a</c> → 42); null for anything else.</summary>
    internal static long? Ordinal(string responseId)
    {
        var dash = responseId.LastIndexOf('-');
        return dash >= 0 && long.TryParse(responseId.AsSpan(dash + 1), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var id) ? id : null;
    }

    private static double Quantile(List<double> values, double q)
    {
        if (values.Count == 0) return double.NaN;
        values.Sort();
        var at = q * (values.Count - 1);
        var lo = (int)Math.Floor(at);
        var hi = Math.Min(lo + 1, values.Count - 1);
        return values[lo] + (values[hi] - values[lo]) * (at - lo);
    }

    internal static string Table(IReadOnlyList<(Workload Workload, Comparison Comparison)> rows, TimeSpan seconds)
    {
        var w = new StringWriter(CultureInfo.InvariantCulture) { NewLine = "\n" };
        w.WriteLine($"Twin {TwinProfiles.Default.Name}, closed loop, {seconds.TotalSeconds:0} s of sending per workload; dynamic energy (above idle), mJ per token. Errors are e2t − truth, relative.");
        w.WriteLine();
        w.WriteLine("| workload | input | output | requests (steady) | prefill truth | prefill e2t | err | regression | err | decode truth | decode e2t | err | regression | err | per-request median | p90 | targets |");
        w.WriteLine("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        foreach (var (workload, c) in rows)
        {
            w.WriteLine(string.Join(" | ",
                $"| {workload.Name}", workload.Input, workload.Output, $"{c.Matched} ({c.Steady})",
                MilliJoules(c.TruthPrefill), MilliJoules(c.PhasePrefill), Percent(c.PhasePrefillError), MilliJoules(c.RegressionPrefill), Percent(c.RegressionPrefillError),
                MilliJoules(c.TruthDecode), MilliJoules(c.PhaseDecode), Percent(c.PhaseDecodeError), MilliJoules(c.RegressionDecode), Percent(c.RegressionDecodeError),
                Percent(c.MedianRequestError, signed: false), Percent(c.P90RequestError, signed: false), c.MeetsTargets() ? "met |" : "**missed** |"));
        }
        w.WriteLine();
        w.WriteLine("| workload | median per-request error, prefill | decode | Σ dynamic, e2t vs truth | conservation error | regression R² | intervals | cached prompt tokens |");
        w.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var (workload, c) in rows)
        {
            w.WriteLine(string.Join(" | ",
                $"| {workload.Name}", Percent(c.MedianPrefillError, signed: false), Percent(c.MedianDecodeError, signed: false), Percent(c.TotalError),
                c.ConservationError.ToString("0.0E+0", CultureInfo.InvariantCulture), c.RSquared.ToString("0.0000", CultureInfo.InvariantCulture),
                c.Intervals.ToString(CultureInfo.InvariantCulture), c.CachedPromptTokens.ToString(CultureInfo.InvariantCulture) + " |"));
        }
        return w.ToString();
    }

    private static string MilliJoules(double joules) => (joules * 1e3).ToString("0.000", CultureInfo.InvariantCulture);

    private static string Percent(double share, bool signed = true) =>
        double.IsNaN(share) ? "–" : (share * 100).ToString(signed ? "+0.0;−0.0;0.0" : "0.0", CultureInfo.InvariantCulture) + " %";

    private static string Slug(string name) => new([.. name.Select(ch => char.IsLetterOrDigit(ch) ? ch : '-')]);
}
