using System.CommandLine;
using EnergyToToken.Load;
using EnergyToToken.Reporting;
using EnergyToToken.Runs;
using static EnergyToToken.Cli.Output;

namespace EnergyToToken.Cli.Commands;

/// <summary>
/// <c>e2t compare RUN_A RUN_B [...]</c>: runs side by side against the first, with the gain check of spec §5 and the
/// ceilings each change moved (docs/compare.md). Reads result.json files only; writes nothing unless <c>--out</c>.
/// </summary>
internal static class CompareCommand
{
    /// <summary>File names <c>--out</c> writes.</summary>
    public const string MarkdownFile = "comparison.md";

    public const string JsonFile = "comparison.json";

    public const string HtmlFile = "comparison.html";

    public static Command Create()
    {
        var runs = new Argument<string[]>("RUN")
        {
            Description = "Run directories written by e2t bench (or their result.json), two or more; the first is the reference.",
            Arity = new ArgumentArity(2, ArgumentArity.OneOrMore.MaximumNumberOfValues),
        };
        var json = new Option<bool>("--json") { Description = "Print the comparison as JSON (kind e2t.compare) instead of Markdown." };
        var html = new Option<bool>("--html") { Description = "Print the comparison as one self-contained HTML page with charts instead of Markdown." };
        var output = new Option<string>("--out") { Description = $"Also write {MarkdownFile}, {HtmlFile} and {JsonFile} into this directory (created if missing)." };
        var quality = new Option<string[]>("--quality-tolerance")
        {
            Description = $"Quality tolerance q*, {ComparisonOptions.QualityToleranceForm}. Replaces the reference's declared tolerance of that name. Repeatable.",
        };
        var slo = new Option<string>("--slo")
        {
            Description = "Latency targets s* the candidates must meet, as bench --slo takes them, e.g. ttft-p99=500ms,tpot-p99=50ms. Default: the reference run's SLO.",
        };
        var errorRate = new Option<double>("--error-rate-tolerance")
        {
            Description = "Largest rise in error rate still counted as no regression, a fraction (0.01 = 1 percentage point). Default: 0.",
        };
        var sameWithin = new Option<double>("--same-within")
        {
            Description = "A ceiling that moved by at most this fraction counts as unchanged. Default: 0.01 (1 %).",
            DefaultValueFactory = _ => new ComparisonOptions().SameWithin,
        };
        var command = new Command("compare", "Compare runs side by side against the first: relative deltas, whether each change counts as a gain (spec §5) and which ceiling it moved.")
        {
            runs, json, html, output, quality, slo, errorRate, sameWithin,
        };
        command.SetAction(parse =>
        {
            try
            {
                var errors = new List<string>();
                var tolerances = new Dictionary<string, double>(StringComparer.Ordinal);
                foreach (var given in parse.GetValue(quality) ?? [])
                {
                    try
                    {
                        var (name, points) = ComparisonOptions.ParseQualityTolerance(given);
                        tolerances[name] = points;
                    }
                    catch (EnergyToTokenException e)
                    {
                        errors.Add(e.Message);
                    }
                }
                Slo? targets = null;
                if (parse.GetValue(slo) is { } sloText)
                {
                    try
                    {
                        targets = Slo.Parse(sloText);
                    }
                    catch (EnergyToTokenException e)
                    {
                        errors.Add($"--slo: {e.Message}");
                    }
                }
                var options = new ComparisonOptions
                {
                    QualityTolerances = tolerances,
                    Slo = targets,
                    ErrorRateIncrease = parse.GetValue(errorRate),
                    SameWithin = parse.GetValue(sameWithin),
                };
                errors.AddRange(options.Validate());
                // Options and files are checked together, so one try shows every problem.
                IReadOnlyList<ComparisonInput> inputs = [];
                try
                {
                    inputs = ComparisonInput.Load(parse.GetValue(runs)!);
                }
                catch (EnergyToTokenException e)
                {
                    errors.Add(e.Message);
                }
                if (parse.GetValue(json) && parse.GetValue(html)) errors.Add("--json and --html both ask for stdout: give one, or --out DIR to write all three files.");
                if (errors.Count > 0) throw new EnergyToTokenException(string.Join(Environment.NewLine, errors));

                var comparison = Comparison.Build(inputs, options);
                var markdown = ComparisonReport.Markdown(comparison);
                var text = ComparisonJson.Write(comparison);
                if (parse.GetValue(output) is { } directory)
                {
                    try
                    {
                        Directory.CreateDirectory(directory);
                    }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                    {
                        throw new EnergyToTokenException($"--out {directory}: cannot create the directory ({e.Message}). Give a writable directory.");
                    }
                    RunDirectory.WriteFile(directory, MarkdownFile, markdown);
                    RunDirectory.WriteFile(directory, JsonFile, text);
                    RunDirectory.WriteFile(directory, HtmlFile, ComparisonReport.Html(comparison));
                }
                parse.InvocationConfiguration.Output.Write(parse.GetValue(json) ? text : parse.GetValue(html) ? ComparisonReport.Html(comparison) : markdown);
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
