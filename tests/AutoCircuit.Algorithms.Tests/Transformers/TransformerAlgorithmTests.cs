using AutoCircuit.Algorithms.Acdc;
using AutoCircuit.Algorithms.EapIgInputs;
using AutoCircuit.Algorithms.Exact;
using AutoCircuit.Algorithms.Tests.Acdc;
using AutoCircuit.Algorithms.Tests.Eap;
using AutoCircuit.Algorithms.Tests.EapIg;
using AutoCircuit.Data;
using AutoCircuit.Engine.Patching;
using AutoCircuit.Evaluation;
using AutoCircuit.Models.Transformers;
using AutoCircuit.Patching;
using AutoCircuit.Testing;
using TorchSharp;
using Xunit;

namespace AutoCircuit.Algorithms.Tests.Transformers;

/// <summary>
/// The oracle checks of the micro-model tests on real transformer graphs (small random GPT-2 and Llama
/// with grouped-query attention, and every Hugging Face family's tiny checkpoint): the slow per-edge <c>eap</c>
/// equals <c>mask-gradient</c> at mask 0
/// (auto-circuit's test_edge_attribution_patching.py), and every ACDC step, started from the destination's
/// block, equals an independent full tree-patched forward (auto-circuit's ACDC test mode). On
/// <see cref="TestDevice.Current"/> (CUDA with AUTOCIRCUIT_TEST_DEVICE=cuda).
/// </summary>
[Trait("Category", "Gpu")]
public sealed class TransformerAlgorithmTests
{
    private const int Vocab = SmallGpt2.Vocab;

    private static Transformer Model(string kind)
    {
        var config = kind switch
        {
            "gpt2" => SmallGpt2.Config,
            "llama-gqa" => new TransformerConfig
            {
                Family = TransformerFamily.Llama,
                DModel = 16,
                Layers = 2,
                Heads = 4,
                KvHeads = 2,
                DMlp = 24,
                VocabSize = Vocab,
                ContextLength = 16,
                TiedEmbeddings = false,
            },
            _ => throw new ArgumentException(kind),
        };
        var model = new Transformer(config);
        model.InitializeRandom(11);
        model.MoveTo(TestDevice.Current);
        return model;
    }

    /// <summary>Two batches of random token prompts; corrupt = clean with the last two tokens changed.</summary>
    private static List<PromptBatch> Batches(int batches = 2, int size = 3, int seq = 5)
    {
        var rng = new System.Random(5);
        var result = new List<PromptBatch>();
        for (var b = 0; b < batches; b++)
        {
            var clean = new long[size * seq];
            var corrupt = new long[size * seq];
            var answers = new long[size];
            var wrong = new long[size];
            for (var i = 0; i < size; i++)
            {
                for (var t = 0; t < seq; t++)
                {
                    clean[(i * seq) + t] = rng.Next(3, Vocab);
                    corrupt[(i * seq) + t] = t >= seq - 2 ? rng.Next(3, Vocab) : clean[(i * seq) + t];
                }

                answers[i] = rng.Next(3, Vocab);
                wrong[i] = (answers[i] + 1 + rng.Next(Vocab - 4)) % Vocab;
            }

            var d = TestDevice.Current;
            result.Add(new PromptBatch(
                b,
                torch.tensor(clean, [size, seq], device: d),
                torch.tensor(corrupt, [size, seq], device: d),
                new AnswerSet(torch.tensor(answers, [size, 1], device: d)),
                new AnswerSet(torch.tensor(wrong, [size, 1], device: d))));
        }

        return result;
    }

    [Theory]
    [InlineData("gpt2", true, true, GradFunction.Logit, AnswerFunction.AvgDiff)]
    [InlineData("gpt2", true, false, GradFunction.Logprob, AnswerFunction.AvgVal)]
    [InlineData("gpt2", false, true, GradFunction.Prob, AnswerFunction.AvgDiff)]
    [InlineData("llama-gqa", true, true, GradFunction.Logit, AnswerFunction.AvgDiff)]
    [InlineData("llama-gqa", true, false, GradFunction.LogitExp, AnswerFunction.AvgVal)]
    public void Eap_Transformer_EqualsMaskGradientAtMaskZero(
        string kind, bool factorized, bool separateQkv, GradFunction grad, AnswerFunction answer)
    {
        using var transformer = Model(kind);
        using var model = PatchableModel.Create(transformer, new GraphOptions(factorized, null, separateQkv));
        var batches = Batches();

        try
        {
            EapEquivalence.AssertEapEqualsMaskGradient(model, batches, grad, answer);
        }
        finally
        {
            batches.ForEach(b => b.Dispose());
        }
    }

    /// <summary>Every family's tiny checkpoint (tests/Fixtures/models; tools/reference/FAMILIES.md), on two graphs each.</summary>
    public static TheoryData<string, bool, bool> FamilyCheckpoints()
    {
        var data = new TheoryData<string, bool, bool>();
        foreach (var name in new[]
                 {
                     "gpt2-random", "llama-random-llama3", "qwen2-random", "qwen3-random", "mistral-random", "gemma2-random",
                     "gemma3-random", "gpt_neox-random", "olmo2-random",
                 })
        {
            data.Add(name, true, true);
            data.Add(name, false, true);
        }

        data.Add("gemma2-random", true, false);
        data.Add("olmo2-random", true, false);
        return data;
    }

    [Theory]
    [MemberData(nameof(FamilyCheckpoints))]
    public void Eap_FamilyCheckpoint_EqualsMaskGradientAtMaskZero(string name, bool factorized, bool separateQkv)
    {
        using var transformer = AutoCircuit.Models.Checkpoints.HfCheckpoint.Load(Path.Combine(TestFixtures.Root, "models", name)).Model;
        transformer.MoveTo(TestDevice.Current);
        using var model = PatchableModel.Create(transformer, new GraphOptions(factorized, null, separateQkv));
        var batches = Batches(seq: 7); // longer than the fixtures' sliding windows (4)

        try
        {
            EapEquivalence.AssertEapEqualsMaskGradient(model, batches);
        }
        finally
        {
            batches.ForEach(b => b.Dispose());
        }
    }

    [Theory]
    [InlineData("gpt2", AcdcTarget.KlDiv)]
    [InlineData("llama-gqa", AcdcTarget.Mse)]
    public void Acdc_TransformerStartingAtBlocks_EveryStepEqualsTreePatchedForward(string kind, AcdcTarget target)
    {
        using var transformer = Model(kind);
        using var model = PatchableModel.Create(transformer, new GraphOptions());
        using var referenceTransformer = Model(kind);
        using var reference = PatchableModel.Create(referenceTransformer, new GraphOptions());
        var batches = Batches(batches: 1);
        // One tau keeps the test short (each step is checked with an independent forward); the micro-model
        // tests cover several taus.
        var options = new AcdcOptions { TauExps = [-2], TauBases = [1], Target = target };

        try
        {
            Assert.True(model.CanRestartAtBlock, "transformers restart at blocks: this test covers ACDC's fast path");
            var steps = AcdcStepCheck.AssertEachStepEqualsTreePatchedForward(model, reference, batches, options);
            Assert.Equal(model.Graph.EdgeCount, steps);
        }
        finally
        {
            batches.ForEach(b => b.Dispose());
        }
    }

    [Theory]
    [InlineData("gpt2", false)]
    [InlineData("llama-gqa", true)]
    public void EapIgInputs_TransformerOneStep_EqualsGradientAtCorruptInput(string kind, bool separateQkv)
    {
        // Grouped-query attention: the K/V destinations have one node per KV head.
        using var transformer = Model(kind);
        using var model = PatchableModel.Create(transformer, new GraphOptions(true, null, separateQkv));
        var batches = Batches();

        try
        {
            var context = new PruneContext { Model = model, TrainBatches = batches };
            using var scores = new EapIgInputs.EapIgInputs(new EapIgInputsOptions { Steps = 1 }).Run(context);

            using var expected = GradientOracle.At(model, batches, (b, _) => b.Corrupt, AblationType.Resample);
            foreach (var m in model.Graph.DestModules)
            {
                TensorAssert.AllClose(expected[m], scores[m], 1e-6, 1e-5, $"{kind} {m.ModuleName}");
            }
        }
        finally
        {
            batches.ForEach(b => b.Dispose());
        }
    }

    [Fact]
    public void Exact_LlamaGqa_EqualsSingleEdgeEvaluation()
    {
        using var transformer = Model("llama-gqa");
        using var model = PatchableModel.Create(transformer, new GraphOptions());
        var batches = Batches(batches: 1);
        var options = new ExactOptions { PatchType = PatchType.EdgePatch, EdgesPerPass = 64 };

        try
        {
            using var scores = new ExactPatching(options).Run(new PruneContext { Model = model, TrainBatches = batches });

            // Every tenth edge (all kinds of destination: Q, K and V per KV head, MLP, Resid End), each against the
            // evaluator's one-edge circuit minus the empty circuit.
            var edges = model.Graph.FlatEdges;
            for (var i = 0; i < edges.Count; i += 10)
            {
                using var ranking = model.NewPruneScores();
                ranking.Set(edges[i], 1);
                var evaluation = CircuitEvaluator.Evaluate(model, batches, ranking, [0, 1], new CircuitRunOptions(PatchType.EdgePatch));
                var expected = evaluation.Results[1].Metrics["logit-diff"] - evaluation.Results[0].Metrics["logit-diff"];
                Assert.Equal(expected, scores.ScoreOf(edges[i]), 1e-5);
            }

            using var flat = scores.Flatten();
            Assert.True(flat.abs().max().ToDouble() > 1e-2, "every edge's effect is ~0: the comparison would prove nothing");
        }
        finally
        {
            batches.ForEach(b => b.Dispose());
        }
    }
}
