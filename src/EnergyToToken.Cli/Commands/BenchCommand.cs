using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using EnergyToToken.Catalog;
using EnergyToToken.Load;
using EnergyToToken.Metering;
using EnergyToToken.Reporting;
using EnergyToToken.Runs;
using EnergyToToken.Scenarios;
using EnergyToToken.Twin;
using static EnergyToToken.Cli.Output;

namespace EnergyToToken.Cli.Commands;

/// <summary>
/// <c>e2t bench</c>: the main job. Drives a workload against an OpenAI-compatible endpoint, or the embedded twin when
/// none is given, measures latency and energy on one clock, and writes a run directory.
/// </summary>
internal static class BenchCommand
{
    /// <summary>Every flag of the command; a scenario file's keys are these names without the dashes.</summary>
    private sealed class Flags
    {
        public Option<string> Scenario { get; } = new("--scenario") { Description = "A YAML (or JSON) file whose keys are this command's flags without the dashes (e.g. concurrency: 32). Flags on the command line win." };

        public Option<string> Endpoint { get; } = new("--endpoint") { Description = "Base URL of an OpenAI-compatible server, e.g. http://127.0.0.1:8000 (a trailing /v1 is accepted). Default: the embedded twin (simulated)." };
        public Option<string> ApiKeyEnv { get; } = new("--api-key-env") { Description = "Name of the environment variable holding the API key, sent as a bearer token." };
        public Option<string> Model { get; } = new("--model") { Description = "Model to request. Default: the one the endpoint lists at /v1/models (required when it lists several)." };
        public Option<string> Api { get; } = new("--api") { Description = "completions or chat. Default: completions." };
        public Option<string> Profile { get; } = new("--profile") { Description = $"Twin profile when no --endpoint is given (e2t twin profiles). Default: {TwinProfiles.Default.Name}." };
        public Option<string> TwinFaults { get; } = new("--twin-faults") { Description = $"Faults the twin injects, NAME=RATE,...: {FaultOptions.Names}." };
        public Option<string> ServerMetrics { get; } = new("--server-metrics") { Description = "URL of the server's vLLM-named /metrics, scraped on the run's clock, or 'none'. Default: ENDPOINT/metrics (skipped if it serves none)." };

        public Option<string> Input { get; } = new("--input") { Description = "Prompt lengths in tokens: fixed:N, uniform:A-B, normal:M,S, lognormal:MEDIAN,S or empirical:FILE. Default: fixed:512." };
        public Option<string> Output { get; } = new("--output") { Description = "Output lengths in tokens, same forms. Default: fixed:256." };
        public Option<bool> NoIgnoreEos { get; } = new("--no-ignore-eos") { Description = "Let answers end early (EOS) instead of asking for exactly the drawn output length with ignore_eos." };
        public Option<int?> SharedPrefix { get; } = new("--shared-prefix") { Description = "Leading prompt tokens every request shares (a shared-prefix workload). Default: 0, every prompt unique." };
        public Option<string> Dataset { get; } = new("--dataset") { Description = "Prompts from a file: JSONL ({\"prompt\", \"output_tokens\"} per line) or ShareGPT JSON." };
        public Option<string> DatasetFormat { get; } = new("--dataset-format") { Description = "jsonl, sharegpt or trace. Default: detected from the content." };
        public Option<string> Trace { get; } = new("--trace") { Description = "Replay a request trace (Mooncake JSONL: timestamp ms, input_length, output_length, hash_ids) at its own times." };
        public Option<double?> TraceSpeed { get; } = new("--trace-speed") { Description = "Replay the trace this many times faster. Default: 1." };
        public Option<ulong?> Seed { get; } = new("--seed") { Description = "Seed of prompts, lengths and arrivals: the same seed gives the same requests and schedule. Default: 1." };
        public Option<int?> Warmup { get; } = new("--warmup") { Description = "Requests sent first and excluded from results (recorded). Default: 0." };

        public Option<int?> Concurrency { get; } = new("--concurrency", "-c") { Description = "Closed loop: this many requests in flight. Default: 32 (when no --rate)." };
        public Option<double?> Rate { get; } = new("--rate", "-r") { Description = "Open loop: requests per second." };
        public Option<string> Arrival { get; } = new("--arrival") { Description = "Open-loop arrivals: poisson, constant or gamma. Default: poisson." };
        public Option<double?> Burstiness { get; } = new("--burstiness") { Description = "Gamma shape: 1 is Poisson, below 1 burstier. Sets --arrival gamma." };
        public Option<double?> RampTo { get; } = new("--ramp-to") { Description = "Move the rate linearly to this over the duration." };
        public Option<int?> Requests { get; } = new("--requests", "-n") { Description = "Stop after this many measured requests." };
        public Option<TimeSpan?> Duration { get; } = MeterFlags.Duration("--duration", "Stop sending after this long. Default: 30s when no --requests.");
        public Option<TimeSpan?> Drain { get; } = MeterFlags.Duration("--drain", "How long requests still running when sending stops may finish. Default: 60s.");

        public Option<string[]> Meter { get; } = new("--meter", "-m") { Description = "Meters: auto, nvml, amdsmi, rapl, hwmon, ipmi, redfish, prometheus, replay, cpu-model, synthetic, or none (latency only). Default: the twin's own, else auto." };
        public Option<TimeSpan?> Idle { get; } = MeterFlags.Duration("--idle", "Idle baseline before and after the load. Default: 2s.");
        public Option<TimeSpan?> Settle { get; } = MeterFlags.Duration("--settle", "Unmeasured gap between each idle baseline and the load. Default: 500ms.");
        public Option<TimeSpan?> Interval { get; } = MeterFlags.Duration("--interval", "Sampling interval of local meters. Default: 100ms.");
        public Option<TimeSpan?> RemoteInterval { get; } = MeterFlags.Duration("--remote-interval", "Sampling interval of remote meters. Default: 1s.");
        public Option<TimeSpan?> TtftTimeout { get; } = MeterFlags.Duration("--ttft-timeout", "A request with no output this long after it was sent ends as timeout_ttft. Default: 60s.");
        public Option<TimeSpan?> IdleTimeout { get; } = MeterFlags.Duration("--idle-timeout", "A stream silent this long ends as timeout_idle. Default: 30s.");

        public Option<string> Sweep { get; } = new("--sweep") { Description = "One run per value: concurrency=1,4,16,64 or rate=1,2,4 (requests/s)." };
        public Option<string> Slo { get; } = new("--slo") { Description = "Latency targets of the operating point, e.g. ttft-p99=500ms,tpot-p99=50ms (metrics ttft, tpot, itl, e2e; mean, p50 … p99.9, max)." };
        public Option<bool> FindMaxGoodput { get; } = new("--find-max-goodput") { Description = "Search for the highest concurrency (or rate) whose run meets --slo: the saturated throughput." };
        public Option<int?> SearchSteps { get; } = new("--search-steps") { Description = "Bisection steps of the search after the first failure. Default: 3." };
        public Option<int?> SearchMaxRuns { get; } = new("--search-max-runs") { Description = "Most runs of the search. Default: 10." };
        public Option<double?> MaxErrorRate { get; } = new("--max-error-rate") { Description = "Share of failed requests above which the run is invalid (exit 1). Default: 0.05." };
        public Option<bool> FailOnClientLimited { get; } = new("--fail-on-client-limited") { Description = "Make the run invalid when the client used over 80 % of the machine's CPU (flagged otherwise)." };

        public Option<string> Out { get; } = new("--out", "-o") { Description = "Run directory. Default: ./e2t-runs/<UTC timestamp>-<name>/." };
        public Option<string> Name { get; } = new("--name") { Description = "Name of the run. Default: the model and the load, e.g. llama-3.1-8b-h100-c32." };
        public Option<bool> Json { get; } = new("--json") { Description = "Print result.json on stdout instead of the summary." };

        public Option<string> QualitySet { get; } = new("--quality-set") { Description = "Run a set of prompts with expected answers (JSONL: prompt, answer, choices?) against the endpoint before the load, and report the accuracy at the operating point." };
        public Option<bool> Calibrate { get; } = new("--calibrate") { Description = "Before each run, measure the phase coefficients with two bursts (2048-token prompts with 1 output token; 16-token prompts with 512) into calibration/, instead of the run's own regression." };
        public Option<double?> PowerLimit { get; } = new("--power-limit") { Description = "Enforced power limit per device, W, for the disclosure and the P_IT default (an endpoint's; the twin enforces its own). Default: the accelerator's spec limit." };
        public Option<string> MetricsListen { get; } = new("--metrics-listen") { Description = "Serve e2t's live figures (J/token, both ceilings, binding constraint, utilization) for Prometheus at http://ADDRESS/metrics during the run, e.g. 127.0.0.1:9464 (docs/live-metrics.md)." };
        public Option<string> Engine { get; } = new("--engine") { Description = "The serving engine, its version and key arguments, for the disclosure, e.g. \"vLLM 0.11 --max-num-seqs 256\"." };

        public MeterFlags Meters { get; } = new();

        public AnalysisFlags Analysis { get; } = new();

        public IEnumerable<Option> All =>
        [
            Scenario, Endpoint, ApiKeyEnv, Model, Api, Profile, TwinFaults, ServerMetrics, Input, Output, NoIgnoreEos, SharedPrefix, Dataset, DatasetFormat,
            Trace, TraceSpeed, Seed, Warmup, Concurrency, Rate, Arrival, Burstiness, RampTo, Requests, Duration, Drain, Meter, Idle, Settle, Interval,
            RemoteInterval, TtftTimeout, IdleTimeout, Sweep, Slo, FindMaxGoodput, SearchSteps, SearchMaxRuns, MaxErrorRate, FailOnClientLimited, Out, Name, Json,
            QualitySet, Calibrate, PowerLimit, Engine, MetricsListen, .. Meters.All, .. Analysis.All,
        ];
    }

    public static Command Create()
    {
        var flags = new Flags();
        Command command = new("bench", "Benchmark an OpenAI-compatible endpoint (or the embedded twin): load, latency and energy on one clock, written to a run directory.");
        foreach (var option in flags.All) command.Options.Add(option);
        command.SetAction((parse, cancellation) => RunAsync(parse, command, flags, cancellation));
        return command;
    }

    private static async Task<int> RunAsync(ParseResult parse, Command command, Flags flags, CancellationToken cancellation)
    {
        // Ctrl+C (and SIGTERM) stop the run, not the process: what was measured is written and marked incomplete.
        using var interrupted = new Interruption(cancellation);
        IReadOnlyList<IPowerMeter> meters = [];
        TwinServer? twin = null;
        Live.LiveMetricsListener? listener = null;
        try
        {
            var values = WithScenario(parse, command, flags);
            var (plan, search, analysis) = Plan(values, flags);
            Deployment deployment;
            using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
            Uri endpoint;
            Uri? metricsUrl;
            string model;
            if (values.GetValue(flags.Endpoint) is { } given)
            {
                endpoint = BaseUrl(given);
                http.BaseAddress = endpoint;
                if (values.GetValue(flags.ApiKeyEnv) is { } keyName)
                {
                    var key = Environment.GetEnvironmentVariable(keyName);
                    if (string.IsNullOrEmpty(key)) return Fail(parse, $"--api-key-env {keyName}: that environment variable is not set or empty. Export it (export {keyName}=...) or leave the flag out.");
                    http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
                }
                model = values.GetValue(flags.Model) ?? await ServedModelAsync(http, endpoint, interrupted.Token).ConfigureAwait(false);
                metricsUrl = MetricsUrl(values.GetValue(flags.ServerMetrics), endpoint);
                var requested = values.GetValue(flags.Meter) is { Length: > 0 } names ? names.SelectMany(n => n.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)).ToArray() : ["auto"];
                if (!requested.SequenceEqual(["none"]))
                {
                    (meters, var probes) = MeterRegistry.Open(requested, flags.Meters.Build(values), TimeProvider.System);
                    foreach (var p in probes.Where(p => !p.Available && !requested.Contains("auto")))
                        parse.InvocationConfiguration.Error.WriteLine($"warning: meter {p.Meter} not used: {p.Reason}");
                    if (meters.Count == 0)
                    {
                        return Fail(parse, "No meter measures energy on this machine, so J/token cannot be reported. Name one with --meter (e.g. --meter prometheus --prometheus URL for a DCGM exporter), "
                            + "pass --allow-modeled for a CPU-time model labelled modeled, or --meter none for latency and throughput only. 'e2t meters' lists what is found.");
                    }
                }
                plan = plan with { Target = new BenchTarget(endpoint, model, plan.Target.Api, null) };
                deployment = AnalysisFlags.Apply(Deployment.Unknown with { PowerLimitWatts = values.GetValue(flags.PowerLimit), Engine = values.GetValue(flags.Engine) }, analysis);
            }
            else
            {
                if (values.GetValue(flags.Meter) is { Length: > 0 } m && !m.SequenceEqual(["none"]))
                    return Fail(parse, $"--meter {string.Join(',', m)}: the embedded twin is measured by its own simulated meter. Give --endpoint to measure a real server with real meters, or --meter none for latency only.");
                var profile = values.GetValue(flags.Profile) is { } name ? TwinProfiles.Find(name) : TwinProfiles.Default;
                var twinFaults = values.GetValue(flags.TwinFaults) is { } spec ? FaultOptions.Parse(spec) : FaultOptions.None;
                // The twin's queue must hold the whole load: a closed loop's concurrency, at least.
                var needed = Math.Max(plan.Arrivals.Concurrency, 1);
                profile = profile with { Engine = profile.Engine with { MaxWaiting = Math.Max(profile.Engine.MaxWaiting, needed) } };
                twin = await TwinServer.StartAsync(new TwinServerOptions { Profile = profile, Faults = twinFaults, KeepGroundTruth = false }, Catalogs.Load([]), interrupted.Token).ConfigureAwait(false);
                endpoint = twin.BaseAddress;
                http.BaseAddress = endpoint;
                model = twin.ModelName;
                metricsUrl = new Uri(endpoint, "metrics");
                meters = values.GetValue(flags.Meter) is { Length: > 0 } ? [] : [twin.CreateMeter()];
                plan = plan with { Target = new BenchTarget(endpoint, model, plan.Target.Api, profile.Name) };
                if (values.GetValue(flags.PowerLimit) is not null || values.GetValue(flags.Engine) is not null)
                    return Fail(parse, "--power-limit and --engine describe an endpoint's deployment; the twin's come from its profile (e2t twin profiles).");
                deployment = AnalysisFlags.Apply(new Deployment(profile.Model, profile.Accelerator, profile.Devices, profile.Precision, profile.Step.PowerLimitWatts,
                    $"e2t twin {profile.Name} (simulated vLLM-style engine: continuous batching, chunked prefill {(profile.Engine.ChunkedPrefill ? "on" : "off")}, prefix cache {(profile.Engine.PrefixCache ? "on" : "off")}, max {profile.Engine.MaxSequences} sequences)"), analysis);
            }
            if (values.GetValue(flags.QualitySet) is { } qualityPath)
            {
                var items = QualitySet.Load(qualityPath);
                parse.InvocationConfiguration.Error.WriteLine($"e2t bench: quality set {qualityPath}: {items.Count} items against {model}");
                var quality = await QualitySet.RunAsync(http, endpoint, model, items, new QualitySetOptions(), interrupted.Token).ConfigureAwait(false);
                parse.InvocationConfiguration.Error.WriteLine($"e2t bench: quality set accuracy {quality.Accuracy:P1} ({quality.Correct} right, {quality.Wrong} wrong, {quality.Failed} failed)");
                analysis = analysis with { Quality = [.. analysis.Quality, quality.ToDeclaration()] };
            }
            if (values.GetValue(flags.Name) is null) plan = plan with { Name = DefaultName(plan) };
            var directory = values.GetValue(flags.Out) ?? RunDirectory.DefaultPath(plan.Name, DateTimeOffset.UtcNow);

            var driver = new BenchDriver(http, meters, metricsUrl, TimeProvider.System)
            {
                Deployment = deployment,
                Analysis = analysis,
                Calibrate = values.GetValue(flags.Calibrate) ? new CalibrationOptions() : null,
                Starting = (parameter, value) => parse.InvocationConfiguration.Error.WriteLine($"e2t bench: {parameter} = {value.ToString("0.###", CultureInfo.InvariantCulture)}"),
            };
            Live.LiveMetrics? live = null;
            if (values.GetValue(flags.MetricsListen) is { } listen)
            {
                live = new Live.LiveMetrics(new Live.LiveSource("bench", plan.Target.Simulated, plan.Target.TwinProfile ?? plan.Target.Model),
                    Live.LiveInputs.For(deployment, analysis, Catalogs.Load([])));
                listener = await Live.LiveMetricsListener.StartAsync(listen, live, interrupted.Token).ConfigureAwait(false);
                parse.InvocationConfiguration.Error.WriteLine($"e2t bench: live metrics at {listener.MetricsUrl}");
            }
            var progress = new ProgressLine(parse.InvocationConfiguration.Error) { Live = live };
            parse.InvocationConfiguration.Error.WriteLine($"e2t bench: {plan.Target.Model} at {plan.Target.Endpoint}{(plan.Target.Simulated ? " (embedded twin: simulated)" : "")} → {directory}");
            var sweep = values.GetValue(flags.Sweep);
            if (sweep is not null || values.GetValue(flags.FindMaxGoodput))
            {
                var series = sweep is not null
                    ? await driver.SweepAsync(plan, Runs.Sweep.Parse(sweep), directory, progress, interrupted.Token).ConfigureAwait(false)
                    : await driver.SearchAsync(plan, search, directory, progress, interrupted.Token).ConfigureAwait(false);
                progress.Done();
                if (values.GetValue(flags.Json)) parse.InvocationConfiguration.Output.WriteLine(File.ReadAllText(Path.Combine(directory, RunDirectory.Result)));
                else BenchOutput.Series(Console(parse), series, directory);
                if (!series.Complete) return Incomplete(parse);
                return series.Points.All(p => p.Run.Verdict.Valid) ? ExitCodes.Success : ExitCodes.Failure;
            }
            var run = await driver.RunAsync(plan, directory, progress, interrupted.Token).ConfigureAwait(false);
            progress.Done();
            return Report(parse, values.GetValue(flags.Json), run, directory, null);
        }
        catch (RunWriteException e)
        {
            Report(parse, false, e.Run, "(not written)", e.Message);
            return Fail(parse, e.Message);
        }
        catch (EnergyToTokenException e)
        {
            return Fail(parse, e.Message);
        }
        finally
        {
            if (listener is not null) await listener.DisposeAsync().ConfigureAwait(false);
            if (twin is not null) await twin.DisposeAsync().ConfigureAwait(false);
            foreach (var m in meters) m.Dispose();
        }
    }

    private static int Report(ParseResult parse, bool json, BenchRun run, string directory, string? writeFailure)
    {
        if (json && writeFailure is null) parse.InvocationConfiguration.Output.Write(BenchReport.Json(run));
        else BenchOutput.Run(Console(parse), run, directory);
        if (writeFailure is not null) return ExitCodes.Failure;
        if (!run.Result.Complete) return Incomplete(parse);
        foreach (var problem in run.Verdict.Problems) parse.InvocationConfiguration.Error.WriteLine($"error: invalid run: {problem}");
        return run.Verdict.Valid ? ExitCodes.Success : ExitCodes.Failure;
    }

    private static int Incomplete(ParseResult parse)
    {
        parse.InvocationConfiguration.Error.WriteLine("error: interrupted: the run above covers only what was measured before the interruption, and is marked incomplete.");
        return ExitCodes.Cancelled;
    }

    /// <summary>The command line with a scenario file's keys added as flags (the command line's own flags win).</summary>
    private static ParseResult WithScenario(ParseResult parse, Command command, Flags flags)
    {
        if (parse.GetValue(flags.Scenario) is not { } path) return parse;
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new EnergyToTokenException($"Scenario '{path}' cannot be read: {e.Message}.");
        }
        JsonNode? root;
        try
        {
            root = path.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ? JsonNode.Parse(text) : StructuredFile.YamlToJson(text);
        }
        catch (Exception e) when (e is JsonException or YamlDotNet.Core.YamlException)
        {
            throw new EnergyToTokenException($"Scenario '{path}' is not valid YAML or JSON: {e.Message}");
        }
        if (root is not JsonObject keys) throw new EnergyToTokenException($"Scenario '{path}' must be a mapping of flag names to values, e.g. 'concurrency: 32'.");
        var options = flags.All.Where(o => o != flags.Scenario).ToDictionary(o => o.Name.TrimStart('-'), StringComparer.Ordinal);
        var args = new List<string>();
        var errors = new List<string>();
        var folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        foreach (var (key, value) in keys)
        {
            if (!options.TryGetValue(key, out var option))
            {
                errors.Add($"Scenario '{path}': '{key}' is not a bench flag. Keys are the flags without dashes: {string.Join(", ", options.Keys.Order(StringComparer.Ordinal))}.");
                continue;
            }
            if (parse.GetResult(option) is { Implicit: false }) continue; // given on the command line
            List<JsonNode?> items = value is JsonArray array ? [.. array] : [value];
            foreach (var item in items)
            {
                var scalar = item switch
                {
                    null => null,
                    JsonValue v when v.TryGetValue(out string? s) => s,
                    JsonValue v => v.ToJsonString(),
                    _ => null,
                };
                if (scalar is null)
                {
                    errors.Add($"Scenario '{path}': '{key}' must be a value or a list of values.");
                    continue;
                }
                if (option is Option<bool>)
                {
                    if (scalar == "true") args.Add(option.Name);
                    else if (scalar != "false") errors.Add($"Scenario '{path}': '{key}' is a switch: write true or false (was {scalar}).");
                    continue;
                }
                // Files named in a scenario are found beside it.
                if (key is "dataset" or "trace" or "quality-set" or "pue-series" or "saturation" && !Path.IsPathRooted(scalar)) scalar = Path.Combine(folder, scalar);
                args.Add(option.Name);
                args.Add(scalar);
            }
        }
        if (errors.Count > 0) throw new EnergyToTokenException(string.Join(Environment.NewLine, errors));
        var merged = command.Parse([.. parse.Tokens.Select(t => t.Value), .. args]);
        if (merged.Errors.Count > 0) throw new EnergyToTokenException(string.Join(Environment.NewLine, merged.Errors.Select(e => $"Scenario '{path}': {e.Message}")));
        return merged;
    }

    /// <summary>The plan from flags, with every problem listed at once.</summary>
    private static (BenchPlan Plan, SearchOptions Search, Analysis.AnalysisOptions Analysis) Plan(ParseResult values, Flags flags)
    {
        var errors = new List<string>();
        T Try<T>(Func<T> make, T fallback)
        {
            try
            {
                return make();
            }
            catch (EnergyToTokenException e)
            {
                errors.Add(e.Message);
                return fallback;
            }
        }

        var api = values.GetValue(flags.Api) switch
        {
            null or "completions" => ApiKind.Completions,
            "chat" => ApiKind.Chat,
            var other => Try<ApiKind>(() => throw new EnergyToTokenException($"--api {other}: write completions or chat."), ApiKind.Completions),
        };
        var workload = new WorkloadOptions();
        workload = workload with
        {
            Api = api,
            InputTokens = values.GetValue(flags.Input) is { } input ? Try(() => LengthDistribution.Parse(input), workload.InputTokens) : workload.InputTokens,
            OutputTokens = values.GetValue(flags.Output) is { } output ? Try(() => LengthDistribution.Parse(output), workload.OutputTokens) : workload.OutputTokens,
            FixedOutput = !values.GetValue(flags.NoIgnoreEos),
            SharedPrefixTokens = values.GetValue(flags.SharedPrefix) ?? 0,
            WarmupRequests = values.GetValue(flags.Warmup) ?? 0,
            Drain = values.GetValue(flags.Drain) ?? workload.Drain,
            Seed = values.GetValue(flags.Seed) ?? workload.Seed,
        };
        DatasetFormat? format = values.GetValue(flags.DatasetFormat) switch
        {
            null => null,
            "jsonl" => Load.DatasetFormat.Jsonl,
            "sharegpt" => Load.DatasetFormat.ShareGpt,
            "trace" => Load.DatasetFormat.Trace,
            var other => Try<DatasetFormat?>(() => throw new EnergyToTokenException($"--dataset-format {other}: write jsonl, sharegpt or trace."), null),
        };
        var datasetPath = values.GetValue(flags.Dataset);
        var tracePath = values.GetValue(flags.Trace);
        if (datasetPath is not null && tracePath is not null) errors.Add("Give --dataset (prompts) or --trace (prompts and times), not both.");
        if (tracePath is not null)
        {
            var trace = Try(() => Load.Dataset.Load(tracePath, Load.DatasetFormat.Trace), null);
            workload = workload with { Dataset = trace };
        }
        else if (datasetPath is not null)
        {
            workload = workload with { Dataset = Try(() => Load.Dataset.Load(datasetPath, format), null) };
        }

        var rate = values.GetValue(flags.Rate);
        var concurrency = values.GetValue(flags.Concurrency);
        if (rate is not null && concurrency is not null) errors.Add("Give --concurrency (closed loop) or --rate (open loop), not both.");
        if (tracePath is not null && (rate is not null || concurrency is not null)) errors.Add("A trace sends at its own times: leave out --rate and --concurrency (--trace-speed scales them).");
        var kind = tracePath is not null ? ArrivalKind.Trace
            : rate is null ? ArrivalKind.Closed
            : values.GetValue(flags.Burstiness) is not null ? ArrivalKind.Gamma
            : values.GetValue(flags.Arrival) switch
            {
                null or "poisson" => ArrivalKind.Poisson,
                "constant" => ArrivalKind.Constant,
                "gamma" => ArrivalKind.Gamma,
                var other => Try(() => throw new EnergyToTokenException($"--arrival {other}: write poisson, constant or gamma."), ArrivalKind.Poisson),
            };
        var count = values.GetValue(flags.Requests);
        var duration = values.GetValue(flags.Duration);
        var arrivals = new ArrivalOptions
        {
            Kind = kind,
            Rate = rate ?? 1,
            Concurrency = concurrency ?? 32,
            Burstiness = values.GetValue(flags.Burstiness) ?? 1,
            RampTo = values.GetValue(flags.RampTo),
            Count = count,
            Duration = duration ?? (count is null && kind != ArrivalKind.Trace ? TimeSpan.FromSeconds(30) : null),
            Seed = workload.Seed,
            TraceSpeed = values.GetValue(flags.TraceSpeed) ?? 1,
        };
        errors.AddRange(arrivals.Validate());
        if (workload.SharedPrefixTokens < 0) errors.Add($"--shared-prefix must be at least 0 (was {workload.SharedPrefixTokens}).");
        if (workload.WarmupRequests < 0) errors.Add($"--warmup must be at least 0 (was {workload.WarmupRequests}).");

        var bench = new BenchOptions();
        var idle = values.GetValue(flags.Idle);
        bench = bench with
        {
            IdleBefore = idle ?? bench.IdleBefore,
            IdleAfter = idle ?? bench.IdleAfter,
            Settle = values.GetValue(flags.Settle) ?? bench.Settle,
            Sampler = bench.Sampler with
            {
                LocalInterval = values.GetValue(flags.Interval) ?? bench.Sampler.LocalInterval,
                RemoteInterval = values.GetValue(flags.RemoteInterval) ?? bench.Sampler.RemoteInterval,
                ExpectedDuration = (duration ?? TimeSpan.FromSeconds(30)) * 2 + TimeSpan.FromMinutes(5),
            },
        };
        errors.AddRange(bench.Sampler.Validate());
        var client = new StreamingClientOptions();
        client = client with
        {
            FirstChunkTimeout = values.GetValue(flags.TtftTimeout) ?? client.FirstChunkTimeout,
            IdleTimeout = values.GetValue(flags.IdleTimeout) ?? client.IdleTimeout,
        };
        var validity = new ValidityOptions();
        validity = validity with
        {
            MaxErrorRate = values.GetValue(flags.MaxErrorRate) ?? validity.MaxErrorRate,
            FailOnClientLimited = values.GetValue(flags.FailOnClientLimited),
            AllowModeled = values.GetValue(flags.Meters.AllowModeled),
        };
        if (!(validity.MaxErrorRate is >= 0 and <= 1)) errors.Add($"--max-error-rate must be a share between 0 and 1 (was {validity.MaxErrorRate}).");
        var slo = values.GetValue(flags.Slo) is { } sloText ? Try(() => Load.Slo.Parse(sloText), null) : null;
        if (values.GetValue(flags.FindMaxGoodput) && slo is null && values.GetValue(flags.Slo) is null) errors.Add("--find-max-goodput needs --slo: the targets a run must meet, e.g. --slo ttft-p99=500ms,tpot-p99=50ms.");
        if (values.GetValue(flags.FindMaxGoodput) && values.GetValue(flags.Sweep) is not null) errors.Add("Give --sweep (the values you choose) or --find-max-goodput (a search), not both.");
        if (values.GetValue(flags.Sweep) is { } sweep) Try(() => Runs.Sweep.Parse(sweep), null);
        var search = new SearchOptions();
        search = search with { Steps = values.GetValue(flags.SearchSteps) ?? search.Steps, MaxRuns = values.GetValue(flags.SearchMaxRuns) ?? search.MaxRuns };
        if (search.Steps < 0 || search.MaxRuns < 1) errors.Add("--search-steps must be at least 0 and --search-max-runs at least 1.");
        var analysis = flags.Analysis.Build(values, errors);
        if (errors.Count > 0) throw new EnergyToTokenException(string.Join(Environment.NewLine, errors.Distinct()));
        var name = values.GetValue(flags.Name) ?? "";
        if (name.Length > 0 && (name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || name.Contains('/', StringComparison.Ordinal)))
            throw new EnergyToTokenException($"--name '{name}' cannot be part of a directory name: use letters, digits, '-', '_' and '.'.");
        var target = new BenchTarget(new Uri("http://127.0.0.1/"), "", api, null);
        return (new BenchPlan(name, target, workload, arrivals, bench, client, validity, slo), search, analysis);
    }

    private static string DefaultName(BenchPlan plan)
    {
        var load = plan.Arrivals.Kind switch
        {
            ArrivalKind.Closed => $"c{plan.Arrivals.Concurrency}",
            ArrivalKind.Trace => "trace",
            _ => $"r{plan.Arrivals.Rate.ToString("0.###", CultureInfo.InvariantCulture)}",
        };
        var model = plan.Target.TwinProfile ?? plan.Target.Model;
        var safe = new string([.. model.Select(c => char.IsLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '-')]);
        return $"{safe}-{load}";
    }

    /// <summary>The server's root: a trailing <c>/v1</c> is dropped, since requests add it.</summary>
    private static Uri BaseUrl(string text)
    {
        if (!Uri.TryCreate(text, UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("http" or "https"))
            throw new EnergyToTokenException($"--endpoint '{text}' is not an absolute http(s) URL, e.g. http://127.0.0.1:8000.");
        var path = endpoint.AbsolutePath.TrimEnd('/');
        if (path.EndsWith("/v1", StringComparison.Ordinal)) path = path[..^3];
        return new UriBuilder(endpoint) { Path = path + "/" }.Uri;
    }

    private static Uri? MetricsUrl(string? flag, Uri endpoint) => flag switch
    {
        null => new Uri(endpoint, "metrics"),
        "none" => null,
        _ when Uri.TryCreate(flag, UriKind.Absolute, out var url) && url.Scheme is "http" or "https" => url,
        _ => throw new EnergyToTokenException($"--server-metrics '{flag}' is not an absolute http(s) URL or 'none'."),
    };

    /// <summary>The one model the endpoint serves, from <c>/v1/models</c>.</summary>
    private static async Task<string> ServedModelAsync(HttpClient http, Uri endpoint, CancellationToken cancellationToken)
    {
        string body;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            using var response = await http.GetAsync("v1/models", timeout.Token).ConfigureAwait(false);
            body = await response.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
                throw new EnergyToTokenException($"{endpoint}v1/models answered {(int)response.StatusCode}: name the model with --model, or check --endpoint and --api-key-env.");
        }
        catch (HttpRequestException e)
        {
            throw new EnergyToTokenException($"Cannot reach {endpoint}: {e.Message}. Check --endpoint, and that the server is running.");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new EnergyToTokenException($"{endpoint}v1/models did not answer within 10 s. Check --endpoint, or name the model with --model.");
        }
        List<string> ids = [];
        try
        {
            using var doc = JsonDocument.Parse(body);
            if (doc.RootElement.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Array)
                ids = [.. data.EnumerateArray().Select(m => m.TryGetProperty("id", out var id) ? id.GetString() : null).OfType<string>()];
        }
        catch (JsonException)
        {
        }
        return ids.Count switch
        {
            1 => ids[0],
            0 => throw new EnergyToTokenException($"{endpoint}v1/models lists no model: name it with --model."),
            _ => throw new EnergyToTokenException($"{endpoint}v1/models lists {ids.Count} models ({string.Join(", ", ids)}): choose one with --model."),
        };
    }
}
