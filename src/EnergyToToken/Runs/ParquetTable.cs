using Parquet;
using Parquet.Schema;

namespace EnergyToToken.Runs;

/// <summary>The Parquet type of a <see cref="TableColumn"/> and the array that holds it in memory.</summary>
internal enum ColumnType
{
    /// <summary>int32, required: <c>int[]</c>.</summary>
    Int32,

    /// <summary>int32, nullable: <c>int?[]</c>.</summary>
    OptionalInt32,

    /// <summary>double, required: <c>double[]</c>.</summary>
    Double,

    /// <summary>double, nullable: <c>double[]</c> in memory, NaN for null both ways (unknown is NaN in memory, null on disk).</summary>
    OptionalDouble,

    /// <summary>boolean, required: <c>bool[]</c>.</summary>
    Boolean,

    /// <summary>UTF-8 string, required: <c>string[]</c>.</summary>
    String,

    /// <summary>UTF-8 string, nullable: <c>string?[]</c>.</summary>
    OptionalString,
}

/// <summary>One column of a <see cref="TableSchema"/>: its snake_case name (with the unit in it) and type.</summary>
internal sealed record TableColumn(string Name, ColumnType Type)
{
    internal DataField Field() => Type switch
    {
        ColumnType.Int32 => new DataField<int>(Name, false),
        ColumnType.OptionalInt32 => new DataField<int>(Name, true),
        ColumnType.Double => new DataField<double>(Name, false),
        ColumnType.OptionalDouble => new DataField<double>(Name, true),
        ColumnType.Boolean => new DataField<bool>(Name, false),
        ColumnType.String => new DataField<string>(Name, false),
        ColumnType.OptionalString => new DataField<string>(Name, true),
        _ => throw new ArgumentOutOfRangeException(nameof(Type), Type, null),
    };

    /// <summary>How the column reads in a message: "nullable double", "required string".</summary>
    internal string Describe() => Type switch
    {
        ColumnType.Int32 => "required int32",
        ColumnType.OptionalInt32 => "nullable int32",
        ColumnType.Double => "required double",
        ColumnType.OptionalDouble => "nullable double",
        ColumnType.Boolean => "required boolean",
        ColumnType.String => "required string",
        _ => "nullable string",
    };
}

/// <summary>A table file of a run directory: its name, what it holds (for messages) and its columns, in file order.</summary>
internal sealed record TableSchema(string File, string What, IReadOnlyList<TableColumn> Columns)
{
    public int IndexOf(string name)
    {
        for (var i = 0; i < Columns.Count; i++)
        {
            if (Columns[i].Name == name) return i;
        }
        throw new ArgumentException($"{File} has no column '{name}'.", nameof(name));
    }
}

/// <summary>A table read back: one array per column, in the schema's order, each <see cref="Rows"/> long.</summary>
internal sealed class TableData(TableSchema schema, long rows, Array[] columns)
{
    public long Rows { get; } = rows;

    /// <summary>A column by name, as the array its <see cref="ColumnType"/> names.</summary>
    public T[] Column<T>(string name) => (T[])columns[schema.IndexOf(name)];
}

/// <summary>
/// Writes and reads a run directory's tables of typed columns in Apache Parquet (pandas, polars and DuckDB read them
/// directly), through Parquet.Net's column API as <see cref="ChunkFile"/> does. Snappy-compressed, Parquet.Net's
/// default, which every reader supports; these tables are small beside the chunk times (one row per request, meter
/// read or scrape), so size matters more than decoding speed.
/// Parquet.Net has no synchronous API, so both directions wait on its asynchronous one; neither runs on a thread with a
/// synchronization context here.
/// </summary>
internal static class ParquetTable
{
    /// <summary>Rows per row group when a whole table is written at once (as <see cref="ChunkFile"/>).</summary>
    internal const int RowGroupRows = 1 << 20;

    /// <summary>Writes a whole table to <paramref name="stream"/> (writable and seekable; left open).</summary>
    /// <param name="columns">One array per column in the schema's order, each at least <paramref name="rows"/> long.</param>
    public static void Write(Stream stream, TableSchema schema, int rows, IReadOnlyList<Array> columns)
    {
        using var writer = ParquetTableWriter.Create(stream, schema);
        for (var first = 0; first < rows; first += RowGroupRows)
            writer.WriteRowGroup(first, Math.Min(RowGroupRows, rows - first), columns);
    }

    /// <summary>Reads every row of a table, checking that its columns are the schema's (name, type, nullability).</summary>
    /// <exception cref="EnergyToTokenException">The file is missing, unreadable, damaged or not this table.</exception>
    public static TableData Read(string path, TableSchema schema)
    {
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new EnergyToTokenException($"Cannot open {schema.What} '{path}': {e.Message}. Check the path and its permissions.", e);
        }
        using (file)
        {
            try
            {
                return Read(file, path, schema);
            }
            catch (Exception e) when (e is not (EnergyToTokenException or OutOfMemoryException))
            {
                // As in ChunkFile: Parquet.Net reports malformed input with whatever exception its decoder meets.
                throw Damaged(path, schema, e.Message, e);
            }
        }
    }

    private static TableData Read(FileStream file, string path, TableSchema schema)
    {
        var reader = ParquetReader.CreateAsync(file, leaveStreamOpen: true).GetAwaiter().GetResult();
        try
        {
            var fields = schema.Columns.Select(c => Field(reader, c, path, schema)).ToArray();
            var total = reader.Metadata?.NumRows ?? throw Damaged(path, schema, "it has no file metadata");
            if (total < 0 || total > Array.MaxLength) throw Damaged(path, schema, $"its metadata gives {total} rows");
            var n = (int)total;
            var columns = schema.Columns.Select(c => Allocate(c.Type, n)).ToArray();
            var filled = 0;
            for (var g = 0; g < reader.RowGroupCount; g++)
            {
                using var group = reader.OpenRowGroupReader(g);
                var rows = group.RowCount;
                if (rows < 0 || rows > n - filled) throw Damaged(path, schema, $"its row groups hold more rows than the {total} its metadata gives");
                for (var c = 0; c < fields.Length; c++) ReadColumn(group, fields[c], schema.Columns[c].Type, columns[c], filled, (int)rows);
                filled += (int)rows;
            }
            if (filled != n) throw Damaged(path, schema, $"its row groups hold {filled} rows, its metadata {total}");
            return new TableData(schema, total, columns);
        }
        finally
        {
            reader.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private static DataField Field(ParquetReader reader, TableColumn column, string path, TableSchema schema)
    {
        var field = reader.Schema.DataFields.FirstOrDefault(f => f.Name == column.Name)
            ?? throw new EnergyToTokenException($"'{path}' is not {schema.What}: it has no '{column.Name}' column (it has {string.Join(", ", reader.Schema.DataFields.Select(f => f.Name))}). Give the {schema.File} of a run.");
        var expected = column.Field();
        if (field.ClrType != expected.ClrType || field.IsNullable != expected.IsNullable || field.IsArray)
            throw new EnergyToTokenException($"'{path}' is not {schema.What}: its '{column.Name}' column is {(field.IsNullable ? "nullable" : "required")} {(field.IsArray ? "repeated " : "")}{TypeName(field)}, not {column.Describe()}. Give the {schema.File} of a run.");
        return field;
    }

    /// <summary>A column's type for people: Parquet.Net gives UTF-8 strings as <c>ReadOnlyMemory&lt;char&gt;</c>.</summary>
    internal static string TypeName(DataField field) =>
        field.ClrType == typeof(ReadOnlyMemory<char>) || field.ClrType == typeof(string) ? "String" : field.ClrType.Name;

    private static Array Allocate(ColumnType type, int rows) => type switch
    {
        ColumnType.Int32 => new int[rows],
        ColumnType.OptionalInt32 => new int?[rows],
        ColumnType.Double or ColumnType.OptionalDouble => new double[rows],
        ColumnType.Boolean => new bool[rows],
        _ => new string?[rows],
    };

    private static void ReadColumn(ParquetRowGroupReader group, DataField field, ColumnType type, Array column, int first, int rows)
    {
        switch (type)
        {
            case ColumnType.Int32:
                Wait(group.ReadAsync(field, ((int[])column).AsMemory(first, rows)));
                break;
            case ColumnType.OptionalInt32:
                Wait(group.ReadAsync(field, ((int?[])column).AsMemory(first, rows)));
                break;
            case ColumnType.Double:
                Wait(group.ReadAsync(field, ((double[])column).AsMemory(first, rows)));
                break;
            case ColumnType.OptionalDouble:
                var values = new double?[rows];
                Wait(group.ReadAsync(field, values.AsMemory()));
                var target = (double[])column;
                for (var i = 0; i < rows; i++) target[first + i] = values[i] ?? double.NaN;
                break;
            case ColumnType.Boolean:
                Wait(group.ReadAsync(field, ((bool[])column).AsMemory(first, rows)));
                break;
            default:
                // A required column has no definition levels, so it cannot hold a null: string?[] holds strings only.
                Wait(group.ReadAsync(field, ((string?[])column).AsMemory(first, rows)));
                break;
        }
    }

    private static void Wait(ValueTask task) => task.AsTask().GetAwaiter().GetResult();

    private static EnergyToTokenException Damaged(string path, TableSchema schema, string why, Exception? inner = null) =>
        new($"{char.ToUpperInvariant(schema.What[0])}{schema.What[1..]} '{path}' is damaged or not a Parquet file ({why}). Run 'e2t verify' on the run directory, run the benchmark again, or restore the run directory from a copy.", inner);
}

/// <summary>
/// Writes a table row group by row group, so a caller that makes rows as it goes (a generated trace) never holds the
/// whole table. Disposing writes the footer; the stream stays open for the caller to flush and close.
/// </summary>
internal sealed class ParquetTableWriter : IDisposable
{
    private readonly ParquetWriter _writer;
    private readonly TableSchema _schema;
    private readonly DataField[] _fields;

    private ParquetTableWriter(ParquetWriter writer, TableSchema schema, DataField[] fields)
    {
        _writer = writer;
        _schema = schema;
        _fields = fields;
    }

    public static ParquetTableWriter Create(Stream stream, TableSchema schema)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var fields = schema.Columns.Select(c => c.Field()).ToArray();
        var writer = ParquetWriter.CreateAsync(new ParquetSchema(fields), stream).GetAwaiter().GetResult();
        return new ParquetTableWriter(writer, schema, fields);
    }

    /// <summary>Writes rows <c>[first, first + rows)</c> of every column as one row group.</summary>
    /// <param name="columns">One array per column in the schema's order, of the type its <see cref="ColumnType"/> names.</param>
    public void WriteRowGroup(int first, int rows, IReadOnlyList<Array> columns)
    {
        if (columns.Count != _fields.Length) throw new ArgumentException($"{_schema.File} has {_fields.Length} columns; {columns.Count} were given.", nameof(columns));
        if (rows == 0) return;
        using var group = _writer.CreateRowGroup();
        for (var c = 0; c < _fields.Length; c++)
        {
            var field = _fields[c];
            switch (_schema.Columns[c].Type)
            {
                case ColumnType.Int32:
                    Wait(group.WriteAsync(field, new ReadOnlyMemory<int>((int[])columns[c], first, rows)));
                    break;
                case ColumnType.OptionalInt32:
                    Wait(group.WriteAsync(field, new ReadOnlyMemory<int?>((int?[])columns[c], first, rows)));
                    break;
                case ColumnType.Double:
                    Wait(group.WriteAsync(field, new ReadOnlyMemory<double>((double[])columns[c], first, rows)));
                    break;
                case ColumnType.OptionalDouble:
                    var source = (double[])columns[c];
                    var values = new double?[rows];
                    for (var i = 0; i < rows; i++) values[i] = double.IsNaN(source[first + i]) ? null : source[first + i];
                    Wait(group.WriteAsync(field, new ReadOnlyMemory<double?>(values)));
                    break;
                case ColumnType.Boolean:
                    Wait(group.WriteAsync(field, new ReadOnlyMemory<bool>((bool[])columns[c], first, rows)));
                    break;
                default:
                    Wait(group.WriteAsync(field, new ArraySegment<string>((string[])columns[c], first, rows)));
                    break;
            }
        }
        group.CompleteValidate();
    }

    private static void Wait(Task task) => task.GetAwaiter().GetResult();

    public void Dispose() => _writer.DisposeAsync().AsTask().GetAwaiter().GetResult();
}
