using EnergyToToken.Twin;

namespace EnergyToToken.Tests.Twin;

/// <summary>Stopping the twin ends what it is serving as aborted, keeps every request's ground truth, and does not wait for long answers.</summary>
public class TwinShutdownTests
{
    [Fact]
    public async Task Disposing_the_server_aborts_streams_in_flight_and_commits_their_ground_truth()
    {
        var path = Path.Combine(Path.GetTempPath(), $"e2t-twin-shutdown-{Guid.NewGuid():N}.jsonl");
        try
        {
            var server = await TwinHttp.StartAsync(new TwinServerOptions { GroundTruthPath = path });
            using var client = TwinHttp.Client(server);
            using var request = TwinHttp.Post("v1/completions", TwinHttp.Json(new { prompt = "a long answer", max_tokens = 100_000, ignore_eos = true, stream = true }));
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            using var body = new StreamReader(await response.Content.ReadAsStreamAsync());
            Assert.StartsWith("data: ", await body.ReadLineAsync()); // the first token arrived: the request is running

            var stopwatch = System.Diagnostics.Stopwatch.StartNew();
            await server.DisposeAsync();
            Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(5), $"stopping took {stopwatch.Elapsed}");

            var truth = Assert.Single(server.GroundTruth.Requests);
            Assert.Equal(FinishReason.Abort, truth.Finish);
            Assert.True(truth.OutputTokens >= 1 && truth.OutputTokens < 100_000);
            Assert.Single(File.ReadAllLines(path));
            // The stream ended without [DONE]: the answer was cut short, and says so by its missing end.
            var rest = await body.ReadToEndAsync();
            Assert.DoesNotContain("[DONE]", rest, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
