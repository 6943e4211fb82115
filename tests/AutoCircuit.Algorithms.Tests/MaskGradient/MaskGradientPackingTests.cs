using AutoCircuit.Engine.Patching;
using AutoCircuit.Testing;
using Xunit;

namespace AutoCircuit.Algorithms.Tests.MaskGradient;

/// <summary>
/// mask-gradient runs fewer, larger passes where they fit (issue 17): whole batches of one shape as one pass at a
/// single mask value, integrated-gradients samples as one pass over the prompts repeated (mask values per row). The
/// scores equal one pass per batch and sample (a budget of exactly one batch's rows), on <see cref="TestDevice.Current"/>.
/// </summary>
[Trait("Category", "Gpu")]
public sealed class MaskGradientPackingTests
{
    private const int BatchSize = 5;
    private const int Seq = 4;

    public static TheoryData<string, long, long> Specs() => new()
    {
        // spec, passes packed (3 batches), passes one per batch and sample
        { "mask-value=0", 1, 3 },
        { "mask-value=0,ablation=batch-tokenwise-mean", 1, 3 },
        { "mask-value=0,ablation=zero,grad-function=prob,answer-function=avg-val", 1, 3 },
        { "mask-value=0,ablation=tokenwise-mean-clean-and-corrupt", 1, 3 },
        { "mask-value=0.5,grad-function=logprob", 1, 3 },
        { "integrated-gradients=4,answer-function=mse", 3, 15 },
        { "integrated-gradients=2,ablation=batch-all-tok-mean,ablation-source=clean", 3, 9 },
    };

    [Theory]
    [MemberData(nameof(Specs))]
    public void MaskGradient_PackedPasses_SameScoresInFewerPasses(string spec, long packedPasses, long separatePasses)
    {
        using var packedModel = SmallGpt2.Model();
        using var separateModel = SmallGpt2.Model();
        using var packed = PatchableModel.Create(packedModel, new GraphOptions());
        var batches = SmallGpt2.Batches(3, BatchSize, Seq, seed: 21);
        try
        {
            // A budget of exactly one batch's rows for the largest mask value: nothing packed.
            long perRow;
            using (packed.TrainMaskMode())
            {
                packed.SetAllMasks(spec.StartsWith("integrated", StringComparison.Ordinal) ? 1.0 : spec.Contains("0.5", StringComparison.Ordinal) ? 0.5 : 0.0);
                perRow = packed.PatchBytesPerRow(batches[0]);
                packed.SetAllMasks(0);
            }

            using var separate = PatchableModel.Create(separateModel, new GraphOptions(), new PatchOptions(MaxPatchMemoryBytes: perRow * BatchSize));

            using var expected = SmallGpt2.MaskGradient(separate, batches, spec);
            var separateCount = separate.PatchedPassCount;
            using var actual = SmallGpt2.MaskGradient(packed, batches, spec);

            Assert.Equal(separatePasses, separateCount);
            Assert.Equal(packedPasses, packed.PatchedPassCount);
            foreach (var m in packed.Graph.DestModules)
            {
                // float32: the same products summed over more rows at once, a few ulps apart.
                TensorAssert.AllClose(expected[m.ModuleName], actual[m.ModuleName], 1e-5, rtol: 1e-5, what: $"{spec}: {m.ModuleName}");
            }
        }
        finally
        {
            batches.ForEach(b => b.Dispose());
        }
    }

    [Fact]
    public void SamplesPerPass_LargeModelWithoutBudget_OneSampleAPass()
    {
        // A pass whose buffers for one batch exceed the packing limit keeps one sample per pass (no extra memory).
        using var transformer = SmallGpt2.Model();
        using var model = PatchableModel.Create(transformer, new GraphOptions());
        var batches = SmallGpt2.Batches(3, BatchSize, Seq, seed: 21);
        try
        {
            using (model.TrainMaskMode())
            {
                model.SetAllMasks(1.0);
                var perRow = model.PatchBytesPerRow(batches[0]);
                Assert.True(perRow * BatchSize < Algorithms.MaskGradient.MaskGradient.PackedPassBytes, "the test model is small");
                Assert.Equal(11, Algorithms.MaskGradient.MaskGradient.SamplesPerPass(model, batches[0], BatchSize, 11));
                Assert.Equal(
                    Algorithms.MaskGradient.MaskGradient.PackedPassBytes / perRow,
                    Algorithms.MaskGradient.MaskGradient.PassRows(model, batches[0]));
            }

            using var budgeted = PatchableModel.Create(SmallGpt2.Model(), new GraphOptions(), new PatchOptions(MaxPatchMemoryBytes: 1));
            using (budgeted.TrainMaskMode())
            {
                budgeted.SetAllMasks(1.0);
                Assert.Equal(1, Algorithms.MaskGradient.MaskGradient.SamplesPerPass(budgeted, batches[0], 1, 11));
            }
        }
        finally
        {
            batches.ForEach(b => b.Dispose());
        }
    }
}
