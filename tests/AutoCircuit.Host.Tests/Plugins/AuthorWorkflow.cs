using System.Globalization;
using AutoCircuit.Host.Tests.Docs;
using Xunit;

namespace AutoCircuit.Host.Tests.Plugins;

/// <summary>
/// The plugin author's loop with real tools, once per test class, run from docs/plugins.md ("Write your own algorithm")
/// as written: its shell blocks run with bash in a scratch home folder (<c>~</c>), its project file and class are the
/// page's <c>xml</c> and <c>csharp</c> blocks. Two things differ from a reader's machine, both so that the test can
/// neither use a stale package nor download anything: the SDK is packed under a version no package cache can hold
/// (<c>-p:PackageVersion</c> added to the page's <c>dotnet pack</c>, the same version in the project file), and the
/// plugin restores into a private packages folder that falls back to the machine's, with nuget.org disabled. The tool
/// built with the tests stands in for <c>dotnet autocircuit</c>. A plugin with deliberate mistakes is built beside it.
/// </summary>
public sealed class AuthorWorkflow : IDisposable
{
    /// <summary>The page and section whose commands this fixture runs.</summary>
    public const string Page = "docs/plugins.md";

    /// <summary>The section of <see cref="Page"/>.</summary>
    public const string Section = "Write your own algorithm";

    public AuthorWorkflow()
    {
        Root = Directory.CreateTempSubdirectory("ac-author-").FullName;
        RepoRoot = Repository.Root;
        PackageVersion = "1.0.0-test." + DateTime.UtcNow.ToString("yyyyMMddHHmmssfff", CultureInfo.InvariantCulture);
        Feed = Path.Combine(Root, "autocircuit-feed"); // the page's ~/autocircuit-feed

        var locals = DotNetProcess.Run(Root, null, "nuget", "locals", "global-packages", "--list");
        var machinePackages = locals.Output.Split(':', 2)[1].Trim();
        File.WriteAllText(Path.Combine(Root, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="autocircuit" value="{Feed}" />
              </packageSources>
              <disabledPackageSources>
                <add key="nuget" value="true" />
                <add key="nuget.org" value="true" />
              </disabledPackageSources>
              <fallbackPackageFolders>
                <clear />
                <add key="machine" value="{machinePackages}" />
              </fallbackPackageFolders>
            </configuration>
            """);
        // Stop MSBuild's upward search for Directory.Build.* files that a temp folder's parents might hold.
        File.WriteAllText(Path.Combine(Root, "Directory.Build.props"), "<Project />");
        File.WriteAllText(Path.Combine(Root, "Directory.Build.targets"), "<Project />");
        var plugin = new Dictionary<string, string> { ["NUGET_PACKAGES"] = Path.Combine(Root, "packages") };

        var blocks = DocPages.Blocks(Page).Where(RunsBlock).ToList();
        var shell = blocks.Where(b => b.IsShell).ToList();
        Assert.True(shell.Count == 2, $"{Page}, '{Section}': expected two shell blocks (make the project; build and run it), found {shell.Count}");
        var csproj = blocks.First(b => b.Language == "xml").Lines;
        var source = blocks.First(b => b.Language == "csharp").Lines;
        ProjectFile = string.Join("\n", csproj).Replace("Version=\"1.*\"", $"Version=\"{PackageVersion}\"", StringComparison.Ordinal);
        Assert.NotEqual(string.Join("\n", csproj), ProjectFile);

        // 1. From the repository: pack the SDK, make the project, add the feed (the machine's packages for the pack).
        var setup = DocScript.ToBash([shell[0]], skipCiCommands: false, (command, line) =>
            command.Words is ["dotnet", "pack", ..] ? line + $" -p:PackageVersion={PackageVersion}" : null);
        Setup = DocScript.Run(setup, RepoRoot, Root, new Dictionary<string, string> { ["NUGET_PACKAGES"] = machinePackages });
        Assert.True(Setup.ExitCode == 0, $"{Page}: making the plugin project failed:\n" + Setup.Output);
        Package = Path.Combine(Feed, $"AutoCircuit.Abstractions.{PackageVersion}.nupkg");
        var good = Path.Combine(Root, "MyPlugin");
        File.WriteAllText(Path.Combine(good, "MyPlugin.csproj"), ProjectFile);
        File.WriteAllText(Path.Combine(good, "MyMagnitude.cs"), string.Join("\n", source) + "\n");

        // 2. In the project: build it into the plugin folder, list it, run it next to the built-in algorithm.
        Walkthrough = DocScript.Run(DocScript.ToBash([shell[1]], skipCiCommands: false), good, Root, plugin);
        Plugins = Path.Combine(Root, "my-plugins");
        Results = Path.Combine(good, "autocircuit-results");

        BadProject = Directory.CreateDirectory(Path.Combine(Root, "BadPlugin")).FullName;
        File.WriteAllText(Path.Combine(BadProject, "BadPlugin.csproj"), ProjectFile);
        File.WriteAllText(Path.Combine(BadProject, "Bad.cs"), BadSource);
        BadBuild = DotNetProcess.Run(BadProject, plugin, "build");
    }

    /// <summary>Whether this fixture runs a documentation block (the blocks of <see cref="Section"/> in <see cref="Page"/>).</summary>
    internal static bool RunsBlock(DocBlock block) => block.Page == Page && block.Section == Section;

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

    /// <summary>Where the page's <c>dotnet autocircuit run</c> wrote its results (the default folder, in the project).</summary>
    public string Results { get; }

    public string BadProject { get; }

    /// <summary>The page's first block: pack, new project, NuGet config.</summary>
    public (int ExitCode, string Output) Setup { get; }

    /// <summary>The page's second block: build, list, run.</summary>
    public (int ExitCode, string Output) Walkthrough { get; }

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
}
