using EnergyToToken.Load;
using EnergyToToken.Metering;

namespace EnergyToToken.Analysis;

/// <summary>
/// The boundary's energy over a window cut at the meter's own updates: one interval per counter update of the primary
/// channel (the first inside the boundary), each holding the energy of every channel inside the boundary. Because each
/// channel's energy is a curve additive at every split point, the intervals add up to the window's energy exactly.
/// </summary>
internal sealed class EnergyIntervals
{
    internal EnergyIntervals(double[] edges, double[] gross, double idleWatts)
    {
        Edges = edges;
        Gross = gross;
        IdleWatts = idleWatts;
    }

    /// <summary>Interval i is [Edges[i], Edges[i + 1]).</summary>
    public double[] Edges { get; }

    public double[] Gross { get; }

    /// <summary>Idle power inside the boundary (mean of the baselines), W; 0 when no baseline was measured.</summary>
    public double IdleWatts { get; }

    public int Count => Gross.Length;

    public double Seconds(int i) => Edges[i + 1] - Edges[i];

    public double Static(int i) => IdleWatts * Seconds(i);

    public double Dynamic(int i) => Gross[i] - Static(i);

    /// <param name="minimumSeconds">Knots closer than this are merged (a counter updating every millisecond read every 100 ms).</param>
    public static EnergyIntervals Build(IReadOnlyList<MeterSamples> inside, double from, double to, double idleWatts, double minimumSeconds)
    {
        var curves = inside.Select(m => EnergyWindow.Curve(m)).ToList();
        var edges = new List<double> { from };
        if (curves.Count > 0)
        {
            foreach (var t in curves[0].Times)
            {
                if (t > edges[^1] + minimumSeconds && t < to - minimumSeconds) edges.Add(t);
            }
        }
        edges.Add(to);
        var gross = new double[edges.Count - 1];
        for (var i = 0; i < gross.Length; i++)
        {
            foreach (var c in curves) gross[i] += c.Between(edges[i], edges[i + 1]);
        }
        return new EnergyIntervals([.. edges], gross, idleWatts);
    }

    /// <summary>The interval holding <paramref name="t"/>; −1 before the first, Count after the last.</summary>
    public int Find(double t)
    {
        if (t < Edges[0]) return -1;
        if (t >= Edges[^1]) return Count;
        var k = Array.BinarySearch(Edges, t);
        return k >= 0 ? k : ~k - 1;
    }

    /// <summary>
    /// <see cref="Find(double)"/> for times met in order: walks forward from <paramref name="hint"/>, the interval of an
    /// earlier time (a request's chunks cross a few intervals each, so a binary search per chunk is wasted); searches
    /// when the hint is outside the intervals or after <paramref name="t"/>. Same answer as <see cref="Find(double)"/>.
    /// </summary>
    public int Find(double t, int hint)
    {
        // Also true for NaN, which Find places before the first interval.
        if (hint < 0 || hint >= Count || !(t >= Edges[hint])) return Find(t);
        while (hint < Count && t >= Edges[hint + 1]) hint++;
        return hint;
    }
}

/// <summary>Per-token dynamic energy of the two phases, J, and how they were obtained.</summary>
/// <param name="Source">"regression" (from the run's own intervals) or "calibration" (from prefill-heavy and decode-heavy probes).</param>
/// <param name="PrefillStdError">Standard error of the prefill coefficient; NaN when unknown.</param>
public sealed record PhaseCoefficients(double PrefillJoulesPerToken, double DecodeJoulesPerToken, string Source, double PrefillStdError, double DecodeStdError, int Intervals, double RSquared);

/// <summary>One request's share of the measured energy, J: dynamic by phase and static by phase.</summary>
public readonly record struct RequestEnergy(double PrefillDynamic, double DecodeDynamic, double PrefillStatic, double DecodeStatic)
{
    public double Dynamic => PrefillDynamic + DecodeDynamic;

    public double Static => PrefillStatic + DecodeStatic;

    public double Gross => Dynamic + Static;
}

/// <summary>The served model's roofline per token: FLOP and bytes, for the roofline attribution.</summary>
/// <param name="AttentionFlopPerPair">Attention FLOP per (token, attended token) pair.</param>
/// <param name="WeightBytes">Bytes of weights read once per engine step.</param>
public sealed record RooflineCosts(string Model, double WeightFlopPerToken, double AttentionFlopPerPair, double KvBytesPerToken, double WeightBytes)
{
    public static RooflineCosts Of(Catalog.ModelArchitecture model, string precision)
    {
        var bytes = Catalog.Precisions.Bytes(precision);
        return new RooflineCosts(model.Name, model.WeightFlopPerToken, model.AttentionFlopPerToken(1), model.KvCacheBytesPerToken(bytes), model.WeightBytes(bytes));
    }
}

/// <summary>
/// The whole attribution: per request, what could not be attributed (dynamic energy in intervals with no request in
/// flight, static energy of idle gaps), and the conservation check.
/// </summary>
public sealed record AttributionResult(
    PhaseCoefficients Coefficients,
    RequestEnergy[] Requests,
    double UnattributedDynamicJoules,
    double UnattributedStaticJoules,
    double MeasuredDynamicJoules,
    double MeasuredStaticJoules,
    double ConservationError)
{
    /// <summary>"steps" (w per engine step, c per token, k per context token), "roofline" (e_f·FLOP + e_b·bytes per token) or "tokens" (a per prompt token, b per decoded token).</summary>
    public string Model { get; init; } = "tokens";

    /// <summary>The roofline's fitted energy per FLOP, J; NaN for the token model.</summary>
    public double JoulesPerFlop { get; init; } = double.NaN;

    /// <summary>The roofline's fitted energy per byte moved, J; NaN for the token model.</summary>
    public double JoulesPerByte { get; init; } = double.NaN;

    /// <summary>The step model's fitted terms, J: per step (the weights), per token, per context token a decode token reads; null for the others.</summary>
    public (double Step, double Token, double Context)? StepTerms { get; init; }
}

/// <summary>
/// The phase split and per-request attribution of measurement.md §4 under continuous batching.
/// <para>Work: request r's prompt tokens are prefilled over [max(sent, first − d), first] with d = prompt × τ, clamped
/// to [one step, TTFT] (τ: the 5th percentile of TTFT ÷ prompt tokens over the run, the fastest prefill seen; one step:
/// the median inter-chunk gap); each later chunk's tokens are decoded over the gap since the previous chunk. Work is
/// spread uniformly over those spans and cut at the meter intervals.</para>
/// <para>Coefficients: least squares without intercept of each interval's dynamic energy on its prefill and decode
/// work, E_i ≈ a·P_i + b·D_i, with both kept ≥ 0 (a negative one is set to 0 and the other refitted).</para>
/// <para>Attribution: interval i's dynamic energy goes to the requests working in it in proportion to
/// a·p_ri + b·d_ri; with no work but requests in flight, in proportion to their time in flight; with neither, it stays
/// unattributed. Static energy (idle power × interval) goes to the requests in flight by their time in it. The sum of
/// every request's energy and the unattributed rest equals the measured energy; the code checks it to 1e-9.</para>
/// </summary>
internal static class Attribution
{
    public const double ConservationTolerance = 1e-9;

    /// <summary>Most tokens an engine step processes: vLLM's default <c>--max-num-batched-tokens</c> with chunked prefill.</summary>
    public const int StepTokenBudget = 8192;

    public static AttributionResult Run(RequestTimeline t, EnergyIntervals intervals, PhaseCoefficients? calibrated, RooflineCosts? roofline = null)
    {
        var n = intervals.Count;
        var prefill = new double[n];
        var prefillContext = new double[n];
        var decode = new double[n];
        var decodeContext = new double[n];
        var occupancy = new double[n];
        var decoding = new double[n];
        var prefilling = new double[n];
        var spans = new Spans(t);
        // Each span's share of every interval it crosses, reused request after request (a run holds hundreds of millions
        // of chunks: no allocation or delegate call per chunk). Pieces come in the order the intervals are crossed, so
        // sums are taken in the same order whatever holds them.
        var pieces = new Pieces();
        var decodePhase = new Pieces();
        for (var r = 0; r < t.Count; r++)
        {
            spans.InFlight(r, pieces, decodePhase, intervals);
            foreach (var (i, s) in pieces.All) occupancy[i] += s;
            foreach (var (i, s) in decodePhase.All)
            {
                occupancy[i] += s;
                decoding[i] += s;
            }
        }

        // The model of each interval's dynamic energy, best first: engine steps rebuilt from the chunk bursts (w per step,
        // c per token, k per context token), the roofline from the catalog (e_f·FLOP + e_b·bytes), per token (a·P + b·D).
        var prefillDynamic = new double[t.Count];
        var decodeDynamic = new double[t.Count];
        bool[] working;
        PhaseCoefficients? coefficients = null;
        string kind;
        var (joulesPerFlop, joulesPerByte) = (double.NaN, double.NaN);
        (double Step, double Token, double Context)? stepTerms = null;
        if (calibrated is null && EngineSteps.Build(t) is { } steps && StepFit.Fit(steps, intervals) is { } stepFit)
        {
            working = stepFit.Distribute(t, steps, intervals, prefillDynamic, decodeDynamic);
            coefficients = stepFit.Coefficients;
            kind = "steps";
            stepTerms = (stepFit.StepJoules, stepFit.TokenJoules, stepFit.ContextJoules);
        }
        else
        {
            // The work each interval holds, which only these models read (a pass over every chunk, so not made for the
            // step model).
            for (var r = 0; r < t.Count; r++)
            {
                spans.Prefill(r, pieces, intervals);
                Accumulate(pieces, prefill, prefillContext);
                if (t.InputTokens(r) > 0)
                {
                    // Engine steps a prompt occupies: one per step budget of its tokens, shared out as its tokens are.
                    var stepsPerToken = Math.Ceiling(t.InputTokens(r) / (double)StepTokenBudget) / t.InputTokens(r);
                    foreach (var (i, w) in pieces.All) prefilling[i] += w * stepsPerToken;
                }
                spans.Decode(r, pieces, intervals);
                Accumulate(pieces, decode, decodeContext);
            }
            var model = roofline is not null && calibrated is null
                ? Roofline.Fit(roofline, intervals, prefill, prefillContext, decode, decodeContext, decoding, prefilling)
                : new Roofline(calibrated ?? Fit(intervals, prefill, decode));
            var work = new double[n];
            working = new bool[n];
            for (var i = 0; i < n; i++)
            {
                work[i] = model.Work(i, prefill[i], prefillContext[i], decode[i], decodeContext[i]);
                working[i] = work[i] > 0;
            }
            double prefillModel = 0, decodeModel = 0, prefillTokens = 0, decodeTokens = 0;
            for (var r = 0; r < t.Count; r++)
            {
                spans.Prefill(r, pieces, intervals);
                var context = pieces.Context;
                var k = 0;
                foreach (var (i, w) in pieces.All)
                {
                    var own = model.Prefill(i, w, context[k++]);
                    prefillModel += own;
                    prefillTokens += w;
                    if (work[i] > 0) prefillDynamic[r] += intervals.Dynamic(i) * own / work[i];
                }
                spans.Decode(r, pieces, intervals);
                context = pieces.Context;
                k = 0;
                foreach (var (i, w) in pieces.All)
                {
                    var own = model.Decode(i, w, context[k++]);
                    decodeModel += own;
                    decodeTokens += w;
                    if (work[i] > 0) decodeDynamic[r] += intervals.Dynamic(i) * own / work[i];
                }
            }
            kind = model.Coefficients is null ? "roofline" : "tokens";
            (joulesPerFlop, joulesPerByte) = (model.JoulesPerFlop, model.JoulesPerByte);
            // The roofline's per-token costs differ token by token; what it implies per phase on average is its coefficient.
            coefficients = model.Coefficients ?? new PhaseCoefficients(prefillTokens > 0 ? prefillModel / prefillTokens : double.NaN,
                decodeTokens > 0 ? decodeModel / decodeTokens : double.NaN, "roofline regression", double.NaN, double.NaN, model.Intervals, model.RSquared);
        }

        var energy = new RequestEnergy[t.Count];
        for (var r = 0; r < t.Count; r++)
        {
            double pd = prefillDynamic[r], dd = decodeDynamic[r], ps = 0, ds = 0;
            // Time in flight before the first chunk is the prefill phase's, after it the decode phase's.
            spans.InFlight(r, pieces, decodePhase, intervals);
            foreach (var (i, s) in pieces.All)
            {
                if (occupancy[i] <= 0) continue;
                var share = s / occupancy[i];
                ps += intervals.Static(i) * share;
                pd += working[i] ? 0 : intervals.Dynamic(i) * share;
            }
            foreach (var (i, s) in decodePhase.All)
            {
                if (occupancy[i] <= 0) continue;
                var share = s / occupancy[i];
                ds += intervals.Static(i) * share;
                dd += working[i] ? 0 : intervals.Dynamic(i) * share;
            }
            energy[r] = new RequestEnergy(pd, dd, ps, ds);
        }

        double measuredDynamic = 0, measuredStatic = 0, unattributedDynamic = 0, unattributedStatic = 0;
        for (var i = 0; i < n; i++)
        {
            measuredDynamic += intervals.Dynamic(i);
            measuredStatic += intervals.Static(i);
            if (!working[i] && occupancy[i] <= 0) unattributedDynamic += intervals.Dynamic(i);
            if (occupancy[i] <= 0) unattributedStatic += intervals.Static(i);
        }
        var attributed = energy.Sum(e => e.Gross);
        var measured = measuredDynamic + measuredStatic;
        var error = Math.Abs(attributed + unattributedDynamic + unattributedStatic - measured) / Math.Max(Math.Abs(measured), double.Epsilon);
        // A bug, not a measurement problem: the split must hand out exactly what was measured.
        if (error > ConservationTolerance && measured != 0)
            throw new InvalidOperationException($"Attribution does not conserve energy: {attributed + unattributedDynamic + unattributedStatic} J handed out of {measured} J measured (relative error {error:E2}).");
        return new AttributionResult(coefficients, energy, unattributedDynamic, unattributedStatic, measuredDynamic, measuredStatic, error)
        {
            Model = kind,
            JoulesPerFlop = joulesPerFlop,
            JoulesPerByte = joulesPerByte,
            StepTerms = stepTerms,
        };
    }

    private static void Accumulate(Pieces pieces, double[] amount, double[] context)
    {
        var c = pieces.Context;
        var k = 0;
        foreach (var (i, w) in pieces.All)
        {
            amount[i] += w;
            context[i] += c[k++];
        }
    }

    /// <summary>
    /// How an interval's dynamic energy is modelled and shared. Per token: a prefill token costs a, a decode token b.
    /// Roofline (when the model's architecture is known): a token costs e_f × its FLOP (2·N_active + the attention FLOP of
    /// the context it attends to) plus e_b × its bytes (the KV it reads and writes, and its share of the weights read once
    /// per engine step, split over the step's tokens), with e_f and e_b fitted to the intervals.
    /// <para>Steps: decoding requests emit one token a step, so an interval holds S = decode tokens ÷ the mean number of
    /// requests decoding; a prompt of p tokens occupies ⌈p ÷ <see cref="StepTokenBudget"/>⌉ steps, K in all (S is at
    /// least K). The weights of a step are split over its tokens: a prefill step with P/K prompt tokens and D/S decodes
    /// gives the prompts W·P/(P/K + D/S) in all, the decodes the rest of W·S.</para>
    /// </summary>
    private sealed class Roofline
    {
        private readonly RooflineCosts? _costs;
        private readonly double[]? _prefillWeights;
        private readonly double[]? _decodeWeights;
        private readonly double[]? _prefill;
        private readonly double[]? _decode;

        public Roofline(PhaseCoefficients coefficients) => Coefficients = coefficients;

        private Roofline(RooflineCosts costs, double[] prefillWeights, double[] decodeWeights, double[] prefill, double[] decode, PhaseCoefficients fit)
        {
            _costs = costs;
            _prefillWeights = prefillWeights;
            _decodeWeights = decodeWeights;
            _prefill = prefill;
            _decode = decode;
            JoulesPerFlop = fit.PrefillJoulesPerToken;
            JoulesPerByte = fit.DecodeJoulesPerToken;
            Intervals = fit.Intervals;
            RSquared = fit.RSquared;
        }

        /// <summary>The per-token coefficients; null for the roofline.</summary>
        public PhaseCoefficients? Coefficients { get; }

        public double JoulesPerFlop { get; } = double.NaN;

        public double JoulesPerByte { get; } = double.NaN;

        public int Intervals { get; }

        public double RSquared { get; } = double.NaN;

        public static Roofline Fit(RooflineCosts c, EnergyIntervals intervals, double[] prefill, double[] prefillContext, double[] decode, double[] decodeContext,
            double[] decoding, double[] prefillSteps)
        {
            var n = intervals.Count;
            var flop = new double[n];
            var bytes = new double[n];
            var prefillWeights = new double[n];
            var decodeWeights = new double[n];
            for (var i = 0; i < n; i++)
            {
                var decodeSteps = decode[i] > 0 && decoding[i] > 0 ? decode[i] * intervals.Seconds(i) / decoding[i] : 0;
                var steps = Math.Max(decodeSteps, prefillSteps[i]);
                if (prefill[i] > 0 && prefillSteps[i] > 0)
                {
                    var perStep = prefill[i] / prefillSteps[i];
                    var decodesPerStep = steps > 0 ? decode[i] / steps : 0;
                    prefillWeights[i] = c.WeightBytes * prefill[i] / (perStep + decodesPerStep);
                }
                decodeWeights[i] = Math.Max(0, c.WeightBytes * steps - prefillWeights[i]);
                flop[i] = c.WeightFlopPerToken * (prefill[i] + decode[i]) + c.AttentionFlopPerPair * (prefillContext[i] + decodeContext[i]);
                bytes[i] = c.KvBytesPerToken * (2 * prefill[i] + decodeContext[i] + decode[i]) + prefillWeights[i] + decodeWeights[i];
            }
            var fit = Attribution.Fit(intervals, flop, bytes);
            return new Roofline(c, prefillWeights, decodeWeights, prefill, decode, fit);
        }

        public double Work(int i, double prefill, double prefillContext, double decode, double decodeContext) =>
            Prefill(i, prefill, prefillContext) + Decode(i, decode, decodeContext);

        /// <summary>Modelled dynamic energy of <paramref name="tokens"/> prompt tokens attending to <paramref name="context"/> pairs in interval i.</summary>
        public double Prefill(int i, double tokens, double context) => _costs is { } c
            ? JoulesPerFlop * (c.WeightFlopPerToken * tokens + c.AttentionFlopPerPair * context)
                + JoulesPerByte * (c.KvBytesPerToken * 2 * tokens + (_prefill![i] > 0 ? _prefillWeights![i] * tokens / _prefill[i] : 0))
            : Coefficients!.PrefillJoulesPerToken * tokens;

        public double Decode(int i, double tokens, double context) => _costs is { } c
            ? JoulesPerFlop * (c.WeightFlopPerToken * tokens + c.AttentionFlopPerPair * context)
                + JoulesPerByte * (c.KvBytesPerToken * (context + tokens) + (_decode![i] > 0 ? _decodeWeights![i] * tokens / _decode[i] : 0))
            : Coefficients!.DecodeJoulesPerToken * tokens;
    }

    /// <summary>Non-negative least squares of E_i on (P_i, D_i) without intercept, with standard errors from the residuals.</summary>
    internal static PhaseCoefficients Fit(EnergyIntervals intervals, double[] prefill, double[] decode)
    {
        double pp = 0, dd = 0, pd = 0, pe = 0, de = 0, ee = 0;
        var used = 0;
        for (var i = 0; i < intervals.Count; i++)
        {
            var e = intervals.Dynamic(i);
            if (!double.IsFinite(e)) continue;
            var (p, d) = (prefill[i], decode[i]);
            pp += p * p;
            dd += d * d;
            pd += p * d;
            pe += p * e;
            de += d * e;
            ee += e * e;
            used++;
        }
        double a, b;
        var det = pp * dd - pd * pd;
        if (det > 1e-12 * pp * dd && pp > 0 && dd > 0)
        {
            a = (pe * dd - de * pd) / det;
            b = (de * pp - pe * pd) / det;
        }
        else
        {
            (a, b) = (double.NaN, double.NaN);
        }
        if (!(a >= 0 && b >= 0))
        {
            // Fit each alone and keep the better non-negative one.
            var onlyDecode = dd > 0 ? Math.Max(0, de / dd) : 0;
            var onlyPrefill = pp > 0 ? Math.Max(0, pe / pp) : 0;
            var rssDecode = ee - 2 * onlyDecode * de + onlyDecode * onlyDecode * dd;
            var rssPrefill = ee - 2 * onlyPrefill * pe + onlyPrefill * onlyPrefill * pp;
            (a, b) = rssDecode <= rssPrefill ? (0.0, onlyDecode) : (onlyPrefill, 0.0);
        }
        var rss = Math.Max(0, ee - 2 * a * pe - 2 * b * de + a * a * pp + 2 * a * b * pd + b * b * dd);
        var sigma2 = used > 2 ? rss / (used - 2) : double.NaN;
        var seA = det > 0 ? Math.Sqrt(sigma2 * dd / det) : double.NaN;
        var seB = det > 0 ? Math.Sqrt(sigma2 * pp / det) : double.NaN;
        var r2 = ee > 0 ? 1 - rss / ee : double.NaN;
        return new PhaseCoefficients(a, b, "regression", seA, seB, used, r2);
    }

    /// <summary>Where each request worked and was in flight, cut at the intervals.</summary>
    internal sealed class Spans
    {
        private readonly RequestTimeline _t;
        private readonly double _tau;
        private readonly double _step;

        public Spans(RequestTimeline t)
        {
            _t = t;
            var rates = new List<double>();
            var gaps = new List<double>();
            for (var r = 0; r < t.Count; r++)
            {
                var chunks = t.Chunks(r);
                if (chunks.Length == 0) continue;
                var prompt = t.InputTokens(r);
                if (prompt > 0) rates.Add((chunks[0] - t.Sent[r]) / prompt);
                // A sample of gaps is enough for a median.
                if (gaps.Count < 100_000)
                {
                    for (var k = 1; k < chunks.Length && k < 64; k++) gaps.Add(chunks[k] - chunks[k - 1]);
                }
            }
            rates.Sort();
            gaps.Sort();
            _tau = rates.Count > 0 ? Stats.Percentile(rates, 0.05) : 0;
            _step = gaps.Count > 0 ? Stats.Percentile(gaps, 0.5) : 0;
        }

        /// <summary>The span over which request r's prompt was prefilled; null without a first chunk.</summary>
        public (double From, double To)? PrefillSpan(int r)
        {
            var chunks = _t.Chunks(r);
            if (chunks.Length == 0) return null;
            var ttft = Math.Max(0, chunks[0] - _t.Sent[r]);
            var d = Math.Min(ttft, Math.Max(_step, _t.InputTokens(r) * _tau));
            return (chunks[0] - d, chunks[0]);
        }

        /// <summary>Request r's prompt tokens in each interval, into <paramref name="pieces"/> (cleared first).</summary>
        public void Prefill(int r, Pieces pieces, EnergyIntervals intervals)
        {
            pieces.Clear();
            if (PrefillSpan(r) is not { } span) return;
            var prompt = (double)_t.InputTokens(r);
            // Token j of the prompt attends to the j + 1 tokens up to it.
            Spread(span.From, span.To, prompt, pieces, intervals, -1, prompt * (prompt + 1) / 2);
        }

        /// <summary>Request r's decoded tokens in each interval, into <paramref name="pieces"/> (cleared first).</summary>
        public void Decode(int r, Pieces pieces, EnergyIntervals intervals)
        {
            pieces.Clear();
            var chunks = _t.Chunks(r);
            var tokens = _t.OutputTokens[r] - 1;
            if (chunks.Length == 0 || tokens <= 0) return;
            var prompt = (double)_t.InputTokens(r);
            if (chunks.Length == 1)
            {
                // Every token came in one chunk: decoded over the span the prompt was prefilled in.
                var span = PrefillSpan(r)!.Value;
                Spread(span.From, span.To, tokens, pieces, intervals, -1, tokens * (prompt + (tokens + 1) / 2.0));
                return;
            }
            var perChunk = tokens / (double)(chunks.Length - 1);
            // Each gap starts where the one before ended: its interval is found by walking on from there. The tokens of
            // chunk k attend to the prompt and the k · perChunk tokens generated before them (about).
            var at = -1;
            for (var k = 1; k < chunks.Length; k++) at = Spread(chunks[k - 1], chunks[k], perChunk, pieces, intervals, at, perChunk * (prompt + k * perChunk));
        }

        /// <summary>
        /// Time in flight per interval, split at the first chunk into the prefill phase (sent → first, into
        /// <paramref name="prefillPhase"/>) and the decode phase (into <paramref name="decodePhase"/>); both cleared first.
        /// </summary>
        public void InFlight(int r, Pieces prefillPhase, Pieces decodePhase, EnergyIntervals intervals)
        {
            prefillPhase.Clear();
            decodePhase.Clear();
            var chunks = _t.Chunks(r);
            var end = double.IsNaN(_t.End[r]) ? (chunks.Length > 0 ? chunks[^1] : _t.Sent[r]) : _t.End[r];
            var first = chunks.Length > 0 ? chunks[0] : end;
            Cut(_t.Sent[r], first, 1, prefillPhase, intervals, -1);
            Cut(first, end, 1, decodePhase, intervals, -1);
        }

        /// <summary>
        /// Spreads <paramref name="amount"/> uniformly over [from, to]; a zero-length span lands in the interval holding it.
        /// Returns the interval of <paramref name="from"/> (or −1), a hint for a later span (<see cref="EnergyIntervals.Find(double, int)"/>).
        /// </summary>
        private static int Spread(double from, double to, double amount, Pieces pieces, EnergyIntervals intervals, int hint, double context = 0)
        {
            if (amount == 0) return hint;
            if (!(to > from))
            {
                var k = intervals.Find(from, hint);
                if (k >= 0 && k < intervals.Count) pieces.Add(k, amount, context);
                return k;
            }
            var length = to - from;
            return Cut(from, to, amount / length, pieces, intervals, hint, context / length);
        }

        /// <summary>
        /// Adds each interval's overlap with [from, to], s, times <paramref name="scale"/> (1 for time itself; × 1 is
        /// exact). Returns the interval of <paramref name="from"/> (at least 0), or <paramref name="hint"/> for an empty span.
        /// </summary>
        private static int Cut(double from, double to, double scale, Pieces pieces, EnergyIntervals intervals, int hint, double contextScale = 0)
        {
            if (!(to > from)) return hint;
            var edges = intervals.Edges;
            var i = Math.Max(0, intervals.Find(from, hint));
            var start = i;
            for (; i < intervals.Count && edges[i] < to; i++)
            {
                var overlap = Math.Min(to, edges[i + 1]) - Math.Max(from, edges[i]);
                if (overlap > 0) pieces.Add(i, overlap * scale, overlap * contextScale);
            }
            return start;
        }
    }

    /// <summary>
    /// A reusable list of (interval, amount, context): what one span leaves in each interval it crosses, in order. For
    /// work, the amount is tokens and the context Σ over those tokens of the tokens each attends to.
    /// </summary>
    internal sealed class Pieces
    {
        private (int Interval, double Amount)[] _items = new (int, double)[256];
        private double[] _context = new double[256];
        private int _count;

        public ReadOnlySpan<(int Interval, double Amount)> All => _items.AsSpan(0, _count);

        public ReadOnlySpan<double> Context => _context.AsSpan(0, _count);

        public void Clear() => _count = 0;

        public void Add(int interval, double amount, double context = 0)
        {
            if (_count == _items.Length)
            {
                Array.Resize(ref _items, _items.Length * 2);
                Array.Resize(ref _context, _items.Length);
            }
            _context[_count] = context;
            _items[_count++] = (interval, amount);
        }
    }
}

/// <summary>
/// The engine's steps as the client saw them. Under continuous batching every running sequence gets one token per
/// step, and a step's tokens leave together, so chunk arrivals come in bursts, one per step: a step ends when its burst
/// starts and begins when the previous one started (or when the prompts it finishes were sent, after an idle gap).
/// </summary>
/// <remarks>
/// <para>Bursts: chunks closer than θ = min(1 ms, ¼ of the median gap between a request's chunks) are one burst. A burst
/// that a slow reader split in two is joined again when the gap is under ¼ of the median gap, no request has chunks in
/// both halves (a request gets one token per step) and no prompt finishing in the second was sent after the first began.
/// Chunks are put in bins of width θ instead of sorted, so the pass is linear in the chunks.</para>
/// <para>Work: a later chunk's (output − 1) ÷ (chunks − 1) tokens are decoded in its step, each reading its context
/// (prompt + tokens so far). A prompt is prefilled by the step of its first chunk, unless that step is too short for it:
/// a step holds at most its duration ÷ τ prefill tokens (τ: the 5th percentile over steps of duration ÷ prompt tokens
/// finishing in it), and the rest goes to the steps before, back to when the request was sent (chunked prefill).</para>
/// </remarks>
internal sealed class EngineSteps
{
    public required double[] From { get; init; }

    public required double[] To { get; init; }

    /// <summary>Prefill and decode tokens processed in the step.</summary>
    public required double[] Tokens { get; init; }

    public required double[] DecodeTokens { get; init; }

    /// <summary>Σ over the step's decode tokens of the context each reads, tokens.</summary>
    public required double[] Context { get; init; }

    /// <summary>Request r's prompt pieces are <c>[PieceStart[r], PieceStart[r + 1])</c> of <see cref="PieceStep"/> and <see cref="PieceTokens"/>.</summary>
    public required int[] PieceStart { get; init; }

    public required int[] PieceStep { get; init; }

    public required double[] PieceTokens { get; init; }

    public int Count => To.Length;

    /// <summary>Most bins of width θ a run may need (1 h at 18 µs); beyond it the split falls back to the two-term one.</summary>
    private const long MaxBins = 200_000_000;

    /// <summary>The step holding the chunk at <paramref name="time"/>: the last whose burst started at or before it.</summary>
    public int StepAt(double time)
    {
        var k = Array.BinarySearch(To, time);
        return Math.Max(0, k >= 0 ? k : ~k - 1);
    }

    /// <summary>As <see cref="StepAt(double)"/>, for a time at or after step <paramref name="from"/>'s (a request's next chunk): a walk, not a search.</summary>
    public int StepAt(double time, int from)
    {
        var k = from;
        while (k + 1 < To.Length && To[k + 1] <= time) k++;
        return k;
    }

    /// <summary>The steps of a run; null when there are too few chunks to see any.</summary>
    public static EngineSteps? Build(RequestTimeline t)
    {
        var gaps = new List<double>();
        double lo = double.PositiveInfinity, hi = double.NegativeInfinity;
        for (var r = 0; r < t.Count; r++)
        {
            var chunks = t.Chunks(r);
            if (chunks.Length == 0) continue;
            lo = Math.Min(lo, chunks[0]);
            hi = Math.Max(hi, chunks[^1]);
            // A sample of gaps is enough for a median.
            if (gaps.Count < 100_000)
            {
                for (var k = 1; k < chunks.Length && k < 64; k++) gaps.Add(chunks[k] - chunks[k - 1]);
            }
        }
        if (gaps.Count == 0) return null;
        gaps.Sort();
        var median = Stats.Percentile(gaps, 0.5);
        var theta = Math.Min(1e-3, median / 4);
        if (!(theta > 0) || !double.IsFinite(hi - lo) || (hi - lo) / theta + 1 > MaxBins) return null;

        // Bins of width θ: chunks in one bin are within θ, so a bin never holds two bursts.
        var bins = (int)((hi - lo) / theta) + 1;
        var first = new double[bins];
        var last = new double[bins];
        Array.Fill(first, double.PositiveInfinity);
        Array.Fill(last, double.NegativeInfinity);
        int Bin(double time) => Math.Min(bins - 1, (int)((time - lo) / theta));
        foreach (var c in t.ChunkTimes.AsSpan(0, t.ChunkStart[t.Count]))
        {
            var b = Bin(c);
            first[b] = Math.Min(first[b], c);
            last[b] = Math.Max(last[b], c);
        }
        var burstOfBin = new int[bins];
        var burstStart = new List<double>();
        var burstEnd = new List<double>();
        for (var b = 0; b < bins; b++)
        {
            if (first[b] == double.PositiveInfinity)
            {
                burstOfBin[b] = -1;
                continue;
            }
            if (burstStart.Count == 0 || first[b] - burstEnd[^1] > theta)
            {
                burstStart.Add(first[b]);
                burstEnd.Add(last[b]);
            }
            else
            {
                burstEnd[^1] = Math.Max(burstEnd[^1], last[b]);
            }
            burstOfBin[b] = burstStart.Count - 1;
        }

        // Bursts a slow reader split: join q + 1 to q unless a request has chunks in both or a prompt of q + 1 was sent after q began.
        var bursts = burstStart.Count;
        var keepApart = new bool[bursts];
        for (var r = 0; r < t.Count; r++)
        {
            var chunks = t.Chunks(r);
            var previous = -1;
            for (var k = 0; k < chunks.Length; k++)
            {
                var q = burstOfBin[Bin(chunks[k])];
                if (k > 0 && previous == q - 1) keepApart[q] = true;
                if (k == 0 && q > 0 && t.Sent[r] >= burstStart[q - 1]) keepApart[q] = true;
                // The burst of chunk k − 1 when chunk k is met.
                previous = q;
            }
        }
        var stepOfBurst = new int[bursts];
        var to = new List<double>();
        for (var q = 0; q < bursts; q++)
        {
            var join = q > 0 && !keepApart[q] && burstStart[q] - burstEnd[q - 1] <= median / 4;
            if (!join) to.Add(burstStart[q]);
            stepOfBurst[q] = to.Count - 1;
        }
        var steps = to.Count;
        var from = new double[steps];
        for (var k = 0; k < steps; k++) from[k] = k > 0 ? to[k - 1] : double.NegativeInfinity;

        // Decode work per step, and where each prompt finishes; a step after an idle gap begins when its prompts were sent.
        var tokens = new double[steps];
        var decode = new double[steps];
        var context = new double[steps];
        var finishing = new double[steps];
        var firstStep = new int[t.Count];
        for (var r = 0; r < t.Count; r++)
        {
            var chunks = t.Chunks(r);
            firstStep[r] = -1;
            if (chunks.Length == 0) continue;
            var prompt = t.InputTokens(r);
            var k0 = stepOfBurst[burstOfBin[Bin(chunks[0])]];
            firstStep[r] = k0;
            finishing[k0] += prompt;
            from[k0] = Math.Max(from[k0], Math.Min(t.Sent[r], to[k0]));
            var decodeTokens = Math.Max(0, t.OutputTokens[r] - 1);
            if (decodeTokens == 0) continue;
            if (chunks.Length == 1)
            {
                // Every token in one chunk: decoded, as far as we can tell, in the step that delivered it.
                decode[k0] += decodeTokens;
                tokens[k0] += decodeTokens;
                context[k0] += decodeTokens * (prompt + decodeTokens / 2.0);
                continue;
            }
            var perChunk = decodeTokens / (double)(chunks.Length - 1);
            for (var k = 1; k < chunks.Length; k++)
            {
                var step = stepOfBurst[burstOfBin[Bin(chunks[k])]];
                decode[step] += perChunk;
                tokens[step] += perChunk;
                context[step] += perChunk * (prompt + k * perChunk);
            }
        }
        for (var k = 0; k < steps; k++)
        {
            if (double.IsNegativeInfinity(from[k])) from[k] = to[k];
        }

        // Prompts fill steps back from their first chunk's, each step holding at most duration ÷ τ prefill tokens.
        var ratios = new List<double>();
        for (var k = 0; k < steps; k++)
        {
            if (finishing[k] > 0 && to[k] > from[k]) ratios.Add((to[k] - from[k]) / finishing[k]);
        }
        ratios.Sort();
        var tau = ratios.Count > 0 ? Stats.Percentile(ratios, 0.05) : 0;
        var used = new double[steps];
        var order = Enumerable.Range(0, t.Count).Where(r => firstStep[r] >= 0 && t.InputTokens(r) > 0).OrderBy(r => t.Chunks(r)[0]).ToList();
        var pieces = new List<(int Request, int Step, double Tokens)>(order.Count);
        foreach (var r in order)
        {
            var left = (double)t.InputTokens(r);
            var k0 = firstStep[r];
            for (var k = k0; k >= 0 && left > 0 && tau > 0; k--)
            {
                if (k < k0 && to[k] <= t.Sent[r]) break;
                var room = Math.Max(0, (to[k] - from[k]) / tau - used[k]);
                var take = Math.Min(left, room);
                if (take <= 0) continue;
                pieces.Add((r, k, take));
                used[k] += take;
                left -= take;
            }
            // What does not fit is still the first chunk's step's: the prompt was done by then.
            if (left > 0) pieces.Add((r, k0, left));
        }
        pieces.Sort((x, y) => x.Request != y.Request ? x.Request.CompareTo(y.Request) : y.Step.CompareTo(x.Step));
        var pieceStart = new int[t.Count + 1];
        foreach (var p in pieces)
        {
            pieceStart[p.Request + 1]++;
            tokens[p.Step] += p.Tokens;
        }
        for (var r = 0; r < t.Count; r++) pieceStart[r + 1] += pieceStart[r];
        return new EngineSteps
        {
            From = from,
            To = [.. to],
            Tokens = tokens,
            DecodeTokens = decode,
            Context = context,
            PieceStart = pieceStart,
            PieceStep = [.. pieces.Select(p => p.Step)],
            PieceTokens = [.. pieces.Select(p => p.Tokens)],
        };
    }

    /// <summary>Calls <paramref name="add"/> with each interval step k overlaps and the share of the step inside it (all of it, for a step of no length).</summary>
    public void Overlaps(int k, EnergyIntervals intervals, Action<int, double> add)
    {
        var (from, to) = (From[k], To[k]);
        if (!(to > from))
        {
            var i = intervals.Find(to);
            if (i >= 0 && i < intervals.Count) add(i, 1);
            return;
        }
        var edges = intervals.Edges;
        for (var i = Math.Max(0, intervals.Find(from)); i < intervals.Count && edges[i] < to; i++)
        {
            var overlap = Math.Min(to, edges[i + 1]) - Math.Max(from, edges[i]);
            if (overlap > 0) add(i, overlap / (to - from));
        }
    }
}

/// <summary>
/// E_i ≈ w·S_i + c·T_i + k·C_i over the meter intervals, each step's terms spread over its span: non-negative least
/// squares without intercept over the seven subsets of the three terms.
/// </summary>
/// <param name="StepJoules">w: energy per step whatever its batch (reading the weights).</param>
/// <param name="TokenJoules">c: energy per token processed, prefill or decode.</param>
/// <param name="ContextJoules">k: energy per context token a decode token reads (its KV cache).</param>
internal sealed record StepFit(double StepJoules, double TokenJoules, double ContextJoules, PhaseCoefficients Coefficients)
{
    /// <summary>The fit; null when no term explains any energy (every coefficient 0).</summary>
    public static StepFit? Fit(EngineSteps steps, EnergyIntervals intervals)
    {
        var n = intervals.Count;
        var x = new double[n, 3];
        for (var k = 0; k < steps.Count; k++)
        {
            if (steps.Tokens[k] <= 0) continue;
            steps.Overlaps(k, intervals, (i, f) =>
            {
                x[i, 0] += f;
                x[i, 1] += f * steps.Tokens[k];
                x[i, 2] += f * steps.Context[k];
            });
        }
        var xx = new double[3, 3];
        var xe = new double[3];
        double ee = 0;
        var used = 0;
        for (var i = 0; i < n; i++)
        {
            var e = intervals.Dynamic(i);
            if (!double.IsFinite(e)) continue;
            used++;
            ee += e * e;
            for (var p = 0; p < 3; p++)
            {
                xe[p] += x[i, p] * e;
                for (var q = 0; q < 3; q++) xx[p, q] += x[i, p] * x[i, q];
            }
        }
        // Every subset of the terms, solved exactly; the best with no negative coefficient is the non-negative fit.
        double[]? best = null;
        double[,]? bestInverse = null;
        var bestRss = double.PositiveInfinity;
        for (var mask = 1; mask < 8; mask++)
        {
            var columns = Enumerable.Range(0, 3).Where(j => (mask >> j & 1) == 1).ToArray();
            var inverse = Invert(xx, columns);
            if (inverse is null) continue;
            var beta = new double[3];
            for (var p = 0; p < columns.Length; p++)
            {
                for (var q = 0; q < columns.Length; q++) beta[columns[p]] += inverse[p, q] * xe[columns[q]];
            }
            if (beta.Any(b => !(b >= 0))) continue;
            var rss = ee;
            for (var p = 0; p < 3; p++)
            {
                rss -= 2 * beta[p] * xe[p];
                for (var q = 0; q < 3; q++) rss += beta[p] * beta[q] * xx[p, q];
            }
            if (rss < bestRss)
            {
                (best, bestRss) = (beta, rss);
                bestInverse = Expand(inverse, columns);
            }
        }
        if (best is null || best.All(b => b == 0)) return null;
        var (w, c, kv) = (best[0], best[1], best[2]);

        // Per-token figures for the record: a prompt token's marginal cost is c; a decode token's, c + k × the mean context.
        double decodeTokens = 0, contextTokens = 0;
        for (var k = 0; k < steps.Count; k++)
        {
            decodeTokens += steps.DecodeTokens[k];
            contextTokens += steps.Context[k];
        }
        var meanContext = decodeTokens > 0 ? contextTokens / decodeTokens : 0;
        var sigma2 = used > 3 ? Math.Max(0, bestRss) / (used - 3) : double.NaN;
        var v = bestInverse!;
        var prefillSe = Math.Sqrt(sigma2 * v[1, 1]);
        var decodeSe = Math.Sqrt(sigma2 * Math.Max(0, v[1, 1] + meanContext * meanContext * v[2, 2] + 2 * meanContext * v[1, 2]));
        var r2 = ee > 0 ? 1 - Math.Max(0, bestRss) / ee : double.NaN;
        return new StepFit(w, c, kv, new PhaseCoefficients(c, c + kv * meanContext, "regression", prefillSe, decodeSe, used, r2));
    }

    /// <summary>
    /// Hands each interval's dynamic energy to the requests working in it by their modelled share of each step, adding
    /// to <paramref name="prefill"/> and <paramref name="decode"/>; returns which intervals had work.
    /// </summary>
    public bool[] Distribute(RequestTimeline t, EngineSteps steps, EnergyIntervals intervals, double[] prefill, double[] decode)
    {
        var n = intervals.Count;
        var modelled = new double[n];
        for (var k = 0; k < steps.Count; k++)
        {
            if (steps.Tokens[k] <= 0) continue;
            var m = Model(k, steps);
            steps.Overlaps(k, intervals, (i, f) => modelled[i] += f * m);
        }
        // Joules measured per joule modelled, for each step: Σ over its intervals of its share × E_i ÷ M_i.
        var scale = new double[steps.Count];
        for (var k = 0; k < steps.Count; k++)
        {
            if (steps.Tokens[k] <= 0) continue;
            steps.Overlaps(k, intervals, (i, f) =>
            {
                if (modelled[i] > 0) scale[k] += f * intervals.Dynamic(i) / modelled[i];
            });
        }
        for (var r = 0; r < t.Count; r++)
        {
            for (var p = steps.PieceStart[r]; p < steps.PieceStart[r + 1]; p++)
            {
                var k = steps.PieceStep[p];
                prefill[r] += scale[k] * steps.PieceTokens[p] * (StepJoules / steps.Tokens[k] + TokenJoules);
            }
            var chunks = t.Chunks(r);
            var decodeTokens = Math.Max(0, t.OutputTokens[r] - 1);
            if (chunks.Length == 0 || decodeTokens == 0) continue;
            var prompt = t.InputTokens(r);
            if (chunks.Length == 1)
            {
                var k = steps.StepAt(chunks[0]);
                decode[r] += scale[k] * decodeTokens * (StepJoules / steps.Tokens[k] + TokenJoules + ContextJoules * (prompt + decodeTokens / 2.0));
                continue;
            }
            var perChunk = decodeTokens / (double)(chunks.Length - 1);
            var step = steps.StepAt(chunks[0]);
            // Summed in a local, not read and written back in the array per chunk: the same additions in the same order.
            var sum = decode[r];
            for (var j = 1; j < chunks.Length; j++)
            {
                step = steps.StepAt(chunks[j], step);
                sum += scale[step] * perChunk * (StepJoules / steps.Tokens[step] + TokenJoules + ContextJoules * (prompt + j * perChunk));
            }
            decode[r] = sum;
        }
        var working = new bool[n];
        for (var i = 0; i < n; i++) working[i] = modelled[i] > 0;
        return working;
    }

    private double Model(int k, EngineSteps steps) => StepJoules + TokenJoules * steps.Tokens[k] + ContextJoules * steps.Context[k];

    /// <summary>The inverse of <paramref name="a"/> restricted to <paramref name="columns"/>; null when singular.</summary>
    private static double[,]? Invert(double[,] a, int[] columns)
    {
        var m = columns.Length;
        var work = new double[m, 2 * m];
        for (var p = 0; p < m; p++)
        {
            for (var q = 0; q < m; q++) work[p, q] = a[columns[p], columns[q]];
            work[p, m + p] = 1;
        }
        for (var c = 0; c < m; c++)
        {
            var pivot = c;
            for (var r = c + 1; r < m; r++)
            {
                if (Math.Abs(work[r, c]) > Math.Abs(work[pivot, c])) pivot = r;
            }
            // Relative to the diagonal: a column that is (nearly) a multiple of another leaves the subset singular.
            if (!(Math.Abs(work[pivot, c]) > 1e-12 * Math.Abs(a[columns[c], columns[c]])) || work[pivot, c] == 0) return null;
            for (var q = 0; q < 2 * m; q++) (work[c, q], work[pivot, q]) = (work[pivot, q], work[c, q]);
            for (var r = 0; r < m; r++)
            {
                if (r == c) continue;
                var f = work[r, c] / work[c, c];
                for (var q = 0; q < 2 * m; q++) work[r, q] -= f * work[c, q];
            }
        }
        var inverse = new double[m, m];
        for (var p = 0; p < m; p++)
        {
            for (var q = 0; q < m; q++) inverse[p, q] = work[p, m + q] / work[p, p];
        }
        return inverse;
    }

    /// <summary>A subset's inverse placed in the full 3 × 3 (zeros for the terms held at 0).</summary>
    private static double[,] Expand(double[,] inverse, int[] columns)
    {
        var full = new double[3, 3];
        for (var p = 0; p < columns.Length; p++)
        {
            for (var q = 0; q < columns.Length; q++) full[columns[p], columns[q]] = inverse[p, q];
        }
        return full;
    }
}
