using System.Globalization;
using BenchmarkDotNet.Running;
using EnergyToToken.Benchmarks;

// Bench commands measure what per-operation timing cannot; everything else goes to BenchmarkDotNet.
switch (args.FirstOrDefault())
{
    case "sampler-overhead":
        MeterCommands.SamplerOverhead(TimeSpan.FromSeconds(args.Length > 1 ? double.Parse(args[1], CultureInfo.InvariantCulture) : 20));
        break;
    case "integration-error":
        MeterCommands.IntegrationError();
        break;
    case "twin-throughput":
        await TwinCommands.Throughput(
            args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 2048,
            TimeSpan.FromSeconds(args.Length > 2 ? double.Parse(args[2], CultureInfo.InvariantCulture) : 10),
            args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 4);
        break;
    case "client-timestamp-error":
        await ClientCommands.TimestampError(
            args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 16,
            args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 200);
        break;
    case "client-throughput":
        await ClientCommands.Throughput(
            args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 2048,
            TimeSpan.FromSeconds(args.Length > 2 ? double.Parse(args[2], CultureInfo.InvariantCulture) : 30),
            args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 4);
        break;
    case "client-paced":
        await ClientCommands.Paced(
            args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 512,
            args.Length > 2 ? double.Parse(args[2], CultureInfo.InvariantCulture) : 50,
            TimeSpan.FromSeconds(args.Length > 3 ? double.Parse(args[3], CultureInfo.InvariantCulture) : 30));
        break;
    case "chunk-file":
        ChunkFileCommands.Measure(args.Length > 1 ? long.Parse(args[1], CultureInfo.InvariantCulture) : 20_000_000);
        break;
    case "analysis-trace":
        AnalysisCommands.Trace(
            args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1024,
            args.Length > 2 ? double.Parse(args[2], CultureInfo.InvariantCulture) : 3600,
            args.Length > 3 ? args[3] : null);
        break;
    case "analysis-measure":
        // analysis-measure DIR: the child process of analysis-trace, so that its peak working set is the analysis's own.
        AnalysisCommands.Measure(args[1], inChild: false);
        break;
    case "runs-index":
        // runs-index [RUNS [DIR]]: e2t runs over a generated store, without and with its index.
        RunStoreCommands.Index(
            args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 2000,
            args.Length > 2 ? args[2] : null);
        break;
    case "validate-attribution":
        // validate-attribution [SECONDS] [--keep DIR]: keep the run directories and the twin's ground truth for a re-analysis.
        var keepAt = Array.IndexOf(args, "--keep");
        var numbers = args.Skip(1).Where((a, i) => keepAt < 0 || (i + 1 != keepAt && i + 1 != keepAt + 1)).ToArray();
        await AttributionValidation.Run(
            TimeSpan.FromSeconds(numbers.Length > 0 ? double.Parse(numbers[0], CultureInfo.InvariantCulture) : 20),
            keepAt > 0 && keepAt + 1 < args.Length ? args[keepAt + 1] : null);
        break;
    case "validate-attribution-reanalyze":
        // validate-attribution-reanalyze DIR: the kept runs analysed again (with the library as built now) and compared with their ground truth.
        AttributionValidation.Reanalyze(args[1]);
        break;
    case "fleet-synthetic":
        // fleet-synthetic [GPUS [HOURS [STEP_S]]]: e2t fleet over a synthetic fleet backfilled into a real Prometheus.
        await FleetCommands.Synthetic(
            args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1000,
            args.Length > 2 ? double.Parse(args[2], CultureInfo.InvariantCulture) : 24,
            args.Length > 3 ? double.Parse(args[3], CultureInfo.InvariantCulture) : 15);
        break;
    case "fleet-measure":
        // fleet-measure URL FROM TO STEP_S: the child process of fleet-synthetic, so that its peak working set is the evaluation's own.
        FleetCommands.Measure(new Uri(args[1]), double.Parse(args[2], CultureInfo.InvariantCulture), double.Parse(args[3], CultureInfo.InvariantCulture),
            double.Parse(args[4], CultureInfo.InvariantCulture), inChild: false);
        break;
    case "twin-serve":
        // twin-serve STREAMS DEVICES [CONTEXT_TOKENS [STEP_OVERHEAD_S]]: the child process of the twin and client benches.
        await TwinCommands.Serve(
            int.Parse(args[1], CultureInfo.InvariantCulture),
            int.Parse(args[2], CultureInfo.InvariantCulture),
            args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : null,
            args.Length > 4 ? double.Parse(args[4], CultureInfo.InvariantCulture) : null);
        break;
    default:
        BenchmarkSwitcher.FromAssembly(typeof(ProductionBenchmarks).Assembly).Run(args);
        break;
}
