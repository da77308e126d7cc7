using System.Globalization;

namespace EnergyToToken.Runs;

/// <summary>The filters of <c>e2t runs</c>; each null filter lets every run through. Defaults: none.</summary>
public sealed record RunQuery
{
    /// <summary>The bindings a result can name under its headline convention.</summary>
    public static readonly IReadOnlyList<string> Bindings = ["compute", "power", "balanced", "mixed", "degenerate"];

    /// <summary>Part of the served model's name or of its catalog architecture, any case.</summary>
    public string? Model { get; init; }

    /// <summary>Part of the accelerator's catalog name, any case.</summary>
    public string? Accelerator { get; init; }

    /// <summary>The binding constraint under the headline convention, one of <see cref="Bindings"/>.</summary>
    public string? Binding { get; init; }

    /// <summary>Runs started at or after this instant.</summary>
    public DateTimeOffset? Since { get; init; }

    /// <summary>Runs started at or before this instant.</summary>
    public DateTimeOffset? Until { get; init; }

    /// <summary>Gross J per output token at least this.</summary>
    public double? MinJoulesPerToken { get; init; }

    /// <summary>Gross J per output token at most this.</summary>
    public double? MaxJoulesPerToken { get; init; }

    /// <summary>
    /// The query from the command line's texts, every problem added to <paramref name="errors"/>. A date alone is a
    /// whole UTC day (<c>--until 2026-05-31</c> takes in that day); a time without an offset is UTC.
    /// </summary>
    public static RunQuery Parse(string? model, string? accelerator, string? binding, string? since, string? until, string? minJoules, string? maxJoules, List<string> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        var query = new RunQuery
        {
            Model = Blank(model) ? null : model,
            Accelerator = Blank(accelerator) ? null : accelerator,
            Binding = binding is null ? null : BindingOf(binding, errors),
            Since = since is null ? null : Instant("--since", since, endOfDay: false, errors),
            Until = until is null ? null : Instant("--until", until, endOfDay: true, errors),
            MinJoulesPerToken = minJoules is null ? null : Joules("--min-j-per-token", minJoules, errors),
            MaxJoulesPerToken = maxJoules is null ? null : Joules("--max-j-per-token", maxJoules, errors),
        };
        if (query.Since > query.Until) errors.Add($"--since {since} is after --until {until}: no run can match.");
        if (query.MinJoulesPerToken > query.MaxJoulesPerToken) errors.Add($"--min-j-per-token {minJoules} is above --max-j-per-token {maxJoules}: no run can match.");
        return query;
    }

    private static bool Blank(string? text) => string.IsNullOrWhiteSpace(text);

    private static string? BindingOf(string text, List<string> errors)
    {
        if (Bindings.FirstOrDefault(b => b.Equals(text.Trim(), StringComparison.OrdinalIgnoreCase)) is { } binding) return binding;
        errors.Add($"--binding {text}: write {string.Join(", ", Bindings.Take(Bindings.Count - 1))} or {Bindings[^1]} (the binding constraint under the result's headline convention).");
        return null;
    }

    private static DateTimeOffset? Instant(string flag, string text, bool endOfDay, List<string> errors)
    {
        if (DateTimeOffset.TryParseExact(text.Trim(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var day))
            return endOfDay ? day.AddDays(1).AddTicks(-1) : day;
        if (text.Contains('T', StringComparison.Ordinal)
            && DateTimeOffset.TryParse(text.Trim(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var instant))
            return instant;
        errors.Add($"{flag} {text}: write a UTC date (2026-05-01) or a time (2026-05-01T14:30Z, 2026-05-01T16:30+02:00).");
        return null;
    }

    private static double? Joules(string flag, string text, List<string> errors)
    {
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value > 0 && double.IsFinite(value)) return value;
        errors.Add($"{flag} {text}: write a positive number of joules per output token, e.g. 0.35.");
        return null;
    }

    /// <summary>Whether a run passes every filter; a run that does not say (no J/token, no binding) passes none that asks.</summary>
    public bool Matches(StoredRun run)
    {
        ArgumentNullException.ThrowIfNull(run);
        if (Model is { } m && !(Contains(run.Model, m) || Contains(run.ModelArchitecture, m))) return false;
        if (Accelerator is { } a && !Contains(run.Accelerator, a)) return false;
        if (Binding is { } b && !string.Equals(run.Binding, b, StringComparison.OrdinalIgnoreCase)) return false;
        if (Since is { } since && !(run.StartedUtc >= since)) return false;
        if (Until is { } until && !(run.StartedUtc <= until)) return false;
        if (MinJoulesPerToken is { } min && !(run.JoulesPerOutputToken >= min)) return false;
        if (MaxJoulesPerToken is { } max && !(run.JoulesPerOutputToken <= max)) return false;
        return true;
    }

    private static bool Contains(string? text, string part) => text?.Contains(part.Trim(), StringComparison.OrdinalIgnoreCase) == true;
}
