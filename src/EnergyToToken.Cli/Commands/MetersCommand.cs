using System.CommandLine;
using EnergyToToken.Metering;
using EnergyToToken.Reporting;
using Spectre.Console;
using static EnergyToToken.Cli.Output;

namespace EnergyToToken.Cli.Commands;

/// <summary><c>e2t meters</c>: every meter probed, available or not and why, with channels, scopes and measured update periods.</summary>
internal static class MetersCommand
{
    public static Command Create()
    {
        var flags = new MeterFlags();
        var json = new Option<bool>("--json") { Description = "Print JSON (schema in docs/meters.md) instead of tables." };
        var probeTime = MeterFlags.Duration("--probe-time", "How long to read available meters every 10 ms to measure their update periods. Default: 1s.");
        Command command = new("meters", "List every power and energy meter e2t knows, whether it is usable here and why, with its channels.") { json, probeTime };
        foreach (var option in flags.All) command.Options.Add(option);
        command.SetAction(parse =>
        {
            try
            {
                var probes = MeterRegistry.ProbeAll(flags.Build(parse), TimeProvider.System, parse.GetValue(probeTime) ?? TimeSpan.FromSeconds(1));
                if (parse.GetValue(json))
                {
                    parse.InvocationConfiguration.Output.WriteLine(EnergyReport.MetersJson(probes));
                    return ExitCodes.Success;
                }
                var console = Console(parse);
                var meters = new Table().Border(TableBorder.Rounded).Title("Meters").AddColumns("meter", "available", "why / what");
                foreach (var p in probes) meters.AddRow(p.Meter, p.Available ? "yes" : "no", Markup.Escape(p.Reason));
                console.Write(meters);
                var channels = new Table().Border(TableBorder.Rounded).Title("Channels")
                    .AddColumns("channel", "scope", "kind", "update period (nominal / measured)", "device", "notes");
                foreach (var p in probes)
                {
                    foreach (var c in p.Channels)
                    {
                        var measured = p.MeasuredUpdatePeriods.TryGetValue(c.Id, out var s) ? $"{Number(s * 1000)} ms" : "not measured";
                        channels.AddRow(Markup.Escape(c.Id), c.Scope.ToString(), c.Kind + (c.HasEnergy && c.HasPower ? " + power" : ""),
                            $"{Number(c.NominalUpdatePeriod.TotalMilliseconds)} ms / {measured}", Markup.Escape(c.Description), Markup.Escape(string.Join("; ", c.Notes)));
                    }
                }
                if (channels.Rows.Count > 0) console.Write(channels);
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
