using System.IO.Compression;
using System.Text.Json;
using Xunit;
using Xunit.Abstractions;

namespace AutoCircuit.Packaging.Tests;

/// <summary>
/// The plugin template (templates/, docs/plugins.md "Start from the template"): packed with the SDK and the test kit
/// at one version, instantiated, its own tests pass with AutoCircuit.Testing, and the tool lists, runs and compares it.
/// </summary>
public sealed class TemplateTests(TemplateFlow flow, ITestOutputHelper output) : IClassFixture<TemplateFlow>
{
    [PackagingFact]
    public void Pack_TemplateSdkAndTestKit_OneVersionAndTheTemplateReferencesIt()
    {
        flow.Result("pack");
        var packages = Directory.GetFiles(flow.Feed, "*.nupkg").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        var version = Path.GetFileNameWithoutExtension(packages.Single(p => p!.StartsWith("AutoCircuit.Templates.", StringComparison.Ordinal)))!
            ["AutoCircuit.Templates.".Length..];

        Assert.Equal(
            [$"AutoCircuit.Abstractions.{version}.nupkg", $"AutoCircuit.Templates.{version}.nupkg", $"AutoCircuit.Testing.{version}.nupkg"],
            packages);
        using var template = ZipFile.OpenRead(Path.Combine(flow.Feed, $"AutoCircuit.Templates.{version}.nupkg"));
        var nuspec = Read(template, "AutoCircuit.Templates.nuspec");
        Assert.Contains("<packageType name=\"Template\" />", nuspec, StringComparison.Ordinal);
        var tests = Read(template, "content/autocircuit-plugin/tests/MyPlugin.Tests/MyPlugin.Tests.csproj");
        Assert.Contains($"<PackageReference Include=\"AutoCircuit.Testing\" Version=\"{version}\" />", tests, StringComparison.Ordinal);
        Assert.DoesNotContain("_VERSION", tests, StringComparison.Ordinal);
        // The test kit carries the engine, the models and the built-ins, and depends on the SDK package of its version.
        using var kit = ZipFile.OpenRead(Path.Combine(flow.Feed, $"AutoCircuit.Testing.{version}.nupkg"));
        Assert.Subset(
            kit.Entries.Select(e => e.FullName).ToHashSet(),
            new HashSet<string>
            {
                "lib/net10.0/AutoCircuit.Testing.dll", "lib/net10.0/AutoCircuit.Engine.dll", "lib/net10.0/AutoCircuit.Models.dll",
                "lib/net10.0/AutoCircuit.Evaluation.dll", "lib/net10.0/AutoCircuit.Algorithms.dll",
            });
        Assert.DoesNotContain(kit.Entries, e => e.FullName == "lib/net10.0/AutoCircuit.Abstractions.dll");
        Assert.Contains($"<dependency id=\"AutoCircuit.Abstractions\" version=\"{version}\"", Read(kit, "AutoCircuit.Testing.nuspec"), StringComparison.Ordinal);
    }

    [PackagingFact]
    public void New_MakesTheAlgorithmItsOptionsTestsAndReadme()
    {
        flow.Result("new");

        foreach (var file in new[]
        {
            "README.md", $"src/{TemplateFlow.PluginName}/{TemplateFlow.PluginName}.csproj", $"src/{TemplateFlow.PluginName}/MyMagnitude.cs",
            $"src/{TemplateFlow.PluginName}/MyMagnitudeOptions.cs", $"tests/{TemplateFlow.PluginName}.Tests/{TemplateFlow.PluginName}.Tests.csproj",
            $"tests/{TemplateFlow.PluginName}.Tests/MyMagnitudeTests.cs",
        })
        {
            Assert.True(File.Exists(Path.Combine(flow.Plugin, file)), $"{file} is missing");
        }

        Assert.Contains($"namespace {TemplateFlow.PluginName};", File.ReadAllText(Path.Combine(flow.Plugin, "src", TemplateFlow.PluginName, "MyMagnitude.cs")), StringComparison.Ordinal);
    }

    [PackagingFact]
    public void Test_ThePluginsOwnTestsPassWithTheTestKit()
    {
        var (_, log) = flow.Result("test");

        Assert.Matches(@"Passed!\s+-\s+Failed:\s+0,\s+Passed:\s+7,", log);
    }

    [PackagingFact]
    public void ListRunAndCompare_TheToolLoadsThePlugin()
    {
        var (_, list) = flow.Result("list");
        flow.Result("run");
        flow.Result("compare");

        var dll = Path.Combine(flow.PluginFolder, TemplateFlow.PluginName, TemplateFlow.PluginName + ".dll");
        Assert.Contains($"my-magnitude  —  My magnitude  [plugin {TemplateFlow.PluginName}: {dll}]", list, StringComparison.Ordinal);
        Assert.Contains("power=1  (double; 0.25..4)", list, StringComparison.Ordinal);
        using var scores = JsonDocument.Parse(File.ReadAllText(Path.Combine(flow.Plugin, "run", "scores", "my-magnitude.json")));
        Assert.Equal("my-magnitude", scores.RootElement.GetProperty("algorithm").GetString());
        using var compare = JsonDocument.Parse(File.ReadAllText(Path.Combine(flow.Plugin, "compare", "compare.json")));
        var pair = compare.RootElement.GetProperty("agreement").GetProperty("pairs")[0];
        // power=2 keeps the order of activation-magnitude's scores.
        Assert.Equal(1.0, pair.GetProperty("spearman").GetDouble(), 9);
        output.WriteLine($"dotnet new → the plugin's scores: {flow.NewToScores!.Value.TotalSeconds:0} s (its tests and build included)");
        Assert.True(flow.NewToScores.Value < TimeSpan.FromMinutes(10), $"{flow.NewToScores}");
    }

    private static string Read(ZipArchive archive, string entry)
    {
        using var reader = new StreamReader(archive.GetEntry(entry)?.Open() ?? throw new InvalidOperationException($"{entry} is not in the package"));
        return reader.ReadToEnd();
    }
}
