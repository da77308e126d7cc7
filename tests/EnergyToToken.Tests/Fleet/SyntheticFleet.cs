using System.Globalization;

namespace EnergyToToken.Tests.Fleet;

/// <summary>
/// A synthetic serving fleet, deterministic (no randomness): each serving instance's vLLM token counters and each of its
/// GPUs' DCGM exporter series, sampled every <see cref="Interval"/> over <see cref="Duration"/> from
/// <see cref="Start"/>, written as OpenMetrics text for <c>promtool tsdb create-blocks-from openmetrics</c>, and the
/// exact totals that text holds, from the same model, for tests to compare with.
/// </summary>
/// <remarks>
/// <para>
/// The model, in sixths of the range (interval k = 1..n ends at sample k; sample 0 is the start): quiet (no tokens,
/// GPUs at <see cref="IdleWatts"/>); a ramp to 90 % load; busy for two sixths, 96–98 % load, so that the GPUs draw
/// close to <see cref="PeakWatts"/> (the default fleet's six GPUs about 4,050 W, 4,860 W at a PUE of 1.2: near a
/// 5,000 W budget); then chat light (25 %) while batch runs prefill-heavy (50 % load, SM activity
/// 0.97: compute, not power); then quiet again. Elsewhere SM activity is 0.85 × load.
/// </para>
/// <para>
/// The instance <see cref="RestartingInstance"/> restarts in the middle of the busy stretch: its token counters start
/// again from zero (a counter reset). <see cref="PowerOnlyGpu"/> exports power and SM activity but no energy counter,
/// so its energy is power × step. Power is in tenths of a watt and the energy counter rises by exactly power ×
/// interval, so the power × step fallback and the counter agree: every GPU's energy is Σ P(k) · interval.
/// </para>
/// <para>
/// The series are written family by family, series by series, sample by sample, computed as they are written, so a large
/// fleet (1,000 GPUs over a day at 15 s) streams without being held in memory.
/// </para>
/// </remarks>
internal sealed record SyntheticFleet
{
    /// <summary>A GPU's draw with no load, W.</summary>
    public const double IdleWatts = 70;

    /// <summary>A GPU's draw at full load, W (an H100 SXM's power limit).</summary>
    public const double PeakWatts = 700;

    /// <summary>The first sample's time. Default: 2026-01-05T00:00:00Z.</summary>
    public DateTimeOffset Start { get; init; } = new(2026, 1, 5, 0, 0, 0, TimeSpan.Zero);

    /// <summary>From the first sample to the last. Default: 30 minutes.</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>The scrape interval: one sample of every series each interval. Default: 15 s.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Serving instances. Default: 3.</summary>
    public int Instances { get; init; } = 3;

    /// <summary>GPUs per instance (tensor parallel: they share its load). Default: 2.</summary>
    public int GpusPerInstance { get; init; } = 2;

    /// <summary>The pool label's values; instance i is in pool i mod their count. Default: chat, batch.</summary>
    public IReadOnlyList<string> Pools { get; init; } = ["chat", "batch"];

    /// <summary>The instance whose vLLM restarts mid-range (its counters reset); null for none. Default: 1.</summary>
    public int? RestartingInstance { get; init; } = 1;

    /// <summary>The (instance, GPU) that exports power and SM activity but no energy counter; null for none. Default: (2, 1).</summary>
    public (int Instance, int Gpu)? PowerOnlyGpu { get; init; } = (2, 1);

    /// <summary>Intervals from the first sample to the last: n.</summary>
    public int Steps => checked((int)(Duration.Ticks / Interval.Ticks));

    public double StartSeconds => Start.ToUnixTimeMilliseconds() / 1000.0;

    public double EndSeconds => StartSeconds + Steps * Interval.TotalSeconds;

    public static string Instance(int i) => $"serve-{i}:8000";

    public string Pool(int i) => Pools[i % Pools.Count];

    /// <summary>A UUID in nvidia-smi's form, fixed by the instance and GPU.</summary>
    public static string Uuid(int i, int g) => $"GPU-5e2f{i:x4}-{g:x4}-4e2b-8c00-{i * 1000 + g:x12}";

    public bool HasEnergyCounter(int i, int g) => PowerOnlyGpu != (i, g);

    /// <summary>Every problem with the parameters at once; empty when the fleet can be written.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (Instances < 1) problems.Add($"Instances must be at least 1 (was {Instances}).");
        if (GpusPerInstance < 1) problems.Add($"GpusPerInstance must be at least 1 (was {GpusPerInstance}).");
        if (Pools.Count == 0) problems.Add("Pools must name at least one pool.");
        if (Interval <= TimeSpan.Zero || Interval.Ticks % TimeSpan.TicksPerMillisecond != 0) problems.Add($"Interval must be a positive whole number of milliseconds (was {Interval}).");
        else if (Duration.Ticks % Interval.Ticks != 0 || Duration < 6 * Interval) problems.Add($"Duration must be a multiple of Interval and at least six of them (was {Duration} at {Interval}).");
        if (Start.Ticks % TimeSpan.TicksPerMillisecond != 0) problems.Add("Start must be a whole millisecond.");
        return problems;
    }

    /// <summary>Writes the fleet as OpenMetrics text, ending with <c># EOF</c>.</summary>
    public void Write(TextWriter writer)
    {
        var problems = Validate();
        if (problems.Count > 0) throw new ArgumentException(string.Join(" ", problems));
        writer.NewLine = "\n";
        var timestamps = Enumerable.Range(0, Steps + 1).Select(Timestamp).ToArray();

        Family(writer, "vllm:prompt_tokens", "counter", "Number of prefill tokens processed.");
        for (var i = 0; i < Instances; i++) Counter(writer, $"vllm:prompt_tokens_total{{{VllmLabels(i)}}}", timestamps, PromptStart(i), k => Tokens(i, k).Prompt, Resets(i));
        Family(writer, "vllm:generation_tokens", "counter", "Number of generation tokens processed.");
        for (var i = 0; i < Instances; i++) Counter(writer, $"vllm:generation_tokens_total{{{VllmLabels(i)}}}", timestamps, OutputStart(i), k => Tokens(i, k).Output, Resets(i));

        Family(writer, "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "counter", "Total energy consumption since boot (in mJ).");
        for (var i = 0; i < Instances; i++)
        {
            for (var g = 0; g < GpusPerInstance; g++)
            {
                if (!HasEnergyCounter(i, g)) continue;
                var (ii, gg) = (i, g);
                Counter(writer, $"DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{{{DcgmLabels(i, g)}}}", timestamps, EnergyStart(i, g), k => MilliJoules(ii, gg, k), resetAt: -1);
            }
        }
        Family(writer, "DCGM_FI_DEV_POWER_USAGE", "gauge", "Power draw (in W).");
        for (var i = 0; i < Instances; i++)
            for (var g = 0; g < GpusPerInstance; g++)
                Gauge(writer, $"DCGM_FI_DEV_POWER_USAGE{{{DcgmLabels(i, g)}}}", timestamps, k => DeciWatts(i, g, k) / 10.0);
        Family(writer, "DCGM_FI_PROF_SM_ACTIVE", "gauge", "Ratio of cycles an SM has at least 1 warp assigned (in %).");
        for (var i = 0; i < Instances; i++)
            for (var g = 0; g < GpusPerInstance; g++)
                Gauge(writer, $"DCGM_FI_PROF_SM_ACTIVE{{{DcgmLabels(i, g)}}}", timestamps, k => Phase(i, k).Sm);
        writer.WriteLine("# EOF");
    }

    /// <summary>Each instance's tokens over the range (counter increases, the reset's new count included): exact.</summary>
    public IReadOnlyList<InstanceTotals> ExpectedInstances() =>
        [.. Enumerable.Range(0, Instances).Select(i => new InstanceTotals(Instance(i), Pool(i),
            Enumerable.Range(1, Steps).Sum(k => Tokens(i, k).Prompt), Enumerable.Range(1, Steps).Sum(k => Tokens(i, k).Output)))];

    /// <summary>Each GPU's energy over the range, J: Σ P(k) · interval, as its counter rose or as power × step gives it.</summary>
    public IReadOnlyList<GpuTotals> ExpectedGpus() =>
        [.. from i in Enumerable.Range(0, Instances)
            from g in Enumerable.Range(0, GpusPerInstance)
            select new GpuTotals(Instance(i), Uuid(i, g), HasEnergyCounter(i, g), Enumerable.Range(1, Steps).Sum(k => MilliJoules(i, g, k)) / 1000)];

    private string VllmLabels(int i) => $"instance=\"{Instance(i)}\",job=\"vllm\",model_name=\"llama-3.1-8b\",pool=\"{Pool(i)}\"";

    private static string DcgmLabels(int i, int g) =>
        $"Hostname=\"serve-{i}\",UUID=\"{Uuid(i, g)}\",device=\"nvidia{g}\",gpu=\"{g}\",instance=\"{Instance(i)}\",job=\"dcgm\",modelName=\"NVIDIA H100 80GB HBM3\"";

    private static long PromptStart(int i) => 3_000_000L * (i + 1);

    private static long OutputStart(int i) => 1_000_000L * (i + 1);

    private long EnergyStart(int i, int g) => 5_000_000_000L + 100_000_000L * (i * GpusPerInstance + g);

    /// <summary>The interval after whose start the instance's counters begin again from zero; -1 when it does not restart.</summary>
    private int Resets(int i) => RestartingInstance == i ? Steps / 2 + 1 : -1;

    /// <summary>The instance's load (0–1) and its GPUs' SM activity in interval k (k ≤ 0: before the range, quiet).</summary>
    private (double Load, double Sm) Phase(int i, int k)
    {
        if (k <= 0) return (0, 0);
        var n = Steps;
        var sixth = (int)((k - 1L) * 6 / n);
        var from = sixth * n / 6;
        var to = (sixth + 1) * n / 6;
        var batch = Pool(i) != Pools[0];
        var (load, sm) = sixth switch
        {
            1 => (0.9 * (k - from) / (to - from), double.NaN),
            2 or 3 => (0.96 + 0.01 * ((k + i) % 3), double.NaN),
            4 => batch ? (0.5, 0.97) : (0.25, double.NaN),
            _ => (0.0, double.NaN),
        };
        return (load, double.IsNaN(sm) ? Math.Round(0.85 * load, 3) : sm);
    }

    private (long Prompt, long Output) Tokens(int i, int k)
    {
        var batch = Pool(i) != Pools[0];
        var output = (long)Math.Round((batch ? 1_600 : 2_400) * Phase(i, k).Load * Interval.TotalSeconds);
        return ((long)Math.Round(output * (batch ? 6 : 1.5)), output);
    }

    /// <summary>Power in tenths of a watt, so that power × interval is exact in mJ.</summary>
    private long DeciWatts(int i, int g, int k) =>
        (long)Math.Round(10 * (IdleWatts + (PeakWatts - IdleWatts) * Phase(i, k).Load * (1 - 0.02 * g)));

    private double MilliJoules(int i, int g, int k) => DeciWatts(i, g, k) * 100.0 * Interval.TotalSeconds;

    /// <summary>Seconds since the epoch as OpenMetrics writes timestamps: decimal seconds, here whole milliseconds.</summary>
    private string Timestamp(int k)
    {
        var ms = Start.ToUnixTimeMilliseconds() + k * (long)Interval.TotalMilliseconds;
        return ms % 1000 == 0
            ? (ms / 1000).ToString(CultureInfo.InvariantCulture)
            : (ms / 1000.0).ToString("0.###", CultureInfo.InvariantCulture);
    }

    private static void Family(TextWriter writer, string name, string type, string help)
    {
        writer.WriteLine($"# TYPE {name} {type}");
        writer.WriteLine($"# HELP {name} {help}");
    }

    private void Counter(TextWriter writer, string series, string[] timestamps, double start, Func<int, double> increase, int resetAt)
    {
        var value = start;
        for (var k = 0; k <= Steps; k++)
        {
            if (k == resetAt) value = 0;
            if (k > 0) value += increase(k);
            Sample(writer, series, value, timestamps[k]);
        }
    }

    private void Gauge(TextWriter writer, string series, string[] timestamps, Func<int, double> value)
    {
        for (var k = 0; k <= Steps; k++) Sample(writer, series, value(k), timestamps[k]);
    }

    private static void Sample(TextWriter writer, string series, double value, string timestamp)
    {
        writer.Write(series);
        writer.Write(' ');
        writer.Write(value.ToString("R", CultureInfo.InvariantCulture));
        writer.Write(' ');
        writer.WriteLine(timestamp);
    }
}

/// <summary>One instance's tokens over the synthetic fleet's range.</summary>
internal sealed record InstanceTotals(string Instance, string Pool, long PromptTokens, long OutputTokens);

/// <summary>One GPU's energy over the synthetic fleet's range, J, and whether it exports the energy counter.</summary>
internal sealed record GpuTotals(string Instance, string Uuid, bool HasEnergyCounter, double Joules);
