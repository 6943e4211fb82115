using AutoCircuit.Data;
using AutoCircuit.Engine.Hooks;
using AutoCircuit.Engine.Patching;
using AutoCircuit.Evaluation;
using AutoCircuit.Models.Micro;
using AutoCircuit.Models.Toy;
using AutoCircuit.Patching;
using AutoCircuit.Scores;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace AutoCircuit.Host.Tests.Patching;

/// <summary>
/// The ownership rule (docs/engine.md): the engine's forward passes run in their own dispose scope and hand back only
/// their result, so a caller with no dispose scope of its own leaves nothing alive once it has disposed what it was
/// given. Counted with TorchSharp's per-thread statistics (<see cref="DisposeScopeManager.Statistics"/>: every tensor
/// created on this thread minus every tensor disposed on it, whether or not a scope owns it): after one warm-up call
/// (which may allocate the buffers the engine reuses), further calls must not change the count.
/// </summary>
/// <remarks>
/// No test here opens a dispose scope: the paths are the patched forward in inference mode, the mask gradient at mask 0
/// (the zero-mask probe) and at 0.5 (autograd through the patch) and with auto-circuit's reference computation,
/// circuit evaluation over several sizes, and a forward pass with an activation intervention and its backward pass,
/// on the micro model and on the embedded toy transformer. The models' own forward (<see cref="IHookedModel.Forward"/>
/// called directly) is the models' concern and is not measured here.
/// </remarks>
public sealed class LiveTensorTests(ITestOutputHelper output)
{
    private const int Calls = 3;

    public static TheoryData<string> Models() => new() { "micro", "toy" };

    public static TheoryData<string, double, bool> GradientCases() => new()
    {
        { "micro", 0.0, false },
        { "micro", 0.5, false },
        { "micro", 0.0, true },
        { "toy", 0.0, false },
        { "toy", 0.5, false },
        { "toy", 0.0, true },
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void PatchedInferenceForward_NoCallerScope_LeavesNoTensorAlive(string kind)
    {
        using var fixture = Fixture.Create(kind);
        var model = fixture.Model;
        fixture.RandomMasks();

        var growth = GrowthPerCall(() =>
        {
            using var inference = torch.inference_mode();
            using var patch = model.SourceAblations(fixture.Corrupt);
            using (model.PatchMode(patch))
            {
                using var first = model.Run(fixture.Clean);
                using var second = model.Run(fixture.Clean); // the difference buffer reused within the scope
            }
        });

        Assert.Equal(PatchForwardMode.Inference, model.LastForwardMode);
        Assert.True(growth == 0, $"{kind}: {growth} tensors left alive after {Calls} patched inference calls");
    }

    [Theory]
    [MemberData(nameof(GradientCases))]
    public void MaskGradientForwardBackward_NoCallerScope_LeavesNoTensorAlive(string kind, double maskValue, bool reference)
    {
        using var fixture = Fixture.Create(kind, reference);
        var model = fixture.Model;

        var growth = GrowthPerCall(() =>
        {
            using var patch = model.SourceAblations(fixture.Corrupt);
            using (model.TrainMaskMode())
            {
                model.SetAllMasks(maskValue);
                using (model.PatchMode(patch))
                {
                    using var logits = model.Run(fixture.Clean);
                    using var squared = logits.square();
                    using var loss = squared.sum();
                    loss.backward();
                }

                model.ZeroMaskGrads();
            }
        });

        var expected = reference || maskValue != 0 ? PatchForwardMode.Autograd : PatchForwardMode.ZeroMaskGradient;
        Assert.Equal(expected, model.LastForwardMode);
        Assert.True(growth == 0, $"{kind}, masks at {maskValue}, reference {reference}: {growth} tensors left alive after {Calls} forward + backward passes");
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void CircuitEvaluation_NoCallerScope_LeavesNoTensorAlive(string kind)
    {
        using var fixture = Fixture.Create(kind);
        var model = fixture.Model;
        using var scores = fixture.RandomScores();
        var sizes = new[] { 0, 1, 3, model.Graph.EdgeCount / 2, model.Graph.EdgeCount };
        var batches = new[] { fixture.Batch };

        var growth = GrowthPerCall(() =>
        {
            var evaluation = CircuitEvaluator.Evaluate(model, batches, scores, sizes);
            Assert.Equal(sizes.Length, evaluation.Results.Count);
        });

        Assert.True(growth == 0, $"{kind}: {growth} tensors left alive after {Calls} evaluations of {sizes.Length} circuits");
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void InterventionForwardBackward_NoCallerScope_LeavesNoTensorAlive(string kind)
    {
        // IActivationIntervention as the EAP-IG algorithms use it: a callback that replaces activations with new
        // tensors (which the pass frees) and holds one out of the dispose scope for autograd.grad (which it disposes).
        using var fixture = Fixture.Create(kind);
        var model = fixture.Model;
        var destination = model.Graph.DestModules[^1].ModuleName;

        var growth = GrowthPerCall(() =>
        {
            using var grad = torch.enable_grad();
            Tensor? held = null;
            try
            {
                using var output = model.ForwardWithIntervention(fixture.Clean, (name, x) =>
                {
                    if (name == destination)
                    {
                        held = x.detach().requires_grad_(true).DetachFromDisposeScope();
                        return held.alias();
                    }

                    return x * 0.5; // a new tensor in the pass's scope
                });
                using var squared = output.square();
                using var loss = squared.sum();
                var grads = torch.autograd.grad([loss], [held!]);
                foreach (var g in grads)
                {
                    g.Dispose();
                }
            }
            finally
            {
                held?.Dispose();
            }
        });

        Assert.True(growth == 0, $"{kind}: {growth} tensors left alive after {Calls} intervention forward + backward passes");
    }

    [Fact]
    public void Counter_SeesATensorLeftAlive()
    {
        // The measurement itself: a call that keeps one tensor is counted once per call.
        var kept = new List<Tensor>();

        var growth = GrowthPerCall(() => kept.Add(torch.zeros(2)));

        kept.ForEach(t => t.Dispose());
        Assert.Equal(Calls, growth);
    }

    /// <summary>Live tensors on this thread gained over <see cref="Calls"/> calls of <paramref name="action"/>, after one
    /// warm-up call.</summary>
    private long GrowthPerCall(Action action)
    {
        Assert.False(ScopeOpen(), "these tests measure callers without a dispose scope");
        action();
        var before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (var i = 0; i < Calls; i++)
        {
            action();
        }

        var growth = DisposeScopeManager.Statistics.ThreadTotalLiveCount - before;
        output.WriteLine($"live tensors: {growth} more after {Calls} calls");
        return growth;
    }

    /// <summary>Whether a dispose scope is open on this thread (a tensor created now would be owned by it).</summary>
    private static bool ScopeOpen()
    {
        var before = DisposeScopeManager.Statistics.CreatedInScopeCount;
        using var probe = torch.zeros(1);
        return DisposeScopeManager.Statistics.CreatedInScopeCount != before;
    }

    /// <summary>A patchable model (micro or the embedded toy transformer) and one batch of its task.</summary>
    private sealed class Fixture : IDisposable
    {
        private readonly IDisposable _inner;

        private Fixture(IDisposable inner, PatchableModel model, PromptBatch batch)
        {
            _inner = inner;
            Model = model;
            Batch = batch;
        }

        public PatchableModel Model { get; }

        public PromptBatch Batch { get; }

        public Tensor Clean => Batch.Clean;

        public Tensor Corrupt => Batch.Corrupt;

        public static Fixture Create(string kind, bool reference = false)
        {
            var options = new PatchOptions(ReferencePatching: reference);
            if (kind == "micro")
            {
                var micro = new MicroModel(2);
                var clean = torch.tensor(new float[] { 3, 3, 2, 2, 1, 1, 0.5f, -1, 2, 0.25f, -3, 1.5f }, [2, 3, 2]);
                var corrupt = torch.tensor(new float[] { -1, 2, 0.5f, 1, -2, 3, 1, 1, -0.5f, 2, 0, -1 }, [2, 3, 2]);
                var batch = new PromptBatch(
                    0, clean, corrupt, new AnswerSet(torch.tensor(new long[] { 1, 0 }, [2, 1])), new AnswerSet(torch.tensor(new long[] { 0, 1 }, [2, 1])));
                return new Fixture(micro, PatchableModel.Create(micro, new GraphOptions(SeqLen: null, OutputSlice: OutputSlice.LastSeq), options), batch);
            }

            var (toy, _) = ToyModel.Load();
            using var prompts = InductionData.Generate(6, 4711);
            using var answer = prompts.Answer.unsqueeze(1);
            using var wrong = prompts.Wrong.unsqueeze(1);
            var toyBatch = new PromptBatch(0, prompts.Clean.clone(), prompts.Corrupt.clone(), new AnswerSet(answer.clone()), new AnswerSet(wrong.clone()));
            return new Fixture(toy, PatchableModel.Create(toy, new GraphOptions(), options), toyBatch);
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

        public PruneScores RandomScores()
        {
            var scores = Model.NewPruneScores();
            using var gen = new Generator(11);
            using var noGrad = torch.no_grad();
            foreach (var d in scores.Destinations)
            {
                using var r = torch.randn(d.Tensor.shape, generator: gen);
                d.Tensor.copy_(r);
            }

            return scores;
        }

        public void Dispose()
        {
            Model.Dispose();
            Batch.Dispose();
            _inner.Dispose();
        }
    }
}
