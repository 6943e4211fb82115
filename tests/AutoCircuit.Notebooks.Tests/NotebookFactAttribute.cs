using System.Text.RegularExpressions;
using Xunit;

namespace AutoCircuit.Notebooks.Tests;

/// <summary>
/// A fact that runs when artifacts/pkg (the package source the test gives the notebook) holds a packed AutoCircuit
/// package, as .ci/run's notebook step leaves it; otherwise it is skipped with the commands that make one (unless
/// <see cref="Variable"/> is 1).
/// </summary>
public sealed partial class NotebookFactAttribute : FactAttribute
{
    /// <summary>Set to 1 by .ci/run's notebook step: then a missing package fails the test instead of skipping it.</summary>
    public const string Variable = "AUTOCIRCUIT_NOTEBOOK_TESTS";

    public NotebookFactAttribute()
    {
        if (PackedVersion is null && Environment.GetEnvironmentVariable(Variable) != "1")
        {
            Skip = $"No AutoCircuit package in {Feed}: the notebook takes the library from there. Pack it with " +
                   "`dotnet pack src/AutoCircuit.Abstractions -c Release -o artifacts/pkg` and " +
                   "`dotnet pack src/AutoCircuit -c Release -o artifacts/pkg` (.ci/run does).";
        }
    }

    /// <summary>The repository the tests were built from (the nearest folder above them with AutoCircuit.sln).</summary>
    public static string RepositoryRoot { get; } = FindRoot();

    /// <summary>The local package folder the notebook restores from in the test.</summary>
    public static string Feed => Path.Combine(RepositoryRoot, "artifacts", "pkg");

    /// <summary>The newest AutoCircuit package version in <see cref="Feed"/> with its SDK package beside it, or <c>null</c>.</summary>
    public static string? PackedVersion
    {
        get
        {
            if (!Directory.Exists(Feed))
            {
                return null;
            }

            return Directory.GetFiles(Feed, "AutoCircuit.*.nupkg")
                .Select(f => PackageName().Match(Path.GetFileName(f)))
                .Where(m => m.Success && File.Exists(Path.Combine(Feed, $"AutoCircuit.Abstractions.{m.Groups[1].Value}.nupkg")))
                .Select(m => m.Groups[1].Value)
                .OrderByDescending(v => Version.Parse(v))
                .FirstOrDefault();
        }
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "AutoCircuit.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No AutoCircuit.sln above {AppContext.BaseDirectory}.");
    }

    [GeneratedRegex(@"^AutoCircuit\.(\d+\.\d+\.\d+)\.nupkg$")]
    private static partial Regex PackageName();
}
