using System.IO.Compression;
using System.Text.Json;
using AutoCircuit.Tool.Cli;
using Xunit;

namespace AutoCircuit.Host.Tests.Plugins;

/// <summary>
/// Acceptance: a plugin written outside the repository (one class, one attribute, one package reference, as
/// docs/plugins.md says) builds, is listed, and runs next to the built-ins; a bad plugin's real build shows our diagnostics
/// with file and line; the package carries the generator and the build fix.
/// </summary>
[Collection(nameof(SeededCollection))]
public sealed class AuthorWorkflowTests(AuthorWorkflow author) : IClassFixture<AuthorWorkflow>
{
    private static async Task<(int Code, string Out, string Err)> Cli(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await CommandLine.InvokeAsync(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public void Package_CarriesContractGeneratorAndBuildFixUnderTheNamesNuGetImports()
    {
        using var package = ZipFile.OpenRead(author.Package);

        var entries = package.Entries.Select(e => e.FullName).Where(n => !n.StartsWith('[') && !n.StartsWith('_') && !n.StartsWith("package/", StringComparison.Ordinal));
        Assert.Equal(
            [
                "AutoCircuit.Abstractions.nuspec",
                "analyzers/dotnet/cs/AutoCircuit.Generators.dll",
                "build/AutoCircuit.Abstractions.targets",
                "buildTransitive/AutoCircuit.Abstractions.targets",
                "lib/net10.0/AutoCircuit.Abstractions.dll",
                "lib/net10.0/AutoCircuit.Abstractions.xml",
            ],
            entries.Order(StringComparer.Ordinal));
        using var nuspec = new StreamReader(package.GetEntry("AutoCircuit.Abstractions.nuspec")!.Open());
        var text = nuspec.ReadToEnd();
        Assert.Contains("<dependency id=\"TorchSharp\" version=\"0.107.0\"", text, StringComparison.Ordinal);
        Assert.Single(text.Split("<dependency ").Skip(1));
    }

    [Fact]
    public void DocsPlugin_BuiltAgainstThePackage_HoldsOnlyItsOwnFiles()
    {
        Assert.True(author.Walkthrough.ExitCode == 0, $"{AuthorWorkflow.Page}: the plugin walk-through failed:\n" + author.Walkthrough.Output);
        Assert.Contains("0 Warning(s)", author.Walkthrough.Output, StringComparison.Ordinal);
        Assert.Equal(
            ["MyPlugin.deps.json", "MyPlugin.dll", "MyPlugin.pdb", "MyPlugin.runtimeconfig.json"],
            Directory.GetFileSystemEntries(Path.Combine(author.Plugins, "MyPlugin")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void DocsPlugin_ListedAndRunNextToTheBuiltIn_WithTheSameScores()
    {
        Assert.True(author.Walkthrough.ExitCode == 0, author.Walkthrough.Output);

        // The page's `list --plugins ~/my-plugins` and `run -a my-magnitude -a activation-magnitude --plugins ~/my-plugins`.
        var run = Assert.Single(Directory.GetDirectories(author.Results));

        Assert.Contains($"my-magnitude  —  MyMagnitude  [{Path.Combine(author.Plugins, "MyPlugin", "MyPlugin.dll")}]", author.Walkthrough.Output, StringComparison.Ordinal);
        Assert.Equal(
            ["activation-magnitude.json", "activation-magnitude.safetensors", "my-magnitude.json", "my-magnitude.safetensors"],
            Directory.GetFiles(Path.Combine(run, "scores")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        using var mine = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "scores", "my-magnitude.json")));
        using var builtIn = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "scores", "activation-magnitude.json")));
        Assert.Equal(builtIn.RootElement.GetProperty("scores").GetRawText(), mine.RootElement.GetProperty("scores").GetRawText());
    }

    [Fact]
    public async Task DocsPlugin_RunsOnTheMicroModelInProcessToo()
    {
        Assert.True(author.Walkthrough.ExitCode == 0, author.Walkthrough.Output);
        var outDir = Path.Combine(author.Root, "results-micro");

        var (runCode, _, runErr) = await Cli(
            "run", "--model", "micro", "-a", "my-magnitude", "-a", "activation-magnitude", "--plugins", author.Plugins, "--out", outDir);

        Assert.True(runCode == 0, runErr);
        using var mine = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "scores", "my-magnitude.json")));
        using var builtIn = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "scores", "activation-magnitude.json")));
        Assert.Equal(builtIn.RootElement.GetProperty("scores").GetRawText(), mine.RootElement.GetProperty("scores").GetRawText());
    }

    [Fact]
    public void BadPlugin_RealBuild_ShowsEachDiagnosticWithFileAndLine()
    {
        var output = author.BadBuild.Output;
        var file = Path.Combine(author.BadProject, "Bad.cs");

        Assert.NotEqual(0, author.BadBuild.ExitCode);
        Assert.Contains($"{file}(6,17): error ACG0003: Algorithm key 'NotKebab' of 'BadPlugin.NoInterface' is not kebab-case", output, StringComparison.Ordinal);
        Assert.Contains($"{file}(7,21): error ACG0001: Class 'BadPlugin.NoInterface' is marked [PruneAlgorithm] but does not implement", output, StringComparison.Ordinal);
        Assert.Contains($"{file}(15,12): error ACG0006: Option 'when' has type 'System.DateTime', which is not supported", output, StringComparison.Ordinal);
        Assert.Contains($"{file}(18,40): error ACG0007: The default 0 of option 'epochs' is below its Min of 1", output, StringComparison.Ordinal);
        Assert.DoesNotContain(": error CS", output, StringComparison.Ordinal);
        Assert.Contains("4 Error(s)", output, StringComparison.Ordinal);
    }
}
