using System.Reflection;
using AutoCircuit.Data;
using AutoCircuit.Graph;
using AutoCircuit.Patching;
using AutoCircuit.Scores;
using TorchSharp;

namespace AutoCircuit.Testing;

/// <summary>
/// A test model made patchable, its train batches and the <see cref="PruneContext"/> over them (built by
/// <see cref="PruneContextBuilder"/>). <see cref="Run"/> runs an algorithm the way the host does; <see cref="RunBuiltIn"/>
/// runs a built-in algorithm on the same context, as a reference to compare with.
/// </summary>
public sealed class TestScenario : IDisposable
{
    /// <summary>Name of the assembly holding the built-in algorithms (bundled in this package).</summary>
    private const string BuiltInAssemblyName = "AutoCircuit.Algorithms";

    private static readonly Lazy<IReadOnlyList<AlgorithmDescriptor>> s_builtIns = new(ReadBuiltIns);

    private readonly IDisposable _network;
    private readonly IDisposable _patchable;
    private readonly List<PromptBatch> _batches;

    internal TestScenario(
        TestModel model, string description, IDisposable network, IPatchableModel patchable, List<PromptBatch> batches, PruneContext context)
    {
        ModelKind = model;
        Description = description;
        _network = network;
        _patchable = (IDisposable)patchable;
        _batches = batches;
        Context = context;
    }

    /// <summary>Which test model.</summary>
    public TestModel ModelKind { get; }

    /// <summary>The model and graph, e.g. <c>micro, factorized graph</c>.</summary>
    public string Description { get; }

    /// <summary>The context an algorithm receives.</summary>
    public PruneContext Context { get; }

    /// <summary>The patchable model.</summary>
    public IPatchableModel Model => Context.Model;

    /// <summary>The model's graph.</summary>
    public ModelGraph Graph => Context.Graph;

    /// <summary>The train batches.</summary>
    public IReadOnlyList<PromptBatch> TrainBatches => _batches;

    /// <summary>The keys of the built-in algorithms, for <see cref="RunBuiltIn"/>.</summary>
    public static IReadOnlyList<string> BuiltInKeys => [.. s_builtIns.Value.Select(d => d.Key)];

    /// <summary>
    /// Runs <paramref name="algorithm"/> as the host does: seeds torch with <see cref="PruneContext.Seed"/>, opens a
    /// dispose scope, keeps to the patch memory budget, then checks the scores' shapes (<see cref="ScoreAssert.HasGraphShapes"/>).
    /// </summary>
    /// <returns>The scores on the CPU as float32, owned by the caller.</returns>
    /// <exception cref="ScoreAssertionException">The algorithm returned no scores, or scores that do not fit the graph.</exception>
    public PruneScores Run(IPruneAlgorithm algorithm)
    {
        ArgumentNullException.ThrowIfNull(algorithm);
        torch.random.manual_seed(Context.Seed);
        using var scope = torch.NewDisposeScope();
        var scores = MemoryBudgetRunner.Run(algorithm, Context)
            ?? throw new ScoreAssertionException($"{algorithm.GetType().Name} returned no scores.");
        using (scores)
        {
            ScoreAssert.HasGraphShapes(scores, Graph);
            return scores.ToCpu(); // a copy that outlives the scope, as the host's runner keeps it
        }
    }

    /// <summary>
    /// Runs the built-in algorithm <paramref name="key"/> (options as on the command line: kebab-case name → text) on
    /// this scenario, e.g. <c>RunBuiltIn("mask-gradient")</c> as the reference for a gradient-based algorithm.
    /// </summary>
    /// <exception cref="ArgumentException">No built-in algorithm has that key (the message lists them).</exception>
    public PruneScores RunBuiltIn(string key, IReadOnlyDictionary<string, string>? options = null) =>
        Run(CreateBuiltIn(key, options));

    /// <summary>Creates the built-in algorithm <paramref name="key"/> with <paramref name="options"/>, as <c>-a key:options</c> does.</summary>
    /// <exception cref="ArgumentException">No built-in algorithm has that key.</exception>
    public static IPruneAlgorithm CreateBuiltIn(string key, IReadOnlyDictionary<string, string>? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        var descriptor = s_builtIns.Value.FirstOrDefault(d => d.Key == key)
            ?? throw new ArgumentException($"No built-in algorithm '{key}'. Built-in algorithms: {string.Join(", ", BuiltInKeys)}.", nameof(key));
        return descriptor.Create(options ?? new Dictionary<string, string>()).Algorithm;
    }

    /// <inheritdoc />
    public override string ToString() => Description;

    /// <inheritdoc />
    public void Dispose()
    {
        _patchable.Dispose();
        foreach (var batch in _batches)
        {
            batch.Dispose();
        }

        _network.Dispose();
    }

    private static IReadOnlyList<AlgorithmDescriptor> ReadBuiltIns()
    {
        var assembly = Assembly.Load(new AssemblyName(BuiltInAssemblyName));
        var registry = assembly.GetCustomAttributes().OfType<AlgorithmRegistryAttribute>().FirstOrDefault()
            ?? throw new InvalidOperationException($"{BuiltInAssemblyName} has no algorithm registry.");
        return registry.Algorithms;
    }
}
