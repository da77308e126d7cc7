namespace EnergyToToken.Tests.Fleet;

public sealed class FleetCommandTests
{
    /// <summary>The options and their defaults are the command's contract with scripts: a change shows in review.</summary>
    [Fact]
    public void The_fleet_help_matches_its_golden_file()
    {
        var (code, output, _) = EnergyToToken.Tests.Cli.ModelCommandTests.Run("fleet", "--help");
        Assert.Equal(0, code);
        Golden.Match(output, "fleet-help.txt");
    }
}
