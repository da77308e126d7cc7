using BenchmarkDotNet.Attributes;
using EnergyToToken.Production;

namespace EnergyToToken.Benchmarks;

/// <summary>
/// <c>e2t plan</c>'s evaluation: sites with a year of hourly facility power, PUE and utilization (8,760 steps each,
/// as a utility's hourly curtailment and a weather-driven PUE would give), two mixes, cooling and racks; each site is
/// integrated once for the headline, once more per convention and twice per lever for the elasticities.
/// </summary>
[MemoryDiagnoser]
public class PlanBenchmarks
{
    private Plan _plan = null!;

    [Params(1, 10)]
    public int Sites { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(42);
        Series Hourly(double mean, double spread) =>
            Series.Steps(Enumerable.Range(0, 8760).Select(h => new SeriesPoint(h * 3600.0, mean + spread * (random.NextDouble() - 0.5))));
        PlanSite Site(int i) => new()
        {
            Name = $"site-{i}",
            FacilityPowerWatts = Hourly(20e6, 8e6),
            Pue = Hourly(1.3, 0.2),
            CoolingCapacityWatts = 14e6,
            RackCount = 120,
            RackPowerDensityWatts = 120e3,
            Accelerator = "h100-sxm",
            PeakPerDeviceFlopPerSecond = 1.979e15,
            AcceleratorCount = 11_000,
            WattsPerAccelerator = 1275,
            Utilization = Hourly(0.6, 0.4),
            PricePerKilowattHour = Hourly(0.08, 0.06),
            CarbonGramsPerKilowattHour = Hourly(380, 200),
            Mixes =
            [
                new PlanMix { Name = "chat", Share = 0.8, KappaFlopPerToken = 1.63e11, EpsilonJoulesPerToken = 0.6, EffectiveComputePerDeviceFlopPerSecond = 2.4e14 },
                new PlanMix { Name = "long", Share = 0.2, KappaFlopPerToken = 3.13e11, EpsilonJoulesPerToken = 1.4, EffectiveComputePerDeviceFlopPerSecond = 1.4e14 },
            ],
        };
        _plan = new Plan { Sites = [.. Enumerable.Range(0, Sites).Select(Site)] };
    }

    [Benchmark]
    public PlanResult EvaluateAYearHourly() => Planner.Evaluate(_plan);
}
