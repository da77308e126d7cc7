using System.Runtime.CompilerServices;

namespace EnergyToToken.Tests;

internal static class Golden
{
    /// <summary>Compares with tests/.../Golden/<paramref name="file"/>; set UPDATE_GOLDEN=1 to accept new output.</summary>
    public static void Match(string actual, string file, [CallerFilePath] string caller = "")
    {
        var root = Path.GetDirectoryName(caller)!;
        while (!File.Exists(Path.Combine(root, "EnergyToToken.Tests.csproj"))) root = Path.GetDirectoryName(root)!;
        var path = Path.Combine(root, "Golden", file);
        actual = actual.ReplaceLineEndings("\n");
        if (Environment.GetEnvironmentVariable("UPDATE_GOLDEN") == "1")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, actual);
            return;
        }
        Assert.True(File.Exists(path), $"Golden file {path} is missing; run with UPDATE_GOLDEN=1 to create it.");
        Assert.Equal(File.ReadAllText(path).ReplaceLineEndings("\n"), actual);
    }
}

internal static class Close
{
    /// <summary>Asserts |actual − expected| ≤ 1e-9·|expected| (the tolerance for hand arithmetic).</summary>
    public static void To(double expected, double actual, double relative = 1e-9)
    {
        var tolerance = relative * Math.Abs(expected);
        Assert.True(Math.Abs(actual - expected) <= tolerance, $"expected {expected:R}, got {actual:R} (relative tolerance {relative})");
    }
}

internal static class Cultures
{
    /// <summary>Runs <paramref name="action"/> under <paramref name="culture"/> ("" for the invariant one) and restores the thread's culture.</summary>
    public static T In<T>(string culture, Func<T> action)
    {
        var saved = System.Globalization.CultureInfo.CurrentCulture;
        System.Globalization.CultureInfo.CurrentCulture = System.Globalization.CultureInfo.GetCultureInfo(culture);
        try
        {
            return action();
        }
        finally
        {
            System.Globalization.CultureInfo.CurrentCulture = saved;
        }
    }
}
