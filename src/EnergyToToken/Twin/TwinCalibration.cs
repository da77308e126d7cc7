namespace EnergyToToken.Twin;

/// <summary>A published measurement the twin is calibrated against.</summary>
/// <param name="Profile">The bundled profile that stands for the measured deployment.</param>
/// <param name="Concurrency">Requests in flight (ML.ENERGY's batch size: the server's max_num_seqs, kept full).</param>
/// <param name="JoulesPerOutputToken">Published steady-state energy per output token, J (all GPUs).</param>
/// <param name="Watts">Published mean power of all GPUs in the steady state, W.</param>
/// <param name="Source">Where the figure comes from.</param>
public sealed record CalibrationPoint(string Profile, int Concurrency, double JoulesPerOutputToken, double Watts, string Source);

/// <summary>The twin's figures at a calibration point, beside the published ones.</summary>
public sealed record CalibrationResult(CalibrationPoint Point, double JoulesPerOutputToken, double Watts, double OutputTokensPerSecond)
{
    public double EnergyError => JoulesPerOutputToken / Point.JoulesPerOutputToken - 1;

    public double PowerError => Watts / Point.Watts - 1;
}

/// <summary>The calibrated coefficients of the twin's physical model and the points they were fitted to; docs/twin.md gives their sources.</summary>
public static class TwinCalibration
{
    /// <summary>The step model's coefficients for every bundled profile: <see cref="StepModelOptions"/>'s defaults.</summary>
    public static StepModelOptions Coefficients { get; } = new();

    /// <summary>Mean prompt tokens of the calibration workload (a stand-in for ML.ENERGY's lm-arena-chat requests, whose lengths are not published): uniform over ±50 %.</summary>
    public const int PromptTokens = 1024;

    /// <summary>Mean output tokens of the calibration workload: uniform from 1 to twice this.</summary>
    public const int OutputTokens = 512;

    private const string MlEnergyV3 = "ML.ENERGY Leaderboard v3.0 (Dec 2025, vLLM 0.11.1, lm-arena-chat, bf16), read from the published charts of https://ml.energy/blog/measurement/energy/llm-inference-energy-a-longitudinal-analysis";

    /// <summary>ML.ENERGY v3.0: Llama-3.1-8B-Instruct on one H100 and Llama-3.1-70B-Instruct on four, by batch size.</summary>
    public static IReadOnlyList<CalibrationPoint> Points { get; } =
    [
        new("llama-3.1-8b-h100", 16, 0.263, 513, MlEnergyV3),
        new("llama-3.1-8b-h100", 64, 0.119, 610, MlEnergyV3),
        new("llama-3.1-8b-h100", 128, 0.095, 669, MlEnergyV3),
        new("llama-3.1-8b-h100", 256, 0.077, 691, MlEnergyV3),
        new("llama-3.1-70b-h100x4", 16, 2.09, 1804, MlEnergyV3),
        new("llama-3.1-70b-h100x4", 64, 0.80, 2002, MlEnergyV3),
        new("llama-3.1-70b-h100x4", 128, 0.56, 2184, MlEnergyV3),
        new("llama-3.1-70b-h100x4", 256, 0.48, 2354, MlEnergyV3),
    ];

    /// <summary>
    /// Runs the twin at a calibration point: a closed loop at the point's concurrency (max sequences set to it, as
    /// ML.ENERGY sets max_num_seqs), 8 × concurrency requests with lengths spread around the means (seeded, so every
    /// run is the same), measured over the steady state (from the first finish to the last send, when the batch is full).
    /// </summary>
    public static CalibrationResult Evaluate(CalibrationPoint point, Catalog.Catalogs catalogs, StepModelOptions? coefficients = null)
    {
        var profile = TwinProfiles.Find(point.Profile);
        profile = profile with { Step = coefficients ?? profile.Step };
        var steady = TwinOperatingPoint.Measure(profile, catalogs, point.Concurrency, PromptTokens, OutputTokens, 8 * point.Concurrency);
        return new CalibrationResult(point, steady.JoulesPerOutputToken, steady.Watts, steady.OutputTokensPerSecond);
    }
}
