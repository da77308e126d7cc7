using System.CommandLine;
using EnergyToToken.Catalog;
using Spectre.Console;
using static EnergyToToken.Cli.Output;

namespace EnergyToToken.Cli.Commands;

/// <summary><c>e2t catalog</c>: the model architectures and accelerators <c>e2t model</c> knows, with their sources.</summary>
internal static class CatalogCommand
{
    private static readonly Option<string[]> CatalogFiles = new("--catalog") { Description = "Your own catalog files (YAML or JSON) to add. Repeatable." };
    private static readonly Option<int> Context = new("--context") { Description = "Context length for the κ column. Default: 4096.", DefaultValueFactory = _ => 4096 };

    public static Command Create()
    {
        Command command = new("catalog", "List the model architectures and accelerators, with κ, KV-cache bytes and sources.") { CatalogFiles, Context };
        command.SetAction(parse =>
        {
            try
            {
                var catalogs = Catalogs.Load(parse.GetValue(CatalogFiles));
                var context = parse.GetValue(Context);
                if (context < 1) return Fail(parse, $"--context must be at least 1 token (was {context}).");
                var console = Console(parse);
                var models = new Table().Border(TableBorder.Rounded).Title("Models")
                    .AddColumns("name", "params total/active", "attention", $"κ at {context} tokens, FLOP", "KV bytes/token (bf16)", "source");
                foreach (var m in catalogs.Models)
                {
                    models.AddRow(m.Name, $"{Number(m.TotalParameters)}/{Number(m.ActiveParameters)}", m.Attention.ToString().ToUpperInvariant(),
                        Number(m.KappaFlopPerToken(Math.Min(context, m.MaxContext))), Number(m.KvCacheBytesPerToken(2)), Markup.Escape(m.Source));
                }
                console.Write(models);
                var accelerators = new Table().Border(TableBorder.Rounded).Title("Accelerators")
                    .AddColumns("name", "peak dense FLOP/s", "memory bytes", "bandwidth B/s", "power limit W", "idle W (approx.)", "source");
                foreach (var a in catalogs.Accelerators)
                {
                    accelerators.AddRow(a.Name, string.Join(" ", a.PeakDenseFlopPerSecond.Select(p => $"{p.Key}={Number(p.Value)}")),
                        Number(a.MemoryBytes), Number(a.MemoryBandwidthBytesPerSecond), Number(a.PowerLimitWatts),
                        a.TypicalIdleWatts is { } idle ? Number(idle) : "", Markup.Escape(a.Source));
                }
                console.Write(accelerators);
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
