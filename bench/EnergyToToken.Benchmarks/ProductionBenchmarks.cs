using BenchmarkDotNet.Attributes;
using EnergyToToken.Production;

namespace EnergyToToken.Benchmarks;

/// <summary>
/// The production function's hot path: integrating Eq. 1 over measured step series. A day of 1 s samples of
/// facility power, PUE and utilization is 86,400 steps each; later issues feed series like these from meters.
/// </summary>
[MemoryDiagnoser]
public class ProductionBenchmarks
{
    private ProductionInputs _constant = null!;
    private ProductionInputs _day = null!;

    [Params(86_400)]
    public int Steps { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(42);
        Series Noisy(double mean, double spread) =>
            Series.Steps(Enumerable.Range(0, Steps).Select(i => new SeriesPoint(i, mean + spread * (random.NextDouble() - 0.5))));
        _constant = new ProductionInputs
        {
            KappaFlopPerToken = 1.36e11,
            EpsilonJoulesPerToken = 0.5,
            EffectiveComputeFlopPerSecond = Series.Constant(1.63e14),
            PeakComputeFlopPerSecond = 1.9789e15,
            ItPowerWatts = Series.Constant(700),
            Utilization = Series.Constant(0.6),
        };
        _day = _constant with
        {
            ItPowerWatts = null,
            FacilityPowerWatts = Noisy(850, 300),
            Pue = Noisy(1.25, 0.1),
            Utilization = Noisy(0.6, 0.5),
        };
    }

    [Benchmark(Baseline = true)]
    public ProductionResult EvaluateConstant() => ProductionModel.Evaluate(_constant);

    [Benchmark]
    public double TokensOverADayOfSteps() => ProductionModel.Tokens(_day, Convention.Realized, 0, _day.HorizonSeconds);

    [Benchmark]
    public ProductionResult EvaluateADayOfSteps() => ProductionModel.Evaluate(_day);
}
