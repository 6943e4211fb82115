using AutoCircuit.Data;
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
        // one size is evaluated; two (ablations + difference buffer) while several sizes read the same ablations.
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
            var one = CircuitEvaluator.Evaluate(model, [f.Batch], scores, [sizes[1]]);
            Assert.Equal(minimum, model.Ledger.PeakBytes - baseline);

            model.Ledger.Reset();
            baseline = model.Ledger.PeakBytes;
            var three = CircuitEvaluator.Evaluate(model, [f.Batch], scores, sizes);
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
            CircuitEvaluator.Evaluate(model, [f.Batch], scores, sizes, new CircuitRunOptions(Ablation: AblationType.Zero));
            Assert.Equal(minimum + (minimum / f.Batch.Size), model.Ledger.PeakBytes - baseline);
        }
        finally
        {
            model.Ledger.Enabled = false;
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

        public static Fixture Create(string kind)
        {
            if (kind == "micro")
            {
                var micro = new MicroModel(2);
                var clean = torch.tensor(new float[] { 3, 3, 2, 2, 1, 1, 0.5f, -1, 2, 0.25f, -3, 1.5f }, [2, 3, 2]);
                var corrupt = torch.tensor(new float[] { -1, 2, 0.5f, 1, -2, 3, 1, 1, -0.5f, 2, 0, -1 }, [2, 3, 2]);
                var b = new PromptBatch(
                    0, clean, corrupt, new AnswerSet(torch.tensor(new long[] { 1, 0 }, [2, 1])), new AnswerSet(torch.tensor(new long[] { 0, 1 }, [2, 1])));
                return new Fixture(micro, PatchableModel.Create(micro, new GraphOptions(SeqLen: null, OutputSlice: OutputSlice.LastSeq)), b);
            }

            var (toy, _) = ToyModel.Load();
            using var prompts = InductionData.Generate(6, 4711);
            using var answer = prompts.Answer.unsqueeze(1);
            using var wrong = prompts.Wrong.unsqueeze(1);
            var toyBatch = new PromptBatch(0, prompts.Clean.clone(), prompts.Corrupt.clone(), new AnswerSet(answer.clone()), new AnswerSet(wrong.clone()));
            return new Fixture(toy, PatchableModel.Create(toy, new GraphOptions()), toyBatch);
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
