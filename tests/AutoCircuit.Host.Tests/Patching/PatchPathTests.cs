using AutoCircuit.Engine.Patching;
using AutoCircuit.Host.Tests.Models;
using AutoCircuit.Models.Micro;
using AutoCircuit.Testing;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace AutoCircuit.Host.Tests.Patching;

/// <summary>
/// The engine's fast patch paths (<see cref="PatchForwardMode"/>) against auto-circuit's computation op for op
/// (<see cref="PatchOptions.ReferencePatching"/>): same outputs without gradients, same mask gradients at mask 0, on
/// every graph kind of the transformers and on the micro model, on <see cref="TestDevice.Current"/>.
/// </summary>
[Trait("Category", "Gpu")]
public sealed class PatchPathTests
{
    // float32: the fast paths sum the same products in a different order (one matrix product per group of
    // destinations instead of one einsum each); measured differences are a few 1e-7.
    private const double Atol = 1e-5;

    public static TheoryData<string, bool, bool, int?> Graphs() => TransformerPatchingTests.Graphs();

    [Theory]
    [MemberData(nameof(Graphs))]
    public void InferencePatch_RandomMasks_EqualsReferencePatching(string kind, bool factorized, bool separateQkv, int? seqLen)
    {
        using var pair = Pair.Create(kind, factorized, separateQkv, seqLen);
        pair.RandomMasks(3);

        using var fast = pair.PatchedForward(pair.Fast);
        using var reference = pair.PatchedForward(pair.Reference);

        Assert.Equal(PatchForwardMode.Inference, pair.Fast.LastForwardMode);
        Assert.Equal(PatchForwardMode.Autograd, pair.Reference.LastForwardMode);
        TensorAssert.AllClose(reference, fast, Atol, what: $"{kind} inference patch");
    }

    [Theory]
    [MemberData(nameof(Graphs))]
    public void InferencePatch_InactiveDestinationsSkipped_EqualsAllActive(string kind, bool factorized, bool separateQkv, int? seqLen)
    {
        using var pair = Pair.Create(kind, factorized, separateQkv, seqLen);
        var graph = pair.Fast.Graph;
        var active = graph.DestModules.Select(m => m.Index % 3 == 0).ToArray();
        using (torch.no_grad())
        {
            pair.RandomMasks(5);
            foreach (var m in graph.DestModules.Where(m => !active[m.Index]))
            {
                pair.Fast.Masks[m.ModuleName].zero_();
                pair.Reference.Masks[m.ModuleName].zero_();
            }
        }

        using var reference = pair.PatchedForward(pair.Reference);
        using var skipped = pair.PatchedForward(pair.Fast, active);

        TensorAssert.AllClose(reference, skipped, Atol, what: $"{kind} skipping zero-mask destinations");
    }

    [Fact]
    public void InferencePatch_ActiveFlagsWrongLength_Throws()
    {
        using var pair = Pair.Create("gpt2", true, true, null);

        var e = Assert.Throws<ArgumentException>(() => pair.Fast.SetActiveDestinations([true]));

        Assert.Contains("one flag per destination module", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Graphs))]
    public void ZeroMaskGradient_EqualsAutogradThroughThePatch(string kind, bool factorized, bool separateQkv, int? seqLen)
    {
        using var pair = Pair.Create(kind, factorized, separateQkv, seqLen);

        var fast = pair.MaskGradients(pair.Fast, maskValue: 0.0);
        var reference = pair.MaskGradients(pair.Reference, maskValue: 0.0);

        Assert.Equal(PatchForwardMode.ZeroMaskGradient, pair.Fast.LastForwardMode);
        Assert.Equal(PatchForwardMode.Autograd, pair.Reference.LastForwardMode);
        foreach (var (name, expected) in reference)
        {
            TensorAssert.AllClose(expected, fast[name], Atol, rtol: 1e-5, what: $"{kind} mask gradient of {name}");
            expected.Dispose();
            fast[name].Dispose();
        }
    }

    [Theory]
    [InlineData("gpt2", true, true, null)]
    [InlineData("llama-gqa", true, false, 6)]
    public void NonZeroMasks_UseAutogradPath_AndMatchReference(string kind, bool factorized, bool separateQkv, int? seqLen)
    {
        using var pair = Pair.Create(kind, factorized, separateQkv, seqLen);

        var fast = pair.MaskGradients(pair.Fast, maskValue: 0.25);
        var reference = pair.MaskGradients(pair.Reference, maskValue: 0.25);

        Assert.Equal(PatchForwardMode.Autograd, pair.Fast.LastForwardMode);
        foreach (var (name, expected) in reference)
        {
            TensorAssert.AllClose(expected, fast[name], Atol, rtol: 1e-5, what: $"{kind} mask gradient of {name} at 0.25");
            expected.Dispose();
            fast[name].Dispose();
        }
    }

    [Fact]
    public void ZeroMaskGradient_MicroModel_EqualsReference()
    {
        var device = TestDevice.Current;
        using var microA = new MicroModel(2);
        using var microB = new MicroModel(2);
        microA.MoveTo(device);
        microB.MoveTo(device);
        using var fast = PatchableModel.Create(microA, new GraphOptions());
        using var reference = PatchableModel.Create(microB, new GraphOptions(), new PatchOptions(ReferencePatching: true));
        using var clean = torch.tensor(new float[] { 1, 2, 3, 4, -1, 0.5f, 2, -3 }, [2, 2, 2], device: device);
        using var corrupt = torch.tensor(new float[] { 0.5f, -2, 1, 1, 3, 0, -1, 2 }, [2, 2, 2], device: device);

        var a = Gradients(fast, clean, corrupt);
        var b = Gradients(reference, clean, corrupt);

        Assert.Equal(PatchForwardMode.ZeroMaskGradient, fast.LastForwardMode);
        foreach (var (name, expected) in b)
        {
            TensorAssert.AllClose(expected, a[name], 1e-6, rtol: 1e-6, what: $"micro mask gradient of {name}");
        }

        static Dictionary<string, Tensor> Gradients(PatchableModel model, Tensor clean, Tensor corrupt)
        {
            using var patch = model.SourceAblations(corrupt);
            using (model.TrainMaskMode())
            {
                model.SetAllMasks(0);
                using (model.PatchMode(patch))
                {
                    using var output = model.Run(clean);
                    using var loss = output.square().sum();
                    loss.backward();
                }

                return model.Masks.ToDictionary(kv => kv.Key, kv => kv.Value.grad!.detach().clone());
            }
        }
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public void ProbeContraction_EqualsEinsum(bool hasSeq, bool hasHeads)
    {
        using var gen = new Generator(3);
        long b = 3, t = 4, h = 2, d = 5, s = 6;
        using var g = hasHeads ? torch.randn([b, t, h, d], generator: gen) : torch.randn([b, t, d], generator: gen);
        using var diff = torch.randn([s, b, t, d], generator: gen);
        var equation = $"bt{(hasHeads ? "h" : string.Empty)}d,sbtd->{(hasSeq ? "t" : string.Empty)}{(hasHeads ? "h" : string.Empty)}s";

        using var expected = torch.einsum(equation, g, diff);
        using var actual = MaskGradientProbe.Contract(g, diff, hasSeq, hasHeads);

        TensorAssert.AllClose(expected, actual, 1e-5, what: equation);
    }

    /// <summary>Two identical transformers, one patched with the fast paths and one with auto-circuit's computation.</summary>
    private sealed class Pair : IDisposable
    {
        private readonly AutoCircuit.Models.Transformers.Transformer _a;
        private readonly AutoCircuit.Models.Transformers.Transformer _b;
        private readonly Tensor _clean;
        private readonly Tensor _corrupt;

        private Pair(string kind, GraphOptions options)
        {
            var device = TestDevice.Current;
            _a = TransformerPatchingTests.Model(kind);
            _b = TransformerPatchingTests.Model(kind);
            _a.MoveTo(device);
            _b.MoveTo(device);
            Fast = PatchableModel.Create(_a, options);
            Reference = PatchableModel.Create(_b, options, new PatchOptions(ReferencePatching: true));
            using var clean = TransformerPatchingTests.Tokens(1);
            using var corrupt = TransformerPatchingTests.Tokens(2);
            _clean = clean.to(device);
            _corrupt = corrupt.to(device);
        }

        public PatchableModel Fast { get; }

        public PatchableModel Reference { get; }

        public static Pair Create(string kind, bool factorized, bool separateQkv, int? seqLen) =>
            new(kind, new GraphOptions(factorized, seqLen, separateQkv));

        /// <summary>The same random masks (uniform in [0, 1)) on both models.</summary>
        public void RandomMasks(int seed)
        {
            using var gen = new Generator((ulong)seed);
            using var noGrad = torch.no_grad();
            foreach (var m in Fast.Graph.DestModules)
            {
                using var r = torch.rand(m.MaskShape, generator: gen); // CPU generator: the same masks on every device
                Fast.Masks[m.ModuleName].copy_(r);
                Reference.Masks[m.ModuleName].copy_(r);
            }
        }

        public Tensor PatchedForward(PatchableModel model, bool[]? active = null)
        {
            using var inference = torch.inference_mode();
            using var patch = model.SourceAblations(_corrupt);
            using (model.PatchMode(patch))
            {
                model.SetActiveDestinations(active);
                return model.Forward(_clean);
            }
        }

        /// <summary>d (sum of squared last-position logits) / d mask, every mask at <paramref name="maskValue"/>.</summary>
        public Dictionary<string, Tensor> MaskGradients(PatchableModel model, double maskValue)
        {
            using var scope = torch.NewDisposeScope();
            using var patch = model.SourceAblations(_corrupt);
            using (model.TrainMaskMode())
            {
                model.SetAllMasks(maskValue);
                using (model.PatchMode(patch))
                {
                    var output = model.Run(_clean);
                    var loss = output.square().sum();
                    loss.backward();
                }

                return model.Masks.ToDictionary(kv => kv.Key, kv => kv.Value.grad!.detach().clone().DetachFromDisposeScope());
            }
        }

        public void Dispose()
        {
            Fast.Dispose();
            Reference.Dispose();
            _a.Dispose();
            _b.Dispose();
            _clean.Dispose();
            _corrupt.Dispose();
        }
    }
}
