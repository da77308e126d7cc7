namespace EnergyToToken.Runs;

/// <summary>
/// The run directory's tables beside the chunk times (<see cref="ChunkFile"/>): one definition each, shared by the
/// writer (<see cref="RunDirectory.WriteTimelines"/>), the reader (<see cref="Analysis.RunData.Load"/>) and the
/// benchmark's trace generator. Times are seconds on the run's clock; null where the value is unknown. Documented in
/// docs/runs.md.
/// </summary>
internal static class Timelines
{
    /// <summary>One row per issued request, warm-up included, in the order the run kept them.</summary>
    public static readonly TableSchema Requests = new("requests.parquet", "the request timeline", [
        new("index", ColumnType.Int32),
        new("warmup", ColumnType.Boolean),
        new("state", ColumnType.String),
        new("http_status", ColumnType.OptionalInt32),
        new("scheduled_s", ColumnType.Double),
        new("sent_s", ColumnType.Double),
        new("first_chunk_s", ColumnType.OptionalDouble),
        new("last_chunk_s", ColumnType.OptionalDouble),
        new("end_s", ColumnType.OptionalDouble),
        new("drawn_input_tokens", ColumnType.Int32),
        new("drawn_output_tokens", ColumnType.Int32),
        new("prompt_tokens", ColumnType.OptionalInt32),
        new("output_tokens", ColumnType.Int32),
        new("reasoning_tokens", ColumnType.Int32),
        new("usage_from_server", ColumnType.Boolean),
        new("output_chunks", ColumnType.Int32),
        new("finish_reason", ColumnType.OptionalString),
        new("response_id", ColumnType.OptionalString),
        new("detail", ColumnType.String),
    ]);

    /// <summary>Every good meter read, channel by channel.</summary>
    public static readonly TableSchema Power = new("power.parquet", "the power timeline", [
        new("channel", ColumnType.String),
        new("scope", ColumnType.String),
        new("t_s", ColumnType.Double),
        new("joules", ColumnType.OptionalDouble),
        new("watts", ColumnType.OptionalDouble),
        new("updated", ColumnType.Boolean),
    ]);

    /// <summary>The meters' gauges, one row per gauge per read; <c>set</c> is the meter's position in run.json's <c>telemetry</c>.</summary>
    public static readonly TableSchema Telemetry = new("telemetry.parquet", "the telemetry timeline", [
        new("set", ColumnType.Int32),
        new("t_s", ColumnType.Double),
        new("gauge", ColumnType.String),
        new("value", ColumnType.OptionalDouble),
    ]);

    /// <summary>The server's scraped metrics, one row per scrape.</summary>
    public static readonly TableSchema ServerMetrics = new("server-metrics.parquet", "the server-metrics timeline", [
        new("t_s", ColumnType.Double),
        new("running", ColumnType.OptionalDouble),
        new("waiting", ColumnType.OptionalDouble),
        new("kv_cache_usage", ColumnType.OptionalDouble),
        new("prompt_tokens_total", ColumnType.OptionalDouble),
        new("generation_tokens_total", ColumnType.OptionalDouble),
        new("preemptions_total", ColumnType.OptionalDouble),
    ]);
}
