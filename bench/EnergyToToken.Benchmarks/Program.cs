using System.Globalization;
using BenchmarkDotNet.Running;
using EnergyToToken.Benchmarks;

// Two bench commands measure what per-operation timing cannot; everything else goes to BenchmarkDotNet.
switch (args.FirstOrDefault())
{
    case "sampler-overhead":
        MeterCommands.SamplerOverhead(TimeSpan.FromSeconds(args.Length > 1 ? double.Parse(args[1], CultureInfo.InvariantCulture) : 20));
        break;
    case "integration-error":
        MeterCommands.IntegrationError();
        break;
    default:
        BenchmarkSwitcher.FromAssembly(typeof(ProductionBenchmarks).Assembly).Run(args);
        break;
}
