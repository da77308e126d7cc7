using System.Text;
using EnergyToToken.Load;
using FsCheck;
using FsCheck.Fluent;

namespace EnergyToToken.Tests.Load;

/// <summary>The byte-level SSE parser and the chunk reader against the format's corner cases (measurement.md §5).</summary>
public class SseReaderTests
{
    private static List<string> Parse(IEnumerable<byte[]> pieces)
    {
        var events = new List<string>();
        var reader = new SseReader();
        foreach (var piece in pieces) reader.Feed(piece, data => events.Add(Encoding.UTF8.GetString(data)));
        return events;
    }

    private const string Stream =
        ": keep-alive\r\n" +
        "event: message\nid: 7\nretry: 100\ndata: {\"a\":\"é€😀\"}\n\n" +
        "data:no-space\r\n\r\n" +
        "data: line one\ndata: line two\n\n" +
        "data: cr only\r\r" +
        "data\n\n" +
        "data: [DONE]\n\n";

    private static readonly string[] Expected = ["{\"a\":\"é€😀\"}", "no-space", "line one\nline two", "cr only", "", "[DONE]"];

    [Fact]
    public void Line_ends_comments_fields_and_multi_line_data_follow_the_standard()
    {
        Assert.Equal(Expected, Parse([Encoding.UTF8.GetBytes(Stream)]));
    }

    [Fact]
    public void Split_at_every_byte_boundary_the_events_are_the_same()
    {
        var bytes = Encoding.UTF8.GetBytes(Stream);
        Assert.Equal(Expected, Parse(bytes.Select(b => new[] { b })));
        for (var cut = 1; cut < bytes.Length; cut++) Assert.Equal(Expected, Parse([bytes[..cut], bytes[cut..]]));
    }

    [Fact]
    public void Any_split_of_a_stream_gives_the_same_events()
    {
        var bytes = Encoding.UTF8.GetBytes(Stream);
        Prop.ForAll(Gen.Choose(1, 9).ListOf().ToArbitrary(), sizes =>
        {
            var pieces = new List<byte[]>();
            var at = 0;
            foreach (var size in sizes.Concat(Enumerable.Repeat(bytes.Length, 1)))
            {
                if (at >= bytes.Length) break;
                var n = Math.Min(size, bytes.Length - at);
                pieces.Add(bytes[at..(at + n)]);
                at += n;
            }
            return Parse(pieces).SequenceEqual(Expected);
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void A_one_megabyte_event_arrives_whole()
    {
        var big = new string('x', 1 << 20);
        var bytes = Encoding.UTF8.GetBytes($"data: {big}\n\n");
        var events = Parse(bytes.Chunk(4096));
        Assert.Equal(big, Assert.Single(events));
    }

    [Theory]
    [InlineData("{\"choices\":[{\"index\":0,\"text\":\" word\",\"finish_reason\":null}]}", 5, false, null)]
    [InlineData("{\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}", 0, false, null)]
    [InlineData("{\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\" hmm\"}}]}", 4, true, null)]
    [InlineData("{\"choices\":[{\"index\":0,\"delta\":{\"reasoning\":\" hmm\"}}]}", 4, true, null)]
    [InlineData("{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"},\"finish_reason\":\"length\"}]}", 1, false, "length")]
    [InlineData("{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}", 0, false, "other")]
    public void Chunks_say_whether_they_carry_output_and_why_they_end(string json, int bytes, bool reasoning, string? finish)
    {
        Assert.True(ChunkInfo.TryRead(Encoding.UTF8.GetBytes(json), out var info));
        Assert.Equal(bytes, info.OutputBytes);
        Assert.Equal(reasoning, info.Reasoning);
        Assert.Equal(finish, info.FinishReason);
    }

    [Fact]
    public void A_usage_only_chunk_gives_the_token_counts_and_invalid_json_is_refused()
    {
        var usage = "{\"id\":\"x\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"total_tokens\":20,\"completion_tokens\":8,\"completion_tokens_details\":{\"reasoning_tokens\":3}}}";
        Assert.True(ChunkInfo.TryRead(Encoding.UTF8.GetBytes(usage), out var info));
        Assert.Equal((8, 12, 3), (info.CompletionTokens, info.PromptTokens, info.ReasoningTokens));
        Assert.Equal(0, info.OutputBytes);
        Assert.False(ChunkInfo.TryRead("{\"choices\":[{\"text\":"u8, out _));
        Assert.False(ChunkInfo.TryRead("not json"u8, out _));
        Assert.False(ChunkInfo.TryRead("[1,2]"u8, out _));
    }
}
