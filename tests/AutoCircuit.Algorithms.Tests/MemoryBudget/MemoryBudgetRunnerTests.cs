using AutoCircuit.Algorithms.Eap;
using AutoCircuit.Algorithms.Exact;
using AutoCircuit.Data;
using AutoCircuit.Engine.Patching;
using AutoCircuit.Host.Algorithms;
using AutoCircuit.Host.Plugins;
using AutoCircuit.Scores;
using AutoCircuit.Testing;
using TorchSharp;
using Xunit;

namespace AutoCircuit.Algorithms.Tests.MemoryBudget;

/// <summary>
/// The memory-budget rule through <see cref="AlgorithmRunner"/> (which calls <see cref="MemoryBudgetRunner"/>): under a
/// budget of one prompt, a batch-separable algorithm sees only one-prompt batches and its scores equal the unbounded
/// run's; an algorithm that chunks itself gets the same scores; one that declares nothing is warned about.
/// </summary>
[Collection(nameof(MemoryBudgetRunnerTests))] // seeds torch
[CollectionDefinition(nameof(MemoryBudgetRunnerTests), DisableParallelization = true)]
public sealed class MemoryBudgetRunnerTests
{
    private const int BatchSize = 5; // prime: the only equal parts under a one-prompt budget are single prompts

    [Fact]
    public void BatchSeparable_TinyBudget_RunOnSinglePromptPartsWithTheSameScores()
    {
        var spy = new PartSpy();

        var (expected, actual, log) = RunBoundedAndUnbounded(spy);

        using (expected)
        using (actual)
        {
            Assert.Equal([BatchSize, BatchSize, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], spy.SeenSizes); // unbounded, then 5 parts x 2 batches
            Assert.Contains(log, l => l.Contains("running it on 5 parts of 1 prompts and averaging the scores", StringComparison.Ordinal));
            foreach (var (module, tensor) in expected)
            {
                TensorAssert.AllClose(tensor, actual[module], 1e-6, rtol: 1e-6, what: module);
            }
        }
    }

    [Fact]
    public void Eap_TinyBudget_SameScoresAsUnbounded()
    {
        var (expected, actual, log) = RunBoundedAndUnbounded(new EdgeAttributionPatching(new EapOptions()));

        using (expected)
        using (actual)
        {
            Assert.Contains(log, l => l.Contains("EdgeAttributionPatching: batches of 5 prompts do not fit", StringComparison.Ordinal));
            foreach (var (module, tensor) in expected)
            {
                // Means over one-prompt parts instead of whole batches: float32 rounding only.
                TensorAssert.AllClose(tensor, actual[module], 1e-5, rtol: 1e-5, what: module);
            }
        }
    }

    [Fact]
    public void ActivationMagnitude_TinyBudget_ChunksItselfWithTheSameScores()
    {
        var (expected, actual, log) = RunBoundedAndUnbounded(new AutoCircuit.Algorithms.ActivationMagnitude.ActivationMagnitude());

        using (expected)
        using (actual)
        {
            Assert.Empty(log); // chunks itself: nothing split by the host, nothing to warn about
            foreach (var (module, tensor) in expected)
            {
                TensorAssert.AllClose(tensor, actual[module], 1e-6, rtol: 1e-5, what: module);
            }
        }
    }

    [Fact]
    public void Undeclared_TinyBudget_WarnedInTheRunLogAndRunWhole()
    {
        var algorithm = new Unregistered();

        var (expected, actual, log) = RunBoundedAndUnbounded(algorithm);

        using (expected)
        using (actual)
        {
            var warning = Assert.Single(log);
            Assert.StartsWith(
                $"warning: {typeof(Unregistered).FullName} patches whole batches of 5 prompts, but the patch memory budget fits 1;",
                warning,
                StringComparison.Ordinal);
            Assert.Contains("does not declare how it keeps to the budget", warning, StringComparison.Ordinal);
            Assert.Equal([BatchSize, BatchSize, BatchSize, BatchSize], algorithm.SeenSizes);
        }
    }

    [Fact]
    public void BuiltIns_EachDeclaresItsMemoryBudgetSupport()
    {
        var undeclared = AlgorithmCatalog.Load(PluginSearchPath.None).Entries
            .Where(e => e.Descriptor.MemoryBudget == MemoryBudgetSupport.Undeclared)
            .Select(e => e.Descriptor.Key)
            .ToList();

        Assert.Empty(undeclared);
        Assert.Equal(MemoryBudgetSupport.BatchSeparable, MemoryBudgetRunner.SupportOf(new EdgeAttributionPatching(new EapOptions())));
        Assert.Equal(MemoryBudgetSupport.Undeclared, MemoryBudgetRunner.SupportOf(new Unregistered()));
    }

    public static TheoryData<string> EdgeGradientSpecs() =>
    [
        "eap-ig-inputs:steps=2",
        "eap-ig-inputs:steps=2,ablation=batch-tokenwise-mean,aggregation=mean",
        "eap-ig-inputs:steps=1,ablation=tokenwise-mean-clean-and-corrupt",
        "eap-ig-activations:steps=1,ablation=batch-all-tok-mean",
        "clean-corrupted:ablation=zero,grad-function=logprob",
    ];

    [Theory]
    [MemberData(nameof(EdgeGradientSpecs))]
    public void EapIg_TinyBudget_ChunksItselfWithTheSameScores(string spec)
    {
        // Chunks of one prompt; batch means over the whole batch and dataset means over every batch, as unbounded.
        var (expected, actual, log) = RunBoundedAndUnbounded(Create(spec));

        using (expected)
        using (actual)
        {
            Assert.Empty(log); // chunks itself: nothing split by the host, nothing to warn about
            foreach (var (module, tensor) in expected)
            {
                TensorAssert.AllClose(tensor, actual[module], 1e-5, rtol: 1e-5, what: $"{spec} {module}");
            }
        }
    }

    [Theory]
    [InlineData("exact")]
    [InlineData("exact:patch-type=edge-patch,ablation=batch-tokenwise-mean,edges-per-pass=4")]
    [InlineData("exact:ablation=tokenwise-mean-corrupt")]
    public void Exact_TinyBudget_ChunksItselfWithTheSameScores(string spec)
    {
        // One prompt and one edge per forward pass instead of 5 prompts x up to 32 edges.
        var (expected, actual, log) = RunBoundedAndUnbounded(Create(spec));

        using (expected)
        using (actual)
        {
            Assert.Empty(log);
            foreach (var (module, tensor) in expected)
            {
                TensorAssert.AllClose(tensor, actual[module], 1e-5, rtol: 1e-5, what: $"{spec} {module}");
            }

            using var flat = expected.Flatten();
            Assert.True(flat.abs().max().ToDouble() > 1e-3, "the scores are all ~0: the comparison would prove nothing");
        }
    }

    [Fact]
    public void Exact_Budget_SizesEdgesPerPassFromMaxPatchRows()
    {
        using var inner = SmallGpt2.Model();
        long perRow; // bytes per prompt in inference mode: ablations + difference buffer, [2 n_src, seq 4, d 16] float32
        using (var probe = PatchableModel.Create(inner, new GraphOptions()))
        {
            perRow = 2L * probe.Graph.Srcs.Count * 4 * 16 * sizeof(float);
        }

        var batches = SmallGpt2.Batches(2, BatchSize, 4, seed: 9);
        try
        {
            (long Budget, int Rows, int Chunks, int Edges)[] cases =
                [(17 * perRow, 17, 1, 3), (7 * perRow, 7, 1, 1), (3 * perRow, 3, 2, 1), (1000 * perRow, 1000, 1, 32)];
            foreach (var (budget, rows, chunks, edges) in cases)
            {
                using var model = PatchableModel.Create(inner, new GraphOptions(), new PatchOptions(MaxPatchMemoryBytes: budget));
                using var _ = torch.inference_mode();
                Assert.Equal(rows, model.MaxPatchRows(batches[0]));

                var (actualChunks, edgesPerPass) = new ExactPatching(new ExactOptions()).Chunking(model, batches[0]);

                Assert.Equal(chunks, actualChunks.Count); // 5 prompts in chunks of at most `rows`
                Assert.Equal(edges, edgesPerPass); // max(1, rows / chunk rows), at most edges-per-pass (32)
            }
        }
        finally
        {
            batches.ForEach(b => b.Dispose());
        }
    }

    [Fact]
    public void InformationFlowRoutes_TinyBudget_RunOnSinglePromptPartsWithTheSameScores()
    {
        var (expected, actual, log) = RunBoundedAndUnbounded(Create("information-flow-routes"));

        using (expected)
        using (actual)
        {
            Assert.Contains(log, l => l.Contains("InformationFlowRoutes: batches of 5 prompts do not fit", StringComparison.Ordinal));
            foreach (var (module, tensor) in expected)
            {
                TensorAssert.AllClose(tensor, actual[module], 1e-6, rtol: 1e-5, what: module);
            }
        }
    }

    private static IPruneAlgorithm Create(string spec) => AlgorithmCatalog.BuiltIn().Create(AlgorithmSpec.Parse(spec)).Algorithm.Algorithm;

    /// <summary>Runs <paramref name="algorithm"/> without a budget, then with a one-prompt budget (its run log returned).</summary>
    private static (PruneScores Expected, PruneScores Actual, List<string> Log) RunBoundedAndUnbounded(IPruneAlgorithm algorithm)
    {
        using var unboundedModel = SmallGpt2.Model();
        using var boundedModel = SmallGpt2.Model();
        using var unbounded = PatchableModel.Create(unboundedModel, new GraphOptions());
        using var bounded = PatchableModel.Create(boundedModel, new GraphOptions(), new PatchOptions(MaxPatchMemoryBytes: 1));
        var batches = SmallGpt2.Batches(2, BatchSize, 4, seed: 9);
        try
        {
            var log = new List<string>();
            using var expected = Run(algorithm, unbounded, batches, log);
            Assert.Empty(log); // without a budget there is nothing to split or warn about
            var actual = Run(algorithm, bounded, batches, log);
            return (expected.ToCpu(), actual, log);
        }
        finally
        {
            batches.ForEach(b => b.Dispose());
        }
    }

    private static PruneScores Run(IPruneAlgorithm algorithm, PatchableModel model, List<PromptBatch> batches, List<string> log)
    {
        var context = new PruneContext { Model = model, TrainBatches = batches, Seed = 3, Log = log.Add };
        var outcome = AlgorithmRunner.Run(algorithm, context);
        Assert.True(outcome.Succeeded, outcome.Error);
        return outcome.Scores!;
    }

}

/// <summary>
/// Batch-separable by construction: every edge scores the sum over batches of the batch's mean clean token id (a
/// mean over prompts), and it records the batch sizes it was given.
/// </summary>
[PruneAlgorithm("test-part-spy", MemoryBudget = MemoryBudgetSupport.BatchSeparable)]
public sealed class PartSpy : IPruneAlgorithm
{
    /// <summary>The size of every batch of every run, in order.</summary>
    public List<long> SeenSizes { get; } = [];

    /// <inheritdoc />
    public PruneScores Run(PruneContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var scores = context.Model.NewPruneScores();
        foreach (var batch in context.TrainBatches)
        {
            SeenSizes.Add(batch.Size);
            using var mean = batch.Clean.to_type(torch.ScalarType.Float32).mean();
            foreach (var (_, tensor) in scores)
            {
                tensor.add_(mean);
            }
        }

        return scores;
    }
}

/// <summary>Not in any registry: its memory-budget support is undeclared. Records the batch sizes it was given.</summary>
public sealed class Unregistered : IPruneAlgorithm
{
    /// <summary>The size of every batch of every run, in order.</summary>
    public List<long> SeenSizes { get; } = [];

    /// <inheritdoc />
    public PruneScores Run(PruneContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        SeenSizes.AddRange(context.TrainBatches.Select(b => b.Size));
        return context.Model.NewPruneScores();
    }
}
