namespace EnergyToToken.Twin;

/// <summary>One sequence's part of a step: how many of its tokens it processes, and whether that is prefill.</summary>
internal readonly record struct ScheduledChunk(TwinSequence Sequence, int Tokens, bool Prefill, StepWork Work);

/// <summary>
/// The engine of the twin, in the style of vLLM's scheduler: a waiting queue, a running batch, paged KV blocks with
/// prefix caching, chunked prefill (V1) or separate prefill and decode steps (V0), and preemption by recomputation
/// when the cache is full. It is driven by a clock it does not own (real time in the server, virtual time in the
/// simulator) and is not thread-safe: one thread calls it.
/// </summary>
internal sealed class TwinEngine
{
    private readonly TwinDeployment _deployment;
    private readonly KvCache _cache;
    private readonly int _blockTokens;
    private readonly LinkedList<TwinSequence> _waiting = new();
    private readonly List<TwinSequence> _running = [];
    private readonly List<ScheduledChunk> _plan = [];
    private StepWork _step;
    private StepCost _cost;
    private readonly int[] _vocabulary;
    private readonly int[] _scratch;
    private readonly List<ulong> _hits = [];

    public TwinEngine(TwinDeployment deployment, int[] vocabulary)
    {
        _deployment = deployment;
        _blockTokens = deployment.Profile.Engine.BlockTokens;
        _cache = new KvCache(deployment.KvBlocks, deployment.Profile.Engine.PrefixCache);
        _vocabulary = vocabulary;
        _scratch = new int[_blockTokens];
    }

    public TwinDeployment Deployment => _deployment;

    public int RunningCount => _running.Count;

    public int WaitingCount => _waiting.Count;

    /// <summary>Requests that have left the queue for good: admitted for the first time, or aborted before that.</summary>
    public long LeftQueue { get; private set; }

    public double KvUsage => _cache.Usage;

    public long Preemptions { get; private set; }

    public long PrefixHitTokens { get; private set; }

    public long PrefixQueryTokens { get; private set; }

    public bool HasWork => _running.Count > 0 || _waiting.Count > 0;

    /// <summary>The planned step's chunks (until the next <see cref="TryPlan"/>).</summary>
    public IReadOnlyList<ScheduledChunk> Plan => _plan;

    public void Add(TwinSequence sequence) => _waiting.AddLast(sequence);

    /// <summary>Stops a sequence wherever it is (the client went away) and frees its blocks.</summary>
    public void Abort(TwinSequence sequence, double now)
    {
        if (sequence.Finished) return;
        if (sequence.Running) _running.Remove(sequence);
        else _waiting.Remove(sequence);
        if (!sequence.Admitted) LeftQueue++;
        Finish(sequence, FinishReason.Abort, now);
    }

    /// <summary>
    /// Chooses the next step's work and prices it with the step model; false when there is nothing to run. The step
    /// is ended by <see cref="Complete"/>.
    /// </summary>
    public bool TryPlan(out StepCost cost)
    {
        _plan.Clear();
        if (_deployment.Profile.Engine.ChunkedPrefill) ScheduleMixed();
        else if (!SchedulePrefillOnly()) ScheduleDecodeOnly();
        if (_plan.Count == 0)
        {
            // A profile's cache holds its longest request and its budget its longest prompt (TwinDeployment checks
            // both), so work that cannot be scheduled is a bug in the engine.
            if (HasWork) throw new InvalidOperationException("The twin's scheduler has work but scheduled none; this is a bug in the twin.");
            cost = default;
            return false;
        }
        _step = default;
        foreach (var chunk in _plan) _step += chunk.Work;
        _cost = cost = _deployment.Step.Cost(_step);
        return true;
    }

    /// <summary>
    /// Ends the planned step at <paramref name="end"/>: charges each sequence its share of the step's dynamic energy,
    /// records the new KV, samples a token for every sequence that reached the end of its known tokens, and finishes
    /// those that are done.
    /// </summary>
    public void Complete(double end)
    {
        var model = _deployment.Step;
        foreach (var chunk in _plan)
        {
            var sequence = chunk.Sequence;
            var joules = _cost.DynamicJoules * model.Share(_cost, _step, chunk.Work);
            if (chunk.Prefill) sequence.Truth.PrefillJoules += joules;
            else sequence.Truth.DecodeJoules += joules;
            sequence.Computed += chunk.Tokens;
            RegisterFullBlocks(sequence);
            if (sequence.Computed < sequence.Known) continue; // a prompt chunk that is not the last
            var token = _vocabulary[(int)(sequence.NextRandom() % (ulong)_vocabulary.Length)];
            sequence.Append(token);
            sequence.Recomputing = false;
            sequence.Truth.OutputTokens = sequence.OutputCount;
            sequence.Truth.SampledSeconds.Add(end);
            sequence.Sink.OnToken(token, end);
            if (sequence.OutputCount >= sequence.TargetOutput)
            {
                _running.Remove(sequence);
                Finish(sequence, sequence.EndsNaturally ? FinishReason.Stop : FinishReason.Length, end);
            }
        }
    }

    /// <summary>Stops every sequence (the server is shutting down), so each one's ground truth is committed.</summary>
    public void AbortAll(double now)
    {
        while (_running.Count > 0) Abort(_running[^1], now);
        while (_waiting.First is { } node) Abort(node.Value, now);
    }

    /// <summary>V1: running sequences first (a decode token or the next prompt chunk), then admissions, within the token budget.</summary>
    private void ScheduleMixed()
    {
        var budget = _deployment.MaxBatchedTokens;
        var preempted = false;
        for (var i = 0; i < _running.Count && budget > 0; i++)
        {
            var sequence = _running[i];
            var tokens = Math.Min(sequence.Known - sequence.Computed, budget);
            if (!Reserve(sequence, tokens, ref preempted)) break; // it was preempted itself
            budget -= tokens;
            _plan.Add(Chunk(sequence, tokens));
        }
        if (preempted) return; // as vLLM: no admissions in a step that had to preempt
        while (budget > 0 && _waiting.First is { } node && _running.Count < _deployment.Profile.Engine.MaxSequences)
        {
            var sequence = node.Value;
            if (!Admit(sequence, budget, out var tokens)) break;
            _waiting.RemoveFirst();
            _running.Add(sequence);
            budget -= tokens;
            _plan.Add(Chunk(sequence, tokens));
        }
    }

    /// <summary>V0 without chunking: a step of whole prompts when any can be admitted.</summary>
    private bool SchedulePrefillOnly()
    {
        var budget = _deployment.MaxBatchedTokens;
        while (_waiting.First is { } node && _running.Count < _deployment.Profile.Engine.MaxSequences)
        {
            var sequence = node.Value;
            if (!Admit(sequence, budget, out var tokens)) break;
            _waiting.RemoveFirst();
            _running.Add(sequence);
            budget -= tokens;
            _plan.Add(Chunk(sequence, tokens));
        }
        return _plan.Count > 0;
    }

    private void ScheduleDecodeOnly()
    {
        var preempted = false;
        for (var i = 0; i < _running.Count; i++)
        {
            var sequence = _running[i];
            if (!Reserve(sequence, 1, ref preempted)) break;
            _plan.Add(Chunk(sequence, 1));
        }
    }

    private static ScheduledChunk Chunk(TwinSequence sequence, int tokens)
    {
        // Decode: one token after the first output, attending to everything before it. Anything else is prefill work
        // (the prompt, or prompt and output recomputed after preemption).
        var decode = tokens == 1 && !sequence.Recomputing && sequence.Computed >= sequence.Prompt.Length;
        var work = decode ? StepWork.Decode(1, sequence.Computed + 1.0) : StepWork.Prefill(tokens, sequence.Computed);
        return new ScheduledChunk(sequence, tokens, !decode, work);
    }

    /// <summary>Blocks for a running sequence's next tokens, preempting the newest running sequences while short.</summary>
    private bool Reserve(TwinSequence sequence, int tokens, ref bool preempted)
    {
        var needed = BlocksFor(sequence.Computed + tokens) - sequence.Blocks.Count;
        while (_cache.FreeBlocks < needed)
        {
            var victim = _running[^1];
            Preempt(victim);
            preempted = true;
            if (victim == sequence) return false;
        }
        for (var b = 0; b < needed; b++) sequence.Blocks.Add(_cache.Allocate());
        return true;
    }

    /// <summary>Admits a waiting sequence if the cache holds its prefix hits plus blocks for its first chunk.</summary>
    private bool Admit(TwinSequence sequence, int budget, out int tokens)
    {
        // Prefix hits: full blocks of known tokens, leaving at least one token to compute so the step samples.
        var hits = 0;
        var hash = 0UL;
        var revived = 0;
        var hashes = _hits;
        hashes.Clear();
        while ((hits + 1) * _blockTokens <= sequence.Known - 1)
        {
            sequence.CopyTokens(hits * _blockTokens, _scratch);
            var next = KvCache.Chain(hash, _scratch);
            if (!_cache.Contains(next)) break;
            if (_cache.IsFree(next)) revived++;
            hashes.Add(next);
            hash = next;
            hits++;
        }
        var computed = hits * _blockTokens;
        var remaining = sequence.Known - computed;
        tokens = Math.Min(remaining, budget);
        if (!_deployment.Profile.Engine.ChunkedPrefill && tokens < remaining) return false;
        var needed = BlocksFor(computed + tokens) - hits;
        if (_cache.FreeBlocks - revived < needed) return false;
        foreach (var h in hashes) sequence.Blocks.Add(_cache.Hit(h));
        for (var b = 0; b < needed; b++) sequence.Blocks.Add(_cache.Allocate());
        sequence.Computed = computed;
        sequence.HashedBlocks = hits;
        sequence.LastHash = hash;
        sequence.Running = true;
        if (!sequence.Admitted)
        {
            sequence.Admitted = true;
            LeftQueue++;
            sequence.Truth.CachedPromptTokens = Math.Min(computed, sequence.Prompt.Length);
            PrefixHitTokens += Math.Min(computed, sequence.Prompt.Length);
            PrefixQueryTokens += sequence.Prompt.Length;
        }
        return true;
    }

    /// <summary>Recompute preemption: the sequence frees its blocks and goes to the front of the queue.</summary>
    private void Preempt(TwinSequence sequence)
    {
        _running.Remove(sequence);
        ReleaseBlocks(sequence);
        sequence.Running = false;
        sequence.Recomputing = true;
        sequence.Truth.Preemptions++;
        Preemptions++;
        _waiting.AddFirst(sequence);
    }

    private void Finish(TwinSequence sequence, FinishReason reason, double now)
    {
        ReleaseBlocks(sequence);
        sequence.Running = false;
        sequence.Finished = true;
        sequence.Truth.Finish = reason;
        sequence.Sink.OnFinish(reason, now);
    }

    private void ReleaseBlocks(TwinSequence sequence)
    {
        // Newest blocks first, so the oldest prefix blocks stay cached longest (vLLM frees in reverse order).
        for (var b = sequence.Blocks.Count - 1; b >= 0; b--) _cache.Release(sequence.Blocks[b]);
        sequence.Blocks.Clear();
        sequence.Computed = 0;
        sequence.HashedBlocks = 0;
        sequence.LastHash = 0;
    }

    private void RegisterFullBlocks(TwinSequence sequence)
    {
        while ((sequence.HashedBlocks + 1) * _blockTokens <= sequence.Computed)
        {
            sequence.CopyTokens(sequence.HashedBlocks * _blockTokens, _scratch);
            sequence.LastHash = KvCache.Chain(sequence.LastHash, _scratch);
            _cache.Register(sequence.Blocks[sequence.HashedBlocks], sequence.LastHash);
            sequence.HashedBlocks++;
        }
    }

    private int BlocksFor(int tokens) => (tokens + _blockTokens - 1) / _blockTokens;
}
