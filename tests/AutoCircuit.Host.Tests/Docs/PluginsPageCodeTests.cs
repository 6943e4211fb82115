using System.Reflection;
using AutoCircuit.Host.Algorithms;
using AutoCircuit.Host.Plugins;
using AutoCircuit.Host.Tests.Plugins;
using AutoCircuit.Scores;
using AutoCircuit.Testing;
using TorchSharp;
using Xunit;

namespace AutoCircuit.Host.Tests.Docs;

/// <summary>
/// The C# of docs/plugins.md outside the author's walk-through (which <see cref="AuthorWorkflow"/> runs): the typed
/// score example and the gradients recipe are compiled as plugins with the registry generator, loaded by the host and
/// run on the micro model's four kinds of graph; the test-kit example is compiled with the template's algorithm
/// sources and run.
/// </summary>
[Collection(nameof(SeededCollection))]
public sealed class PluginsPageCodeTests : IDisposable
{
    private const string Page = "docs/plugins.md";

    private readonly string _dir = Directory.CreateTempSubdirectory("ac-plugins-page-").FullName;

    /// <summary>What <c>&lt;ImplicitUsings&gt;enable&lt;/ImplicitUsings&gt;</c> (the template's projects) adds.</summary>
    private const string ImplicitUsings = """
        global using System;
        global using System.Collections.Generic;
        global using System.IO;
        global using System.Linq;
        global using System.Net.Http;
        global using System.Threading;
        global using System.Threading.Tasks;
        """;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<bool, bool> Graphs() => new()
    {
        { true, false },
        { true, true },
        { false, false },
        { false, true },
    };

    private static string Block(string section) =>
        string.Join("\n", Assert.Single(DocPages.Blocks(Page), b => b.Language == "csharp" && b.Section == section).Lines);

    /// <summary>Builds the section's block as a plugin, loads it as the host does, and creates the algorithm.</summary>
    private IPruneAlgorithm Plugin(string section, string name, string key)
    {
        TestPluginBuilder.Build(_dir, name, Block(section));
        var catalog = AlgorithmCatalog.Load(PluginSearchPath.Resolve([_dir], null, null));
        Assert.Empty(catalog.PluginFailures);
        Assert.True(catalog.TryGet(key, out var entry), $"{key} not in {string.Join(", ", catalog.Entries.Select(e => e.Descriptor.Key))}");
        Assert.Equal(name, entry.PluginName);
        return entry.Descriptor.Create(new Dictionary<string, string>()).Algorithm;
    }

    [Theory]
    [MemberData(nameof(Graphs))]
    public void TypedScoreShapes_Example_WritesEachKindThroughItsView(bool factorized, bool positions)
    {
        var algorithm = Plugin("Typed score shapes", "WhereItSitsPlugin", "where-it-sits");
        var log = new List<string>();
        using var scenario = PruneContextBuilder.Micro().Factorized(factorized).TokenPositions(positions).Log(log.Add).Build();

        using var scores = scenario.Run(algorithm);

        foreach (var destination in scores.Destinations)
        {
            using var scope = torch.NewDisposeScope();
            var (seq, heads) = (destination.Destination.SeqLen ?? 1, (long)destination.Destination.HeadCount);
            var position = torch.arange(1, seq + 1, dtype: torch.float32).view(seq, 1, 1);
            var head = torch.arange(1, heads + 1, dtype: torch.float32).view(1, heads, 1);
            var expected = destination switch
            {
                SrcScores => torch.ones(1, 1, 1),
                HeadSrcScores => head,
                SeqSrcScores => position,
                SeqHeadSrcScores => (10 * position) + head,
                _ => throw new InvalidOperationException(destination.GetType().Name),
            };
            var actual = destination.Tensor.view(seq, heads, destination.Sources);
            TensorAssert.AllClose(expected.expand_as(actual), actual, 0, 0, destination.ToString());
        }

        Assert.Equal(scenario.Graph.DestModules.Count, log.Count);
        var withHeads = positions ? "SeqHeadSrcScores [" : "HeadSrcScores [";
        Assert.Equal(factorized, log.Any(l => l.Contains(": " + withHeads, StringComparison.Ordinal)));
        Assert.Contains(log, l => l.Contains(positions ? ": SeqSrcScores [" : ": SrcScores [", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Graphs))]
    public void GradientsRecipe_EqualsTheBuiltInMaskGradientAtMaskZero(bool factorized, bool positions)
    {
        var algorithm = Plugin("Gradients: a recipe", "MyGradientPlugin", "my-gradient");
        using var scenario = PruneContextBuilder.Micro().Factorized(factorized).TokenPositions(positions).Batches(3, 3).Build();

        using var mine = scenario.Run(algorithm);
        using var reference = scenario.RunBuiltIn("mask-gradient", new Dictionary<string, string> { ["mask-value"] = "0" });

        using var a = mine.Flatten();
        using var b = reference.Flatten();
        TensorAssert.AllClose(b, a, 1e-5, 1e-5, "the recipe against mask-gradient:mask-value=0");
        using var largest = b.abs().max();
        Assert.True(largest.ToSingle() > 1e-3, "the gradients are not all zero");
        Assert.All(scenario.Model.Masks.Values, m => Assert.False(m.requires_grad, "the masks are left without grad"));
    }

    [Fact]
    public void TestKitExample_CompilesWithTheTemplatesAlgorithmAndPasses()
    {
        // The template's algorithm as `dotnet new autocircuit-plugin -n MyMagnitudePlugin` writes it (sourceName replaced).
        var template = Repository.File("templates", "content", "autocircuit-plugin", "src", "MyPlugin");
        var sources = Directory.GetFiles(template, "*.cs").Order(StringComparer.Ordinal)
            .Select(f => File.ReadAllText(f).Replace("MyPlugin", "MyMagnitudePlugin", StringComparison.Ordinal))
            .Append(Block("Test your plugin"))
            .Append(ImplicitUsings)
            .ToList();

        var image = TestPluginBuilder.Compile("MyMagnitudePlugin.DocExample", sources);
        var assembly = Assembly.Load(image);
        var type = assembly.GetType("MyMagnitudePlugin.Tests.MyMagnitudeAgreementTests", throwOnError: true)!;
        var test = type.GetMethod("RanksEdgesAsActivationMagnitude")!;

        Assert.NotNull(test.GetCustomAttribute<FactAttribute>());
        test.Invoke(Activator.CreateInstance(type), null); // throws (and fails this test) when the example's assertions fail
    }
}
