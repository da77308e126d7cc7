namespace EnergyToToken.Metering;

/// <summary>
/// The energy inside one accounting boundary: the channels added, the ones left out because a wider meter already
/// contains them, and whether any of it is modeled.
/// </summary>
/// <param name="Boundary">For people: what the figure covers, e.g. "node AC input (ipmi:dcmi)".</param>
/// <param name="Included">Channels summed.</param>
/// <param name="Excluded">Channels measured but not added, each with the reason (nested inside the boundary, same device twice).</param>
public sealed record BoundaryEnergy(
    string Boundary,
    MeterScope Scope,
    double Joules,
    double UncertaintyJoules,
    bool Modeled,
    bool Simulated,
    IReadOnlyList<string> Included,
    IReadOnlyList<string> Excluded);

/// <summary>Adds channel energies without ever adding nested scopes (measurement.md §3.5).</summary>
internal static class Boundary
{
    /// <summary>Accelerators, CPU packages and DRAM are disjoint siblings; each wider scope contains all narrower ones.</summary>
    public static int Level(MeterScope scope) => scope switch
    {
        MeterScope.Accelerator or MeterScope.CpuPackage or MeterScope.Dram => 0,
        MeterScope.NodeDc => 1,
        MeterScope.NodeAc => 2,
        MeterScope.Rack => 3,
        _ => 4,
    };

    /// <summary>
    /// The widest boundary the channels reach: the sum of the channels at the outermost level present, each device once.
    /// </summary>
    /// <param name="joules">Energy per channel id, for the same window; channels whose energy is unknown (NaN) are skipped.</param>
    public static BoundaryEnergy Total(IReadOnlyList<MeterChannel> channels, Func<MeterChannel, (double Joules, double Uncertainty)> joules)
    {
        var known = channels.Where(c => double.IsFinite(joules(c).Joules)).ToList();
        if (known.Count == 0)
            return new BoundaryEnergy("nothing measured", MeterScope.Accelerator, double.NaN, double.NaN, false, false, [], [.. channels.Select(c => $"{c.Id}: no reading")]);
        var level = known.Max(c => Level(c.Scope));
        var included = new List<MeterChannel>();
        var excluded = new List<string>();
        var seen = new HashSet<(MeterScope, string)>();
        // Counters before power readings, so a device read twice is counted from its better source.
        foreach (var c in known.OrderBy(c => c.HasEnergy ? 0 : 1))
        {
            if (Level(c.Scope) < level)
            {
                excluded.Add($"{c.Id}: inside the {Describe(known.Where(k => Level(k.Scope) == level).Select(k => k.Scope).First())} boundary, not added");
                continue;
            }
            if (c.DeviceKey.Length > 0 && !seen.Add((c.Scope, c.DeviceKey)))
            {
                excluded.Add($"{c.Id}: the same device ({c.DeviceKey}) is already counted by another meter");
                continue;
            }
            included.Add(c);
        }
        included = [.. channels.Where(included.Contains)];
        var total = included.Sum(c => joules(c).Joules);
        var uncertainty = included.Sum(c => joules(c).Uncertainty);
        var modeled = included.Any(c => c.Modeled);
        var scopes = included.Select(c => c.Scope).Distinct().ToList();
        var text = level == 0
            ? string.Join(" + ", scopes.Select(s => $"{included.Count(c => c.Scope == s)} × {Describe(s)}")) + " (components only; the rest of the node is outside)"
            : Describe(scopes[0]);
        if (modeled) text += ", modeled, not measured";
        if (included.Any(c => c.Simulated)) text += ", simulated, not measured";
        return new BoundaryEnergy(text, scopes.MaxBy(Level), total, uncertainty, modeled, included.Any(c => c.Simulated), [.. included.Select(c => c.Id)], excluded);
    }

    public static string Describe(MeterScope scope) => scope switch
    {
        MeterScope.Accelerator => "accelerator",
        MeterScope.CpuPackage => "CPU package",
        MeterScope.Dram => "DRAM",
        MeterScope.NodeDc => "node DC",
        MeterScope.NodeAc => "node AC input",
        MeterScope.Rack => "rack",
        _ => "facility",
    };
}
