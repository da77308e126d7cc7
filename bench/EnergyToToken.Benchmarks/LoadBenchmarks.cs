using System.Text;
using BenchmarkDotNet.Attributes;
using EnergyToToken.Load;

namespace EnergyToToken.Benchmarks;

/// <summary>
/// The client's per-event work: SSE framing and the chunk's JSON, over 10,000 vLLM-shaped completion chunks fed in
/// 16 KB reads as the client reads them. Target (issue 5): ≥ 1 M events/s per core, no allocation per event.
/// </summary>
[MemoryDiagnoser]
public class LoadBenchmarks
{
    private const int Events = 10_000;
    private byte[] _stream = [];
    private long _bytes;

    [GlobalSetup]
    public void Setup()
    {
        var text = new StringBuilder();
        for (var i = 0; i < Events; i++)
            text.Append("data: {\"id\":\"cmpl-0000002a\",\"object\":\"text_completion\",\"created\":1795624920,\"model\":\"llama-3.1-8b-h100\",\"choices\":[{\"index\":0,\"text\":\" word\",\"logprobs\":null,\"finish_reason\":null,\"stop_reason\":null}]}\n\n");
        _stream = Encoding.UTF8.GetBytes(text.ToString());
    }

    [Benchmark(OperationsPerInvoke = Events)]
    public long ParseEvents()
    {
        var reader = new SseReader();
        _bytes = 0;
        SseReader.EventHandler onEvent = OnEvent;
        foreach (var piece in _stream.AsMemory().Chunk16K()) reader.Feed(piece.Span, onEvent);
        return _bytes;
    }

    private void OnEvent(ReadOnlySpan<byte> data)
    {
        if (ChunkInfo.TryRead(data, out var info)) _bytes += info.OutputBytes;
    }
}

internal static class MemoryChunks
{
    public static IEnumerable<ReadOnlyMemory<byte>> Chunk16K(this Memory<byte> memory)
    {
        for (var at = 0; at < memory.Length; at += 16 * 1024) yield return memory[at..Math.Min(memory.Length, at + 16 * 1024)];
    }
}
