using System.Globalization;
using System.Text.Json.Nodes;
using EnergyToToken.Load;
using EnergyToToken.Production;
using EnergyToToken.Reporting;

namespace EnergyToToken.Tests.Reporting;

/// <summary>
/// The comparison model over real twin results (Fixtures/compare, see its README) and copies of them edited in the
/// test, one reason at a time.
/// </summary>
public sealed class ComparisonTests
{
    internal static readonly string Fixtures = Path.Combine(AppContext.BaseDirectory, "Fixtures", "compare");

    internal static string Fixture(string run) => Path.Combine(Fixtures, run);

    private static JsonNode Result(string run) => JsonNode.Parse(File.ReadAllText(Path.Combine(Fixture(run), "result.json")))!;

    private static ComparisonInput Input(string source, JsonNode result) => ComparisonInput.Parse(source, source + "/result.json", result.ToJsonString());

    /// <summary>The reference h100-c16 against a copy of it changed by <paramref name="edit"/>.</summary>
    private static CandidateComparison Against(Action<JsonNode> edit, ComparisonOptions? options = null)
    {
        var candidate = Result("h100-c16");
        edit(candidate);
        return Comparison.Build([Input("h100-c16", Result("h100-c16")), Input("edited", candidate)], options ?? new ComparisonOptions()).Candidates.Single();
    }

    private static GainCheckItem Failed(CandidateComparison c, string check)
    {
        Assert.False(c.Counts);
        var item = Assert.Single(c.Checks, i => i.Check == check);
        Assert.False(item.Passed, item.Detail);
        Assert.Contains(item.Detail, c.Reasons);
        return item;
    }

    private static Comparison Fixtures4() => Comparison.Build(
        ComparisonInput.Load([Fixture("h100-c16"), Fixture("h100-300w-c16"), Fixture("h100-c8"), Fixture("drifted")]), new ComparisonOptions());

    [Fact]
    public void The_same_run_against_itself_counts_and_moves_nothing()
    {
        var c = Against(_ => { });
        Assert.True(c.Counts, string.Join(Environment.NewLine, c.Reasons));
        Assert.Equal(["valid runs", "quality mmlu", "latency tpot-p99", "latency ttft-p99", "error rate", "workload", "boundary", "accounting", "headline window"],
            c.Checks.Select(i => i.Check));
        Assert.All(c.Ceilings, m => Assert.Equal(CeilingDirection.Unchanged, m.Direction));
        Assert.All(c.BindingConstraints, b => Assert.False(b.Changed));
        Assert.Equal(1, c.EpsilonRatio);
        Assert.Empty(c.Notes);
    }

    [Fact]
    public void A_power_limit_at_the_same_operating_point_counts_and_lowers_the_power_ceiling_under_both_conventions()
    {
        var comparison = Fixtures4();
        var b = comparison.Candidates[0];
        Assert.Equal("B", b.Label);
        Assert.True(b.Counts, string.Join(Environment.NewLine, b.Reasons));

        // Power ceiling = P_IT / ε: 300 W over a higher ε against 700 W.
        var a = Result("h100-c16")["production"]!;
        var pl = Result("h100-300w-c16")["production"]!;
        var expected = (300 / pl["epsilonJoulesPerToken"]!.GetValue<double>()) / (700 / a["epsilonJoulesPerToken"]!.GetValue<double>()) - 1;
        foreach (var convention in new[] { "realized", "peak" })
        {
            var power = Assert.Single(b.Ceilings, m => m.Convention == convention && m.Ceiling == "power");
            Assert.Equal(CeilingDirection.Down, power.Direction);
            Close.To(expected, power.RelativeChange!.Value, 1e-12);
        }
        // C_peak / κ: the same hardware and κ, so the peak compute ceiling did not move; the realized one is R_sat's.
        Assert.Equal(CeilingDirection.Unchanged, Assert.Single(b.Ceilings, m => m is { Convention: "peak", Ceiling: "compute" }).Direction);
        Assert.Equal(CeilingDirection.Down, Assert.Single(b.Ceilings, m => m is { Convention: "realized", Ceiling: "compute" }).Direction);
        var realized = Assert.Single(b.BindingConstraints, x => x.Convention == "realized");
        Assert.Equal(("compute", "degenerate", true), (realized.Reference, realized.Candidate, realized.Changed));
        Assert.Contains("power ceiling down 61.7 % (realized), down 61.7 % (peak)", b.Summary, StringComparison.Ordinal);
        Assert.Contains("binding constraint (realized) compute → degenerate", b.Summary, StringComparison.Ordinal);
        Close.To(pl["epsilonJoulesPerToken"]!.GetValue<double>() / a["epsilonJoulesPerToken"]!.GetValue<double>(), b.EpsilonRatio!.Value);
    }

    [Fact]
    public void Every_metric_row_has_a_cell_per_run_and_deltas_are_relative_to_the_first()
    {
        var comparison = Fixtures4();
        Assert.Equal(["A", "B", "C", "D"], comparison.Runs.Select(r => r.Label));
        foreach (var row in comparison.Metrics)
        {
            Assert.Equal(4, row.Cells.Count);
            Assert.Null(row.Cells[0].RelativeDelta);
            if (row.Unit.Length == 0) Assert.All(row.Cells, c => Assert.NotNull(c.Text));
            foreach (var cell in row.Cells.Skip(1))
                Assert.Equal(Comparison.RelativeDelta(row.Cells[0].Value, cell.Value), cell.RelativeDelta);
        }
        var gross = Assert.Single(comparison.Metrics, m => m.Key == "grossJoulesPerOutputToken");
        Assert.Equal(MetricPreference.LowerIsBetter, gross.Preference);
        var (a, b) = (gross.Cells[0].Value!.Value, gross.Cells[1].Value!.Value);
        Assert.Equal((b - a) / a, gross.Cells[1].RelativeDelta);
        Assert.Equal(Result("h100-c16")["metrics"]!["joulesPerOutputToken"]!["gross"]!.GetValue<double>(), a);

        // The reference's error rate is 0: no relative change exists, so none is given.
        var errors = Assert.Single(comparison.Metrics, m => m.Key == "errorRate");
        Assert.Equal(0, errors.Cells[0].Value);
        Assert.Equal(3 / 144.0, errors.Cells[3].Value);
        Assert.Null(errors.Cells[3].RelativeDelta);
        // No PUE was declared: the facility figure is unknown everywhere, never a guessed 0.
        Assert.All(Assert.Single(comparison.Metrics, m => m.Key == "facilityJoulesPerOutputToken").Cells, c => Assert.Null(c.Value));
    }

    [Theory]
    [InlineData(1.0, 2.0, 1.0)]
    [InlineData(4.0, 3.0, -0.25)]
    [InlineData(0.0, 3.0, null)]
    [InlineData(null, 3.0, null)]
    [InlineData(2.0, null, null)]
    public void The_relative_delta_is_b_minus_a_over_a_and_null_without_a_base(double? a, double? b, double? expected) =>
        Assert.Equal(expected, Comparison.RelativeDelta(a, b));

    [Fact]
    public void A_quality_that_fell_beyond_the_declared_tolerance_is_a_reason()
    {
        var c = Against(r => r["operatingPoint"]!["quality"]![0]!["value"] = 0.69);
        Assert.Contains("'mmlu' fell 0.022 points (0.712 → 0.69), more than the tolerance of 0.01 points", Failed(c, "quality mmlu").Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_quality_the_candidate_measured_outranks_its_declared_one()
    {
        // A quality set measured 0.70 under the same name: that is the candidate's value, not the declared 0.712.
        var c = Against(r => r["operatingPoint"]!["quality"]!.AsArray().Add(new JsonObject { ["name"] = "mmlu", ["value"] = 0.70, ["tolerance"] = 0.03, ["source"] = "quality set mmlu.jsonl (100 items)" }));
        Assert.Contains("fell 0.012 points", Failed(c, "quality mmlu").Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_quality_tolerance_given_to_compare_replaces_the_declared_one()
    {
        var c = Against(r => r["operatingPoint"]!["quality"]![0]!["value"] = 0.69,
            new ComparisonOptions { QualityTolerances = new Dictionary<string, double> { ["mmlu"] = 0.05 } });
        Assert.True(c.Counts, string.Join(Environment.NewLine, c.Reasons));
    }

    [Fact]
    public void Without_any_quality_the_check_says_quality_was_not_shown_to_hold()
    {
        var reference = Result("h100-c16");
        var candidate = Result("h100-300w-c16");
        foreach (var r in new[] { reference, candidate }) r["operatingPoint"]!["quality"] = new JsonArray();
        var c = Comparison.Build([Input("a", reference), Input("b", candidate)], new ComparisonOptions()).Candidates.Single();
        Assert.Contains("quality is not shown to hold", Failed(c, "quality").Detail, StringComparison.Ordinal);
        Assert.Single(c.Reasons);
    }

    [Fact]
    public void A_quality_measured_without_a_disclosed_tolerance_is_a_reason()
    {
        var reference = Result("h100-c16");
        reference["operatingPoint"]!["quality"]![0]!["tolerance"] = null;
        var c = Comparison.Build([Input("a", reference), Input("b", Result("h100-c16"))], new ComparisonOptions()).Candidates.Single();
        Assert.Contains("no tolerance was disclosed", Failed(c, "quality mmlu").Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Latency_over_the_reference_slo_is_a_reason()
    {
        var c = Against(r => r["metrics"]!["latency"]!["ttftMs"]!["p99"] = 250.0);
        Assert.Contains("'ttft-p99' 250 ms misses the target of 200 ms", Failed(c, "latency ttft-p99").Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void An_slo_given_to_compare_replaces_the_reference_slo_and_reads_p99_9()
    {
        var slo = Slo.Parse("e2e-p99.9=400ms");
        var c = Against(_ => { }, new ComparisonOptions { Slo = slo });
        var item = Failed(c, "latency e2e-p99.9");
        Assert.Contains("misses the target of 400 ms", item.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain(c.Checks, i => i.Check == "latency ttft-p99");
    }

    [Fact]
    public void Without_any_latency_target_the_check_says_latency_was_not_shown_to_hold()
    {
        var reference = Result("h100-c16");
        reference["slo"] = null;
        var c = Comparison.Build([Input("a", reference), Input("b", Result("h100-c16"))], new ComparisonOptions()).Candidates.Single();
        Assert.Contains("No latency target s* was disclosed", Failed(c, "latency").Detail, StringComparison.Ordinal);
        Assert.Contains(c.Notes, n => n.StartsWith("Goodput counts requests within each run's own SLO (A: none; B: ttft-p99=200ms,tpot-p99=20ms)", StringComparison.Ordinal));
    }

    [Fact]
    public void A_reference_that_missed_its_own_slo_is_noted()
    {
        var reference = Result("h100-c16");
        reference["slo"]!["met"] = false;
        var c = Comparison.Build([Input("a", reference), Input("b", Result("h100-300w-c16"))], new ComparisonOptions()).Candidates.Single();
        Assert.Contains("A itself missed its SLO (ttft-p99=200ms,tpot-p99=20ms): the envelope the candidate is held to is not where the reference ran.", c.Notes);
    }

    [Fact]
    public void A_rise_in_error_rate_is_a_reason_unless_tolerated()
    {
        void Errors(JsonNode r) => r["requests"]!["errorRate"] = 0.02;
        Assert.Contains("Error rate rose from 0 % to 2 %", Failed(Against(Errors), "error rate").Detail, StringComparison.Ordinal);
        Assert.True(Against(Errors, new ComparisonOptions { ErrorRateIncrease = 0.02 }).Counts);
    }

    [Theory]
    [InlineData("workload", "inputTokens", "fixed:512", "Different input lengths: fixed:256 in A, fixed:512 in B.")]
    [InlineData("workload", "sharedPrefixTokens", 128, "Different shared prefix (tokens): 0 in A, 128 in B.")]
    [InlineData("workload", "dataset", "sharegpt.json", "Different dataset: none in A, sharegpt.json in B.")]
    [InlineData("arrivals", "kind", "poisson", "Different arrival process: closed in A, poisson in B.")]
    public void A_different_workload_is_a_reason(string section, string field, object value, string detail)
    {
        var c = Against(r => r[section]![field] = JsonValue.Create(value));
        Assert.StartsWith(detail, Failed(c, $"{section} {field}").Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_different_concurrency_is_a_reason_but_a_different_duration_only_a_note()
    {
        var c = Against(r =>
        {
            r["arrivals"]!["concurrency"] = 8;
            r["arrivals"]!["durationSeconds"] = 30;
        });
        Assert.StartsWith("Different concurrency: 16 in A, 8 in B.", Failed(c, "arrivals concurrency").Detail, StringComparison.Ordinal);
        Assert.DoesNotContain(c.Checks, i => i.Check == "arrivals durationSeconds");
        Assert.Contains("Not a workload difference: duration (s) 4 in A, 30 in B.", c.Notes);
    }

    [Fact]
    public void A_different_boundary_accounting_or_window_is_a_reason_each()
    {
        var c = Against(r =>
        {
            r["energy"]!["total"]!["boundary"] = "node AC input";
            r["energy"]!["total"]!["accounting"] = "measured";
            r["metrics"]!["window"] = "whole";
        });
        Assert.Contains("'node AC input' in B", Failed(c, "boundary").Detail, StringComparison.Ordinal);
        Assert.Contains("simulated in A but measured in B", Failed(c, "accounting").Detail, StringComparison.Ordinal);
        Assert.Contains("e2t analyze RUN_DIR --window steady --write", Failed(c, "headline window").Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_boundary_around_more_devices_of_the_same_kind_is_the_same_boundary_with_a_note()
    {
        var c = Against(r => r["energy"]!["total"]!["boundary"] = r["energy"]!["total"]!["boundary"]!.GetValue<string>().Replace("1 × ", "2 × ", StringComparison.Ordinal));
        Assert.True(c.Counts, string.Join(Environment.NewLine, c.Reasons));
        Assert.Contains(c.Notes, n => n.StartsWith("The same kind of boundary around a different number of devices", StringComparison.Ordinal));
    }

    [Fact]
    public void A_run_without_energy_has_no_boundary_to_compare()
    {
        var c = Against(r => r["energy"] = null);
        Assert.Contains("B measured no energy", Failed(c, "boundary").Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void An_invalid_or_incomplete_run_is_a_reason()
    {
        var c = Against(r =>
        {
            r["valid"] = false;
            r["complete"] = false;
            r["problems"] = new JsonArray("error rate 12 % is above --max-error-rate 5 %");
        });
        var detail = Failed(c, "valid runs").Detail;
        Assert.Contains("B is incomplete (interrupted)", detail, StringComparison.Ordinal);
        Assert.Contains("B is not a valid run (error rate 12 % is above --max-error-rate 5 %)", detail, StringComparison.Ordinal);
    }

    [Fact]
    public void The_drifted_copy_gives_every_reason_at_once()
    {
        var d = Fixtures4().Candidates[2];
        Assert.Equal(["quality mmlu", "latency ttft-p99", "error rate", "workload inputTokens", "boundary", "accounting"],
            d.Checks.Where(i => !i.Passed).Select(i => i.Check));
    }

    [Theory]
    [InlineData(0.7, CeilingDirection.Unchanged)] // it fell 61.7 %
    [InlineData(0.01, CeilingDirection.Down)]
    public void A_ceiling_that_moved_within_the_band_is_unchanged(double band, CeilingDirection direction)
    {
        var comparison = Comparison.Build(ComparisonInput.Load([Fixture("h100-c16"), Fixture("h100-300w-c16")]), new ComparisonOptions { SameWithin = band });
        Assert.Equal(direction, Assert.Single(comparison.Candidates[0].Ceilings, m => m is { Convention: "realized", Ceiling: "power" }).Direction);
    }

    [Fact]
    public void A_ceiling_a_run_does_not_report_moved_in_an_unknown_direction()
    {
        var c = Against(r => r["production"]!["conventions"] = new JsonArray(r["production"]!["conventions"]![1]!.DeepClone()));
        Assert.All(c.Ceilings.Where(m => m.Convention == "realized"), m => Assert.Equal(CeilingDirection.Unknown, m.Direction));
        Assert.Equal(CeilingDirection.Unchanged, Assert.Single(c.Ceilings, m => m is { Convention: "peak", Ceiling: "power" }).Direction);
    }

    [Fact]
    public void Options_out_of_range_are_all_listed()
    {
        var options = new ComparisonOptions
        {
            ErrorRateIncrease = 2,
            SameWithin = -0.1,
            QualityTolerances = new Dictionary<string, double> { ["mmlu"] = -1 },
        };
        var e = Assert.Throws<EnergyToTokenException>(() => Comparison.Build(ComparisonInput.Load([Fixture("h100-c16"), Fixture("h100-c8")]), options));
        Assert.Contains("--error-rate-tolerance must be a fraction in [0, 1] (was 2)", e.Message, StringComparison.Ordinal);
        Assert.Contains("--same-within must be a fraction in [0, 1) (was -0.1)", e.Message, StringComparison.Ordinal);
        Assert.Contains("--quality-tolerance mmlu: the tolerance must be a finite number of points ≥ 0 (was -1)", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("mmlu=0.01", "mmlu", 0.01)]
    [InlineData("long-context/ruler=2", "long-context/ruler", 2)]
    public void A_quality_tolerance_reads_name_and_points(string text, string name, double points) =>
        Assert.Equal(new KeyValuePair<string, double>(name, points), ComparisonOptions.ParseQualityTolerance(text));

    [Theory]
    [InlineData("mmlu")]
    [InlineData("=1")]
    [InlineData("mmlu=-1")]
    [InlineData("mmlu=0,5")]
    public void A_malformed_quality_tolerance_is_refused_with_the_form(string text)
    {
        var e = Assert.Throws<EnergyToTokenException>(() => ComparisonOptions.ParseQualityTolerance(text));
        Assert.Contains($"--quality-tolerance {text}: write NAME=POINTS", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void One_run_is_not_a_comparison()
    {
        var e = Assert.Throws<EnergyToTokenException>(() => Comparison.Build(ComparisonInput.Load([Fixture("h100-c16")]), new ComparisonOptions()));
        Assert.Contains("at least two runs (got 1)", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("de-DE")]
    public void The_markdown_and_json_are_the_same_in_any_culture(string culture)
    {
        static (string, string) Render(string culture)
        {
            var saved = CultureInfo.CurrentCulture;
            CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo(culture);
            try
            {
                var comparison = Fixtures4();
                return (ComparisonReport.Markdown(comparison), ComparisonJson.Write(comparison));
            }
            finally
            {
                CultureInfo.CurrentCulture = saved;
            }
        }

        Assert.Equal(Render(""), Render(culture));
    }
}
