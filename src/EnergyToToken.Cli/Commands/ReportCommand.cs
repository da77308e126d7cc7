using System.CommandLine;
using System.Text.Json;
using EnergyToToken.Analysis;
using EnergyToToken.Reporting;
using EnergyToToken.Runs;
using static EnergyToToken.Cli.Output;

namespace EnergyToToken.Cli.Commands;

/// <summary>
/// <c>e2t report RUN_DIR</c>: writes the run's report.md and report.html again from its result.json and timelines
/// (a bench writes them with every run; this renews them after <c>analyze --write</c>, or for a run copied from elsewhere).
/// </summary>
internal static class ReportCommand
{
    public static Command Create()
    {
        var directory = new Argument<string>("RUN_DIR") { Description = "A run directory written by e2t bench (a single run, a sweep point, or a sweep's or search's top directory)." };
        var command = new Command("report", "Write a run's report.md and self-contained report.html (headline card, charts, disclosure, formulas) from its result.json and timelines.") { directory };
        command.SetAction(parse =>
        {
            try
            {
                var path = parse.GetValue(directory)!;
                var resultPath = Path.Combine(path, RunDirectory.Result);
                if (!File.Exists(resultPath))
                    throw new EnergyToTokenException($"'{path}' holds no {RunDirectory.Result}. Give a directory written by e2t bench (it holds run.json, result.json and the timelines).");
                var json = File.ReadAllText(resultPath);
                string? kind;
                int? version;
                try
                {
                    using var document = JsonDocument.Parse(json);
                    var root = document.RootElement;
                    kind = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("kind", out var k) ? k.ToString() : null;
                    version = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("schemaVersion", out var v) && v.TryGetInt32(out var n) ? n : null;
                }
                catch (JsonException e)
                {
                    throw new EnergyToTokenException($"{resultPath} is not valid JSON ({e.Message}). Run e2t analyze {path} --write to make it again from the timelines.");
                }
                var expected = kind switch { "e2t.bench" => ResultReport.SchemaVersion, "e2t.bench.series" => 1, _ => (int?)null };
                if (expected is null)
                    throw new EnergyToTokenException($"{resultPath} is of kind '{kind}', not a bench run (e2t.bench) or series (e2t.bench.series). Give a directory written by e2t bench.");
                if (version != expected)
                    throw new EnergyToTokenException($"{resultPath} is {kind} schema version {version?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "(none)"}; this e2t reports version {expected}. {(kind == "e2t.bench" ? $"Run e2t analyze {path} --write to make it again from the timelines." : "Run the sweep again with this e2t.")}");
                var files = kind == "e2t.bench" ? RunReport.Render(RunData.Load(path), json) : SeriesReport.Render(path, json);
                var changed = false;
                foreach (var (file, text) in files)
                {
                    // Unchanged reports are left alone, so their manifest (and a series' chain of manifests) still holds.
                    var target = Path.Combine(path, file);
                    if (!File.Exists(target) || File.ReadAllText(target) != text)
                    {
                        RunDirectory.WriteFile(path, file, text);
                        changed = true;
                    }
                    parse.InvocationConfiguration.Output.WriteLine(target);
                }
                // A run with a manifest keeps one that matches its files; one without (copied from an older e2t) gets none.
                // A series' manifest is renewed every time, over its points' current manifests: reporting a point again
                // changes that point's manifest, and reporting the series is how the chain is sealed again.
                if ((changed || kind == "e2t.bench.series") && File.Exists(Path.Combine(path, RunManifest.File))) RunManifest.Write(path);
                return ExitCodes.Success;
            }
            catch (EnergyToTokenException e)
            {
                return Fail(parse, e.Message);
            }
        });
        return command;
    }
}
