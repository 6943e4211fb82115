using System.Diagnostics;
using System.Runtime.CompilerServices;
using AutoCircuit.Host.Tests.Plugins;

namespace AutoCircuit.Packaging.Tests;

/// <summary>
/// Once per test run, what docs/plugins.md ("Start from the template") shows, from a clone of the committed HEAD and in
/// a scratch home folder: pack the template (which packs the SDK and the test kit beside it), install it, make a
/// plugin with <c>dotnet new autocircuit-plugin</c>, run its tests, build it into a plugin folder, and list and run it
/// with the tool built from this repository. Restores from the feed and this machine's packages only. Each step's exit
/// code and output are kept for the tests; the time from <c>dotnet new</c> to the plugin's scores is measured.
/// </summary>
public sealed class TemplateFlow : IDisposable
{
    public const string PluginName = "MyMagnitudePlugin";

    private static readonly TimeSpan StepTimeout = TimeSpan.FromMinutes(10);

    public TemplateFlow()
    {
        if (Environment.GetEnvironmentVariable(PackagingFactAttribute.Variable) != "1")
        {
            return; // every test is skipped
        }

        Root = Directory.CreateTempSubdirectory("ac-template-").FullName;
        var repoRoot = Path.GetFullPath(Path.Combine(SourceDirectory(), "..", ".."));
        Tool = FindTool(repoRoot);
        var clone = Path.Combine(Root, "repo");
        Git.Run(Root, "clone", "--quiet", repoRoot, clone);
        Git.Run(clone, "checkout", "--quiet", "--detach", Git.Run(repoRoot, "rev-parse", "HEAD"));
        var home = Directory.CreateDirectory(Path.Combine(Root, "home")).FullName;
        Feed = Path.Combine(home, "autocircuit-feed");
        PluginFolder = Path.Combine(home, "my-plugins");
        var locals = DotNetProcess.Run(Root, null, "nuget", "locals", "global-packages", "--list");
        var environment = new Dictionary<string, string>
        {
            ["HOME"] = home,
            // The machine's package cache: the template's test packages and libtorch are there, nothing is downloaded.
            ["NUGET_PACKAGES"] = locals.Output.Split(':', 2)[1].Trim(),
        };

        if (!Step("pack", clone, environment, "pack", "templates/AutoCircuit.Templates.csproj", "-c", "Release", "-o", Feed))
        {
            return;
        }

        var template = Directory.GetFiles(Feed, "AutoCircuit.Templates.*.nupkg").Single();
        if (!Step("install", home, environment, "new", "install", template))
        {
            return;
        }

        var stopwatch = Stopwatch.StartNew();
        Plugin = Path.Combine(home, PluginName);
        if (!Step("new", home, environment, "new", "autocircuit-plugin", "-n", PluginName)
            || !Step("nugetconfig", Plugin, environment, "new", "nugetconfig")
            || !Step("source", Plugin, environment, "nuget", "add", "source", Feed, "-n", "autocircuit", "--configfile", "nuget.config")
            || !Step("test", Plugin, environment, "test", $"tests/{PluginName}.Tests")
            || !Step("build", Plugin, environment, "build", $"src/{PluginName}", "-o", Path.Combine(PluginFolder, PluginName))
            || !Step("list", Plugin, environment, Tool, "list", "--plugins", PluginFolder)
            || !Step("run", Plugin, environment, Tool, "run", "--model", "micro", "-a", "my-magnitude", "--plugins", PluginFolder, "--out", "run"))
        {
            return;
        }

        NewToScores = stopwatch.Elapsed;
        Step("compare", Plugin, environment, Tool, "compare", "--model", "micro", "-a", "my-magnitude:power=2", "-a", "activation-magnitude",
            "--plugins", PluginFolder, "--out", "compare");
    }

    public string Root { get; } = string.Empty;

    /// <summary>The tool built from this repository (<c>dotnet-autocircuit.dll</c>).</summary>
    public string Tool { get; } = string.Empty;

    public string Feed { get; } = string.Empty;

    public string PluginFolder { get; } = string.Empty;

    /// <summary>The plugin's folder made by <c>dotnet new</c>.</summary>
    public string Plugin { get; } = string.Empty;

    /// <summary>Each step run, in order: its exit code and output.</summary>
    public List<(string Step, int ExitCode, string Output)> Steps { get; } = [];

    /// <summary>From <c>dotnet new</c> to the plugin's scores written by <c>run</c> (its tests and build included).</summary>
    public TimeSpan? NewToScores { get; }

    /// <summary>The step's result; fails with every step's output when it did not run or failed.</summary>
    public (int ExitCode, string Output) Result(string step)
    {
        var found = Steps.FirstOrDefault(s => s.Step == step);
        if (found.Step is null || found.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"template step '{step}' {(found.Step is null ? "did not run" : "failed")}:\n" +
                string.Join("\n", Steps.Select(s => $"== {s.Step} (exit {s.ExitCode})\n{s.Output}")));
        }

        return (found.ExitCode, found.Output);
    }

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

    private bool Step(string name, string directory, Dictionary<string, string> environment, params string[] args)
    {
        var (code, output) = DotNetProcess.Run(directory, environment, StepTimeout, args);
        Steps.Add((name, code, output));
        return code == 0;
    }

    /// <summary>The tool of this repository's build (CI builds Release before the packaging tests).</summary>
    private static string FindTool(string repoRoot)
    {
        var candidates = new[] { "Release", "Debug" }
            .Select(c => Path.Combine(repoRoot, "src", "Host", "AutoCircuit.Tool", "bin", c, "net10.0", "dotnet-autocircuit.dll"))
            .Where(File.Exists)
            .OrderByDescending(File.GetLastWriteTimeUtc)
            .ToList();
        return candidates.Count > 0
            ? candidates[0]
            : throw new InvalidOperationException("Build the tool first (dotnet build -c Release): src/Host/AutoCircuit.Tool/bin/*/net10.0/dotnet-autocircuit.dll is missing.");
    }

    private static string SourceDirectory([CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;
}
