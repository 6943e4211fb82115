using AutoCircuit.Data;
using AutoCircuit.Engine.Patching;
using AutoCircuit.Evaluation;
using AutoCircuit.Host.Tests.Models;
using AutoCircuit.Patching;
using AutoCircuit.Testing;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace AutoCircuit.Host.Tests.Evaluation;

/// <summary>
/// Circuit evaluation under a memory budget that splits every batch into chunks of prompts: every metric equals the
/// unbounded evaluation's, for edge and tree patching and the batch-wise and dataset-mean ablations (on
/// <see cref="TestDevice.Current"/>).
/// </summary>
[Trait("Category", "Gpu")]
public sealed class MemoryBoundedEvaluationTests
{
    [Theory]
    [InlineData(PatchType.EdgePatch, AblationType.Resample)]
    [InlineData(PatchType.TreePatch, AblationType.Resample)]
    [InlineData(PatchType.EdgePatch, AblationType.BatchTokenwiseMean)]
    [InlineData(PatchType.TreePatch, AblationType.BatchAllTokMean)]
    [InlineData(PatchType.EdgePatch, AblationType.TokenwiseMeanCorrupt)]
    [InlineData(PatchType.EdgePatch, AblationType.Zero)]
    public void Evaluate_TinyBudget_SameMetricsAsUnbounded(PatchType patchType, AblationType ablation)
    {
        var device = TestDevice.Current;
        using var a = TransformerPatchingTests.Model("gpt2");
        using var b = TransformerPatchingTests.Model("gpt2");
        a.MoveTo(device);
        b.MoveTo(device);
        using var unbounded = PatchableModel.Create(a, new GraphOptions());
        using var bounded = PatchableModel.Create(b, new GraphOptions(), new PatchOptions(MaxPatchMemoryBytes: 1));
        var batches = Batches(device);
        using var scores = unbounded.NewPruneScores();
        using (var gen = new Generator(21))
        using (torch.no_grad())
        {
            foreach (var d in scores.Destinations)
            {
                using var r = torch.rand(d.Tensor.shape, generator: gen);
                d.Tensor.copy_(r);
            }
        }

        var counts = new[] { 0, 1, 3, 10, 40, unbounded.Graph.EdgeCount };
        var options = new CircuitRunOptions(patchType, ablation);
        try
        {
            using (torch.inference_mode())
            {
                Assert.Equal(batches[0].Size, bounded.RowChunks(batches[0]).Count); // one prompt per chunk
            }

            using var expectedOutputs = new CollectingSink();
            using var actualOutputs = new CollectingSink();
            CircuitRunner.Run(unbounded, batches, scores, counts, options, expectedOutputs);
            CircuitRunner.Run(bounded, batches, scores, counts, options, actualOutputs);
            var expected = CircuitEvaluator.Evaluate(unbounded, batches, scores, counts, options);
            var actual = CircuitEvaluator.Evaluate(bounded, batches, scores, counts, options);

            // The circuits' outputs: float32 logits of prompts run one by one instead of together (matrix products of
            // other shapes round differently through three layers): measured differences up to 4e-6.
            Assert.Equal(expectedOutputs.Outputs.Keys.Order(), actualOutputs.Outputs.Keys.Order());
            foreach (var (key, output) in expectedOutputs.Outputs)
            {
                TensorAssert.AllClose(output, actualOutputs.Outputs[key], 1e-5, rtol: 1e-5, what: $"{patchType} {ablation} circuit/batch {key}");
            }

            for (var i = 0; i < counts.Length; i++)
            {
                Assert.Equal(expected.Results[i].Edges, actual.Results[i].Edges);
                foreach (var (key, value) in expected.Results[i].Metrics)
                {
                    var got = actual.Results[i].Metrics[key];
                    // The metrics of those outputs; the *-percent metrics divide by the full model's answer difference,
                    // which magnifies the relative error of a difference of nearly equal logits (seen: 4e-5): 1e-4.
                    var tolerance = key.EndsWith("-percent", StringComparison.Ordinal) ? 1e-4 : 1e-5;
                    Assert.True(
                        (double.IsNaN(value) && double.IsNaN(got)) || Math.Abs(value - got) <= tolerance * Math.Max(1, Math.Abs(value)),
                        $"{patchType} {ablation} size {counts[i]} {key}: {value} vs {got}");
                }
            }
        }
        finally
        {
            batches.ForEach(x => x.Dispose());
        }
    }

    /// <summary>Keeps a copy of every circuit output, keyed by "circuit/batch".</summary>
    private sealed class CollectingSink : ICircuitOutputSink, IDisposable
    {
        public Dictionary<string, Tensor> Outputs { get; } = new(StringComparer.Ordinal);

        public void Begin(IReadOnlyList<int> requested, IReadOnlyList<int> patched, int batchCount)
        {
        }

        public void BeginBatch(int batchIndex, PromptBatch batch)
        {
        }

        public void Consume(int circuitIndex, int batchIndex, PromptBatch batch, Tensor output)
        {
            using var normal = torch.inference_mode(false);
            Outputs[$"{circuitIndex}/{batchIndex}"] = output.clone().DetachFromDisposeScope();
        }

        public void Dispose()
        {
            foreach (var t in Outputs.Values)
            {
                t.Dispose();
            }
        }
    }

    private static List<PromptBatch> Batches(Device device)
    {
        var result = new List<PromptBatch>();
        for (var i = 0; i < 2; i++)
        {
            using var clean = TransformerPatchingTests.Tokens(10 + i, batch: 4, seq: 5);
            using var corrupt = TransformerPatchingTests.Tokens(20 + i, batch: 4, seq: 5);
            result.Add(new PromptBatch(
                i, clean.to(device), corrupt.to(device),
                new AnswerSet(torch.tensor(new long[] { 3, 7, 11, 13 }, [4, 1], device: device)),
                new AnswerSet(torch.tensor(new long[] { 5, 9, 12, 20 }, [4, 1], device: device))));
        }

        return result;
    }
}
