using System.Globalization;

namespace EnergyToToken.Metering.Replay;

/// <summary>Log formats the replay meter reads.</summary>
public enum ReplayFormat
{
    /// <summary>Decide from the header row.</summary>
    Auto,

    /// <summary><c>nvidia-smi --query-gpu=timestamp,index,uuid,power.draw[,...] --format=csv[,nounits] -lms N</c>.</summary>
    NvidiaSmi,

    /// <summary>A DCGM CSV: <c>timestamp</c>, <c>gpu</c> (or <c>entity</c>), optional <c>UUID</c>, and DCGM field columns.</summary>
    Dcgm,

    /// <summary>A PDU or wall-meter CSV: <c>timestamp</c>, <c>watts</c> and/or <c>joules</c>/<c>kwh</c>, optional <c>channel</c>.</summary>
    Pdu,
}

/// <summary>One row of a log for one channel: the log's time, the counter (J, NaN when none) and power (W, NaN when none).</summary>
public readonly record struct ReplayRow(long UnixMilliseconds, double Joules, double Watts);

/// <summary>One device of a log and its rows, in time order.</summary>
/// <param name="Name">The device as the log names it: the GPU index, the PDU channel.</param>
/// <param name="DeviceKey">A stable identity when the log has one (the GPU UUID); "" otherwise.</param>
public sealed record ReplayChannelTrace(string Name, string DeviceKey, bool HasEnergy, bool HasPower, IReadOnlyList<ReplayRow> Rows)
{
    /// <summary>Smallest step of the energy column, J, from the finest decimals written and the column's unit.</summary>
    public double EnergyResolutionJoules { get; init; } = 1e-3;

    /// <summary>Smallest step of the power column, W, from the finest decimals written.</summary>
    public double PowerResolutionWatts { get; init; } = 1e-3;

    /// <summary>True when the power column is a source-side average (nvidia-smi <c>power.draw.average</c>).</summary>
    public bool PowerIsAverage { get; init; }

    /// <summary>Median interval between rows, ms (0 with fewer than two rows).</summary>
    public long MedianIntervalMilliseconds
    {
        get
        {
            if (Rows.Count < 2) return 0;
            var d = new long[Rows.Count - 1];
            for (var i = 1; i < Rows.Count; i++) d[i - 1] = Rows[i].UnixMilliseconds - Rows[i - 1].UnixMilliseconds;
            Array.Sort(d);
            return d[d.Length / 2];
        }
    }
}

/// <summary>
/// A whole power/energy log, parsed: its channels and rows. Used by the replay meter and for offline analysis.
/// Times are the log's own, in milliseconds since the Unix epoch (wall times without a zone are taken as UTC:
/// only differences matter).
/// </summary>
public sealed record ReplayTrace(ReplayFormat Format, IReadOnlyList<ReplayChannelTrace> Channels, IReadOnlyList<string> Notes)
{
    public long StartUnixMilliseconds => Channels.Where(c => c.Rows.Count > 0).Min(c => c.Rows[0].UnixMilliseconds);

    public long EndUnixMilliseconds => Channels.Where(c => c.Rows.Count > 0).Max(c => c.Rows[^1].UnixMilliseconds);

    /// <summary>Reads and parses a log file.</summary>
    /// <exception cref="EnergyToTokenException">The file is missing or unreadable, or its format is not recognized or malformed.</exception>
    public static ReplayTrace Load(string path, ReplayFormat format = ReplayFormat.Auto)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new EnergyToTokenException($"Cannot read the replay log '{path}': {e.Message}. Check the path and its permissions.", e);
        }
        return ReplayParsers.Parse(text, format, path);
    }
}

/// <summary>
/// Pure parsers of power logs (no I/O). Every parser skips blank lines and lines starting with <c>#</c> before the
/// header, splits on commas and trims each cell (nvidia-smi writes <c>", "</c>).
/// </summary>
public static class ReplayParsers
{
    private static readonly string[] NvidiaSmiTimeFormats = ["yyyy/MM/dd HH:mm:ss.fff", "yyyy/MM/dd HH:mm:ss", "yyyy/MM/dd HH:mm:ss.ffffff"];

    /// <summary>Parses <paramref name="text"/> in <paramref name="format"/>, or the format its header shows.</summary>
    /// <param name="source">Named in error messages (the file path).</param>
    public static ReplayTrace Parse(string text, ReplayFormat format = ReplayFormat.Auto, string source = "the log")
    {
        var lines = Lines(text);
        if (lines.Count == 0) throw new EnergyToTokenException($"{source} has no header row. A replay log needs a CSV header such as 'timestamp, index, uuid, power.draw [W]'.");
        if (format == ReplayFormat.Auto) format = Detect(lines[0].Text, source);
        return format switch
        {
            ReplayFormat.NvidiaSmi => NvidiaSmi(lines, source),
            ReplayFormat.Dcgm => Dcgm(lines, source),
            _ => Pdu(lines, source),
        };
    }

    /// <summary>Tells the format from a header row.</summary>
    public static ReplayFormat Detect(string header, string source = "the log")
    {
        var h = header.ToLowerInvariant();
        if (h.Contains("power.draw", StringComparison.Ordinal) || h.Contains("total_energy_consumption", StringComparison.Ordinal) && !h.Contains("dcgm_fi", StringComparison.Ordinal))
            return ReplayFormat.NvidiaSmi;
        var cells = Cells(h);
        if (h.Contains("dcgm_fi_", StringComparison.Ordinal) || cells.Contains("totec") || (cells.Contains("power") && (cells.Contains("gpu") || cells.Contains("entity"))))
            return ReplayFormat.Dcgm;
        if (cells.Contains("watts") || cells.Contains("joules") || cells.Contains("kwh")) return ReplayFormat.Pdu;
        throw new EnergyToTokenException(
            $"The header of {source} ('{header}') matches no replay format. Expected nvidia-smi's (timestamp, index, power.draw [W]), a DCGM CSV (timestamp, gpu, DCGM_FI_DEV_POWER_USAGE) or a PDU CSV (timestamp, watts or joules or kwh); or name the format.");
    }

    private static ReplayTrace NvidiaSmi(List<(int Number, string Text)> lines, string source)
    {
        var header = Cells(lines[0].Text);
        var names = header.Select(h => Bare(h).ToLowerInvariant()).ToList();
        var time = Require(names, "timestamp", source, lines[0].Text);
        var index = names.IndexOf("index");
        var uuid = names.IndexOf("uuid");
        var power = FirstOf(names, "power.draw", "power.draw.instant", "power.draw.average");
        var energy = names.FindIndex(n => n.Contains("energy", StringComparison.Ordinal));
        if (power < 0 && energy < 0) throw new EnergyToTokenException($"{source} has neither a power.draw column nor an energy column; query power.draw (and total_energy_consumption if your driver has it).");
        var notes = new List<string>();
        var energyScale = 1e-3;
        if (energy >= 0)
        {
            var unit = Unit(header[energy]);
            energyScale = unit.Length == 0 ? 1e-3 : EnergyScale(unit, source);
            if (unit.Length == 0) notes.Add($"the energy column '{header[energy]}' has no unit: read as mJ, NVML's unit for total energy");
        }
        var powerAverage = power >= 0 && names[power] == "power.draw.average";
        if (power >= 0 && names[power] == "power.draw") notes.Add("nvidia-smi power.draw is a 1 s average on Ampere and newer GPUs");
        var builder = new Builder(source, energy >= 0, power >= 0, energyScale);
        foreach (var (number, text) in lines.Skip(1))
        {
            var cells = Cells(text);
            if (cells.Count < header.Count) throw RowError(source, number, text, $"{cells.Count} cells, the header has {header.Count}");
            if (!DateTime.TryParseExact(cells[time], NvidiaSmiTimeFormats, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at))
                throw RowError(source, number, text, $"timestamp '{cells[time]}' is not like 2024/05/01 12:00:00.123");
            var name = index >= 0 ? cells[index] : uuid >= 0 ? cells[uuid] : "0";
            builder.Add(name, uuid >= 0 ? cells[uuid] : "", new DateTimeOffset(at).ToUnixTimeMilliseconds(),
                energy >= 0 ? cells[energy] : "", power >= 0 ? cells[power] : "", number, text);
        }
        return new ReplayTrace(ReplayFormat.NvidiaSmi, builder.Build(powerAverage), notes);
    }

    private static ReplayTrace Dcgm(List<(int Number, string Text)> lines, string source)
    {
        var header = Cells(lines[0].Text);
        var names = header.Select(h => Bare(h).ToLowerInvariant()).ToList();
        var time = Require(names, "timestamp", source, lines[0].Text);
        var gpu = FirstOf(names, "gpu", "entity", "entityid", "gpu_id");
        if (gpu < 0) throw new EnergyToTokenException($"{source} looks like a DCGM log but has no gpu (or entity) column: '{lines[0].Text}'.");
        var uuid = names.IndexOf("uuid");
        var power = FirstOf(names, "dcgm_fi_dev_power_usage", "power", "155");
        var energy = FirstOf(names, "dcgm_fi_dev_total_energy_consumption", "totec", "156");
        if (power < 0 && energy < 0) throw new EnergyToTokenException($"{source} has neither DCGM_FI_DEV_POWER_USAGE (POWER, 155) nor DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION (TOTEC, 156): '{lines[0].Text}'.");
        var builder = new Builder(source, energy >= 0, power >= 0, 1e-3);
        foreach (var (number, text) in lines.Skip(1))
        {
            var cells = Cells(text);
            if (cells.Count < header.Count) throw RowError(source, number, text, $"{cells.Count} cells, the header has {header.Count}");
            var name = cells[gpu].StartsWith("GPU ", StringComparison.OrdinalIgnoreCase) ? cells[gpu][4..].Trim() : cells[gpu];
            builder.Add(name, uuid >= 0 ? cells[uuid] : "", Timestamp(cells[time], source, number, text),
                energy >= 0 ? cells[energy] : "", power >= 0 ? cells[power] : "", number, text);
        }
        return new ReplayTrace(ReplayFormat.Dcgm, builder.Build(false), ["DCGM power is NVML's reading: a 1 s average on Ampere and newer"]);
    }

    private static ReplayTrace Pdu(List<(int Number, string Text)> lines, string source)
    {
        var header = Cells(lines[0].Text);
        var names = header.Select(h => Bare(h).ToLowerInvariant()).ToList();
        var time = Require(names, "timestamp", source, lines[0].Text);
        var channel = names.IndexOf("channel");
        var watts = names.IndexOf("watts");
        var joules = names.IndexOf("joules");
        var kwh = names.IndexOf("kwh");
        if (watts < 0 && joules < 0 && kwh < 0) throw new EnergyToTokenException($"{source} has no watts, joules or kwh column: '{lines[0].Text}'.");
        var energy = joules >= 0 ? joules : kwh;
        var builder = new Builder(source, energy >= 0, watts >= 0, joules >= 0 ? 1 : 3.6e6);
        foreach (var (number, text) in lines.Skip(1))
        {
            var cells = Cells(text);
            if (cells.Count < header.Count) throw RowError(source, number, text, $"{cells.Count} cells, the header has {header.Count}");
            builder.Add(channel >= 0 ? cells[channel] : "0", "", Timestamp(cells[time], source, number, text),
                energy >= 0 ? cells[energy] : "", watts >= 0 ? cells[watts] : "", number, text);
        }
        return new ReplayTrace(ReplayFormat.Pdu, builder.Build(false), []);
    }

    /// <summary>ISO 8601 (a zone-less time is taken as UTC) or Unix seconds, possibly fractional.</summary>
    internal static long Timestamp(string text, string source, int number, string line)
    {
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && double.IsFinite(seconds))
            return (long)Math.Round(seconds * 1000);
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)) return at.ToUnixTimeMilliseconds();
        throw RowError(source, number, line, $"timestamp '{text}' is neither ISO 8601 (2024-05-01T12:00:00.123Z) nor Unix seconds");
    }

    private sealed class Builder(string source, bool hasEnergy, bool hasPower, double energyScale)
    {
        private readonly Dictionary<string, (string Key, List<ReplayRow> Rows, int EnergyDecimals, int PowerDecimals)> _channels = [];
        private readonly List<string> _order = [];

        public void Add(string name, string key, long unixMs, string energy, string power, int number, string line)
        {
            if (!_channels.TryGetValue(name, out var c))
            {
                c = (key, [], -1, -1);
                _order.Add(name);
            }
            var (joules, ed) = hasEnergy ? Value(energy, number, line) : (double.NaN, -1);
            var (watts, pd) = hasPower ? Value(power, number, line) : (double.NaN, -1);
            c.Rows.Add(new ReplayRow(unixMs, joules * energyScale, watts));
            _channels[name] = (c.Key.Length > 0 ? c.Key : key, c.Rows, Math.Max(c.EnergyDecimals, ed), Math.Max(c.PowerDecimals, pd));
        }

        public List<ReplayChannelTrace> Build(bool powerIsAverage)
        {
            if (_order.Count == 0) throw new EnergyToTokenException($"{source} has a header but no rows. Log for a while before replaying.");
            return [.. _order.Select(name =>
            {
                var c = _channels[name];
                var rows = c.Rows.OrderBy(r => r.UnixMilliseconds).ToList();
                return new ReplayChannelTrace(name, c.Key, hasEnergy && rows.Any(r => double.IsFinite(r.Joules)), hasPower && rows.Any(r => double.IsFinite(r.Watts)), rows)
                {
                    EnergyResolutionJoules = Math.Pow(10, -Math.Max(0, c.EnergyDecimals)) * energyScale,
                    PowerResolutionWatts = Math.Pow(10, -Math.Max(0, c.PowerDecimals)),
                    PowerIsAverage = powerIsAverage,
                };
            })];
        }

        /// <summary>A number with an optional unit after a space ("245.31 W"); [N/A] and friends are NaN.</summary>
        private (double Value, int Decimals) Value(string cell, int number, string line)
        {
            var text = cell.Trim();
            if (text.Length == 0 || text.StartsWith('[') || text.Equals("N/A", StringComparison.OrdinalIgnoreCase) || text.Equals("nan", StringComparison.OrdinalIgnoreCase))
                return (double.NaN, -1);
            var space = text.IndexOf(' ', StringComparison.Ordinal);
            if (space > 0) text = text[..space];
            if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v))
                throw RowError(source, number, line, $"'{cell}' is not a number");
            var dot = text.IndexOf('.', StringComparison.Ordinal);
            return (v, dot < 0 ? 0 : text.Length - dot - 1);
        }
    }

    private static List<(int Number, string Text)> Lines(string text)
    {
        var lines = new List<(int, string)>();
        var number = 0;
        foreach (var raw in text.AsSpan().EnumerateLines())
        {
            number++;
            var line = raw.Trim();
            if (line.IsEmpty || line[0] == '#') continue;
            lines.Add((number, line.ToString()));
        }
        return lines;
    }

    private static List<string> Cells(string line) => [.. line.Split(',').Select(c => c.Trim().Trim('"').Trim())];

    /// <summary>The column name without its bracketed unit: <c>power.draw [W]</c> → <c>power.draw</c>.</summary>
    private static string Bare(string header)
    {
        var bracket = header.IndexOf('[', StringComparison.Ordinal);
        return (bracket < 0 ? header : header[..bracket]).Trim();
    }

    private static string Unit(string header)
    {
        var open = header.IndexOf('[', StringComparison.Ordinal);
        var close = header.IndexOf(']', StringComparison.Ordinal);
        return open >= 0 && close > open ? header[(open + 1)..close].Trim() : "";
    }

    private static double EnergyScale(string unit, string source) => unit switch
    {
        "mJ" => 1e-3,
        "J" => 1,
        "kJ" => 1e3,
        "Wh" => 3600,
        "kWh" => 3.6e6,
        _ => throw new EnergyToTokenException($"{source}: the energy unit [{unit}] is not one of mJ, J, kJ, Wh, kWh."),
    };

    private static int Require(List<string> names, string name, string source, string header)
    {
        var i = names.IndexOf(name);
        return i >= 0 ? i : throw new EnergyToTokenException($"{source} has no '{name}' column (header: '{header}'). Log with timestamps, e.g. nvidia-smi --query-gpu=timestamp,index,uuid,power.draw.");
    }

    private static int FirstOf(List<string> names, params string[] candidates)
    {
        foreach (var c in candidates)
        {
            var i = names.IndexOf(c);
            if (i >= 0) return i;
        }
        return -1;
    }

    private static EnergyToTokenException RowError(string source, int number, string line, string what) =>
        new($"{source}, line {number}: {what} ('{(line.Length > 120 ? line[..120] + "…" : line)}'). Fix or remove the line.");
}
