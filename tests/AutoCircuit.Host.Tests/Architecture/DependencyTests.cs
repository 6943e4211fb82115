using AutoCircuit.Host.Tests.Plugins;
using AutoCircuit.Testing;
using Mono.Cecil;
using Xunit;
using Xunit.Abstractions;

namespace AutoCircuit.Host.Tests.Architecture;

/// <summary>
/// The architecture, computed from the code: project references only point down the layers, and inside each assembly
/// the namespaces (folders) depend on each other without a cycle. docs/architecture.md describes both rules.
/// </summary>
public sealed class DependencyTests(ITestOutputHelper output)
{
    /// <summary>
    /// The layers of the solution's projects, bottom first. A project may reference projects of lower layers only:
    /// never one of its own layer (Engine and Algorithms, Models and Evaluation are peers that know nothing of each
    /// other) nor one above. Every project under src/ must be placed here.
    /// </summary>
    public static readonly IReadOnlyList<IReadOnlyList<string>> Layers =
    [
        ["AutoCircuit.Generators"], // the registry generator (an analyzer; referenced for build order and as analyzer)
        ["AutoCircuit.Abstractions"], // the plugin SDK
        ["AutoCircuit.Engine", "AutoCircuit.Algorithms"], // the patching engine; the built-in algorithms (SDK only, like any plugin)
        ["AutoCircuit.Models", "AutoCircuit.Evaluation"], // model families, loaders, tokenizers; circuit evaluation
        ["AutoCircuit.Host", "AutoCircuit.Testing"], // the composition root (tasks, data, jobs, IO, reports, plugin loading); the plugin authors' test kit
        ["AutoCircuit.Bench", "AutoCircuit"], // the benchmark workloads; the engine as a library (the facade of docs/library.md)
        ["AutoCircuit.Tool"], // the dotnet autocircuit command line
    ];

    private static readonly IReadOnlyList<ProjectInfo> Projects = ProjectInfo.ReadAll("src");

    private static int LayerOf(string project) =>
        Layers.Select((names, i) => (names, i)).FirstOrDefault(l => l.names.Contains(project), (names: [], i: -1)).i;

    public static TheoryData<string> Assemblies => [.. Projects.Select(p => p.Name)];

    [Fact]
    public void Projects_EveryProjectUnderSrcHasALayer()
    {
        var unplaced = Projects.Where(p => LayerOf(p.Name) < 0).Select(p => p.Path).ToList();

        Assert.True(Projects.Count >= 9, $"only {Projects.Count} projects found under src/");
        Assert.True(unplaced.Count == 0, "Place these projects in DependencyTests.Layers (and docs/architecture.md): " + string.Join(", ", unplaced));
        Assert.Empty(Layers.SelectMany(l => l).Except(Projects.Select(p => p.Name)));
    }

    [Fact]
    public void Projects_ReferencesPointDownTheLayers()
    {
        var violations = LayerViolations(Projects.ToDictionary(p => p.Name, p => p.References));

        Assert.True(violations.Count == 0, "Project references against the layers (see DependencyTests.Layers):\n" + string.Join("\n", violations));
    }

    [Fact]
    public void Projects_ReferenceGraphIsAcyclic()
    {
        var cycles = GraphCycles.Find(Projects.ToDictionary(p => p.Name, p => (IReadOnlySet<string>)p.References.ToHashSet()));

        Assert.True(cycles.Count == 0, "Project reference cycles:\n" + string.Join("\n", cycles.Select(c => string.Join(" -> ", c))));
    }

    [Fact]
    public void BuiltAssemblies_ReferenceOnlyLowerLayers()
    {
        // What the compiler really bound, transitively referenced assemblies included: the same rule on the built output.
        var byAssembly = Projects.ToDictionary(p => p.AssemblyName, p => p.Name, StringComparer.Ordinal);
        var references = Projects.ToDictionary(
            p => p.Name,
            p =>
            {
                using var module = ModuleDefinition.ReadModule(AssemblyPath(p));
                return (IReadOnlyList<string>)module.AssemblyReferences
                    .Where(r => byAssembly.ContainsKey(r.Name))
                    .Select(r => byAssembly[r.Name])
                    .ToList();
            });

        var violations = LayerViolations(references);

        Assert.Contains("AutoCircuit.Abstractions", references["AutoCircuit.Engine"]);
        Assert.True(violations.Count == 0, "Assembly references against the layers:\n" + string.Join("\n", violations));
    }

    [Theory]
    [MemberData(nameof(Assemblies))]
    public void Namespaces_InsideEachAssembly_HaveNoCycle(string project)
    {
        var p = Projects.Single(x => x.Name == project);

        var graph = NamespaceGraph.Read(AssemblyPath(p), p.RootNamespace);
        var cycles = GraphCycles.Find(graph.Edges);

        foreach (var ns in graph.Namespaces.Order(StringComparer.Ordinal))
        {
            var uses = graph.Edges.TryGetValue(ns, out var to) ? string.Join(", ", to.Order(StringComparer.Ordinal)) : "-";
            output.WriteLine($"{ns} -> {uses}");
        }

        Assert.NotEmpty(graph.Namespaces);
        Assert.True(cycles.Count == 0, $"Namespace cycles in {p.AssemblyName} (each edge with the first reference found):\n" +
            string.Join("\n", cycles.Select(c => string.Join(" -> ", c) + "\n" +
                string.Join("\n", c.Zip(c.Skip(1)).Select(e => $"    {e.First} -> {e.Second}: {graph.Example(e.First, e.Second)}")))));
    }

    [Fact]
    public void NamespaceGraph_OfTheEngine_HasItsKnownEdges()
    {
        // The engine's hook contract is used by its patching folder through signatures and method bodies.
        var engine = Projects.Single(p => p.Name == "AutoCircuit.Engine");

        var graph = NamespaceGraph.Read(AssemblyPath(engine), engine.RootNamespace);

        Assert.Contains("AutoCircuit.Engine.Hooks", graph.Edges["AutoCircuit.Engine.Patching"]);
        Assert.Contains("AutoCircuit.Engine.Patching", graph.Namespaces);
    }

    [Fact]
    public void Checks_FailOnAWrongWayReferenceAndOnACycle()
    {
        // The rules themselves, on made-up graphs: a reference up the layers, one between peers, and a cycle.
        var wrong = LayerViolations(new Dictionary<string, IReadOnlyList<string>>
        {
            ["AutoCircuit.Engine"] = ["AutoCircuit.Abstractions", "AutoCircuit.Host"],
            ["AutoCircuit.Models"] = ["AutoCircuit.Evaluation"],
        });
        var cycles = GraphCycles.Find(new Dictionary<string, IReadOnlySet<string>>
        {
            ["A.Jobs"] = new HashSet<string> { "A.Reports", "A.Data" },
            ["A.Reports"] = new HashSet<string> { "A.Comparison" },
            ["A.Comparison"] = new HashSet<string> { "A.Jobs", "A.Data" },
            ["A.Data"] = new HashSet<string> { "A.Data" },
        });

        Assert.Equal(
            [
                "AutoCircuit.Engine (layer 2) -> AutoCircuit.Host (layer 4): references may only point to a lower layer",
                "AutoCircuit.Models (layer 3) -> AutoCircuit.Evaluation (layer 3): references may only point to a lower layer",
            ],
            wrong);
        Assert.Equal([["A.Comparison", "A.Jobs", "A.Reports", "A.Comparison"]], cycles);
    }

    [Fact]
    public void NamespaceGraph_FindsACycleThatOnlyTheIlShows()
    {
        // Two folders that use each other without a using directive: a fully qualified name in a method body, a typeof in
        // an attribute; a third uses one of them from a lambda only (a compiler-generated nested type).
        var folder = Directory.CreateTempSubdirectory("ac-cycle-").FullName;
        try
        {
            var path = TestPluginBuilder.Build(folder, "CycleSample", """
                namespace CycleSample.Jobs
                {
                    public static class Job
                    {
                        public static object Run() => new CycleSample.Reports.Report();
                    }
                }

                namespace CycleSample.Reports
                {
                    [Marker(typeof(CycleSample.Jobs.Job))]
                    public sealed class Report;

                    [System.AttributeUsage(System.AttributeTargets.Class)]
                    public sealed class MarkerAttribute(System.Type type) : System.Attribute
                    {
                        public System.Type Type { get; } = type;
                    }
                }

                namespace CycleSample.Data.Loading
                {
                    public static class Loader
                    {
                        public static System.Func<object> Later() => () => new CycleSample.Reports.Report();
                    }
                }
                """, runGenerator: false);

            var graph = NamespaceGraph.Read(path, "CycleSample");
            var cycles = GraphCycles.Find(graph.Edges);

            Assert.Equal([["CycleSample.Jobs", "CycleSample.Reports", "CycleSample.Jobs"]], cycles);
            Assert.Equal("CycleSample.Jobs.Job::Run uses CycleSample.Reports.Report", graph.Example("CycleSample.Jobs", "CycleSample.Reports"));
            Assert.Equal("CycleSample.Reports.Report uses CycleSample.Jobs.Job", graph.Example("CycleSample.Reports", "CycleSample.Jobs"));
            Assert.Equal(["CycleSample.Reports"], graph.Edges["CycleSample.Data"]);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static List<string> LayerViolations(IReadOnlyDictionary<string, IReadOnlyList<string>> references) =>
        references
            .SelectMany(kv => kv.Value.Select(to => (From: kv.Key, To: to)))
            .Where(r => LayerOf(r.To) >= LayerOf(r.From))
            .Select(r => $"{r.From} (layer {LayerOf(r.From)}) -> {r.To} (layer {LayerOf(r.To)}): references may only point to a lower layer")
            .Order(StringComparer.Ordinal)
            .ToList();

    private static string AssemblyPath(ProjectInfo project)
    {
        var path = Path.Combine(TestFixtures.OutputDirectory, project.AssemblyName + ".dll");
        Assert.True(File.Exists(path), $"{path} is missing: the test project must reference {project.Path} (directly or through another project).");
        return path;
    }
}
