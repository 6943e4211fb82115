using AutoCircuit.Data;
using AutoCircuit.Engine.Hooks;
using AutoCircuit.Engine.Patching;
using AutoCircuit.Evaluation;
using AutoCircuit.Models.Micro;
using AutoCircuit.Models.Toy;
using AutoCircuit.Patching;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace AutoCircuit.Host.Tests.Patching;

/// <summary>
/// <see cref="PatchableModel.PatchModeConsuming"/>: the caller's ablations become the pass's difference buffer in place,
/// so one <c>[n_src, batch, seq, d]</c> buffer lives instead of two (issue 17), with the same results as
/// <see cref="PatchableModel.PatchMode"/> (atol 1e-6: the same float operations on the same values), one pass per scope,
/// and a copy where the ablations cannot be consumed.
/// </summary>
public sealed class ConsumedAblationTests
{
    public static TheoryData<string> Models() => new() { "micro", "toy" };

    [Theory]
    [MemberData(nameof(Models))]
    public void Inference_ConsumedAblations_SameOutputOneBuffer(string kind)
    {
        using var f = Fixture.Create(kind);
        var model = f.Model;
        f.RandomMasks();
        using var inference = torch.inference_mode();
        using var patch = model.SourceAblations(f.Batch.Corrupt);
        using var handedOver = patch.clone();
        using var expected = Patched(model, () => model.PatchMode(patch), f.Batch.Clean);

        model.ReleaseBuffers();
        model.Ledger.Enabled = true;
        try
        {
            model.Ledger.Reset();
            var baseline = model.Ledger.PeakBytes;
            using var actual = Patched(model, () => model.PatchModeConsuming(handedOver), f.Batch.Clean);

            Assert.Equal(PatchForwardMode.Inference, model.LastForwardMode);
            Assert.True(actual.allclose(expected, rtol: 0, atol: 1e-6), $"{kind}: consumed ablations changed the output");
            Assert.Equal(baseline, model.Ledger.PeakBytes); // no difference buffer allocated
            Assert.False(handedOver.allclose(patch), "the ablations were not used as the difference buffer");

            // The copying scope does allocate one (the ledger sees it).
            model.Ledger.Reset();
            baseline = model.Ledger.PeakBytes;
            using var copied = Patched(model, () => model.PatchMode(patch), f.Batch.Clean);
            Assert.Equal(baseline + (patch.numel() * 4), model.Ledger.PeakBytes);
        }
        finally
        {
            model.Ledger.Enabled = false;
        }
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void ZeroMaskGradient_ConsumedAblations_SameGradientsNoSecondBuffer(string kind)
    {
        using var f = Fixture.Create(kind);
        var model = f.Model;
        using var patch = model.SourceAblations(f.Batch.Corrupt);
        using var handedOver = patch.clone();
        var expected = MaskGradients(model, () => model.PatchMode(patch), f.Batch.Clean);

        model.Ledger.Enabled = true;
        try
        {
            model.Ledger.Reset();
            var baseline = model.Ledger.PeakBytes;
            var actual = MaskGradients(model, () => model.PatchModeConsuming(handedOver), f.Batch.Clean);

            Assert.Equal(PatchForwardMode.ZeroMaskGradient, model.LastForwardMode);
            foreach (var (name, e) in expected)
            {
                Assert.True(actual[name].allclose(e, rtol: 0, atol: 1e-6), $"{kind}: {name}: consumed ablations changed the mask gradient");
            }

            Assert.Equal(baseline, model.Ledger.PeakBytes); // no second [n_src, B, T, d] buffer
            foreach (var t in actual.Values)
            {
                t.Dispose();
            }

            // The copying scope holds one until the backward pass (the ledger sees it).
            model.Ledger.Reset();
            baseline = model.Ledger.PeakBytes;
            foreach (var t in MaskGradients(model, () => model.PatchMode(patch), f.Batch.Clean).Values)
            {
                t.Dispose();
            }

            Assert.Equal(baseline + (patch.numel() * 4), model.Ledger.PeakBytes);
        }
        finally
        {
            model.Ledger.Enabled = false;
            foreach (var t in expected.Values)
            {
                t.Dispose();
            }
        }
    }

    [Fact]
    public void ConsumingScope_SecondPass_IsRefused()
    {
        using var f = Fixture.Create("micro");
        var model = f.Model;
        using var inference = torch.inference_mode();
        using var patch = model.SourceAblations(f.Batch.Corrupt);
        using var scope = model.PatchModeConsuming(patch);
        using var first = model.Run(f.Batch.Clean);

        var e = Assert.Throws<InvalidOperationException>(() => model.Run(f.Batch.Clean));
        Assert.Contains("PatchModeConsuming", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ConsumingScope_ViewAblations_AreCopiedNotChanged()
    {
        using var f = Fixture.Create("micro");
        var model = f.Model;
        f.RandomMasks();
        using var inference = torch.inference_mode();
        using var outs = model.SourceAblations(f.Batch.Corrupt);
        using var mean = outs.mean([1L], keepdim: true); // [S, 1, T, d]
        using var view = mean.expand(outs.shape); // not contiguous: a dataset-mean-like view must not be written
        using var before = mean.clone();
        using var expected = Patched(model, () => model.PatchMode(view), f.Batch.Clean);
        using var actual = Patched(model, () => model.PatchModeConsuming(view), f.Batch.Clean);

        Assert.True(actual.allclose(expected, rtol: 0, atol: 1e-6));
        Assert.True(mean.allclose(before, rtol: 0, atol: 0), "a view's storage was overwritten");
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Evaluate_LastCircuitConsumesTheAblations_SameMetricsOneBufferForOneSize(string kind)
    {
        // Circuit evaluation hands each chunk's ablations over for its last circuit size: one source buffer when
        // one size is evaluated; two (ablations + difference buffer) while several sizes read the same ablations, one
        // pass per size (small models pack the sizes into one pass: the next test).
        using var f = Fixture.Create(kind);
        var model = f.Model;
        using var scores = model.NewPruneScores();
        var rng = new Random(3);
        foreach (var e in model.Graph.Edges)
        {
            scores.Set(e, rng.NextDouble());
        }

        long minimum;
        using (var inference = torch.inference_mode())
        using (var probe = model.SourceAblations(f.Batch.Corrupt))
        {
            minimum = probe.numel() * 4;
        }

        var sizes = new[] { 0, model.Graph.EdgeCount / 3, model.Graph.EdgeCount };
        model.ReleaseBuffers();
        model.Ledger.Enabled = true;
        try
        {
            model.Ledger.Reset();
            var baseline = model.Ledger.PeakBytes;
            var onePass = new CircuitRunOptions { OnePassPerCircuit = true };
            var one = CircuitEvaluator.Evaluate(model, [f.Batch], scores, [sizes[1]], onePass);
            Assert.Equal(minimum, model.Ledger.PeakBytes - baseline);

            model.Ledger.Reset();
            baseline = model.Ledger.PeakBytes;
            var three = CircuitEvaluator.Evaluate(model, [f.Batch], scores, sizes, onePass);
            Assert.Equal(2 * minimum, model.Ledger.PeakBytes - baseline);

            // The middle size, patched from the shared buffer, equals the same size patched from consumed ablations.
            Assert.Equal(one.Results[0].Metrics.Keys, three.Results[1].Metrics.Keys);
            foreach (var (metric, value) in one.Results[0].Metrics)
            {
                Assert.Equal(value, three.Results[1].Metrics[metric], 1e-6);
            }

            // Zero ablations are one prompt's zeros viewed for the batch: the difference buffer and 1/batch of one more.
            model.ReleaseBuffers();
            model.Ledger.Reset();
            baseline = model.Ledger.PeakBytes;
            CircuitEvaluator.Evaluate(model, [f.Batch], scores, sizes, new CircuitRunOptions(Ablation: AblationType.Zero) { OnePassPerCircuit = true });
            Assert.Equal(minimum + (minimum / f.Batch.Size), model.Ledger.PeakBytes - baseline);
        }
        finally
        {
            model.Ledger.Enabled = false;
        }
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Evaluate_SeveralSizesInOnePass_SameMetricsAsOnePassPerSize(string kind)
    {
        // Small models evaluate several sizes in one pass over the prompts repeated (one group of rows per size, masks
        // per row group): the same metrics as one pass per size, one forward pass instead of three, and the ablations
        // plus one packed copy of them (which becomes the pass's difference buffer) as source buffers.
        using var packedFixture = Fixture.Create(kind);
        using var separateFixture = Fixture.Create(kind);
        var sizes = new[] { 0, packedFixture.Model.Graph.EdgeCount / 3, packedFixture.Model.Graph.EdgeCount };
        using var scores = packedFixture.Model.NewPruneScores();
        var rng = new Random(5);
        foreach (var e in packedFixture.Model.Graph.Edges)
        {
            scores.Set(e, rng.NextDouble());
        }

        long minimum;
        using (var inference = torch.inference_mode())
        using (var probe = packedFixture.Model.SourceAblations(packedFixture.Batch.Corrupt))
        {
            minimum = probe.numel() * 4;
        }

        foreach (var patchType in new[] { PatchType.EdgePatch, PatchType.TreePatch })
        {
            var options = new CircuitRunOptions(PatchType: patchType);
            var separatePasses = separateFixture.Model.PatchedPassCount;
            var separate = CircuitEvaluator.Evaluate(
                separateFixture.Model, [separateFixture.Batch], scores, sizes, options with { OnePassPerCircuit = true });
            Assert.Equal(sizes.Length, separateFixture.Model.PatchedPassCount - separatePasses);

            var model = packedFixture.Model;
            model.ReleaseBuffers();
            model.Ledger.Enabled = true;
            try
            {
                model.Ledger.Reset();
                var baseline = model.Ledger.PeakBytes;
                var passes = model.PatchedPassCount;
                var packed = CircuitEvaluator.Evaluate(model, [packedFixture.Batch], scores, sizes, options);

                Assert.Equal(1, model.PatchedPassCount - passes);
                Assert.Equal((1 + sizes.Length) * minimum, model.Ledger.PeakBytes - baseline);
                for (var i = 0; i < sizes.Length; i++)
                {
                    Assert.Equal(separate.Results[i].Edges, packed.Results[i].Edges);
                    foreach (var (metric, value) in separate.Results[i].Metrics)
                    {
                        var other = packed.Results[i].Metrics[metric];
                        Assert.True(
                            value.Equals(other) || Math.Abs(value - other) <= 1e-5 * Math.Max(1, Math.Abs(value)),
                            $"{kind} {patchType} size {sizes[i]} {metric}: {value} one pass per size, {other} packed");
                    }
                }
            }
            finally
            {
                model.Ledger.Enabled = false;
            }
        }
    }

    private static Tensor Patched(PatchableModel model, Func<IDisposable> open, Tensor input)
    {
        using var scope = open();
        return model.Run(input);
    }

    private static Dictionary<string, Tensor> MaskGradients(PatchableModel model, Func<IDisposable> open, Tensor input)
    {
        using var train = model.TrainMaskMode();
        model.SetAllMasks(0);
        using (var scope = open())
        {
            using var logits = model.Run(input);
            using var squared = logits.square();
            using var loss = squared.sum();
            loss.backward();
        }

        var grads = model.Masks.ToDictionary(kv => kv.Key, kv =>
        {
            using var g = kv.Value.grad!;
            return g.detach().clone();
        });
        model.ZeroMaskGrads();
        return grads;
    }

    /// <summary>A patchable model (micro or the embedded toy transformer) and one batch.</summary>
    private sealed class Fixture(IDisposable inner, PatchableModel model, PromptBatch batch) : IDisposable
    {
        public PatchableModel Model { get; } = model;

        public PromptBatch Batch { get; } = batch;

        /// <param name="kind"><c>micro</c> or <c>toy</c>.</param>
        public static Fixture Create(string kind)
        {
            IDisposable inner;
            IHookedModel hooked;
            GraphOptions graph;
            PromptBatch batch;
            if (kind == "micro")
            {
                var micro = new MicroModel(2);
                var clean = torch.tensor(new float[] { 3, 3, 2, 2, 1, 1, 0.5f, -1, 2, 0.25f, -3, 1.5f }, [2, 3, 2]);
                var corrupt = torch.tensor(new float[] { -1, 2, 0.5f, 1, -2, 3, 1, 1, -0.5f, 2, 0, -1 }, [2, 3, 2]);
                batch = new PromptBatch(
                    0, clean, corrupt, new AnswerSet(torch.tensor(new long[] { 1, 0 }, [2, 1])), new AnswerSet(torch.tensor(new long[] { 0, 1 }, [2, 1])));
                (inner, hooked, graph) = (micro, micro, new GraphOptions(SeqLen: null, OutputSlice: OutputSlice.LastSeq));
            }
            else
            {
                var (toy, _) = ToyModel.Load();
                using var prompts = InductionData.Generate(6, 4711);
                using var answer = prompts.Answer.unsqueeze(1);
                using var wrong = prompts.Wrong.unsqueeze(1);
                batch = new PromptBatch(0, prompts.Clean.clone(), prompts.Corrupt.clone(), new AnswerSet(answer.clone()), new AnswerSet(wrong.clone()));
                (inner, hooked, graph) = (toy, toy, new GraphOptions());
            }

            return new Fixture(inner, PatchableModel.Create(hooked, graph), batch);
        }

        public void RandomMasks()
        {
            using var gen = new Generator(7);
            using var noGrad = torch.no_grad();
            foreach (var m in Model.Graph.DestModules)
            {
                using var r = torch.rand(m.MaskShape, generator: gen);
                Model.Masks[m.ModuleName].copy_(r);
            }
        }

        public void Dispose()
        {
            Model.Dispose();
            Batch.Dispose();
            inner.Dispose();
        }
    }
}
