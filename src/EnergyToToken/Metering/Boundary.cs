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
    /// <summary>Accelerators, CPU packages and DRAM are disjoint; the platform holds CPU packages and DRAM; node DC and every wider scope hold all narrower ones.</summary>
    public static int Level(MeterScope scope) => scope switch
    {
        MeterScope.Accelerator or MeterScope.CpuPackage or MeterScope.Dram => 0,
        MeterScope.Platform => 1,
        MeterScope.NodeDc => 2,
        MeterScope.NodeAc => 3,
        MeterScope.Rack => 4,
        _ => 5,
    };

    /// <summary>Whether energy measured at <paramref name="outer"/> already contains energy measured at <paramref name="inner"/>.</summary>
    public static bool Contains(MeterScope outer, MeterScope inner) =>
        outer == MeterScope.Platform ? inner is MeterScope.CpuPackage or MeterScope.Dram : Level(outer) > Level(inner) && Level(outer) >= 2;

    /// <summary>
    /// The widest boundary the channels reach: every channel whose scope no other present channel's scope contains,
    /// each device once. Channels with unknown energy are listed as left out.
    /// </summary>
    /// <param name="joules">Energy and its bound per channel, for the same window.</param>
    public static BoundaryEnergy Total(IReadOnlyList<MeterChannel> channels, Func<MeterChannel, (double Joules, double Uncertainty)> joules)
    {
        var excluded = new List<string>();
        var known = new List<MeterChannel>();
        foreach (var c in channels)
        {
            var (j, u) = joules(c);
            if (double.IsFinite(j) && double.IsFinite(u)) known.Add(c);
            else excluded.Add($"{c.Id}: energy unknown in this window (see its flags)");
        }
        if (known.Count == 0) return new BoundaryEnergy("nothing measured", MeterScope.Accelerator, double.NaN, double.NaN, false, false, [], excluded);
        var scopes = known.Select(c => c.Scope).Distinct().ToList();
        var included = new List<MeterChannel>();
        var seen = new HashSet<(MeterScope, string)>();
        // Counters before power readings, so a device read twice is counted from its better source.
        foreach (var c in known.OrderBy(c => c.HasEnergy ? 0 : 1))
        {
            if (scopes.FirstOrDefault(s => Contains(s, c.Scope)) is var outer && Contains(outer, c.Scope))
            {
                excluded.Add($"{c.Id}: inside the {Describe(outer)} boundary, not added");
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
        var simulated = included.Any(c => c.Simulated);
        var outermost = included.Select(c => c.Scope).MaxBy(Level);
        var parts = included.Select(c => c.Scope).Distinct().OrderBy(Level).Select(s => $"{included.Count(c => c.Scope == s)} × {Describe(s)}");
        var text = Level(outermost) >= 2 ? Describe(outermost) : string.Join(" + ", parts) + " (components only; the rest of the node is outside)";
        if (modeled) text += ", modeled, not measured";
        if (simulated) text += ", simulated, not measured";
        return new BoundaryEnergy(text, outermost, total, uncertainty, modeled, simulated, [.. included.Select(c => c.Id)], excluded);
    }

    public static string Describe(MeterScope scope) => scope switch
    {
        MeterScope.Accelerator => "accelerator",
        MeterScope.CpuPackage => "CPU package",
        MeterScope.Dram => "DRAM",
        MeterScope.Platform => "platform",
        MeterScope.NodeDc => "node DC",
        MeterScope.NodeAc => "node AC input",
        MeterScope.Rack => "rack",
        _ => "facility",
    };
}
