using AutoCircuit.Data;
using AutoCircuit.Engine.Patching;
using AutoCircuit.Host.Algorithms;
using AutoCircuit.Models.Transformers;
using AutoCircuit.Scores;
using AutoCircuit.Testing;
using TorchSharp;

namespace AutoCircuit.Algorithms.Tests;

/// <summary>
/// The small transformer of the memory-budget and packing tests: a random two-layer, two-head GPT-2 (d_model 16, a
/// 40-token vocabulary) and random prompt batches for it, on <see cref="TestDevice.Current"/>.
/// </summary>
internal static class SmallGpt2
{
    /// <summary>The vocabulary size.</summary>
    public const int Vocab = 40;

    /// <summary>Its configuration: two layers, two heads, d_model 16, MLP 32, context 16, biases as GPT-2's.</summary>
    public static TransformerConfig Config => new()
    {
        Family = TransformerFamily.Gpt2,
        AttnBias = true,
        MlpBias = true,
        DModel = 16,
        Layers = 2,
        Heads = 2,
        DMlp = 32,
        VocabSize = Vocab,
        ContextLength = 16,
    };

    /// <summary>The model, weights from <c>InitializeRandom(13)</c>.</summary>
    public static Transformer Model()
    {
        var model = new Transformer(Config);
        model.InitializeRandom(13);
        model.MoveTo(TestDevice.Current);
        return model;
    }

    /// <summary>
    /// <paramref name="count"/> batches of <paramref name="size"/> prompts of <paramref name="seq"/> random tokens (clean
    /// and corrupt), one random answer each and the wrong answer 7 ids on; the caller disposes them.
    /// </summary>
    public static List<PromptBatch> Batches(int count, int size, int seq, int seed)
    {
        var rng = new System.Random(seed);
        var result = new List<PromptBatch>();
        for (var b = 0; b < count; b++)
        {
            var clean = Enumerable.Range(0, size * seq).Select(_ => (long)rng.Next(3, Vocab)).ToArray();
            var corrupt = Enumerable.Range(0, size * seq).Select(_ => (long)rng.Next(3, Vocab)).ToArray();
            var answers = Enumerable.Range(0, size).Select(_ => (long)rng.Next(3, Vocab)).ToArray();
            var wrong = answers.Select(a => (a + 7) % Vocab).ToArray();
            var d = TestDevice.Current;
            result.Add(new PromptBatch(
                b, torch.tensor(clean, [size, seq], device: d), torch.tensor(corrupt, [size, seq], device: d),
                new AnswerSet(torch.tensor(answers, [size, 1], device: d)), new AnswerSet(torch.tensor(wrong, [size, 1], device: d))));
        }

        return result;
    }

    /// <summary><c>mask-gradient:</c><paramref name="spec"/> on <paramref name="model"/> over <paramref name="batches"/> (seed 0).</summary>
    public static PruneScores MaskGradient(PatchableModel model, List<PromptBatch> batches, string spec)
    {
        var (_, configured) = AlgorithmCatalog.BuiltIn().Create(AlgorithmSpec.Parse("mask-gradient:" + spec));
        var context = new PruneContext { Model = model, TrainBatches = batches, Seed = 0 };
        return configured.Algorithm.Run(context);
    }
}
