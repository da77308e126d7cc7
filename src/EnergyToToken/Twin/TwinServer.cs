using System.Net;
using System.Text;
using System.Text.Json;
using EnergyToToken.Catalog;
using EnergyToToken.Live;
using EnergyToToken.Metering;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

using EnergyToToken.Load;

namespace EnergyToToken.Twin;

/// <summary>Options of the twin's server.</summary>
public sealed record TwinServerOptions
{
    public TwinProfile Profile { get; init; } = TwinProfiles.Default;

    /// <summary>Address to listen on. Default: 127.0.0.1 (loopback only).</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>Port; 0 picks a free one. Default: 0.</summary>
    public int Port { get; init; }

    public SensorOptions Sensors { get; init; } = new();

    public FaultOptions Faults { get; init; } = FaultOptions.None;

    /// <summary>Seeds the output text of requests without their own <c>seed</c>, the sensor noise and the device UUIDs. Default: 42.</summary>
    public ulong Seed { get; init; } = 42;

    /// <summary>Keep every finished request's ground truth in memory (<see cref="TwinServer.GroundTruth"/>). Default: true.</summary>
    public bool KeepGroundTruth { get; init; } = true;

    /// <summary>Also write the ground truth as JSON lines to this file. Default: none.</summary>
    public string? GroundTruthPath { get; init; }
}

/// <summary>
/// The twin's OpenAI-compatible server on Kestrel: <c>/v1/models</c>, <c>/v1/completions</c>, <c>/v1/chat/completions</c>
/// (streaming or not), <c>/health</c>, <c>/metrics</c> (vLLM's names) and <c>/dcgm/metrics</c> (the DCGM exporter's), with
/// the engine running in real time behind them. Its energy is simulated, and every surface says so.
/// </summary>
public sealed class TwinServer : IAsyncDisposable
{
    private readonly TwinServerOptions _options;
    private readonly TwinRuntime _runtime;
    private readonly TwinSensors _sensors;
    private readonly TwinMetrics _metrics = new();
    private readonly TokenText _text = TokenText.Instance;
    private readonly WebApplication _app;
    private readonly LiveMetrics _live;
    private readonly double _startJoules;
    private long _ordinal;

    private TwinServer(TwinServerOptions options, TwinDeployment deployment)
    {
        _options = options;
        Deployment = deployment;
        GroundTruth = new TwinGroundTruth(options.KeepGroundTruth, options.GroundTruthPath);
        _runtime = new TwinRuntime(deployment);
        _sensors = new TwinSensors(_runtime.Ledger, options.Sensors, options.Profile.Devices, options.Seed, deployment.Accelerator.DisplayName ?? deployment.Accelerator.Name);
        _live = new LiveMetrics(new LiveSource("twin", Simulated: true, options.Profile.Name), LiveInputs(deployment));
        _startJoules = _sensors.CounterJoules(_runtime.Now);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();
        builder.WebHost.UseSockets(sockets =>
        {
            // Socket continuations run inline rather than hopping to Kestrel's I/O queues: each step wakes every stream
            // at once, and the hop cost a third of the server's CPU per token (docs/benchmarks.md). Handlers never block.
            sockets.UnsafePreferInlineScheduling = true;
            // A flush completes only once the socket has taken the bytes (the send pipe pauses its writer at 2 bytes and
            // resumes it when empty): written-token times are when the bytes left, and a reset's abort cannot drop
            // tokens still queued inside Kestrel.
            sockets.MaxWriteBufferSize = 2;
        });
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxConcurrentConnections = null;
            kestrel.Limits.MaxConcurrentUpgradedConnections = null;
            kestrel.Listen(ParseHost(options.Host), options.Port);
        });
        _app = builder.Build();
        _app.MapGet("/health", (RequestDelegate)(context => Task.CompletedTask));
        _app.MapGet("/v1/models", (RequestDelegate)ModelsAsync);
        _app.MapPost("/v1/completions", (RequestDelegate)(context => GenerateAsync(context, chat: false)));
        _app.MapPost("/v1/chat/completions", (RequestDelegate)(context => GenerateAsync(context, chat: true)));
        _app.MapGet("/metrics", (RequestDelegate)(context => TextAsync(context, _metrics.Render(_runtime, ModelName))));
        _app.MapGet("/dcgm/metrics", (RequestDelegate)(context => TextAsync(context, TwinMetrics.RenderDcgm(_sensors, _runtime.Now))));
        _app.MapGet("/e2t/metrics", (RequestDelegate)(context => TextAsync(context, LiveExposition())));
    }

    /// <summary>
    /// e2t's own live figures for what the twin has served since it started (docs/live-metrics.md): tokens as the
    /// engine produced them, energy from its simulated sensors (what a DCGM scrape would read), the recent window
    /// between scrapes.
    /// </summary>
    internal string LiveExposition()
    {
        var now = _runtime.Now;
        var devices = _options.Profile.Devices;
        var generated = _metrics.GenerationTokens;
        _live.Update(new LiveReading(now, generated, _metrics.PromptTokens, (_sensors.CounterJoules(now) - _startJoules) * devices, _sensors.Watts(now) * devices,
            generated > 0 ? (double)_metrics.ContextTokens / generated : null));
        return _live.Render();
    }

    private static LiveProductionInputs LiveInputs(TwinDeployment deployment)
    {
        var devices = deployment.Profile.Devices;
        return new LiveProductionInputs
        {
            Model = deployment.Model,
            PeakComputeFlopPerSecond = deployment.Accelerator.PeakFlopPerSecond(deployment.Profile.Precision) * devices,
            ItPowerWatts = (deployment.Profile.Step.PowerLimitWatts ?? deployment.Accelerator.PowerLimitWatts) * devices,
        };
    }

    public TwinDeployment Deployment { get; }

    /// <summary>The model name the server reports and accepts: the profile's name.</summary>
    public string ModelName => _options.Profile.Name;

    /// <summary>The base URL, e.g. <c>http://127.0.0.1:8000/</c>; the OpenAI API is under <c>v1/</c>.</summary>
    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>The DCGM-exporter-compatible endpoint of the simulated devices.</summary>
    public Uri DcgmMetricsUrl => new(BaseAddress, "dcgm/metrics");

    /// <summary>Exact per-request energy and token times, for validation only.</summary>
    public TwinGroundTruth GroundTruth { get; }

    /// <summary>The exact power over time, for validation only.</summary>
    public PowerLedger Ledger => _runtime.Ledger;

    /// <summary>Seconds on the twin's clock now.</summary>
    public double Now => _runtime.Now;

    /// <summary>Converts a <see cref="TimeProvider.System"/> timestamp to seconds on the twin's clock.</summary>
    public double SecondsAt(long timestamp) => _runtime.SecondsAt(timestamp);

    public long Steps => _runtime.Steps;

    public long FaultsInjected(TwinFault fault) => _metrics.Faults(fault);

    /// <summary>The simulated devices' meter, read in-process (same sensors as <see cref="DcgmMetricsUrl"/>).</summary>
    public IPowerMeter CreateMeter() => new TwinMeter(_sensors, _runtime.Origin);

    public static async Task<TwinServer> StartAsync(TwinServerOptions options, Catalogs catalogs, CancellationToken cancellationToken = default)
    {
        var errors = options.Sensors.Validate().ToList();
        if (options.Port is < 0 or > 65535) errors.Add($"Port {options.Port} is not a TCP port; use 0–65535 (0 picks a free one).");
        if (errors.Count > 0) throw new EnergyToTokenException(string.Join(Environment.NewLine, errors));
        ParseHost(options.Host);
        var deployment = TwinDeployment.Create(options.Profile, catalogs);
        var server = new TwinServer(options, deployment);
        try
        {
            await server._app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            await server.DisposeAsync().ConfigureAwait(false);
            if (e is IOException)
                throw new EnergyToTokenException($"The twin cannot listen on {options.Host}:{options.Port}: {e.Message} Choose another --port (0 picks a free one).");
            throw;
        }
        var address = server._app.Services.GetService(typeof(IServer)) is IServer s
            ? s.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
            : null;
        server.BaseAddress = new Uri((address ?? $"http://{options.Host}:{options.Port}").TrimEnd('/') + "/");
        return server;
    }

    /// <summary>
    /// Stops the engine first, which ends every request still queued or running as aborted (its ground truth is
    /// committed and its stream closes), then the HTTP server, then the ground-truth log.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        _runtime.Dispose();
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        GroundTruth.Dispose();
    }

    private static IPAddress ParseHost(string host) => host switch
    {
        "localhost" => IPAddress.Loopback,
        _ when IPAddress.TryParse(host, out var address) => address,
        _ => throw new EnergyToTokenException($"Host '{host}' is not an IP address. Use 127.0.0.1 (loopback), 0.0.0.0 (all interfaces) or localhost."),
    };

    private static async Task TextAsync(HttpContext context, string text)
    {
        context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
        await context.Response.WriteAsync(text, context.RequestAborted).ConfigureAwait(false);
    }

    private Task ModelsAsync(HttpContext context) => JsonAsync(context, 200, json =>
        {
            json.WriteStartObject();
            json.WriteString("object", "list");
            json.WriteStartArray("data");
            json.WriteStartObject();
            json.WriteString("id", ModelName);
            json.WriteString("object", "model");
            json.WriteNumber("created", DateTimeOffset.UtcNow.ToUnixTimeSeconds());
            json.WriteString("owned_by", "e2t-twin");
            json.WriteString("root", Deployment.Model.Name);
            json.WriteNumber("max_model_len", Deployment.MaxModelLength);
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();
        });

    private async Task GenerateAsync(HttpContext context, bool chat)
    {
        var ordinal = Interlocked.Increment(ref _ordinal) - 1;
        TwinRequest request;
        try
        {
            using var document = await JsonDocument.ParseAsync(context.Request.Body, default, context.RequestAborted).ConfigureAwait(false);
            request = TwinRequest.Parse(document.RootElement, chat, _text, Deployment, ModelName);
        }
        catch (JsonException e)
        {
            await ErrorAsync(context, 400, "BadRequestError", $"The request body is not valid JSON: {e.Message}", null).ConfigureAwait(false);
            return;
        }
        catch (TwinRequestException e)
        {
            await ErrorAsync(context, e.Status, e.Type, e.Message, e.Param).ConfigureAwait(false);
            return;
        }

        var faults = Enum.GetValues<TwinFault>().Where(f => _options.Faults.Hits(ordinal, f)).ToArray();
        if (faults.Length > 0)
        {
            foreach (var fault in faults) _metrics.AddFault(fault);
            context.Response.Headers["x-e2t-twin-faults"] = string.Join(',', faults.Select(TwinMetrics.FaultName));
        }
        if (faults.Contains(TwinFault.Error))
        {
            var status = _options.Faults.ErrorStatus;
            await ErrorAsync(context, status, status >= 500 ? "InternalServerError" : "BadRequestError", $"Injected fault: the twin answers {status} for this request (--faults).", null).ConfigureAwait(false);
            return;
        }

        var seed = request.Seed is { } s ? KvCache.Chain((ulong)s, request.Prompt) : KvCache.Chain(_options.Seed, [(int)ordinal, (int)(ordinal >> 32)]);
        var (target, natural) = request.OutputLength(Deployment, _options.Profile.Output, seed);
        var reasoning = chat ? (int)Math.Floor(_options.Profile.Output.ReasoningShare * target) : 0;
        var truth = new RequestTruth { Id = ordinal, ArrivalSeconds = _runtime.Now, PromptTokens = request.Prompt.Length, ReasoningTokens = reasoning };
        var sink = new ResponseSink(this, truth, target, natural);
        var sequence = new TwinSequence(truth, request.Prompt, target, natural, seed, sink);
        if (!_runtime.TrySubmit(sequence))
        {
            if (_runtime.Stopping)
            {
                await ErrorAsync(context, 503, "ServiceUnavailableError", "The twin is shutting down.", null).ConfigureAwait(false);
                return;
            }
            _metrics.AddRejected();
            await ErrorAsync(context, 429, "RateLimitError",
                $"The twin's waiting queue is full ({Deployment.Profile.Engine.MaxWaiting} requests). Retry later or lower the load.", null).ConfigureAwait(false);
            return;
        }
        var writer = new ResponseWriter(this, context, request, chat, ordinal, sink, reasoning, faults);
        try
        {
            await writer.RunAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            // The client went away: the engine stops the sequence at its next step.
        }
        finally
        {
            if (!sink.Finished) _runtime.Abort(sequence);
            sink.Release();
        }
    }

    private static Task ErrorAsync(HttpContext context, int status, string type, string message, string? param) => JsonAsync(context, status, json =>
        {
            json.WriteStartObject();
            json.WriteStartObject("error");
            json.WriteString("message", message);
            json.WriteString("type", type);
            if (param is null) json.WriteNull("param");
            else json.WriteString("param", param);
            json.WriteNumber("code", status);
            json.WriteEndObject();
            json.WriteEndObject();
        });

    /// <summary>
    /// Answers with the JSON <paramref name="write"/> produces. Escaping is relaxed so messages read as written
    /// (quotes and apostrophes stay); everything is still valid JSON.
    /// </summary>
    private static async Task JsonAsync(HttpContext context, int status, Action<Utf8JsonWriter> write)
    {
        var body = new MemoryStream();
        using (var json = new Utf8JsonWriter(body, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            write(json);
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(body.GetBuffer().AsMemory(0, (int)body.Length), context.RequestAborted).ConfigureAwait(false);
        await context.Response.Body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>Takes a sequence's tokens from the engine thread to its HTTP writer, and keeps the serving metrics.</summary>
    private sealed class ResponseSink : ITokenSink
    {
        private readonly TwinServer _server;
        private readonly System.Threading.Channels.Channel<int> _tokens =
            System.Threading.Channels.Channel.CreateUnbounded<int>(new() { SingleReader = true, SingleWriter = true });
        private double _last;
        private int _pending = 2; // the engine's finish and the response's end; the second commits the truth

        public ResponseSink(TwinServer server, RequestTruth truth, int target, bool endsNaturally)
        {
            _server = server;
            Truth = truth;
            Target = target;
            EndsNaturally = endsNaturally;
        }

        /// <summary>Whether the last token ends the answer ("stop") rather than max_tokens ("length").</summary>
        public bool EndsNaturally { get; }

        public RequestTruth Truth { get; }

        public int Target { get; }

        public System.Threading.Channels.ChannelReader<int> Reader => _tokens.Reader;

        public FinishReason? Reason { get; private set; }

        /// <summary>Whether the engine has finished the sequence (asked by the response before it releases).</summary>
        public bool Finished => Volatile.Read(ref _pending) < 2;

        public void OnToken(int tokenId, double engineSeconds)
        {
            var metrics = _server._metrics;
            if (Truth.OutputTokens == 1)
            {
                metrics.TimeToFirstToken.Observe(engineSeconds - Truth.ArrivalSeconds);
                metrics.AddPromptTokens(Truth.PromptTokens);
            }
            else
            {
                metrics.InterTokenLatency.Observe(engineSeconds - _last);
            }
            _last = engineSeconds;
            metrics.AddGenerationToken();
            metrics.AddContext(Truth.PromptTokens + Truth.OutputTokens - 1);
            _tokens.Writer.TryWrite(tokenId);
        }

        public void OnFinish(FinishReason reason, double engineSeconds)
        {
            Reason = reason;
            _server._metrics.AddFinished(reason);
            if (reason != FinishReason.Abort) _server._metrics.EndToEndLatency.Observe(engineSeconds - Truth.ArrivalSeconds);
            _tokens.Writer.TryComplete();
            if (Interlocked.Decrement(ref _pending) > 0) return;
            // The response ended first. Committing may write the log file: not on the real-time engine thread, unless
            // it is shutting down (then the log must have it before it closes).
            if (_server._runtime.Stopping) _server.GroundTruth.Commit(Truth);
            else ThreadPool.UnsafeQueueUserWorkItem(static sink => sink._server.GroundTruth.Commit(sink.Truth), this, preferLocal: false);
        }

        /// <summary>The response is done with the sequence; the second of the two releases commits its ground truth.</summary>
        public void Release()
        {
            if (Interlocked.Decrement(ref _pending) == 0) _server.GroundTruth.Commit(Truth);
        }
    }

    /// <summary>Writes one response: a stream of server-sent events or one JSON body, with the requested faults.</summary>
    private sealed class ResponseWriter
    {
        private readonly TwinServer _server;
        private readonly HttpContext _context;
        private readonly TwinRequest _request;
        private readonly bool _chat;
        private readonly ResponseSink _sink;
        private readonly int _reasoning;
        private readonly TwinFault[] _faults;
        private readonly string _id;
        private readonly long _created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        private readonly bool _odd;
        private readonly bool _split;
        private readonly byte[] _prefix;
        private byte[] _event = new byte[512];
        private int _length;

        public ResponseWriter(TwinServer server, HttpContext context, TwinRequest request, bool chat, long ordinal, ResponseSink sink, int reasoning, TwinFault[] faults)
        {
            _server = server;
            _context = context;
            _request = request;
            _chat = chat;
            _sink = sink;
            _reasoning = reasoning;
            _faults = faults;
            _id = (chat ? "chatcmpl-" : "cmpl-") + ordinal.ToString("x8", System.Globalization.CultureInfo.InvariantCulture);
            _odd = faults.Contains(TwinFault.Odd);
            _split = faults.Contains(TwinFault.Split);
            var created = _created.ToString(System.Globalization.CultureInfo.InvariantCulture);
            _prefix = Encoding.UTF8.GetBytes(
                $"{{\"id\":\"{_id}\",\"object\":\"{(chat ? "chat.completion.chunk" : "text_completion")}\",\"created\":{created},\"model\":\"{server.ModelName}\",\"choices\":[");
        }

        private bool Has(TwinFault fault) => _faults.Contains(fault);

        /// <summary>The token after which a reset or stall happens: halfway, after at least one.</summary>
        private int FaultPoint => Math.Max(1, _sink.Target / 2);

        public Task RunAsync() => _request.Stream ? StreamAsync() : WholeAsync();

        private async Task StreamAsync()
        {
            var response = _context.Response;
            var cancel = _context.RequestAborted;
            response.ContentType = "text/event-stream; charset=utf-8";
            response.Headers.CacheControl = "no-cache";
            await response.StartAsync(cancel).ConfigureAwait(false);
            // StartAsync only commits the headers; flushing sends them now, as vLLM does, not with the first token.
            await response.BodyWriter.FlushAsync(cancel).ConfigureAwait(false);
            var reader = _sink.Reader;
            var index = 0;
            var record = _server.GroundTruth.RecordsTokens;
            while (await reader.WaitToReadAsync(cancel).ConfigureAwait(false))
            {
                var written = 0;
                while (reader.TryRead(out var token))
                {
                    if (index == 0 && _chat)
                    {
                        Begin();
                        RoleChunk();
                        await EndAsync().ConfigureAwait(false);
                    }
                    Begin();
                    TokenChunk(token, index);
                    await EndAsync().ConfigureAwait(false);
                    index++;
                    written++;
                    if (index == FaultPoint && (Has(TwinFault.Reset) || Has(TwinFault.Stall)))
                    {
                        await response.BodyWriter.FlushAsync(cancel).ConfigureAwait(false);
                        Record(record, written);
                        written = 0;
                        if (Has(TwinFault.Reset))
                        {
                            _context.Abort();
                            return;
                        }
                        await StallAsync(cancel).ConfigureAwait(false);
                    }
                }
                await response.BodyWriter.FlushAsync(cancel).ConfigureAwait(false);
                Record(record, written);
            }
            if (_sink.Reason == FinishReason.Abort || Has(TwinFault.NoDone)) return;
            if (_request.IncludeUsage)
            {
                Begin();
                UsageChunk();
                await EndAsync().ConfigureAwait(false);
            }
            Begin();
            Append("[DONE]"u8);
            await EndAsync().ConfigureAwait(false);
            await response.BodyWriter.FlushAsync(cancel).ConfigureAwait(false);
        }

        /// <summary>
        /// Pauses for the whole stall duration. Task.Delay counts on the coarse tick clock (4 ms steps on Linux) and can
        /// end that much early, so the rest is waited out on the precise clock.
        /// </summary>
        private async Task StallAsync(CancellationToken cancel)
        {
            var duration = _server._options.Faults.StallDuration;
            var start = System.Diagnostics.Stopwatch.GetTimestamp();
            for (var left = duration; left > TimeSpan.Zero; left = duration - System.Diagnostics.Stopwatch.GetElapsedTime(start))
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Ceiling(left.TotalMilliseconds)), cancel).ConfigureAwait(false);
        }

        private void Record(bool record, int written)
        {
            if (!record || written == 0) return;
            var now = _server._runtime.Now;
            for (var k = 0; k < written; k++) _sink.Truth.WrittenSeconds.Add(now);
        }

        private async Task WholeAsync()
        {
            var cancel = _context.RequestAborted;
            var tokens = new List<int>();
            var reader = _sink.Reader;
            while (await reader.WaitToReadAsync(cancel).ConfigureAwait(false))
            {
                while (reader.TryRead(out var token))
                {
                    tokens.Add(token);
                    if (tokens.Count == FaultPoint && Has(TwinFault.Reset))
                    {
                        _context.Abort();
                        return;
                    }
                }
            }
            if (_sink.Reason == FinishReason.Abort) return;
            if (Has(TwinFault.Stall)) await StallAsync(cancel).ConfigureAwait(false);
            await JsonAsync(_context, 200, json =>
            {
                Header(json, _chat ? "chat.completion" : "text_completion");
                json.WriteStartArray("choices");
                json.WriteStartObject();
                json.WriteNumber("index", 0);
                var text = string.Concat(tokens.Skip(_reasoning).Select(_server._text.Text));
                if (_chat)
                {
                    json.WriteStartObject("message");
                    json.WriteString("role", "assistant");
                    json.WriteString("content", text);
                    if (_reasoning > 0) json.WriteString("reasoning_content", string.Concat(tokens.Take(_reasoning).Select(_server._text.Text)));
                    json.WriteEndObject();
                }
                else
                {
                    json.WriteString("text", text);
                }
                json.WriteNull("logprobs");
                json.WriteString("finish_reason", FinishName(_sink.Reason));
                json.WriteNull("stop_reason");
                json.WriteEndObject();
                json.WriteEndArray();
                Usage(json, tokens.Count);
                json.WriteEndObject();
            }).ConfigureAwait(false);
            if (_server.GroundTruth.RecordsTokens)
            {
                var now = _server._runtime.Now;
                for (var k = 0; k < tokens.Count; k++) _sink.Truth.WrittenSeconds.Add(now);
            }
        }

        /// <summary>Starts formatting one event (odd framing adds a comment line and drops the space after <c>data:</c>).</summary>
        private void Begin()
        {
            _length = 0;
            if (_odd) Append(": e2t twin keep-alive\r\n"u8);
            Append(_odd ? "data:"u8 : "data: "u8);
        }

        /// <summary>Ends the event and hands it to the response, in two writes under the split fault.</summary>
        private async ValueTask EndAsync()
        {
            Append(_odd ? "\r\n\r\n"u8 : "\n\n"u8);
            var body = _context.Response.BodyWriter;
            if (_split)
            {
                var half = _length / 2;
                // WriteAsync flushes: the two halves leave as separate writes.
                await body.WriteAsync(_event.AsMemory(0, half), _context.RequestAborted).ConfigureAwait(false);
                await body.WriteAsync(_event.AsMemory(half, _length - half), _context.RequestAborted).ConfigureAwait(false);
                return;
            }
            var span = body.GetSpan(_length);
            _event.AsSpan(0, _length).CopyTo(span);
            body.Advance(_length);
        }

        private void RoleChunk()
        {
            Prefix();
            Append("{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}]}"u8);
        }

        private void TokenChunk(int token, int index)
        {
            Prefix();
            var last = index == _sink.Target - 1;
            if (_chat)
            {
                Append(index < _reasoning ? "{\"index\":0,\"delta\":{\"reasoning_content\":\""u8 : "{\"index\":0,\"delta\":{\"content\":\""u8);
                Append(_server._text.Utf8(token));
                Append("\"},\"logprobs\":null,\"finish_reason\":"u8);
            }
            else
            {
                Append("{\"index\":0,\"text\":\""u8);
                Append(_server._text.Utf8(token));
                Append("\",\"logprobs\":null,\"finish_reason\":"u8);
            }
            Append(!last ? "null"u8 : _sink.EndsNaturally ? "\"stop\""u8 : "\"length\""u8);
            Append(_chat ? "}]}"u8 : ",\"stop_reason\":null}]}"u8);
        }

        private void UsageChunk()
        {
            var body = new MemoryStream();
            using (var json = new Utf8JsonWriter(body))
            {
                Header(json, _chat ? "chat.completion.chunk" : "text_completion");
                json.WriteStartArray("choices");
                json.WriteEndArray();
                Usage(json, _sink.Truth.OutputTokens);
                json.WriteEndObject();
            }
            Append(body.GetBuffer().AsSpan(0, (int)body.Length));
        }

        /// <summary>The start of every chunk of this response, encoded once: a token's event is then three copies.</summary>
        private void Prefix() => Append(_prefix);

        private void Header(Utf8JsonWriter json, string type)
        {
            json.WriteStartObject();
            json.WriteString("id", _id);
            json.WriteString("object", type);
            json.WriteNumber("created", _created);
            json.WriteString("model", _server.ModelName);
        }

        private void Usage(Utf8JsonWriter json, int completion)
        {
            json.WriteStartObject("usage");
            json.WriteNumber("prompt_tokens", _request.Prompt.Length);
            json.WriteNumber("total_tokens", _request.Prompt.Length + completion);
            json.WriteNumber("completion_tokens", completion);
            if (_reasoning > 0)
            {
                json.WriteStartObject("completion_tokens_details");
                json.WriteNumber("reasoning_tokens", Math.Min(_reasoning, completion));
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }

        private static string? FinishName(FinishReason? reason) => reason switch
        {
            FinishReason.Stop => "stop",
            FinishReason.Length => "length",
            FinishReason.Abort => "abort",
            _ => null,
        };

        private void Append(ReadOnlySpan<byte> bytes)
        {
            Ensure(bytes.Length);
            bytes.CopyTo(_event.AsSpan(_length));
            _length += bytes.Length;
        }

        private void Ensure(int more)
        {
            if (_length + more <= _event.Length) return;
            Array.Resize(ref _event, Math.Max(_event.Length * 2, _length + more));
        }
    }
}
