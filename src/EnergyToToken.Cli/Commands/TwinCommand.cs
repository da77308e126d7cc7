using System.CommandLine;
using System.Text.Json;
using EnergyToToken.Catalog;
using EnergyToToken.Twin;
using Spectre.Console;
using static EnergyToToken.Cli.Output;

namespace EnergyToToken.Cli.Commands;

/// <summary><c>e2t twin</c>: the simulated deployment, standalone (<c>serve</c>), its profiles and its calibration.</summary>
internal static class TwinCommand
{
    public static Command Create() => new("twin", "The embedded digital twin: a simulated OpenAI-compatible deployment whose power follows the load it serves.")
    {
        Serve(),
        Profiles(),
        Calibration(),
    };

    private static Command Serve()
    {
        var profile = new Option<string>("--profile") { Description = $"A bundled profile (e2t twin profiles). Default: {TwinProfiles.Default.Name}." };
        var model = new Option<string>("--model") { Description = "Compose a profile: a catalog model, e.g. llama-3.1-8b (e2t catalog)." };
        var accelerator = new Option<string>("--accelerator") { Description = "With --model: a catalog accelerator. Default: h100-sxm." };
        var count = new Option<int?>("--count") { Description = "Devices serving the model (tensor parallel). Default: the profile's (1)." };
        var precision = new Option<string>("--precision") { Description = "Weights and KV precision. Default: the profile's (bf16)." };
        var host = new Option<string>("--host") { Description = "Address to listen on. Default: 127.0.0.1." };
        var port = new Option<int>("--port") { Description = "Port; 0 picks a free one.", DefaultValueFactory = _ => 8000 };
        var powerLimit = new Option<double?>("--power-limit") { Description = "Power limit per device, W: below the model's demand, clocks drop and steps stretch. Default: the accelerator's board limit." };
        var faults = new Option<string>("--faults") { Description = $"Faults to inject, NAME=RATE,...: {FaultOptions.Names}. E.g. reset=0.05,stall=0.1:2s,seed=7." };
        var seed = new Option<ulong?>("--seed") { Description = "Seed of output text, sensor noise and device UUIDs. Default: 42." };
        var maxSeqs = new Option<int?>("--max-seqs") { Description = "Most sequences in a batch (vLLM --max-num-seqs). Default: 256." };
        var maxBatched = new Option<int?>("--max-batched-tokens") { Description = "Most tokens per step (vLLM --max-num-batched-tokens). Default: 8192 with chunked prefill." };
        var maxModelLen = new Option<int?>("--max-model-len") { Description = "Longest prompt + answer a request may have (vLLM --max-model-len). Default: the model's context, capped by the KV cache." };
        var kvTokens = new Option<int?>("--kv-cache-tokens") { Description = "KV-cache capacity in tokens. Default: memory left after weights." };
        var noChunked = new Option<bool>("--no-chunked-prefill") { Description = "Separate prefill and decode steps (vLLM V0) instead of chunked prefill." };
        var noPrefix = new Option<bool>("--no-prefix-cache") { Description = "Turn off automatic prefix caching." };
        var maxWaiting = new Option<int?>("--max-waiting") { Description = "Waiting requests beyond which new ones get 429. Default: 4096." };
        var groundTruth = new Option<string>("--ground-truth") { Description = "Write every finished request's exact energy and token times as JSON lines to this file (for validation)." };
        var counterPeriod = MeterFlags.Duration("--counter-period", "How often the simulated energy counter updates. Default: 100ms.");
        var powerNoise = new Option<double?>("--power-noise") { Description = "Relative σ of the simulated power readings' noise. Default: 0.01." };
        Command command = new("serve", "Run the twin as an OpenAI-compatible server with vLLM metrics and a DCGM-compatible meter, until Ctrl-C.")
        {
            profile, model, accelerator, count, precision, host, port, powerLimit, faults, seed, maxSeqs, maxBatched, maxModelLen, kvTokens, noChunked, noPrefix,
            maxWaiting, groundTruth, counterPeriod, powerNoise,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            try
            {
                var chosen = ChooseProfile(parse.GetValue(profile), parse.GetValue(model), parse.GetValue(accelerator), parse.GetValue(count), parse.GetValue(precision));
                var engine = chosen.Engine;
                engine = engine with
                {
                    MaxSequences = parse.GetValue(maxSeqs) ?? engine.MaxSequences,
                    MaxBatchedTokens = parse.GetValue(maxBatched) ?? engine.MaxBatchedTokens,
                    KvCacheTokens = parse.GetValue(kvTokens) ?? engine.KvCacheTokens,
                    MaxModelLength = parse.GetValue(maxModelLen) ?? engine.MaxModelLength,
                    ChunkedPrefill = engine.ChunkedPrefill && !parse.GetValue(noChunked),
                    PrefixCache = engine.PrefixCache && !parse.GetValue(noPrefix),
                    MaxWaiting = parse.GetValue(maxWaiting) ?? engine.MaxWaiting,
                };
                chosen = chosen with { Engine = engine, Step = chosen.Step with { PowerLimitWatts = parse.GetValue(powerLimit) ?? chosen.Step.PowerLimitWatts } };
                var sensors = new SensorOptions();
                sensors = sensors with
                {
                    CounterUpdatePeriod = parse.GetValue(counterPeriod) ?? sensors.CounterUpdatePeriod,
                    PowerNoise = parse.GetValue(powerNoise) ?? sensors.PowerNoise,
                };
                var options = new TwinServerOptions
                {
                    Profile = chosen,
                    Host = parse.GetValue(host) ?? "127.0.0.1",
                    Port = parse.GetValue(port),
                    Faults = parse.GetValue(faults) is { } spec ? FaultOptions.Parse(spec) : FaultOptions.None,
                    Seed = parse.GetValue(seed) ?? 42,
                    KeepGroundTruth = false,
                    GroundTruthPath = parse.GetValue(groundTruth),
                    Sensors = sensors,
                };
                return await RunAsync(parse, options, cancellationToken).ConfigureAwait(false);
            }
            catch (EnergyToTokenException e)
            {
                return Fail(parse, e.Message);
            }
        });
        return command;
    }

    private static async Task<int> RunAsync(ParseResult parse, TwinServerOptions options, CancellationToken cancellationToken)
    {
        using var stop = new Interruption(cancellationToken);
        var server = await TwinServer.StartAsync(options, Catalogs.Load([]), cancellationToken).ConfigureAwait(false);
        await using (server.ConfigureAwait(false))
        {
            var d = server.Deployment;
            var output = parse.InvocationConfiguration.Output;
            output.WriteLine($"e2t twin (simulated): {server.ModelName} — {d.Model.DisplayName ?? d.Model.Name} on {options.Profile.Devices} × {d.Accelerator.DisplayName ?? d.Accelerator.Name}, {options.Profile.Precision}");
            output.WriteLine($"  OpenAI API  {server.BaseAddress}v1  (model \"{server.ModelName}\")");
            output.WriteLine($"  vLLM metrics {server.BaseAddress}metrics");
            output.WriteLine($"  e2t metrics  {server.BaseAddress}e2t/metrics  (live J/token, ceilings, binding constraint)");
            output.WriteLine($"  DCGM meter  {server.DcgmMetricsUrl}  (simulated energy, counter every {options.Sensors.CounterUpdatePeriod.TotalMilliseconds} ms)");
            output.WriteLine($"  KV cache {d.KvCacheTokens:N0} tokens, max model length {d.MaxModelLength:N0}, max {options.Profile.Engine.MaxSequences} sequences, {d.MaxBatchedTokens:N0} tokens per step");
            output.WriteLine("Ctrl-C stops it.");
            try
            {
                await Task.Delay(Timeout.Infinite, stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
            var seconds = server.Now;
            var joules = server.Ledger.EnergyAt(seconds);
            output.WriteLine($"Stopped after {Number(seconds)} s: {Number(joules)} J simulated ({Number(joules / Math.Max(seconds, 1e-9))} W mean), {server.Steps:N0} steps.");
        }
        return ExitCodes.Success;
    }

    /// <summary>A bundled profile, or one composed from catalog names; not both.</summary>
    internal static TwinProfile ChooseProfile(string? name, string? model, string? accelerator, int? count, string? precision)
    {
        if (name is not null && model is not null)
            throw new EnergyToTokenException($"Give either --profile ({name}) or --model ({model}), not both: --model composes a new profile.");
        if (model is null && accelerator is not null)
            throw new EnergyToTokenException($"--accelerator {accelerator} needs --model: say which model runs on it, e.g. --model llama-3.1-8b.");
        var profile = model is null
            ? (name is null ? TwinProfiles.Default : TwinProfiles.Find(name))
            : new TwinProfile { Name = "", Model = model, Accelerator = accelerator ?? "h100-sxm" };
        var changed = model is not null || (count is { } c && c != profile.Devices) || (precision is { } p && p != profile.Precision);
        profile = profile with { Devices = count ?? profile.Devices, Precision = precision ?? profile.Precision };
        // A changed deployment gets its own name, so the model id the server reports says what it serves.
        return changed
            ? profile with
            {
                Name = $"{profile.Model}-{profile.Accelerator}" + (profile.Devices > 1 ? $"x{profile.Devices}" : "") + (profile.Precision != "bf16" ? $"-{profile.Precision}" : ""),
                Description = "composed on the command line",
            }
            : profile;
    }

    private static Command Profiles()
    {
        var json = new Option<bool>("--json") { Description = "Print JSON instead of a table." };
        Command command = new("profiles", "List the bundled twin profiles with their KV capacity and limits.") { json };
        command.SetAction(parse =>
        {
            try
            {
                var catalogs = Catalogs.Load([]);
                var deployments = TwinProfiles.All.Select(p => TwinDeployment.Create(p, catalogs)).ToList();
                if (parse.GetValue(json))
                {
                    parse.InvocationConfiguration.Output.WriteLine(ProfilesJson(deployments));
                    return ExitCodes.Success;
                }
                var table = new Table().Border(TableBorder.Rounded).Title("Twin profiles (simulated deployments)")
                    .AddColumn(new TableColumn("profile").NoWrap())
                    .AddColumns("model", "accelerator", "devices", "precision", "KV cache tokens", "max model len", "max seqs", "tokens / step", "description");
                foreach (var d in deployments)
                {
                    var p = d.Profile;
                    table.AddRow(p.Name, p.Model, p.Accelerator, p.Devices.ToString(System.Globalization.CultureInfo.InvariantCulture), p.Precision,
                        Number(d.KvCacheTokens), Number(d.MaxModelLength), Number(p.Engine.MaxSequences), Number(d.MaxBatchedTokens), Markup.Escape(p.Description));
                }
                Console(parse).Write(table);
                return ExitCodes.Success;
            }
            catch (EnergyToTokenException e)
            {
                return Fail(parse, e.Message);
            }
        });
        return command;
    }

    private static string ProfilesJson(IEnumerable<TwinDeployment> deployments)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("schema", "e2t.twin-profiles");
            json.WriteNumber("version", 1);
            json.WriteStartArray("profiles");
            foreach (var d in deployments)
            {
                var p = d.Profile;
                json.WriteStartObject();
                json.WriteString("name", p.Name);
                json.WriteString("description", p.Description);
                json.WriteString("model", p.Model);
                json.WriteString("accelerator", p.Accelerator);
                json.WriteNumber("devices", p.Devices);
                json.WriteString("precision", p.Precision);
                json.WriteNumber("kvCacheTokens", d.KvCacheTokens);
                json.WriteNumber("maxModelLength", d.MaxModelLength);
                json.WriteNumber("maxSequences", p.Engine.MaxSequences);
                json.WriteNumber("maxBatchedTokens", d.MaxBatchedTokens);
                json.WriteBoolean("chunkedPrefill", p.Engine.ChunkedPrefill);
                json.WriteBoolean("prefixCache", p.Engine.PrefixCache);
                json.WriteNumber("reasoningShare", p.Output.ReasoningShare);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    private static Command Calibration()
    {
        Command command = new("calibration", "Run the twin at every published calibration point and compare (simulated in virtual time; seconds).");
        command.SetAction(parse =>
        {
            try
            {
                var catalogs = Catalogs.Load([]);
                var table = new Table().Border(TableBorder.Rounded).Title("Twin vs published (steady state, closed loop)")
                    .AddColumn(new TableColumn("profile").NoWrap())
                    .AddColumns( "batch", "J/tok pub", "J/tok twin", "Δ", "W pub", "W twin", "Δ", "tok/s pub*", "tok/s twin");
                foreach (var point in TwinCalibration.Points)
                {
                    var r = TwinCalibration.Evaluate(point, catalogs);
                    table.AddRow(point.Profile, point.Concurrency.ToString(System.Globalization.CultureInfo.InvariantCulture),
                        Number(point.JoulesPerOutputToken), Number(Math.Round(r.JoulesPerOutputToken, 4)), Percent(Math.Round(r.EnergyError, 3)),
                        Number(point.Watts), Number(Math.Round(r.Watts)), Percent(Math.Round(r.PowerError, 3)),
                        Number(Math.Round(point.Watts / point.JoulesPerOutputToken)), Number(Math.Round(r.OutputTokensPerSecond)));
                }
                var console = Console(parse);
                console.Write(table);
                console.WriteLine($"Workload: prompts of {TwinCalibration.PromptTokens} ± 50 % tokens, outputs of 1 to {2 * TwinCalibration.OutputTokens} tokens (seeded). * published W ÷ J/token.");
                console.WriteLine($"Published: {TwinCalibration.Points[0].Source}.");
                return ExitCodes.Success;
            }
            catch (EnergyToTokenException e)
            {
                return Fail(parse, e.Message);
            }
        });
        return command;
    }
}
