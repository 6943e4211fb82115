using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using AutoCircuit.Host.Tests.Plugins;
using Xunit;

namespace AutoCircuit.Packaging.Tests;

/// <summary>
/// Once per test run: clones the repository's committed HEAD (with a GitHub-style origin, so SourceLink has a URL;
/// nothing is fetched), packs AutoCircuit.Abstractions in two clones (two folders, as two machines), then at the next minor, the
/// previous minor and the next major (each a commit changing version.json), and builds one plugin against each of
/// those three packages, outside the repository, restoring from the local feed only.
/// </summary>
public sealed partial class PackedSdks : IDisposable
{
    public const string Origin = "https://github.com/autocircuit/autocircuit-dotnet.git";

    public PackedSdks()
    {
        if (Environment.GetEnvironmentVariable(PackagingFactAttribute.Variable) != "1")
        {
            return; // every test is skipped
        }

        Root = Directory.CreateTempSubdirectory("ac-packaging-").FullName;
        var repoRoot = Path.GetFullPath(Path.Combine(SourceDirectory(), "..", ".."));
        Commit = Git.Run(repoRoot, "rev-parse", "HEAD");
        Clone = CloneAt(repoRoot, "repo");
        MajorMinor = Version.Parse(VersionField().Match(File.ReadAllText(Path.Combine(Clone, "version.json"))).Groups[1].Value);
        Shallow = Git.Run(Clone, "rev-parse", "--is-shallow-repository") == "true";
        var versionChange = Git.Run(Clone, "log", "-1", "--format=%H", "--", "version.json");
        Height = int.Parse(Git.Run(Clone, "rev-list", "--count", versionChange + "..HEAD"), System.Globalization.CultureInfo.InvariantCulture);

        // Two clones in different folders stand for two machines: only the mapped paths (/_/) may reach the packages.
        FirstPack = Pack(Clone, "first");
        SecondPack = Pack(CloneAt(repoRoot, "second-repo"), "second");

        var feed = Path.Combine(Root, "feed");
        var sdks = new Dictionary<string, Version>
        {
            ["NextMinorPlugin"] = new(MajorMinor.Major, MajorMinor.Minor + 1),
            ["PreviousMinorPlugin"] = new(MajorMinor.Major, Math.Max(0, MajorMinor.Minor - 1)),
            ["NextMajorPlugin"] = new(MajorMinor.Major + 1, 0),
        };
        foreach (var (_, sdk) in sdks)
        {
            File.WriteAllText(Path.Combine(Clone, "version.json"), $$"""{ "version": "{{sdk}}" }""" + "\n");
            Git.Run(Clone, "commit", "--quiet", "-am", $"SDK {sdk}");
            var output = Pack(Clone, $"sdk-{sdk}");
            File.Copy(Path.Combine(output, $"AutoCircuit.Abstractions.{sdk}.0.nupkg"), Path.Combine(feed, $"AutoCircuit.Abstractions.{sdk}.0.nupkg"));
            Git.Run(Clone, "checkout", "--quiet", "--detach", Commit);
        }

        PluginFolder = Path.Combine(Root, "plugins");
        WriteIsolation(feed);
        foreach (var (name, sdk) in sdks)
        {
            PluginBuilds[name] = (sdk, BuildPlugin(name, sdk));
        }
    }

    public string Root { get; } = string.Empty;

    public string Clone { get; } = string.Empty;

    public string Commit { get; } = string.Empty;

    /// <summary>The <c>major.minor</c> of version.json.</summary>
    public Version MajorMinor { get; } = new();

    public bool Shallow { get; }

    /// <summary>Commits since the last change of version.json.</summary>
    public int Height { get; }

    /// <summary>The output folders of the two packs of HEAD.</summary>
    public string FirstPack { get; } = string.Empty;

    public string SecondPack { get; } = string.Empty;

    public string PluginFolder { get; } = string.Empty;

    /// <summary>Per plugin: the SDK it was built against and the build's exit code and output.</summary>
    public Dictionary<string, (Version Sdk, (int ExitCode, string Output) Build)> PluginBuilds { get; } = [];

    public void Dispose()
    {
        if (Root.Length == 0)
        {
            return;
        }

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

    /// <summary>A clone of <see cref="Commit"/> with a GitHub-style origin (for SourceLink; never contacted).</summary>
    private string CloneAt(string repoRoot, string name)
    {
        var clone = Path.Combine(Root, name);
        Git.Run(Root, "clone", "--quiet", repoRoot, clone);
        Git.Run(clone, "checkout", "--quiet", "--detach", Commit);
        Git.Run(clone, "remote", "set-url", "origin", Origin);
        return clone;
    }

    /// <summary>Packs AutoCircuit.Abstractions of a clone's checkout (its obj and bin inside the clone, as on any machine).</summary>
    private string Pack(string clone, string name)
    {
        var output = Path.Combine(Root, "pack-" + name);
        var pack = DotNetProcess.Run(
            clone, null, "pack", "src/AutoCircuit.Abstractions/AutoCircuit.Abstractions.csproj", "-c", "Release", "-o", output);
        Assert.True(pack.ExitCode == 0, $"dotnet pack ({name}) failed:\n{pack.Output}");
        Directory.CreateDirectory(Path.Combine(Root, "feed"));
        return output;
    }

    /// <summary>Restores only from the feed (falling back to the machine's packages, never downloading) and stops MSBuild's upward search.</summary>
    private void WriteIsolation(string feed)
    {
        var locals = DotNetProcess.Run(Root, null, "nuget", "locals", "global-packages", "--list");
        var machinePackages = locals.Output.Split(':', 2)[1].Trim();
        File.WriteAllText(Path.Combine(Root, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="autocircuit" value="{feed}" />
              </packageSources>
              <fallbackPackageFolders>
                <clear />
                <add key="machine" value="{machinePackages}" />
              </fallbackPackageFolders>
            </configuration>
            """);
        File.WriteAllText(Path.Combine(Root, "Directory.Build.props"), "<Project />");
        File.WriteAllText(Path.Combine(Root, "Directory.Build.targets"), "<Project />");
    }

    private (int ExitCode, string Output) BuildPlugin(string name, Version sdk)
    {
        var project = Directory.CreateDirectory(Path.Combine(Root, "src", name)).FullName;
        File.WriteAllText(Path.Combine(project, name + ".csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
                <EnableDynamicLoading>true</EnableDynamicLoading>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="AutoCircuit.Abstractions" Version="{sdk}.0" ExcludeAssets="runtime;native" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(project, "Algorithm.cs"), $$"""
            using AutoCircuit;
            using AutoCircuit.Scores;

            namespace {{name}};

            [PruneAlgorithm("{{Kebab().Replace(name, "-$0").TrimStart('-').ToLowerInvariant()}}", MemoryBudget = MemoryBudgetSupport.NoPatching)]
            public sealed class Algorithm : IPruneAlgorithm
            {
                public PruneScores Run(PruneContext context) => context.Model.NewPruneScores();
            }
            """);
        var environment = new Dictionary<string, string> { ["NUGET_PACKAGES"] = Path.Combine(Root, "packages") };
        return DotNetProcess.Run(project, environment, "build", "-o", Path.Combine(PluginFolder, name));
    }

    [GeneratedRegex("\"version\"\\s*:\\s*\"([0-9]+\\.[0-9]+)\"")]
    private static partial Regex VersionField();

    [GeneratedRegex("[A-Z]")]
    private static partial Regex Kebab();

    private static string SourceDirectory([CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;
}
