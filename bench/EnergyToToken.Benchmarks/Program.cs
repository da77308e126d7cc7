using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(EnergyToToken.Benchmarks.ProductionBenchmarks).Assembly).Run(args);
