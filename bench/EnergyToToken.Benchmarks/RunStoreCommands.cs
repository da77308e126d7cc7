using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using EnergyToToken.Analysis;
using EnergyToToken.Catalog;
using EnergyToToken.Reporting;
using EnergyToToken.Runs;

namespace EnergyToToken.Benchmarks;

/// <summary>
/// <c>runs-index RUNS [DIR]</c>: how long <c>e2t runs</c> takes over a store of RUNS run directories, without its index
/// (cold: every result.json read) and with it (warm: every manifest hashed, nothing read), and after one run changed.
/// <para>Each directory holds a real result.json and run.json (a short generated trace, analysed as e2t analyze does,
/// then varied: name, start, model, accelerator, binding, J/token) and its manifest.json; the timelines are left out,
/// since listing never opens them. Times are of <see cref="RunIndex.Load"/> and the filter in this process, after one
/// untimed pass for the JIT, with the files in the OS cache: "cold" means no index, not a cold disk. Without DIR the
/// store goes to a temporary directory, deleted at the end.</para>
/// </summary>
internal static class RunStoreCommands
{
    private const int Rounds = 3;
    private static readonly System.Text.Json.JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static void Index(int count, string? directory)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "RUNS must be at least 1.");
        var temporary = directory is null;
        directory ??= Directory.CreateTempSubdirectory("e2t-runs-index-").FullName;
        try
        {
            var generate = Stopwatch.StartNew();
            Generate(count, directory);
            Console.WriteLine(FormattableString.Invariant(
                $"runs-index: {count:N0} run directories in {directory} ({generate.Elapsed.TotalSeconds:0.0} s to make); {Environment.ProcessorCount} cores"));

            var errors = new List<string>();
            var query = RunQuery.Parse("llama", "h100", "power", "2026-01-01", null, null, "0.5", errors);
            var index = Path.Combine(directory, RunIndex.File);
            Time("JIT pass (untimed)", () => File.Delete(index), directory, query);
            for (var round = 1; round <= Rounds; round++) Time("cold (no index)", () => File.Delete(index), directory, query);
            for (var round = 1; round <= Rounds; round++) Time("warm (index, no change)", () => { }, directory, query);
            var changed = Path.Combine(directory, Run(count / 2));
            for (var round = 1; round <= Rounds; round++) Time("warm, one run rewritten", () => RunManifest.Write(changed), directory, query);
            Console.WriteLine(FormattableString.Invariant($"  index file {new FileInfo(index).Length / 1e6:0.0} MB"));
        }
        finally
        {
            if (temporary) Directory.Delete(directory, recursive: true);
        }
    }

    private static void Time(string what, Action before, string directory, RunQuery query)
    {
        before();
        var clock = Stopwatch.StartNew();
        var (runs, update) = RunIndex.Load(directory);
        var matching = runs.Count(query.Matches);
        var seconds = clock.Elapsed.TotalSeconds;
        Console.WriteLine(FormattableString.Invariant(
            $"  {what,-26} {seconds * 1000,8:0} ms: {runs.Count:N0} runs, {matching:N0} match; read {update.Read:N0}, reused {update.Reused:N0}, dropped {update.Dropped}"));
    }

    private static string Run(int i) => FormattableString.Invariant($"2026{1 + i % 12:00}{1 + i % 28:00}T{i % 24:00}0000Z-run-{i:D5}");

    /// <summary>One real result, analysed from a short generated trace, then copied with its facts varied.</summary>
    private static void Generate(int count, string directory)
    {
        var source = Directory.CreateTempSubdirectory("e2t-runs-index-source-").FullName;
        string resultJson, factsJson;
        try
        {
            AnalysisCommands.Generate(64, 20, source);
            var run = RunData.Load(source);
            resultJson = ResultReport.Json(run, RunAnalysis.Analyze(run, run.RecordedAnalysis, Catalogs.Load()));
            factsJson = File.ReadAllText(Path.Combine(source, RunFacts.File));
        }
        finally
        {
            Directory.Delete(source, recursive: true);
        }
        string[] models = ["llama-3.1-8b", "llama-3.1-70b", "mistral-7b", "qwen2.5-32b"];
        string[] accelerators = ["h100-sxm", "h200-sxm", "a100-sxm", "mi300x"];
        string[] bindings = ["power", "compute"];
        for (var i = 0; i < count; i++)
        {
            var result = JsonNode.Parse(resultJson)!.AsObject();
            var name = Run(i);
            result["name"] = name;
            result["startedUtc"] = new DateTime(2026, 1 + i % 12, 1 + i % 28, i % 24, 0, 0, DateTimeKind.Utc).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
            result["target"]!["model"] = models[i % models.Length];
            result["deployment"]!["accelerator"] = accelerators[i / 3 % accelerators.Length];
            result["production"]!["headlineConvention"] = "peak";
            result["production"]!["bindingConstraint"]!["peak"] = bindings[i / 5 % bindings.Length];
            result["metrics"]!["joulesPerOutputToken"]!["gross"] = 0.1 + i % 97 / 100.0;
            var dir = Path.Combine(directory, name);
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, RunDirectory.Result), result.ToJsonString(Indented) + "\n");
            File.WriteAllText(Path.Combine(dir, RunFacts.File), factsJson);
            RunManifest.Write(dir);
        }
    }
}
