using AutoCircuit.Testing;

namespace AutoCircuit.Host.Tests;

/// <summary>
/// The repository these tests were built from: the nearest ancestor of the test assembly's folder that holds
/// AutoCircuit.sln (the build output lives inside the repository, so a worktree finds its own sources).
/// </summary>
internal static class Repository
{
    /// <summary>The repository root.</summary>
    public static string Root { get; } = Find();

    /// <summary>A path under the repository root.</summary>
    public static string File(params string[] parts) => Path.Combine([Root, .. parts]);

    private static string Find()
    {
        for (var dir = new DirectoryInfo(TestFixtures.OutputDirectory); dir is not null; dir = dir.Parent)
        {
            if (System.IO.File.Exists(Path.Combine(dir.FullName, "AutoCircuit.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException(
            $"No AutoCircuit.sln above {TestFixtures.OutputDirectory}: these tests read the repository they were built from.");
    }
}
