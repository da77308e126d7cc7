using EnergyToToken.Load;

namespace EnergyToToken.Tests.Load;

/// <summary>Length distributions, synthetic prompts and arrival schedules: seeded, exact where they promise to be.</summary>
public class WorkloadTests
{
    [Theory]
    [InlineData("fixed:512", 512, 0.0)]
    [InlineData("uniform:100-300", 200, 0.02)]
    [InlineData("normal:512,64", 512, 0.02)]
    [InlineData("lognormal:256,0.5", 290.1, 0.03)] // mean = median · e^(σ²/2)
    public void Draws_have_the_documented_mean(string text, double mean, double tolerance)
    {
        var distribution = LengthDistribution.Parse(text);
        Assert.Equal(mean, distribution.Mean, mean * 0.001 + 0.05);
        var random = new Random(3);
        var draws = Enumerable.Range(0, 20_000).Select(_ => distribution.Draw(random)).ToList();
        Assert.All(draws, d => Assert.True(d >= 1));
        Assert.InRange(draws.Average(), mean * (1 - tolerance) - 0.5, mean * (1 + tolerance) + 0.5);
    }

    [Fact]
    public void An_empirical_distribution_draws_only_the_lengths_in_its_file()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllLines(path, ["12", "", "40", "7"]);
            var distribution = LengthDistribution.Parse($"empirical:{path}");
            var random = new Random(1);
            Assert.Equal([7, 12, 40], Enumerable.Range(0, 500).Select(_ => distribution.Draw(random)).Distinct().Order());
            File.WriteAllLines(path, ["12", "lots"]);
            Assert.Contains("line 2", Assert.Throws<EnergyToTokenException>(() => LengthDistribution.Parse($"empirical:{path}")).Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("gaussian:5")]
    [InlineData("fixed:-3")]
    [InlineData("uniform:300-100")]
    [InlineData("normal:512")]
    public void Bad_distributions_are_refused_with_the_forms_that_work(string text)
    {
        var e = Assert.Throws<EnergyToTokenException>(() => LengthDistribution.Parse(text));
        Assert.Contains(text, e.Message);
    }

    [Fact]
    public void Prompts_have_the_exact_token_count_are_unique_per_request_and_reproducible()
    {
        var factory = new PromptFactory(seed: 7);
        var a = factory.Create(0, 300);
        var b = factory.Create(1, 300);
        Assert.Equal(300, TokenText.Instance.Count(a));
        Assert.Equal(300, TokenText.Instance.Count(b));
        Assert.NotEqual(a[..40], b[..40]); // no shared prefix for a cache to reuse
        Assert.Equal(a, new PromptFactory(seed: 7).Create(0, 300));
        var shared = new PromptFactory(seed: 7, sharedPrefixTokens: 100);
        var c = shared.Create(0, 300);
        var d = shared.Create(1, 300);
        var prefix = string.Concat(c.Split(' ').Take(101)); // 100 words after the leading space
        Assert.Equal(prefix, string.Concat(d.Split(' ').Take(101)));
        Assert.NotEqual(c, d);
    }

    [Fact]
    public void Open_loop_schedules_follow_their_rate_and_the_seed_alone()
    {
        var poisson = ArrivalSchedule.OpenLoop(new ArrivalOptions { Kind = ArrivalKind.Poisson, Rate = 50, Count = 5000, Seed = 3 });
        Assert.Equal(5000, poisson.Count);
        Assert.InRange(poisson[^1] / poisson.Count, 0.019, 0.021); // mean gap 1/50 s
        Assert.Equal(poisson, ArrivalSchedule.OpenLoop(new ArrivalOptions { Kind = ArrivalKind.Poisson, Rate = 50, Count = 5000, Seed = 3 }));
        Assert.NotEqual(poisson, ArrivalSchedule.OpenLoop(new ArrivalOptions { Kind = ArrivalKind.Poisson, Rate = 50, Count = 5000, Seed = 4 }));

        var constant = ArrivalSchedule.OpenLoop(new ArrivalOptions { Kind = ArrivalKind.Constant, Rate = 4, Count = null, Duration = TimeSpan.FromSeconds(2) });
        Assert.Equal([0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75], constant);

        // Gamma gaps: the mean stays 1/rate; the coefficient of variation is 1/√burstiness.
        foreach (var burstiness in new[] { 0.25, 4.0 })
        {
            var gamma = ArrivalSchedule.OpenLoop(new ArrivalOptions { Kind = ArrivalKind.Gamma, Rate = 10, Burstiness = burstiness, Count = 20_000 });
            var gaps = gamma.Zip(gamma.Skip(1), (x, y) => y - x).ToList();
            var mean = gaps.Average();
            var cv = Math.Sqrt(gaps.Sum(g => (g - mean) * (g - mean)) / gaps.Count) / mean;
            Assert.InRange(mean, 0.095, 0.105);
            Assert.InRange(cv, 0.93 / Math.Sqrt(burstiness), 1.07 / Math.Sqrt(burstiness));
        }
    }

    [Fact]
    public void A_ramp_sends_more_as_its_rate_rises()
    {
        var ramp = ArrivalSchedule.OpenLoop(new ArrivalOptions { Rate = 10, RampTo = 90, Count = null, Duration = TimeSpan.FromSeconds(20) });
        // ∫ of a rate rising linearly from 10 to 90 over 20 s is 1000; the second half carries (50+90)/2·10 = 700.
        Assert.InRange(ramp.Count, 900, 1100);
        Assert.InRange(ramp.Count(t => t >= 10), 630, 770);
    }

    [Fact]
    public void Schedules_that_cannot_end_or_make_no_sense_are_refused_with_every_problem()
    {
        var e = Assert.Throws<EnergyToTokenException>(() => ArrivalSchedule.OpenLoop(new ArrivalOptions { Rate = -1, Count = null, RampTo = 5 }));
        Assert.Contains("rate must be a positive", e.Message);
        Assert.Contains("must end", e.Message);
        Assert.Contains("needs a duration", e.Message);
    }
}
