using AutoCircuit.Data;
using AutoCircuit.Graph;
using AutoCircuit.Patching;
using AutoCircuit.Scores;
using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Algorithms.Tests.EapIg;

/// <summary>
/// The slow, obvious form of one gradient pass of EAP-IG: per edge, <c>Σ grad_dest · (ablation − clean)_src</c> with the
/// gradient of the loss at a given model input, from <see cref="IActivationAccess"/> (no interventions, no einsum: a
/// loop over edges), each batch's loss weighted by its share of all prompts.
/// </summary>
internal static class GradientOracle
{
    /// <summary>
    /// The scores with the gradient taken at <paramref name="gradientInput"/>(batch, the batch's ablations
    /// <c>[n_src, B, T, d]</c>).
    /// </summary>
    public static PruneScores At(
        IPatchableModel model,
        IReadOnlyList<PromptBatch> batches,
        Func<PromptBatch, Tensor, Tensor> gradientInput,
        AblationType ablation,
        GradFunction gradFunction = GradFunction.Logit,
        AnswerFunction answerFunction = AnswerFunction.AvgDiff)
    {
        var access = (IActivationAccess)model;
        var graph = model.Graph;
        var destNames = graph.DestModules.Select(m => m.ModuleName).ToList();
        var prompts = (double)batches.Sum(b => b.Size);
        using var mean = ablation.IsMeanOverDataset() ? model.SourceAblations(batches, ablation) : null;
        var scores = model.NewPruneScores();
        foreach (var batch in batches)
        {
            using var scope = torch.NewDisposeScope();
            var clean = model.SourceAblations(batch.Clean, AblationType.Resample);
            var ablated = mean ?? model.SourceAblations(ablation == AblationType.Zero ? batch.Clean : batch.Corrupt, ablation);
            var grads = access.CaptureGradients(gradientInput(batch, ablated), destNames, output =>
            {
                using var sliced = model.SliceOutput(output);
                using var values = Objective.TokenValues(sliced, gradFunction);
                return Objective.Loss(values, batch, answerFunction) * (batch.Size / prompts);
            });
            try
            {
                using var noGrad = torch.no_grad();
                foreach (var edge in graph.Edges)
                {
                    var grad = Slice(grads[edge.Dest.ModuleName], edge.Dest); // [B, T, d]
                    var diff = ablated[edge.Src.SrcIndex] - clean[edge.Src.SrcIndex];
                    if (edge.SeqIndex is int s)
                    {
                        grad = grad.select(1, s);
                        diff = diff.select(1, s);
                    }

                    scores.For(edge.Dest.ModuleName)[edge].add_((grad * diff.to_type(grad.dtype)).sum());
                }
            }
            finally
            {
                foreach (var g in grads.Values)
                {
                    g.Dispose();
                }
            }
        }

        return scores;
    }

    /// <summary><c>(a + b) / 2</c> of two sets of scores, <paramref name="b"/> scaled by <paramref name="bScale"/> first.</summary>
    public static PruneScores Mean(PruneScores a, PruneScores b, double bScale = 1)
    {
        var result = PruneScores.Filled(a.Graph, 0, a[a.Graph.DestModules[0]].device);
        foreach (var d in result.Destinations)
        {
            using var sum = a[d.Name] + (b[d.Name] * bScale);
            using var half = sum / 2;
            d.CopyFrom(half);
        }

        return result;
    }

    private static Tensor Slice(Tensor activation, Node node) =>
        node.HeadIndex is int h ? activation.select(node.HeadDim ?? 2, h) : activation;
}
