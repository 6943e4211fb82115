using System.Globalization;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Xunit;

namespace AutoCircuit.Host.Tests.Plugins;

/// <summary>
/// The plugin author's loop with real tools, once per test class: packs AutoCircuit.Abstractions into a local feed
/// (with a version no package cache can hold), then builds two projects outside the repository against that package
/// alone: the README's "Write your own algorithm" project, taken verbatim from README.md, into a plugin folder, and a
/// plugin with deliberate mistakes. Restores use a private packages folder that falls back to the machine's, so
/// nothing is downloaded and the machine's cache is not touched.
/// </summary>
public sealed partial class AuthorWorkflow : IDisposable
{
    public AuthorWorkflow()
    {
        Root = Directory.CreateTempSubdirectory("ac-author-").FullName;
        RepoRoot = Path.GetFullPath(Path.Combine(SourceDirectory(), "..", "..", ".."));
        Assert.True(File.Exists(Path.Combine(RepoRoot, "README.md")), $"Cannot find the repository at {RepoRoot} (this test reads README.md and packs the SDK).");
        var configuration = typeof(AuthorWorkflow).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        PackageVersion = "1.0.0-test." + DateTime.UtcNow.ToString("yyyyMMddHHmmssfff", CultureInfo.InvariantCulture);
        Feed = Path.Combine(Root, "feed");

        var pack = DotNetProcess.Run(
            RepoRoot, null, "pack", "src/AutoCircuit.Abstractions/AutoCircuit.Abstractions.csproj", "-c", configuration, "--no-build",
            "-o", Feed, $"-p:PackageVersion={PackageVersion}");
        Assert.True(pack.ExitCode == 0, "dotnet pack failed:\n" + pack.Output);
        Package = Path.Combine(Feed, $"AutoCircuit.Abstractions.{PackageVersion}.nupkg");

        var locals = DotNetProcess.Run(Root, null, "nuget", "locals", "global-packages", "--list");
        var machinePackages = locals.Output.Split(':', 2)[1].Trim();
        File.WriteAllText(Path.Combine(Root, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="autocircuit" value="{Feed}" />
              </packageSources>
              <fallbackPackageFolders>
                <clear />
                <add key="machine" value="{machinePackages}" />
              </fallbackPackageFolders>
            </configuration>
            """);
        // Stop MSBuild's upward search for Directory.Build.* files that a temp folder's parents might hold.
        File.WriteAllText(Path.Combine(Root, "Directory.Build.props"), "<Project />");
        File.WriteAllText(Path.Combine(Root, "Directory.Build.targets"), "<Project />");
        var environment = new Dictionary<string, string> { ["NUGET_PACKAGES"] = Path.Combine(Root, "packages") };

        var (csproj, source) = ReadmeProject(File.ReadAllText(Path.Combine(RepoRoot, "README.md")));
        ProjectFile = csproj.Replace("Version=\"1.0.0\"", $"Version=\"{PackageVersion}\"", StringComparison.Ordinal);
        Assert.NotEqual(csproj, ProjectFile);
        var good = Directory.CreateDirectory(Path.Combine(Root, "MyPlugin")).FullName;
        File.WriteAllText(Path.Combine(good, "MyPlugin.csproj"), ProjectFile);
        File.WriteAllText(Path.Combine(good, "MyMagnitude.cs"), source);
        Plugins = Path.Combine(Root, "plugins");
        BadProject = Directory.CreateDirectory(Path.Combine(Root, "BadPlugin")).FullName;
        File.WriteAllText(Path.Combine(BadProject, "BadPlugin.csproj"), ProjectFile);
        File.WriteAllText(Path.Combine(BadProject, "Bad.cs"), BadSource);

        // Restore the shared package once, then build both projects side by side.
        var restore = DotNetProcess.Run(good, environment, "restore");
        Assert.True(restore.ExitCode == 0, "dotnet restore failed:\n" + restore.Output);
        var goodBuild = Task.Run(() => DotNetProcess.Run(good, environment, "build", "--no-restore", "-o", Path.Combine(Plugins, "MyPlugin")));
        BadBuild = DotNetProcess.Run(BadProject, environment, "build");
        GoodBuild = goodBuild.GetAwaiter().GetResult();
    }

    /// <summary>Mistakes on known lines: ACG0003 (6,17), ACG0001 (7,21), ACG0006 (15,12), ACG0007 (18,40).</summary>
    public const string BadSource = """
        using AutoCircuit;
        using AutoCircuit.Scores;

        namespace BadPlugin;

        [PruneAlgorithm("NotKebab")]
        public sealed class NoInterface
        {
        }

        [AlgorithmOptions]
        public sealed record BadOptions
        {
            [Option("when")]
            public DateTime When { get; init; }

            [Option("epochs", Min = 1)]
            public int Epochs { get; init; } = 0;
        }

        [PruneAlgorithm("bad-options")]
        public sealed class BadOptionsAlgorithm(BadOptions options) : IPruneAlgorithm
        {
            public PruneScores Run(PruneContext context) => throw new NotSupportedException(options.ToString());
        }

        """;

    public string Root { get; }

    public string RepoRoot { get; }

    public string PackageVersion { get; }

    public string Feed { get; }

    public string Package { get; }

    public string ProjectFile { get; }

    public string Plugins { get; }

    public string BadProject { get; }

    public (int ExitCode, string Output) GoodBuild { get; }

    public (int ExitCode, string Output) BadBuild { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>The project file (first <c>xml</c> block) and the class (first <c>csharp</c> block) of the README's section.</summary>
    private static (string Csproj, string Source) ReadmeProject(string readme)
    {
        var start = readme.IndexOf("## Write your own algorithm", StringComparison.Ordinal);
        Assert.True(start >= 0, "README.md has no '## Write your own algorithm' section");
        var end = readme.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        var section = readme[start..(end < 0 ? readme.Length : end)];
        string Block(string language) => CodeBlock().Matches(section).First(m => m.Groups[1].Value == language).Groups[2].Value;
        return (Block("xml"), Block("csharp"));
    }

    [GeneratedRegex(@"```(\w+)\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex CodeBlock();

    private static string SourceDirectory([CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;
}
