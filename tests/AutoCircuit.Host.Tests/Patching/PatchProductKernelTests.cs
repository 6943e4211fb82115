using AutoCircuit.Engine.Patching;
using AutoCircuit.Models.Transformers;
using AutoCircuit.Testing;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace AutoCircuit.Host.Tests.Patching;

/// <summary>
/// <see cref="PatchProductKernel"/>: the patch's product on the CPU against libtorch's, on the shapes patching has
/// (row blocks of six and a remainder, column chunks and a tail, 1 and 2 threads, a slice of a larger buffer), where it
/// refuses, and a whole patched pass through it against auto-circuit's computation.
/// </summary>
public sealed class PatchProductKernelTests
{
    // float32 sums of up to 160 products: the kernel and BLAS both add the sources in order with fused multiply-adds;
    // measured differences are 0 to a few 1e-7 of the largest value.
    private const double Rtol = 1e-5;
    private const double Atol = 1e-5;

    [KernelTheory]
    [InlineData(6, 1, 256, 1)]
    [InlineData(7, 13, 1000, 2)] // one row after the block; a column tail (1000 = 62 strips + 8)
    [InlineData(12, 40, 4096, 2)]
    [InlineData(37, 79, 49_152, 1)] // a GPT-2 small layer's Q, K, V heads and MLP row, batch 4 x 16
    [InlineData(37, 157, 49_152, 2)]
    [InlineData(13, 300, 9_000, 2)] // long inner axis: chunks narrower than the panel's default
    public void TryMultiply_EqualsLibtorch(int m, int k, int n, int threads)
    {
        using var scope = torch.NewDisposeScope();
        using var gen = new Generator(11);
        var weights = torch.rand([m, k], generator: gen);
        var diff = torch.randn([k, n], generator: gen);
        using var inference = torch.inference_mode();

        var before = PatchProductKernel.ProductsOnThisThread;
        var product = PatchProductKernel.TryMultiply(weights, diff, threads, minWork: 0);

        Assert.NotNull(product);
        Assert.Equal(before + 1, PatchProductKernel.ProductsOnThisThread);
        TensorAssert.AllClose(torch.mm(weights, diff), product!, Atol, Rtol, $"[{m}, {k}] x [{k}, {n}] on {threads} thread(s)");
    }

    [KernelFact]
    public void TryMultiply_SliceOfALargerBufferAndTransposedWeights_ReadsTheSlice()
    {
        using var scope = torch.NewDisposeScope();
        using var gen = new Generator(12);
        var buffer = torch.randn([50, 4, 8, 64], generator: gen); // [all sources, B, T, d]
        var slots = buffer.narrow(0, 17, 20); // a destination's incoming sources, [20, B, T, d]
        var weights = torch.rand([20, 9], generator: gen).t(); // [9, 20], not contiguous

        var product = PatchProductKernel.TryMultiply(weights, slots, 2, minWork: 0);

        Assert.NotNull(product);
        Assert.Equal([9L, 4, 8, 64], product!.shape);
        TensorAssert.AllClose(torch.tensordot(weights, slots, [-1L], [0L]), product, Atol, Rtol, "a slice of the buffer");
    }

    [Fact]
    public void TryMultiply_WhereItDoesNotApply_ReturnsNull()
    {
        using var scope = torch.NewDisposeScope();
        var weights = torch.rand([12, 40]);
        var diff = torch.randn([40, 4096]);

        Assert.Null(PatchProductKernel.TryMultiply(weights.to_type(ScalarType.Float64), diff.to_type(ScalarType.Float64), 2, 0));
        Assert.Null(PatchProductKernel.TryMultiply(weights.narrow(0, 0, 5), diff, 2, 0)); // fewer than six rows
        Assert.Null(PatchProductKernel.TryMultiply(weights, diff.t().contiguous().t(), 2, 0)); // diff not contiguous
        Assert.Null(PatchProductKernel.TryMultiply(weights, torch.randn([40, 15]), 2, 0)); // not one 16-column strip
        Assert.Null(PatchProductKernel.TryMultiply(weights, torch.randn([40, 256]))); // too little work to be worth it
        var tracked = weights.clone().requires_grad_(true);
        Assert.Null(PatchProductKernel.TryMultiply(tracked, diff, 2, 0)); // gradients to record: autograd's product
        using (torch.no_grad())
        {
            Assert.Equal(PatchProductKernel.Supported, PatchProductKernel.TryMultiply(tracked, diff, 2, 0) is not null);
        }
    }

    [KernelTheory]
    [InlineData(true)]
    [InlineData(false)]
    public void InferencePatch_ThroughTheKernel_EqualsReferencePatching(bool separateQkv)
    {
        var config = new TransformerConfig
        {
            Family = TransformerFamily.Gpt2,
            AttnBias = true,
            MlpBias = true,
            DModel = 64,
            Layers = 3,
            Heads = 8,
            DMlp = 128,
            VocabSize = 50,
            ContextLength = 32,
        };
        using var a = new Transformer(config);
        using var b = new Transformer(config);
        a.InitializeRandom(7);
        b.InitializeRandom(7);
        using var fast = PatchableModel.Create(a, new GraphOptions(true, null, separateQkv));
        using var reference = PatchableModel.Create(b, new GraphOptions(true, null, separateQkv), new PatchOptions(ReferencePatching: true));
        using var clean = Models.TransformerPatchingTests.Tokens(1, batch: 8, seq: 32);
        using var corrupt = Models.TransformerPatchingTests.Tokens(2, batch: 8, seq: 32);
        using (var gen = new Generator(3))
        using (torch.no_grad())
        {
            foreach (var m in fast.Graph.DestModules)
            {
                using var r = torch.rand(m.MaskShape, generator: gen);
                fast.Masks[m.ModuleName].copy_(r);
                reference.Masks[m.ModuleName].copy_(r);
            }
        }

        var before = PatchProductKernel.ProductsOnThisThread;
        using var fastOut = PatchedForward(fast, clean, corrupt);
        var products = PatchProductKernel.ProductsOnThisThread - before;
        using var referenceOut = PatchedForward(reference, clean, corrupt);

        Assert.True(products >= 2, $"The layers' grouped products should run in the kernel; {products} did.");
        TensorAssert.AllClose(referenceOut, fastOut, 1e-4, 1e-5, $"inference patch through the kernel (separate Q/K/V: {separateQkv})");
    }

    private static Tensor PatchedForward(PatchableModel model, Tensor clean, Tensor corrupt)
    {
        using var inference = torch.inference_mode();
        using var patch = model.SourceAblations(corrupt);
        using (model.PatchMode(patch))
        {
            return model.Forward(clean);
        }
    }
}

/// <summary>A fact skipped, with the reason shown, where the CPU cannot run <see cref="PatchProductKernel"/>.</summary>
[AttributeUsage(AttributeTargets.Method)]
internal sealed class KernelFactAttribute : FactAttribute
{
    public KernelFactAttribute()
    {
        if (!PatchProductKernel.Supported)
        {
            Skip = KernelTheoryAttribute.Reason;
        }
    }
}

/// <summary>A theory skipped, with the reason shown, where the CPU cannot run <see cref="PatchProductKernel"/>.</summary>
[AttributeUsage(AttributeTargets.Method)]
internal sealed class KernelTheoryAttribute : TheoryAttribute
{
    public const string Reason = "needs x86 with AVX2 and FMA for the patch kernel (this CPU patches with libtorch's product)";

    public KernelTheoryAttribute()
    {
        if (!PatchProductKernel.Supported)
        {
            Skip = Reason;
        }
    }
}
