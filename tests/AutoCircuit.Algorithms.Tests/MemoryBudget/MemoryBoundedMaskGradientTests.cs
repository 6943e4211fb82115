using AutoCircuit.Engine.Patching;
using AutoCircuit.Patching;
using AutoCircuit.Testing;
using TorchSharp;
using Xunit;

namespace AutoCircuit.Algorithms.Tests.MemoryBudget;

/// <summary>
/// mask-gradient under a memory budget so small that every batch is split into chunks of prompts: the scores equal
/// the unbounded run's (the chunk losses are weighted by their share of the batch), on <see cref="TestDevice.Current"/>.
/// </summary>
[Trait("Category", "Gpu")]
public sealed class MemoryBoundedMaskGradientTests
{
    // Smaller than one prompt's buffers: chunks of one prompt.
    private const long TinyBudget = 1;

    public static TheoryData<string> Specs() =>
    [
        "mask-value=0",
        "mask-value=0,ablation=batch-tokenwise-mean",
        "mask-value=0,ablation=batch-all-tok-mean,ablation-source=clean",
        "mask-value=0,ablation=tokenwise-mean-clean-and-corrupt",
        "mask-value=0,ablation=zero,grad-function=prob,answer-function=avg-val",
        "integrated-gradients=2,answer-function=mse",
        "mask-value=0.5,grad-function=logprob",
    ];

    [Theory]
    [MemberData(nameof(Specs))]
    public void MaskGradient_TinyBudget_SameScoresAsUnbounded(string spec)
    {
        using var unboundedModel = SmallGpt2.Model();
        using var boundedModel = SmallGpt2.Model();
        using var unbounded = PatchableModel.Create(unboundedModel, new GraphOptions());
        using var bounded = PatchableModel.Create(boundedModel, new GraphOptions(), new PatchOptions(MaxPatchMemoryBytes: TinyBudget));
        var batches = SmallGpt2.Batches(2, 5, 4, seed: 9);
        try
        {
            using (bounded.TrainMaskMode())
            {
                bounded.SetAllMasks(0.5);
                Assert.Equal(batches[0].Size, bounded.RowChunks(batches[0]).Count); // one prompt per chunk
            }

            using var expected = SmallGpt2.MaskGradient(unbounded, batches, spec);
            using var actual = SmallGpt2.MaskGradient(bounded, batches, spec);

            foreach (var m in unbounded.Graph.DestModules)
            {
                // float32 sums over chunks instead of whole batches: a few ulps apart.
                TensorAssert.AllClose(expected[m.ModuleName], actual[m.ModuleName], 1e-5, rtol: 1e-5, what: $"{spec}: {m.ModuleName}");
            }
        }
        finally
        {
            batches.ForEach(b => b.Dispose());
        }
    }

    [Fact]
    public void MaxPatchRows_CountsTheBuffersOfTheComingPass()
    {
        using var transformer = SmallGpt2.Model();
        var graph = PatchableModel.Create(transformer, new GraphOptions());
        var srcs = graph.Graph.Srcs.Count;
        graph.Dispose();
        var perRowFast = 2L * srcs * 4 * 16 * sizeof(float); // patch + differences, seq 4, d_model 16
        using var model = PatchableModel.Create(transformer, new GraphOptions(), new PatchOptions(MaxPatchMemoryBytes: 3 * perRowFast));
        var batches = SmallGpt2.Batches(2, 5, 4, seed: 9);
        try
        {
            using (torch.no_grad())
            {
                Assert.Equal(3, model.MaxPatchRows(batches[0]));
            }

            using (model.TrainMaskMode())
            {
                model.SetAllMasks(0);
                Assert.Equal(3, model.MaxPatchRows(batches[0])); // mask-gradient at 0: the same two buffers
                model.SetAllMasks(0.5);
                Assert.True(model.MaxPatchRows(batches[0]) < 3, "non-zero masks: autograd keeps per-destination differences");
            }

            using var unbounded = PatchableModel.Create(SmallGpt2.Model(), new GraphOptions());
            Assert.Null(unbounded.MaxPatchRows(batches[0]));
        }
        finally
        {
            batches.ForEach(b => b.Dispose());
        }
    }
}
