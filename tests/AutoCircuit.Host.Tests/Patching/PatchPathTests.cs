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

    [Theory]
    [InlineData("gpt2", true, true, null)]
    [InlineData("llama-gqa", true, false, 6)]
    [InlineData("gpt2", false, false, null)]
    public void NonZeroMasks_TwoPassesThenOneBackward_MatchReference(string kind, bool factorized, bool separateQkv, int? seqLen)
    {
        // Autograd through two patched passes of one scope (the second rewrites the current-output buffer the first read).
        using var pair = Pair.Create(kind, factorized, separateQkv, seqLen);

        var fast = pair.TwoPassGradients(pair.Fast, maskValue: 0.4);
        var reference = pair.TwoPassGradients(pair.Reference, maskValue: 0.4);

        Assert.Equal(PatchForwardMode.Autograd, pair.Fast.LastForwardMode);
        foreach (var (name, expected) in reference)
        {
            TensorAssert.AllClose(expected, fast[name], Atol, rtol: 1e-5, what: $"{kind} two-pass mask gradient of {name}");
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
    [MemberData(nameof(Graphs))]
    public void MaskValuesPerRow_OnePassOverRepeatedPrompts_EqualsOnePassPerValue(string kind, bool factorized, bool separateQkv, int? seqLen)
    {
        using var pair = Pair.Create(kind, factorized, separateQkv, seqLen);
        double[] values = [0.0, 0.3, 1.0];

        var (packedOut, packed) = pair.PackedMaskGradients(pair.Fast, values);
        var (separateOut, separate) = pair.SeparateMaskGradients(pair.Reference, values);

        Assert.Equal(PatchForwardMode.Autograd, pair.Fast.LastForwardMode);
        TensorAssert.AllClose(separateOut, packedOut, Atol, rtol: 1e-5, what: $"{kind} outputs, one block of rows per mask value");
        foreach (var (name, expected) in separate)
        {
            TensorAssert.AllClose(expected, packed[name], Atol, rtol: 1e-5, what: $"{kind} summed mask gradient of {name}");
            expected.Dispose();
            packed[name].Dispose();
        }

        packedOut.Dispose();
        separateOut.Dispose();
    }

    [Fact]
    public void MaskValuesPerRow_MicroModel_EqualsOnePassPerValue()
    {
        var device = TestDevice.Current;
        using var microA = new MicroModel(3);
        using var microB = new MicroModel(3);
        microA.MoveTo(device);
        microB.MoveTo(device);
        using var packedModel = PatchableModel.Create(microA, new GraphOptions());
        using var separateModel = PatchableModel.Create(microB, new GraphOptions());
        using var clean = torch.tensor(new float[] { 1, 2, 3, 4, -1, 0.5f, 2, -3 }, [2, 2, 2], device: device);
        using var corrupt = torch.tensor(new float[] { 0.5f, -2, 1, 1, 3, 0, -1, 2 }, [2, 2, 2], device: device);
        double[] values = [0.0, 0.5, 1.0];

        Dictionary<string, Tensor> packed;
        using (var patch = packedModel.SourceAblations(corrupt))
        using (packedModel.TrainMaskMode())
        {
            packedModel.SetAllMasks(0);
            using var input = torch.cat([clean, clean, clean], 0); // [3*2, 2, 2]
            using var patches = torch.cat([patch, patch, patch], 1);
            using var rows = torch.tensor(new float[] { 0, 0, 0.5f, 0.5f, 1, 1 }, device: device);
            using (packedModel.PatchMode(patches))
            using (packedModel.MaskValuesPerRow(rows))
            {
                using var output = packedModel.Run(input);
                using var loss = output.square().sum();
                loss.backward();
            }

            packed = packedModel.Masks.ToDictionary(kv => kv.Key, kv => kv.Value.grad!.detach().clone());
        }

        Dictionary<string, Tensor> separate;
        using (var patch = separateModel.SourceAblations(corrupt))
        using (separateModel.TrainMaskMode())
        {
            foreach (var v in values)
            {
                separateModel.SetAllMasks(v);
                using (separateModel.PatchMode(patch))
                {
                    using var output = separateModel.Run(clean);
                    using var loss = output.square().sum();
                    loss.backward();
                }
            }

            separate = separateModel.Masks.ToDictionary(kv => kv.Key, kv => kv.Value.grad!.detach().clone());
        }

        foreach (var (name, expected) in separate)
        {
            TensorAssert.AllClose(expected, packed[name], 1e-6, rtol: 1e-6, what: $"micro summed mask gradient of {name}");
        }
    }

    [Fact]
    public void MaskValuesPerRow_Misuse_Refused()
    {
        using var pair = Pair.Create("gpt2", true, true, null);
        var model = pair.Fast;
        using var matrix = torch.zeros(2, 2);
        using var two = torch.zeros(2);

        var shape = Assert.Throws<ArgumentException>(() => model.MaskValuesPerRow(matrix));
        Assert.Contains("one value per prompt row", shape.Message, StringComparison.Ordinal);

        using (model.MaskFunctionMode(AutoCircuit.Patching.MaskFunction.Sigmoid))
        {
            var withFunction = Assert.Throws<InvalidOperationException>(() => model.MaskValuesPerRow(two));
            Assert.Contains("mask function", withFunction.Message, StringComparison.Ordinal);
        }

        using (model.MaskValuesPerRow(two))
        {
            Assert.Throws<InvalidOperationException>(() => model.MaskFunctionMode(AutoCircuit.Patching.MaskFunction.Sigmoid));
            Assert.Throws<InvalidOperationException>(() => model.MaskValuesPerRow(two));

            // Two values for the test batch's three rows: named at the first destination, not a shape error deep inside.
            var wrong = Assert.Throws<ArgumentException>(() => pair.PatchedForward(model));
            Assert.Contains("2 values for a batch of", wrong.Message, StringComparison.Ordinal);
        }

        // Closed: passes are as before.
        using var output = pair.PatchedForward(model);
        Assert.Equal(PatchForwardMode.Inference, model.LastForwardMode);
    }

    [Theory]
    [MemberData(nameof(Graphs))]
    public void MasksPerRowGroup_OnePassOverRepeatedPrompts_EqualsOnePassPerMaskSet(string kind, bool factorized, bool separateQkv, int? seqLen)
    {
        // Three sets of random masks, one group of rows each: the packed pass (inference and differentiable) gives each
        // group the output of a pass with that group's masks, computed by auto-circuit's reference patch.
        using var pair = Pair.Create(kind, factorized, separateQkv, seqLen);
        const int groups = 3;
        var sets = pair.MaskSets(groups, seed: 11);

        using var separate = pair.SeparateOutputs(pair.Reference, sets);
        using var inference = pair.GroupedOutputs(pair.Fast, sets, grad: false);
        Assert.Equal(PatchForwardMode.Inference, pair.Fast.LastForwardMode);
        using var differentiable = pair.GroupedOutputs(pair.Fast, sets, grad: true);
        Assert.Equal(PatchForwardMode.Autograd, pair.Fast.LastForwardMode);

        TensorAssert.AllClose(separate, inference, Atol, rtol: 1e-5, what: $"{kind} inference pass, one group of rows per mask set");
        TensorAssert.AllClose(separate, differentiable, Atol, rtol: 1e-5, what: $"{kind} differentiable pass, one group of rows per mask set");
        foreach (var set in sets)
        {
            foreach (var t in set.Values)
            {
                t.Dispose();
            }
        }
    }

    [Fact]
    public void MasksPerRowGroup_MicroModel_EqualsOnePassPerMaskSet()
    {
        var device = TestDevice.Current;
        using var micro = new MicroModel(3);
        micro.MoveTo(device);
        using var model = PatchableModel.Create(micro, new GraphOptions());
        using var clean = torch.tensor(new float[] { 1, 2, 3, 4, -1, 0.5f, 2, -3 }, [2, 2, 2], device: device);
        using var corrupt = torch.tensor(new float[] { 0.5f, -2, 1, 1, 3, 0, -1, 2 }, [2, 2, 2], device: device);
        using var scope = torch.NewDisposeScope();
        using var inference = torch.inference_mode();
        using var gen = new Generator(5);
        var sets = Enumerable.Range(0, 4).Select(_ => model.Graph.DestModules.ToDictionary(
            m => m.ModuleName, m => torch.rand(m.MaskShape, generator: gen).to(device))).ToList();
        var patch = model.SourceAblations(corrupt);

        var expected = OnePassPerMaskSet(model, clean, patch, sets);
        var actual = OnePassForAllMaskSets(model, clean, patch, sets);

        TensorAssert.AllClose(expected, actual, 1e-6, rtol: 1e-6, what: "micro, one group of rows per mask set");
    }

    [Fact]
    public void MasksPerRowGroup_Misuse_Refused()
    {
        using var pair = Pair.Create("gpt2", true, true, null);
        var model = pair.Fast;
        var graph = model.Graph;
        using var scope = torch.NewDisposeScope();
        var two = graph.DestModules.ToDictionary(m => m.ModuleName, m => torch.zeros([2, .. m.MaskShape]));

        var missing = Assert.Throws<ArgumentException>(() => model.MasksPerRowGroup(two.Skip(1).ToDictionary(kv => kv.Key, kv => kv.Value)));
        Assert.Contains($"none for destination '{graph.DestModules[0].ModuleName}'", missing.Message, StringComparison.Ordinal);

        var badShape = new Dictionary<string, Tensor>(two) { [graph.DestModules[0].ModuleName] = torch.zeros(graph.DestModules[0].MaskShape) };
        var shape = Assert.Throws<ArgumentException>(() => model.MasksPerRowGroup(badShape));
        Assert.Contains("must be [groups, ", shape.Message, StringComparison.Ordinal);

        var mixed = new Dictionary<string, Tensor>(two) { [graph.DestModules[^1].ModuleName] = torch.zeros([3, .. graph.DestModules[^1].MaskShape]) };
        var groups = Assert.Throws<ArgumentException>(() => model.MasksPerRowGroup(mixed));
        Assert.Contains("has 3 groups, other destinations 2", groups.Message, StringComparison.Ordinal);

        using (model.MaskFunctionMode(AutoCircuit.Patching.MaskFunction.Sigmoid))
        {
            Assert.Throws<InvalidOperationException>(() => model.MasksPerRowGroup(two));
        }

        using (model.MasksPerRowGroup(two))
        {
            Assert.Throws<InvalidOperationException>(() => model.MasksPerRowGroup(two));
            Assert.Throws<InvalidOperationException>(() => model.MaskFunctionMode(AutoCircuit.Patching.MaskFunction.Sigmoid));
            using var values = torch.zeros(2);
            Assert.Throws<InvalidOperationException>(() => model.MaskValuesPerRow(values));

            // Two groups do not divide the test batch's rows: named, not a shape error deep inside.
            var wrong = Assert.Throws<ArgumentException>(() => pair.PatchedForward(model));
            Assert.Contains("2 groups do not divide a batch of", wrong.Message, StringComparison.Ordinal);
        }

        // Closed: passes are as before.
        using var output = pair.PatchedForward(model);
        Assert.Equal(PatchForwardMode.Inference, model.LastForwardMode);
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

    /// <summary>One patched pass per mask set (each copied into the model's masks), the outputs concatenated, in the
    /// caller's dispose scope.</summary>
    private static Tensor OnePassPerMaskSet(PatchableModel model, Tensor input, Tensor patch, IReadOnlyList<Dictionary<string, Tensor>> sets)
    {
        var outputs = new List<Tensor>();
        foreach (var set in sets)
        {
            foreach (var (name, mask) in set)
            {
                model.Masks[name].copy_(mask);
            }

            using (model.PatchMode(patch))
            {
                outputs.Add(model.Run(input));
            }
        }

        return torch.cat(outputs, 0);
    }

    /// <summary>One pass over the prompts repeated once per mask set, group k patched with set k; the model's own masks
    /// are set to 0 first, so the pass must read the group masks. In the caller's dispose scope.</summary>
    private static Tensor OnePassForAllMaskSets(PatchableModel model, Tensor input, Tensor patch, IReadOnlyList<Dictionary<string, Tensor>> sets)
    {
        model.SetAllMasks(0);
        var grouped = model.Graph.DestModules.ToDictionary(
            m => m.ModuleName, m => torch.stack(sets.Select(s => s[m.ModuleName]).ToArray()));
        var repeated = torch.cat(Enumerable.Repeat(input, sets.Count).ToArray(), 0);
        var patches = torch.cat(Enumerable.Repeat(patch, sets.Count).ToArray(), 1);
        using (model.MasksPerRowGroup(grouped))
        using (model.PatchMode(patches))
        {
            return model.Run(repeated);
        }
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
        public Dictionary<string, Tensor> MaskGradients(PatchableModel model, double maskValue) =>
            SquaredOutputGradients.Of(model, _clean, _corrupt, maskValue);

        /// <summary>
        /// One pass over the prompts repeated once per value, row block <c>j</c> at mask <c>values[j]</c>: the outputs
        /// and d (sum of squared outputs) / d mask.
        /// </summary>
        public (Tensor Output, Dictionary<string, Tensor> Grads) PackedMaskGradients(PatchableModel model, double[] values)
        {
            using var scope = torch.NewDisposeScope();
            var batch = _clean.shape[0];
            var patch = model.SourceAblations(_corrupt);
            using (model.TrainMaskMode())
            {
                model.SetAllMasks(0);
                var input = torch.cat(Enumerable.Repeat(_clean, values.Length).ToArray(), 0);
                var patches = torch.cat(Enumerable.Repeat(patch, values.Length).ToArray(), 1);
                var rows = torch.tensor(values.SelectMany(v => Enumerable.Repeat((float)v, (int)batch)).ToArray(), device: _clean.device);
                Tensor output;
                using (model.PatchMode(patches))
                using (model.MaskValuesPerRow(rows))
                {
                    output = model.Run(input);
                    output.square().sum().backward();
                }

                return (output.detach().clone().DetachFromDisposeScope(),
                    model.Masks.ToDictionary(kv => kv.Key, kv => kv.Value.grad!.detach().clone().DetachFromDisposeScope()));
            }
        }

        /// <summary>Random mask sets (uniform in [0, 1)), one dictionary per set, on the models' device.</summary>
        public List<Dictionary<string, Tensor>> MaskSets(int count, int seed)
        {
            using var gen = new Generator((ulong)seed);
            return Enumerable.Range(0, count).Select(_ => Fast.Graph.DestModules.ToDictionary(
                m => m.ModuleName, m =>
                {
                    using var r = torch.rand(m.MaskShape, generator: gen); // CPU generator: the same masks on every device
                    return r.to(_clean.device).DetachFromDisposeScope();
                })).ToList();
        }

        /// <summary>One inference pass per mask set, the outputs concatenated.</summary>
        public Tensor SeparateOutputs(PatchableModel model, IReadOnlyList<Dictionary<string, Tensor>> sets)
        {
            using var scope = torch.NewDisposeScope();
            using var inference = torch.inference_mode();
            var patch = model.SourceAblations(_corrupt);
            return OnePassPerMaskSet(model, _clean, patch, sets).DetachFromDisposeScope();
        }

        /// <summary>One pass over the prompts repeated once per mask set, group k patched with set k (masks of the
        /// model at 0), without gradients or with gradients enabled.</summary>
        public Tensor GroupedOutputs(PatchableModel model, IReadOnlyList<Dictionary<string, Tensor>> sets, bool grad)
        {
            using var scope = torch.NewDisposeScope();
            Tensor patch;
            using (torch.no_grad())
            {
                patch = model.SourceAblations(_corrupt);
            }

            using var inference = grad ? null : torch.inference_mode();
            return OnePassForAllMaskSets(model, _clean, patch, sets).detach().DetachFromDisposeScope();
        }

        /// <summary>The same as one pass per value, gradients accumulated and outputs concatenated.</summary>
        public (Tensor Output, Dictionary<string, Tensor> Grads) SeparateMaskGradients(PatchableModel model, double[] values)
        {
            using var scope = torch.NewDisposeScope();
            var patch = model.SourceAblations(_corrupt);
            var outputs = new List<Tensor>();
            using (model.TrainMaskMode())
            {
                foreach (var v in values)
                {
                    model.SetAllMasks(v);
                    using (model.PatchMode(patch))
                    {
                        var output = model.Run(_clean);
                        output.square().sum().backward();
                        outputs.Add(output.detach());
                    }
                }

                return (torch.cat(outputs, 0).DetachFromDisposeScope(),
                    model.Masks.ToDictionary(kv => kv.Key, kv => kv.Value.grad!.detach().clone().DetachFromDisposeScope()));
            }
        }

        /// <summary>Two passes in one patch scope (clean, then corrupt inputs), one backward of both losses.</summary>
        public Dictionary<string, Tensor> TwoPassGradients(PatchableModel model, double maskValue)
        {
            using var scope = torch.NewDisposeScope();
            var patch = model.SourceAblations(_corrupt);
            using (model.TrainMaskMode())
            {
                model.SetAllMasks(maskValue);
                using (model.PatchMode(patch))
                {
                    var first = model.Run(_clean);
                    var second = model.Run(_corrupt);
                    var loss = first.square().sum() + second.pow(3).sum();
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
