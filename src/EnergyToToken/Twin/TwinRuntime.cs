using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;

using EnergyToToken.Load;

namespace EnergyToToken.Twin;

/// <summary>
/// Runs the twin's engine in real time on its own thread: each step lasts what the physical model says, the power
/// ledger records it as it starts, and its tokens go to their sinks when it ends. Requests and aborts come from other
/// threads through queues; everything the engine owns stays on its thread.
/// </summary>
internal sealed partial class TwinRuntime : IDisposable
{
    /// <summary>When the thread wakes this late after a step, the next step starts now rather than at the step's end, so a stall of the host is not compressed into a burst of steps.</summary>
    private const double MaxCatchUpSeconds = 0.05;

    private readonly TwinEngine _engine;
    private readonly TwinDeployment _deployment;
    private readonly ConcurrentQueue<TwinSequence> _incoming = new();
    private readonly ConcurrentQueue<TwinSequence> _aborts = new();
    private readonly AutoResetEvent _wake = new(false);
    private readonly Thread _thread;
    private readonly long _origin = Stopwatch.GetTimestamp();
    private volatile bool _stopping;
    private long _submitted;
    private long _left;
    private int _waiting;

    public TwinRuntime(TwinDeployment deployment)
    {
        _deployment = deployment;
        _engine = new TwinEngine(deployment, TokenText.Instance.Vocabulary);
        Ledger = new PowerLedger(deployment.Step.IdleWatts, bounded: true);
        _thread = new Thread(Run) { IsBackground = true, Name = "e2t twin engine" };
        _thread.Start();
    }

    public PowerLedger Ledger { get; }

    /// <summary>The twin's zero, a <see cref="Stopwatch.GetTimestamp"/> value: its clock is the monotonic clock meters use.</summary>
    public long Origin => _origin;

    /// <summary>Seconds since the twin started.</summary>
    public double Now => (Stopwatch.GetTimestamp() - _origin) / (double)Stopwatch.Frequency;

    public double SecondsAt(long timestamp) => (timestamp - _origin) / (double)Stopwatch.Frequency;

    public int Running { get; private set; }

    /// <summary>Requests waiting for admission, including those not yet seen by the engine.</summary>
    public int Waiting => Volatile.Read(ref _waiting);

    public double KvUsage { get; private set; }

    public long Preemptions { get; private set; }

    public long PrefixHitTokens { get; private set; }

    public long PrefixQueryTokens { get; private set; }

    public long Steps { get; private set; }


    /// <summary>How late each step's tokens reached their writers after the step's simulated end, s.</summary>
    public Histogram Lateness { get; } = new("e2t_twin_step_lateness_seconds",
        "How late a step's tokens were handed to their streams after the step's simulated end (engine thread wake-up and bookkeeping).",
        [0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1]);

    /// <summary>True once the runtime is stopping: it takes no new requests.</summary>
    public bool Stopping => _stopping;

    /// <summary>Queues a sequence; false when the waiting queue is full (the caller answers 429) or the runtime is stopping.</summary>
    public bool TrySubmit(TwinSequence sequence)
    {
        if (_stopping) return false;
        // Admission control counts requests not yet admitted: submitted here, minus those the engine has let go.
        if (Interlocked.Increment(ref _submitted) - Volatile.Read(ref _left) > _deployment.Profile.Engine.MaxWaiting)
        {
            Interlocked.Decrement(ref _submitted);
            return false;
        }
        _incoming.Enqueue(sequence);
        _wake.Set();
        return true;
    }

    /// <summary>Stops a sequence at the next step boundary and frees its cache (the client went away).</summary>
    public void Abort(TwinSequence sequence)
    {
        _aborts.Enqueue(sequence);
        _wake.Set();
    }

    public void Dispose()
    {
        _stopping = true;
        _wake.Set();
        _thread.Join();
        _wake.Dispose();
    }

    private void Run()
    {
        RaisePriority();
        var t = Now;
        while (!_stopping)
        {
            while (_incoming.TryDequeue(out var sequence)) _engine.Add(sequence);
            while (_aborts.TryDequeue(out var sequence)) _engine.Abort(sequence, t);
            Publish();
            if (!_engine.HasWork)
            {
                _wake.WaitOne();
                t = Math.Max(t, Now);
                continue;
            }
            _engine.TryPlan(out var cost);
            Volatile.Write(ref _left, _engine.LeftQueue);
            Ledger.Step(t, cost.Seconds, cost.Watts, StepModel.ComputeActivity(cost));
            var end = t + cost.Seconds;
            SleepUntil(end);
            _engine.Complete(end);
            Steps++;
            var late = Now - end;
            Lateness.Observe(late);
            t = late > MaxCatchUpSeconds ? Now : end;
        }
        // Shutting down: everything still queued or running ends as aborted, so its ground truth is committed.
        while (_incoming.TryDequeue(out var queued)) _engine.Add(queued);
        _engine.AbortAll(Math.Max(t, Now));
    }

    private void Publish()
    {
        Running = _engine.RunningCount;
        Volatile.Write(ref _waiting, _engine.WaitingCount + _incoming.Count);
        Volatile.Write(ref _left, _engine.LeftQueue);
        KvUsage = _engine.KvUsage;
        Preemptions = _engine.Preemptions;
        PrefixHitTokens = _engine.PrefixHitTokens;
        PrefixQueryTokens = _engine.PrefixQueryTokens;
    }

    /// <summary>Sleeps to a point on the twin's clock with nanosleep: Thread.Sleep rounds to whole milliseconds, too coarse for 5 ms steps.</summary>
    private void SleepUntil(double seconds)
    {
        while (true)
        {
            var remaining = seconds - Now;
            if (remaining <= 0) return;
            var spec = new TimeSpec { Seconds = (long)remaining, Nanoseconds = (long)((remaining - Math.Floor(remaining)) * 1e9) };
            NanoSleep(ref spec, IntPtr.Zero);
        }
    }

    /// <summary>
    /// Asks Linux to favour the engine thread (nice −10), so a burst of stream writers after a step does not delay the
    /// next step's end. Needs CAP_SYS_NICE (root has it); without it the thread keeps normal priority, and under heavy
    /// streaming load on a small machine tokens leave later than the model says (measured in docs/benchmarks.md).
    /// </summary>
    private static void RaisePriority()
    {
        try
        {
            _ = SetPriority(0, GetThreadId(), -10);
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            // Not Linux (or no gettid): normal priority.
        }
    }

    [LibraryImport("libc", EntryPoint = "gettid")]
    private static partial int GetThreadId();

    [LibraryImport("libc", EntryPoint = "setpriority")]
    private static partial int SetPriority(int which, int who, int priority);

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "nanosleep")]
    private static partial int NanoSleep(ref TimeSpec request, IntPtr remaining);
}
