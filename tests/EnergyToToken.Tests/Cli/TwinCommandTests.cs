using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using EnergyToToken.Tests.Metering;
using EnergyToToken.Twin;
using static EnergyToToken.Tests.Cli.ModelCommandTests;

namespace EnergyToToken.Tests.Cli;

/// <summary><c>e2t twin</c>: its profile listing, its refusals, and <c>serve</c> as a real process stopped by SIGINT.</summary>
public sealed partial class TwinCommandTests
{
    [Fact]
    public void Profiles_lists_every_bundled_profile()
    {
        var (code, output, error) = Run("twin", "profiles");
        Assert.Equal("", error);
        Assert.Equal(0, code);
        Assert.Contains("Twin profiles (simulated deployments)", output, StringComparison.Ordinal);
        // At 120 columns the table wraps long cells over several lines; a row starts where its devices cell is filled.
        var rows = new List<(string Name, string Devices)>();
        foreach (var line in output.Split('\n').SkipWhile(l => !l.StartsWith('├')).Skip(1).Where(l => l.StartsWith('│')))
        {
            var cells = line.Split('│').Select(c => c.Trim()).ToArray();
            if (cells[4].Length > 0) rows.Add((cells[1], cells[4]));
            else rows[^1] = (rows[^1].Name + cells[1], rows[^1].Devices);
        }
        Assert.Equal(TwinProfiles.All.Select(p => (p.Name, p.Devices.ToString(CultureInfo.InvariantCulture))), rows);
    }

    [Fact]
    public void Profiles_json_has_its_schema_and_every_profile_with_its_limits()
    {
        var (code, output, error) = Run("twin", "profiles", "--json");
        Assert.Equal("", error);
        Assert.Equal(0, code);
        using var json = JsonDocument.Parse(output);
        var root = json.RootElement;
        Assert.Equal("e2t.twin-profiles", root.GetProperty("schema").GetString());
        Assert.Equal(1, root.GetProperty("version").GetInt32());
        var profiles = root.GetProperty("profiles").EnumerateArray().ToList();
        Assert.Equal(TwinProfiles.All.Select(p => p.Name), profiles.Select(p => p.GetProperty("name").GetString()));
        foreach (var p in profiles)
        {
            Assert.True(p.GetProperty("kvCacheTokens").GetInt32() >= p.GetProperty("maxModelLength").GetInt32());
            Assert.True(p.GetProperty("maxModelLength").GetInt32() > 0);
            Assert.Equal("bf16", p.GetProperty("precision").GetString());
        }
        var big = profiles.Single(p => p.GetProperty("name").GetString() == "llama-3.1-70b-h100x4");
        Assert.Equal(4, big.GetProperty("devices").GetInt32());
        Assert.Equal("llama-3.1-70b", big.GetProperty("model").GetString());
        var reasoning = profiles.Single(p => p.GetProperty("name").GetString() == "reasoning-8b-h100");
        Assert.Equal(0.6, reasoning.GetProperty("reasoningShare").GetDouble());
        Assert.Equal(131_072, profiles[0].GetProperty("maxModelLength").GetInt32()); // Llama-3.1-8B's context fits an H100's cache
    }

    [Theory]
    [InlineData("unknown fault 'bogus'", "twin", "serve", "--faults", "bogus=1")]
    [InlineData("not a probability", "twin", "serve", "--faults", "reset=2")]
    [InlineData("no twin profile named 'nope'", "twin", "serve", "--profile", "nope")]
    [InlineData("either --profile (y) or --model (x)", "twin", "serve", "--model", "x", "--profile", "y")]
    [InlineData("needs --model", "twin", "serve", "--accelerator", "a100-sxm-80gb")]
    public void Serve_refuses_bad_arguments_with_one_error_line(string says, params string[] args)
    {
        var (code, output, error) = Run(args);
        Assert.Equal(1, code);
        Assert.Equal("", output);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: ", line, StringComparison.Ordinal);
        Assert.Contains(says, line, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void The_tool_itself_exits_1_with_one_error_line_and_no_stack_trace()
    {
        var (exit, stdout, stderr) = E2tProcess.Run(new Dictionary<string, string>(), asNobody: false, "twin", "serve", "--profile", "nope");
        Assert.Equal(1, exit);
        Assert.Equal("", stdout);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: There is no twin profile named 'nope'.", line, StringComparison.Ordinal);
        Assert.DoesNotContain(" at ", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_answers_on_the_printed_url_and_stops_on_sigint_with_a_summary()
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "e2t.dll"), "twin", "serve", "--port", "0" }) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            using var startup = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            var head = new StringBuilder();
            string? api = null;
            while (api is null && await process.StandardOutput.ReadLineAsync(startup.Token) is { } line)
            {
                head.AppendLine(line);
                if (line.Contains("OpenAI API", StringComparison.Ordinal)) api = ApiUrl().Match(line).Groups[1].Value;
            }
            Assert.True(api is { Length: > 0 }, $"no OpenAI API line in:\n{head}");
            Assert.StartsWith("e2t twin (simulated): llama-3.1-8b-h100", head.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain(":0/", api, StringComparison.Ordinal); // the port it chose, not 0

            using (var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) })
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, api + "/completions")
                {
                    Content = new StringContent("{\"prompt\":\"hello\",\"max_tokens\":3,\"ignore_eos\":true}", Encoding.UTF8, "application/json"),
                };
                using var response = await client.SendAsync(request);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                Assert.Equal(3, body.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
            }

            using (var kill = Process.Start("kill", ["-INT", process.Id.ToString(CultureInfo.InvariantCulture)])!)
            {
                await kill.WaitForExitAsync();
                Assert.Equal(0, kill.ExitCode);
            }
            var rest = await process.StandardOutput.ReadToEndAsync(startup.Token);
            await process.WaitForExitAsync(startup.Token);
            Assert.Equal(0, process.ExitCode);
            Assert.Matches(@"(?m)^Stopped after [0-9.,]+ s: [0-9.,]+ J simulated \([0-9.,]+ W mean\), [0-9,]+ steps\.$", rest);
            Assert.Equal("", await stderr);
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
    }

    [GeneratedRegex(@"OpenAI API\s+(http://\S+/v1)\s")]
    private static partial Regex ApiUrl();
}

/// <summary>How <c>e2t twin serve</c> names the deployment it serves.</summary>
public class TwinProfileChoiceTests
{
    [Fact]
    public void A_bundled_profile_with_other_devices_or_precision_is_renamed_for_what_it_serves()
    {
        Assert.Equal("llama-3.1-8b-h100", EnergyToToken.Cli.Commands.TwinCommand.ChooseProfile(null, null, null, null, null).Name);
        Assert.Equal("llama-3.1-8b-h100", EnergyToToken.Cli.Commands.TwinCommand.ChooseProfile(null, null, null, 1, "bf16").Name);
        Assert.Equal("llama-3.1-8b-h100-sxmx4-fp8", EnergyToToken.Cli.Commands.TwinCommand.ChooseProfile(null, null, null, 4, "fp8").Name);
        Assert.Equal("llama-3.1-70b-h100-sxmx4", EnergyToToken.Cli.Commands.TwinCommand.ChooseProfile(null, "llama-3.1-70b", null, 4, null).Name);
    }
}
