namespace EnergyToToken.Twin;

/// <summary>Why a sequence stopped, as OpenAI's <c>finish_reason</c> spells it (abort: the client went away).</summary>
public enum FinishReason
{
    Stop,
    Length,
    Abort,
}

/// <summary>Receives a sequence's tokens as the engine produces them; called on the engine's thread, must not block.</summary>
internal interface ITokenSink
{
    /// <summary>A token was sampled at the end of the step that ended at <paramref name="engineSeconds"/>.</summary>
    void OnToken(int tokenId, double engineSeconds);

    void OnFinish(FinishReason reason, double engineSeconds);
}

/// <summary>
/// What the twin knows exactly about one request: its energy by phase (its share of every step's dynamic energy) and,
/// when a server wrote it, the time each token reached the socket. For validation only: no meter may read it.
/// </summary>
public sealed class RequestTruth
{
    public required long Id { get; init; }

    /// <summary>When the request reached the engine, seconds on the twin's clock.</summary>
    public required double ArrivalSeconds { get; init; }

    public required int PromptTokens { get; init; }

    /// <summary>Prompt tokens served from the prefix cache at admission (no prefill work).</summary>
    public int CachedPromptTokens { get; internal set; }

    public int OutputTokens { get; internal set; }

    public int ReasoningTokens { get; init; }

    /// <summary>Dynamic energy of its prefill work, J (including recomputation after preemption).</summary>
    public double PrefillJoules { get; internal set; }

    /// <summary>Dynamic energy of its decode steps, J.</summary>
    public double DecodeJoules { get; internal set; }

    public int Preemptions { get; internal set; }

    public FinishReason? Finish { get; internal set; }

    /// <summary>When the engine produced each token, seconds on the twin's clock.</summary>
    public List<double> SampledSeconds { get; } = [];

    /// <summary>When each token's bytes were flushed to the socket, seconds on the twin's clock; empty outside the server.</summary>
    public List<double> WrittenSeconds { get; } = [];

    public double Joules => PrefillJoules + DecodeJoules;
}

/// <summary>One request inside the engine: its tokens, its KV blocks, and its progress.</summary>
internal sealed class TwinSequence
{
    private readonly List<int> _output = [];
    private TwinRandom _random;

    public TwinSequence(RequestTruth truth, int[] prompt, int outputTokens, bool endsNaturally, ulong seed, ITokenSink sink)
    {
        Truth = truth;
        Prompt = prompt;
        TargetOutput = outputTokens;
        EndsNaturally = endsNaturally;
        _random = new TwinRandom(seed);
        Sink = sink;
    }

    public RequestTruth Truth { get; }

    public int[] Prompt { get; }

    /// <summary>Tokens it will emit in all.</summary>
    public int TargetOutput { get; }

    /// <summary>True when it stops at the target on its own (finish "stop"), false when max_tokens cuts it ("length").</summary>
    public bool EndsNaturally { get; }

    public ITokenSink Sink { get; }

    public List<int> Blocks { get; } = [];

    /// <summary>Tokens whose KV is in the cache.</summary>
    public int Computed { get; set; }

    /// <summary>Full blocks whose prefix hash is registered with the cache.</summary>
    public int HashedBlocks { get; set; }

    public ulong LastHash { get; set; }

    public bool Running { get; set; }

    /// <summary>Preempted and not yet caught up: its next computed tokens, even a single one, are prefill work.</summary>
    public bool Recomputing { get; set; }

    public bool Finished { get; set; }

    /// <summary>Whether it has ever been admitted (the first admission decides the cached-prompt count).</summary>
    public bool Admitted { get; set; }

    public int OutputCount => _output.Count;

    /// <summary>Tokens with known ids: prompt plus output so far.</summary>
    public int Known => Prompt.Length + _output.Count;

    public int TokenAt(int index) => index < Prompt.Length ? Prompt[index] : _output[index - Prompt.Length];

    public void CopyTokens(int start, Span<int> destination)
    {
        for (var i = 0; i < destination.Length; i++) destination[i] = TokenAt(start + i);
    }

    public void Append(int token) => _output.Add(token);

    /// <summary>The next number of this sequence's own stream: its text depends only on its seed.</summary>
    public ulong NextRandom() => _random.Next();
}
