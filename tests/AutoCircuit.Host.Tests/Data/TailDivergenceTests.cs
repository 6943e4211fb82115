using System.Text;
using AutoCircuit.Engine.Patching;
using AutoCircuit.Evaluation;
using AutoCircuit.Host.Data;
using AutoCircuit.Host.Tests.Models;
using AutoCircuit.Models.Transformers;
using AutoCircuit.Testing;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace AutoCircuit.Host.Tests.Data;

/// <summary>auto-circuit's tail_divergence: the shared prefix is cached once and the outputs do not change.</summary>
[Collection(nameof(SeededCollection))]
public sealed class TailDivergenceTests
{
    // The cached and the uncached run do the same arithmetic on different tensor shapes: float32 rounding.
    private const double Atol = 1e-5;

    private static DatasetDocument Parse(string json) => DatasetDocument.Parse(Encoding.UTF8.GetBytes(json), "tail.json");

    /// <summary>Eight prompt pairs: "the cat sat on the mat and then" + a two-word tail; corrupt changes the tail.</summary>
    private static DatasetDocument SharedPrefix()
    {
        string[] tails = ["dog ran", "sun was", "moon was", "ball was", "day was", "night was", "cat ran", "mat was"];
        var prompts = tails.Select((t, i) =>
            $$"""{"clean": "the cat sat on the mat and then {{t}}", "corrupt": "the cat sat on the mat and then {{tails[(i + 3) % tails.Length]}}", "answers": ["good"], "wrong_answers": ["bad"]}""");
        const string labels = """ "seq_labels": ["the", "cat", "sat", "on", "the", "mat", "and", "then", "w1", "w2"], "word_idxs": {"cat": 1} """;
        return Parse("{\"prompts\": [" + string.Join(", ", prompts) + "]," + labels + "}");
    }

    public static TheoryData<string, bool> Models => new() { { "gpt2", true }, { "llama-gqa", false }, { "gpt2", false } };

    [Theory]
    [MemberData(nameof(Models))]
    public void Build_TailDivergence_CutsTheSharedPrefixAndGivesTheUncachedOutputs(string kind, bool tokenPositions)
    {
        using var model = TransformerPatchingTests.Model(kind);
        model.Padding = new TokenPadding(2, PadIsBos: false);
        var doc = SharedPrefix();
        var encoder = new TextPromptEncoder(new WordTokenizer(), model.Padding);
        var plainOptions = new DataOptions(2, 4, 4, Shuffle: true, TokenPositions: tokenPositions);

        using var plain = TaskData.Build(doc, plainOptions, encoder, 50, torch.CPU, model);
        using var tail = TaskData.Build(doc, plainOptions with { TailDivergence = true }, encoder, 50, torch.CPU, model);

        Assert.Equal(0, plain.DivergeIndex);
        Assert.Equal(9, tail.DivergeIndex); // BOS + 8 shared words
        Assert.Equal(tokenPositions ? 11 : null, plain.SeqLen);
        Assert.Equal(tokenPositions ? 2 : null, tail.SeqLen);
        Assert.Equal(["w1", "w2"], tail.SeqLabels!);
        Assert.Equal(2, tail.WordIdxs["cat"]); // in encoded-prompt coordinates, as auto-circuit keeps them
        Assert.Equal(plain.TrainPromptIndices, tail.TrainPromptIndices);
        using var _ = torch.inference_mode();
        foreach (var (full, cut) in plain.Train.Concat(plain.Test).Zip(tail.Train.Concat(tail.Test)))
        {
            TensorAssert.Equal(full.Clean.narrow(1, 9, 2), cut.Clean, "tail tokens");
            using var expected = model.Forward(full.Clean, prefix: null);
            using var actual = model.Forward(cut.Clean); // uses the attached prefix cache
            TensorAssert.AllClose(expected.narrow(1, 9, 2), actual, Atol, 0, $"{kind} clean logits at the tail positions");
            using var expectedCorrupt = model.Forward(full.Corrupt, prefix: null);
            using var actualCorrupt = model.Forward(cut.Corrupt);
            TensorAssert.AllClose(expectedCorrupt.narrow(1, 9, 2), actualCorrupt, Atol, 0, $"{kind} corrupt logits");
        }
    }

    [Fact]
    public void Evaluate_WithTailDivergence_GivesTheUncachedMetrics()
    {
        using var model = TransformerPatchingTests.Model("gpt2");
        model.Padding = new TokenPadding(2, PadIsBos: false);
        var doc = SharedPrefix();
        var encoder = new TextPromptEncoder(new WordTokenizer(), model.Padding);
        var options = new DataOptions(2, 4, 4);
        torch.manual_seed(3);
        using var plain = TaskData.Build(doc, options, encoder, 50, torch.CPU, model);
        IReadOnlyList<double> Metrics(TaskData data)
        {
            using var patchable = PatchableModel.Create(model, new GraphOptions());
            using var scores = patchable.NewPruneScores();
            using (torch.no_grad())
            {
                using var g = new Generator(5);
                foreach (var d in scores.Destinations)
                {
                    d.Tensor.copy_(torch.rand(d.Tensor.shape, generator: g));
                }
            }

            var evaluation = CircuitEvaluator.Evaluate(patchable, data.Test, scores, [0, 5, 40, patchable.Graph.EdgeCount]);
            return evaluation.Results.SelectMany(r => new[] { r.Metrics["logit-diff"], r.Metrics["clean-kl-div"], r.Metrics["answer-prob"] }).ToList();
        }

        var expected = Metrics(plain);
        plain.Dispose();
        using var tail = TaskData.Build(doc, options with { TailDivergence = true }, encoder, 50, torch.CPU, model);
        var actual = Metrics(tail);

        Assert.Equal(9, tail.DivergeIndex);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-4, $"metric {i}: uncached {expected[i]}, cached {actual[i]}");
        }
    }

    [Fact]
    public void Dispose_DetachesThePrefixCache()
    {
        using var model = TransformerPatchingTests.Model("gpt2");
        model.Padding = new TokenPadding(2, PadIsBos: false);
        var encoder = new TextPromptEncoder(new WordTokenizer(), model.Padding);
        var data = TaskData.Build(SharedPrefix(), new DataOptions(2, 4, 4, TailDivergence: true), encoder, 50, torch.CPU, model);
        using var tailTokens = data.Train[0].Clean.clone();
        using var _ = torch.inference_mode();

        using (var wrongBatch = tailTokens.narrow(0, 0, 1))
        {
            var e = Assert.Throws<InvalidOperationException>(() => model.Forward(wrongBatch));
            Assert.Contains("prefix cache is attached for batch size(s) 2", e.Message, StringComparison.Ordinal);
        }

        data.Dispose();
        using var afterwards = model.Forward(tailTokens); // no cache: runs the two tail tokens alone
        Assert.Equal(2, afterwards.shape[1]);
    }

    [Fact]
    public void SharedPrefixLength_IsTheDivergenceLimitedToWhatEveryRowShares()
    {
        using var clean = torch.tensor(new long[] { 1, 5, 6, 7, 8, 1, 5, 6, 9, 8 }, [2, 5]);
        using var sameStart = torch.tensor(new long[] { 1, 5, 6, 7, 0, 1, 5, 6, 9, 0 }, [2, 5]); // differ at 4
        using var earlyChange = torch.tensor(new long[] { 1, 5, 0, 7, 8, 1, 5, 6, 9, 0 }, [2, 5]); // row 0 differs at 2
        using var identical = clean.clone();

        Assert.Equal(3, TaskData.SharedPrefixLength(clean, sameStart)); // rows differ from each other at 3
        Assert.Equal(2, TaskData.SharedPrefixLength(clean, earlyChange));
        Assert.Equal(0, TaskData.SharedPrefixLength(clean, identical)); // auto-circuit: a pair with no difference gives 0
    }

    [Fact]
    public void Build_TailDivergenceWithoutTransformer_IsAnError()
    {
        var doc = SharedPrefix();
        var encoder = new TextPromptEncoder(new WordTokenizer(), new TokenPadding(2, false));

        var e = Assert.Throws<DatasetException>(() => TaskData.Build(doc, new DataOptions(2, 4, 4, TailDivergence: true), encoder, 50, torch.CPU));

        Assert.Contains("--tail-divergence needs a transformer", e.Message, StringComparison.Ordinal);
    }
}
