using AutoCircuit.Data;
using AutoCircuit.Engine;
using AutoCircuit.Engine.Patching;
using AutoCircuit.Evaluation;
using AutoCircuit.Models.Micro;
using AutoCircuit.Patching;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace AutoCircuit.Host.Tests.Evaluation;

/// <summary><see cref="PruneMetricsSink"/>: auto-circuit's metric tests and the cases where we go beyond it.</summary>
public sealed class PruneMetricsSinkTests
{
    private static PromptBatch Batch(int key, int size, long[][] answers, long[][] wrong, float lastToken = 1)
    {
        var clean = Enumerable.Range(0, size).SelectMany(_ => new float[] { 3, 3, 2, 2, lastToken, lastToken }).ToArray();
        return new PromptBatch(
            key,
            torch.tensor(clean, [size, 3, 2]),
            torch.tensor(clean.Select(v => -v).ToArray(), [size, 3, 2]),
            Answers(answers),
            Answers(wrong));
    }

    private static AnswerSet Answers(long[][] rows)
    {
        var width = rows.Max(r => r.Length);
        var ids = rows.SelectMany(r => Enumerable.Range(0, width).Select(j => j < r.Length ? r[j] : r[0])).ToArray();
        var mask = rows.SelectMany(r => Enumerable.Range(0, width).Select(j => j < r.Length)).ToArray();
        var rectangular = rows.All(r => r.Length == width);
        return new AnswerSet(torch.tensor(ids, [rows.Length, width]), rectangular ? null : torch.tensor(mask, [rows.Length, width]));
    }

    /// <summary>Measures one "circuit" whose outputs are given per batch.</summary>
    private static IReadOnlyDictionary<string, double> Measure(PatchableModel model, IReadOnlyList<PromptBatch> batches, Func<PromptBatch, Tensor> output)
    {
        using var sink = new PruneMetricsSink(model);
        using var _ = torch.inference_mode();
        sink.Begin([0], [0], batches.Count);
        for (var b = 0; b < batches.Count; b++)
        {
            using var scope = torch.NewDisposeScope();
            sink.BeginBatch(b, batches[b]);
            sink.Consume(0, b, batches[b], output(batches[b]));
        }

        return sink.Results()[0];
    }

    [Theory]
    [InlineData(false, 1, 1, null)]
    [InlineData(false, 1, 2, 3)]
    [InlineData(false, 3, 1, null)]
    [InlineData(false, 4, 4, 3)]
    [InlineData(true, 1, 1, null)]
    [InlineData(true, 1, 3, 3)]
    [InlineData(true, 2, 1, null)]
    [InlineData(true, 5, 7, 3)]
    public void Results_CleanOutputs_ReproduceTestAnswerProb(bool multipleAnswers, int batchCount, int batchSize, int? seqLen)
    {
        // auto-circuit's tests/metrics/prune_metrics/test_answer_prob.py: the answer logit of the clean outputs is the
        // mean over prompts of each prompt's mean answer logit. The micro model maps a last token [1, 1] to [25, 49].
        using var micro = new MicroModel();
        using var model = PatchableModel.Create(micro, new GraphOptions(true, seqLen));
        long[] answers = multipleAnswers ? [0, 1] : [1];
        var batches = Enumerable.Range(0, batchCount)
            .Select(k => Batch(k, batchSize, Enumerable.Repeat(answers, batchSize).ToArray(), Enumerable.Repeat(new long[] { 0 }, batchSize).ToArray()))
            .ToList();

        var metrics = Measure(model, batches, b => model.Run(b.Clean));

        Assert.Equal(multipleAnswers ? 37.0 : 49.0, metrics["answer-logit"], 1e-5);
        Assert.Equal(25.0, metrics["wrong-answer-logit"], 1e-5);
        Assert.Equal(100.0, metrics["logit-diff-percent"], 1e-5);
        Assert.Equal(0.0, metrics["clean-kl-div"]);
        foreach (var b in batches)
        {
            b.Dispose();
        }
    }

    [Fact]
    public void Results_TiesAndSeveralAnswers_FollowArgmaxFirstMaximum()
    {
        using var micro = new MicroModel();
        using var model = PatchableModel.Create(micro, new GraphOptions());
        // Prompt 0: answer 1, wrong 0; prompt 1: answers 0 and 1, wrong 1; outputs [[5, 5], [2, 7]].
        using var batch = Batch(0, 2, [[1], [0, 1]], [[0], [1]]);
        using var logits = torch.tensor(new float[] { 5, 5, 2, 7 }, [2, 2]);

        var metrics = Measure(model, [batch], _ => logits.alias());

        // argmax picks index 0 in the tie, which is not prompt 0's answer; prompt 1's argmax 1 is one of its answers.
        Assert.Equal(50.0, metrics["correct-answer-percent"], 1e-9);
        // Prompt 0 ties its wrong answer (counts as correct, as auto-circuit's argmax over [answer, wrong]);
        // prompt 1's best answer 7 ties its wrong answer 7 too.
        Assert.Equal(100.0, metrics["correct-answer-greater-than-incorrect-percent"], 1e-9);
        // Mean over prompts of mean answer logit: (5 + (2 + 7) / 2) / 2.
        Assert.Equal(4.75, metrics["answer-logit"], 1e-6);
        Assert.Equal(((5.0 - 5.0) + (4.5 - 7.0)) / 2, metrics["logit-diff"], 1e-6);
    }

    [Fact]
    public void Results_UnslicedOutputs_ThrowOneLineError()
    {
        using var micro = new MicroModel();
        using var model = PatchableModel.Create(micro, new GraphOptions(true, 3, OutputSlice: OutputSlice.All));
        using var batch = Batch(0, 1, [[1]], [[0]]);

        var e = Assert.Throws<AutoCircuitException>(() => Measure(model, [batch], b => model.Run(b.Corrupt)));

        Assert.Contains("need the task output as [batch, vocab]", e.Message, StringComparison.Ordinal);
        Assert.Contains("[1, 3, 2]", e.Message, StringComparison.Ordinal);
    }
}
