using AutoCircuit.Algorithms.Exact;
using AutoCircuit.Data;
using AutoCircuit.Engine.Patching;
using AutoCircuit.Evaluation;
using AutoCircuit.Models.Toy;
using AutoCircuit.Patching;
using AutoCircuit.Scores;
using AutoCircuit.Testing;
using TorchSharp;
using Xunit;

namespace AutoCircuit.Algorithms.Tests.Exact;

/// <summary>
/// <c>exact</c> against circuit evaluation (<see cref="CircuitEvaluator"/>, the host's <c>evaluate</c>): every edge's
/// score is the logit difference the evaluator measures for the full circuit minus that of the circuit without the
/// edge (tree patch), or for the one-edge circuit minus the empty circuit (edge patch), on the micro model and the
/// embedded toy transformer.
/// </summary>
public sealed class ExactTests
{
    // Both are float32 forward passes of the same patch (x + ablation - current at one head and position); the engine
    // contracts a one-hot mask (exact products with 0 and 1) where exact adds the difference directly, and the
    // transformer's per-head projections run in other orders. Measured: differences of logit differences agree to
    // 4e-6 on the micro model (scores up to 20) and 1e-6 on the toy (scores up to 6).
    private const double Atol = 1e-5;
    private const double Rtol = 1e-5;

    public static TheoryData<bool, bool, PatchType, AblationType> MicroCases() => new()
    {
        { true, false, PatchType.TreePatch, AblationType.Resample },
        { true, false, PatchType.EdgePatch, AblationType.Resample },
        { true, true, PatchType.TreePatch, AblationType.Resample },
        { true, true, PatchType.EdgePatch, AblationType.TokenwiseMeanClean },
        { false, false, PatchType.TreePatch, AblationType.Zero },
        { false, true, PatchType.EdgePatch, AblationType.BatchAllTokMean },
    };

    [Theory]
    [MemberData(nameof(MicroCases))]
    public void Run_Micro_EqualsSingleEdgeEvaluation(bool factorized, bool positions, PatchType patchType, AblationType ablation)
    {
        using var s = MicroScenario.Custom("auto-circuit/micro_mask_gradient.json", "varied-20", factorized, positions, 3, 9);
        var options = new ExactOptions { PatchType = patchType, Ablation = ablation, EdgesPerPass = 5 };

        using var scores = new ExactPatching(options).Run(s.Context());

        AssertEqualsEvaluation(s.Model, s.Data.Train, scores, options);
    }

    [Theory]
    [InlineData(PatchType.TreePatch, AblationType.Resample)]
    [InlineData(PatchType.EdgePatch, AblationType.Resample)]
    [InlineData(PatchType.TreePatch, AblationType.TokenwiseMeanCorrupt)]
    public void Run_Toy_EqualsSingleEdgeEvaluation(PatchType patchType, AblationType ablation)
    {
        var (toy, _) = ToyModel.Load();
        using var _ = toy;
        using var model = PatchableModel.Create(toy, new GraphOptions());
        var batches = ToyBatches();
        var options = new ExactOptions { PatchType = patchType, Ablation = ablation, EdgesPerPass = 16 };

        try
        {
            using var scores = new ExactPatching(options).Run(new PruneContext { Model = model, TrainBatches = batches });

            AssertEqualsEvaluation(model, batches, scores, options);
        }
        finally
        {
            batches.ForEach(b => b.Dispose());
        }
    }

    [Fact]
    public void Run_EdgesPerPass_DoesNotChangeTheScores()
    {
        var (toy, _) = ToyModel.Load();
        using var _ = toy;
        using var model = PatchableModel.Create(toy, new GraphOptions(SeqLen: InductionData.SeqLen));
        var batches = ToyBatches();
        var context = new PruneContext { Model = model, TrainBatches = batches };

        try
        {
            using var one = new ExactPatching(new ExactOptions { EdgesPerPass = 1 }).Run(context);
            using var many = new ExactPatching(new ExactOptions { EdgesPerPass = 100 }).Run(context);

            foreach (var m in model.Graph.DestModules)
            {
                TensorAssert.AllClose(one[m], many[m], 1e-6, 1e-5, m.ModuleName);
            }

            using var flat = one.Flatten();
            Assert.True(flat.abs().max().ToDouble() > 1e-2, "the scores are all ~0: the comparison would prove nothing");
        }
        finally
        {
            batches.ForEach(b => b.Dispose());
        }
    }

    /// <summary>Two batches of the toy's induction prompts (answer B, wrong answer C).</summary>
    internal static List<PromptBatch> ToyBatches(int batches = 2, int size = 4)
    {
        using var prompts = InductionData.Generate(batches * size, 77);
        return Enumerable.Range(0, batches).Select(b =>
        {
            var rows = (long)b * size;
            return new PromptBatch(
                b,
                prompts.Clean.narrow(0, rows, size).clone(),
                prompts.Corrupt.narrow(0, rows, size).clone(),
                new AnswerSet(prompts.Answer.narrow(0, rows, size).unsqueeze(1).clone()),
                new AnswerSet(prompts.Wrong.narrow(0, rows, size).unsqueeze(1).clone()));
        }).ToList();
    }

    /// <summary>Evaluates, for every edge, the circuits whose difference <c>exact</c> measures, and compares.</summary>
    private static void AssertEqualsEvaluation(
        IPatchableModel model, IReadOnlyList<PromptBatch> batches, PruneScores scores, ExactOptions options)
    {
        var graph = model.Graph;
        var n = graph.EdgeCount;
        var run = new CircuitRunOptions(options.PatchType, options.Ablation);
        var tree = options.PatchType == PatchType.TreePatch;
        var expected = new double[n];
        var flatEdges = graph.FlatEdges;
        for (var i = 0; i < n; i++)
        {
            // Tree patch: every edge but this one (score 0 of n ones) and the full circuit. Edge patch: this edge alone
            // (the only non-zero score) and the empty circuit.
            using var ranking = model.NewPruneScores(tree ? 1 : 0);
            ranking.Set(flatEdges[i], tree ? 0 : 1);
            var evaluation = CircuitEvaluator.Evaluate(model, batches, ranking, tree ? [n - 1, n] : [0, 1], run);
            Assert.Equal(tree ? [n - 1, n] : [0, 1], evaluation.Results.Select(r => r.Edges));
            var (without, with) = (evaluation.Results[0].Metrics["logit-diff"], evaluation.Results[1].Metrics["logit-diff"]);
            expected[i] = with - without;
        }

        using var actual = scores.Flatten();
        using var reference = torch.tensor(expected);
        TensorAssert.AllClose(reference, actual, Atol, Rtol, $"exact {options.PatchType} {options.Ablation}");
        Assert.True(expected.Max(Math.Abs) > 1e-2, "every edge's effect is ~0: the comparison would prove nothing");
    }
}
