using BenchmarkDotNet.Attributes;
using EnergyToToken.Catalog;
using EnergyToToken.Twin;

namespace EnergyToToken.Benchmarks;

/// <summary>
/// The twin's engine without HTTP: how much CPU the scheduler, the step model and the ground-truth split cost per
/// token, so the server's budget (≤ 1 core at 100 k tokens/s) is not spent before a byte is written.
/// </summary>
[MemoryDiagnoser]
public class TwinBenchmarks
{
    private TwinDeployment _deployment = null!;
    private List<SimulatedRequest> _requests = null!;

    [Params(256, 2048)]
    public int Batch { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var profile = TwinProfiles.Default with { Devices = 8, Engine = TwinProfiles.Default.Engine with { MaxSequences = Batch } };
        _deployment = TwinDeployment.Create(profile, Catalogs.Load([]));
        _requests = Enumerable.Range(0, Batch).Select(_ => new SimulatedRequest(0, 128, 64)).ToList();
    }

    /// <summary>Batch requests of 128 + 64 tokens through the engine in virtual time: 64 steps, Batch × 64 tokens.</summary>
    [Benchmark]
    public long Simulate() => TwinSimulator.Run(_deployment, _requests).OutputTokens;
}
