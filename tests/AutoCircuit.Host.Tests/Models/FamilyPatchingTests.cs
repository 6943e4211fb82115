using AutoCircuit.Engine.Patching;
using AutoCircuit.Host.Tests.Patching;
using AutoCircuit.Models.Checkpoints;
using AutoCircuit.Models.Transformers;
using AutoCircuit.Testing;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace AutoCircuit.Host.Tests.Models;

/// <summary>
/// The patching engine on every family's tiny checkpoint (tests/Fixtures/models, every feature on: GQA, biases, q/k
/// norms, soft caps, windows shorter than the prompts, scaled and partial RoPE, norms after attention and MLP): patch
/// mode off and all-zero masks change nothing, every edge patched gives the corrupt output (the sources add up to the
/// residual, which the post-attention norm makes non-trivial), random masks through the fast paths equal auto-circuit's
/// op-for-op computation, and so do the mask gradients at 0.
/// </summary>
[Trait("Category", "Gpu")]
public sealed class FamilyPatchingTests
{
    // float32 through two or three layers: per-head vs fused projections and one matrix product per group of
    // destinations vs one einsum each sum the same products in different orders; measured differences are ~1e-6.
    private const double Atol = 1e-5;

    /// <summary>One checkpoint per family (llama3 RoPE for Llama; the others each switch on their family's features).</summary>
    public static TheoryData<string> Families => new()
    {
        "gpt2-random", "llama-random-llama3", "llama-random-yarn", "qwen2-random", "qwen3-random", "mistral-random",
        "gemma2-random", "gemma3-random", "gpt_neox-random", "olmo2-random",
    };

    public static TheoryData<string, bool, bool> FamiliesAndGraphs()
    {
        var data = new TheoryData<string, bool, bool>();
        foreach (var name in Families)
        {
            data.Add(name, true, true);
            data.Add(name, true, false);
            data.Add(name, false, true);
        }

        return data;
    }

    public static Transformer Load(string name, ScalarType dtype = ScalarType.Float32)
    {
        var model = HfCheckpoint.Load(ModelFixtures.Folder(name), dtype).Model;
        model.MoveTo(TestDevice.Current);
        return model;
    }

    /// <summary>Prompts of 7 tokens (longer than the fixtures' windows of 4), ids below every fixture's vocabulary.</summary>
    public static Tensor Tokens(int seed) => TransformerPatchingTests.Tokens(seed, batch: 3, seq: 7).to(TestDevice.Current);

    [Theory]
    [MemberData(nameof(FamiliesAndGraphs))]
    public void PatchMode_OffOrZeroMasks_EqualsPlainForward(string name, bool factorized, bool separateQkv)
    {
        using var transformer = Load(name);
        using var clean = Tokens(1);
        using var corrupt = Tokens(2);
        using var plain = transformer.Forward(clean);
        using var model = PatchableModel.Create(transformer, new GraphOptions(factorized, null, separateQkv));
        model.SetAllMasks(1.0);
        using (var off = model.Forward(clean))
        {
            TensorAssert.Equal(plain, off, $"{name}: patch mode off");
        }

        model.SetAllMasks(0.0);
        using var patch = model.SourceAblations(corrupt);
        using (model.PatchMode(patch))
        {
            using var zero = model.Forward(clean);
            TensorAssert.AllClose(plain, zero, Atol, 0, $"{name}: zero masks");
        }
    }

    [Theory]
    [MemberData(nameof(FamiliesAndGraphs))]
    public void PatchMode_EveryEdgePatched_GivesTheCorruptOutput(string name, bool factorized, bool separateQkv)
    {
        using var transformer = Load(name);
        using var model = PatchableModel.Create(transformer, new GraphOptions(factorized, null, separateQkv));
        using var clean = Tokens(1);
        using var corrupt = Tokens(2);
        using var expected = model.Forward(corrupt);
        using var cleanOut = model.Forward(clean);
        using var patch = model.SourceAblations(corrupt);
        model.SetAllMasks(1.0);

        using (model.PatchMode(patch))
        {
            using var patched = model.Forward(clean);
            TensorAssert.AllClose(expected, patched, 1e-4, 0, $"{name}: every edge patched");
        }

        Assert.True((expected - cleanOut).abs().max().ToDouble() > 0.1, "clean and corrupt outputs must differ for the test to mean anything");
    }

    [Theory]
    [MemberData(nameof(FamiliesAndGraphs))]
    public void InferencePatch_RandomMasks_EqualsReferencePatching(string name, bool factorized, bool separateQkv)
    {
        using var pair = Pair.Create(name, new GraphOptions(factorized, null, separateQkv));
        pair.RandomMasks(3);

        using var fast = pair.PatchedForward(pair.Fast);
        using var reference = pair.PatchedForward(pair.Reference);
        using var unpatched = pair.Fast.Forward(pair.Clean);

        Assert.Equal(PatchForwardMode.Inference, pair.Fast.LastForwardMode);
        Assert.Equal(PatchForwardMode.Autograd, pair.Reference.LastForwardMode);
        TensorAssert.AllClose(reference, fast, Atol, what: $"{name}: random masks");
        Assert.True((reference - unpatched).abs().max().ToDouble() > 1e-2, "the random masks must change the output");
    }

    [Theory]
    [MemberData(nameof(FamiliesAndGraphs))]
    public void ZeroMaskGradient_EqualsAutogradThroughThePatch(string name, bool factorized, bool separateQkv)
    {
        // In float64: the q/k norms of Qwen3 and OLMo-2 amplify float32 rounding of the two summation orders to ~3e-5
        // relative; in float64 the paths agree to 1e-10, which a wrong term could not.
        using var pair = Pair.Create(name, new GraphOptions(factorized, null, separateQkv), ScalarType.Float64);

        var fast = pair.MaskGradients(pair.Fast);
        var reference = pair.MaskGradients(pair.Reference);

        Assert.Equal(PatchForwardMode.ZeroMaskGradient, pair.Fast.LastForwardMode);
        var largest = 0.0;
        foreach (var (module, expected) in reference)
        {
            TensorAssert.AllClose(expected, fast[module], 1e-10, rtol: 1e-10, what: $"{name}: mask gradient of {module}");
            largest = Math.Max(largest, expected.abs().max().ToDouble());
            expected.Dispose();
            fast[module].Dispose();
        }

        Assert.True(largest > 1e-3, "the mask gradients must not all vanish");
    }

    [Theory]
    [MemberData(nameof(Families))]
    public void TokenPositions_RandomMasks_EqualsReferencePatching(string name)
    {
        using var pair = Pair.Create(name, new GraphOptions(true, 7, false));
        pair.RandomMasks(4);

        using var fast = pair.PatchedForward(pair.Fast);
        using var reference = pair.PatchedForward(pair.Reference);

        TensorAssert.AllClose(reference, fast, Atol, what: $"{name}: random masks per token position");
    }

    /// <summary>Two copies of a checkpoint, one patched with the fast paths and one with auto-circuit's computation.</summary>
    private sealed class Pair : IDisposable
    {
        private readonly Transformer _a;
        private readonly Transformer _b;
        private readonly Tensor _corrupt;

        private Pair(string name, GraphOptions options, ScalarType dtype)
        {
            _a = Load(name, dtype);
            _b = Load(name, dtype);
            Fast = PatchableModel.Create(_a, options);
            Reference = PatchableModel.Create(_b, options, new PatchOptions(ReferencePatching: true));
            Clean = Tokens(1);
            _corrupt = Tokens(2);
        }

        public PatchableModel Fast { get; }

        public PatchableModel Reference { get; }

        public Tensor Clean { get; }

        public static Pair Create(string name, GraphOptions options, ScalarType dtype = ScalarType.Float32) => new(name, options, dtype);

        /// <summary>The same random masks (uniform in [0, 1)) on both models.</summary>
        public void RandomMasks(int seed)
        {
            using var gen = new Generator((ulong)seed);
            using var noGrad = torch.no_grad();
            foreach (var m in Fast.Graph.DestModules)
            {
                using var r = torch.rand(m.MaskShape, generator: gen, dtype: Fast.Masks[m.ModuleName].dtype);
                Fast.Masks[m.ModuleName].copy_(r);
                Reference.Masks[m.ModuleName].copy_(r);
            }
        }

        public Tensor PatchedForward(PatchableModel model)
        {
            using var inference = torch.inference_mode();
            using var patch = model.SourceAblations(_corrupt);
            using (model.PatchMode(patch))
            {
                return model.Forward(Clean);
            }
        }

        /// <summary>d (sum of squared last-position logits) / d mask, every mask at 0.</summary>
        public Dictionary<string, Tensor> MaskGradients(PatchableModel model) => SquaredOutputGradients.Of(model, Clean, _corrupt);

        public void Dispose()
        {
            Fast.Dispose();
            Reference.Dispose();
            _a.Dispose();
            _b.Dispose();
            Clean.Dispose();
            _corrupt.Dispose();
        }
    }
}
