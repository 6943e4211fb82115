using AutoCircuit.Graph;
using AutoCircuit.Patching;
using AutoCircuit.Scores;
using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Algorithms.InformationFlowRoutes;

/// <summary>
/// Information flow routes (Ferrando and Voita, 2024, "Information Flow Routes: Automatically Interpreting Language
/// Models at Scale", https://arxiv.org/abs/2403.00824; EAP-IG's <c>get_scores_information_flow_routes</c>): an edge's
/// importance is how close its source's output <c>z</c> is to its destination's whole input <c>y</c> on the clean run,
/// <c>proximity = max(‖y‖₁ − ‖y − z‖₁, 0)</c>, normalised over the destination's incoming sources (at each prompt,
/// position and head) so that they sum to 1. A score is the mean over prompts of the mean over positions (per position
/// with token positions). No metric, no counterfactual: only the clean prompts are used.
/// </summary>
/// <remarks>
/// The sources are our graph's: <c>Resid Start</c> is the token plus positional embedding, where EAP-IG's input node is
/// the token embedding alone; biases added to the residual stream (e.g. the attention output bias) belong to no source.
/// Every position counts (prompts of a batch have one length; EAP-IG masks right padding). Where every proximity of a
/// destination is 0 its importances are 0, where EAP-IG would divide 0 by 0.
/// <para>Batch-separable (<see cref="MemoryBudgetSupport.BatchSeparable"/>): each prompt's importances depend on that
/// prompt alone and the scores are their mean over prompts, so the mean of the scores on equal parts of every batch is
/// the scores on the whole batches. It patches nothing, but it does run forward passes on the batches and holds every
/// source's output, one <c>[n_src, batch, seq, d]</c> buffer, so <see cref="MemoryBudgetSupport.NoPatching"/> would
/// be untrue: under a budget the host runs it on parts of the batches that fit.</para>
/// </remarks>
[PruneAlgorithm(
    "information-flow-routes",
    Name = "Information Flow Routes",
    ShortName = "IFR",
    Description = "Attribution by proximity of each source's output to its destination's input on the clean run " +
        "(Ferrando and Voita, 2024): no metric and no corrupt prompts.",
    MemoryBudget = MemoryBudgetSupport.BatchSeparable)]
public sealed class InformationFlowRoutes : IPruneAlgorithm
{
    /// <inheritdoc />
    public PruneScores Run(PruneContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var model = context.Model;
        if (model is not IActivationIntervention intervene)
        {
            throw new NotSupportedException(
                $"information-flow-routes reads activations as they pass hook points, which {model.GetType().Name} does " +
                "not support (IActivationIntervention).");
        }

        var graph = model.Graph;
        var srcByName = graph.SrcModules.ToDictionary(m => m.ModuleName, StringComparer.Ordinal);
        var destByName = graph.DestModules.ToDictionary(m => m.ModuleName, StringComparer.Ordinal);
        var prompts = (double)context.TrainBatches.Sum(b => b.Size);
        var scores = model.NewPruneScores();
        using var inference = torch.inference_mode();
        using var progress = context.Progress.Start("Information flow routes", context.TrainBatches.Count);
        foreach (var batch in context.TrainBatches)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            using var scope = torch.NewDisposeScope();
            Tensor? outputs = null; // [S, B, T, d]: every source's output so far (ours: the pass frees what hooks create)
            try
            {
                using var output = intervene.ForwardWithIntervention(batch.Clean, (name, x) =>
                {
                    if (destByName.TryGetValue(name, out var dest))
                    {
                        using var destScope = torch.NewDisposeScope(); // one destination's temporaries at a time
                        scores.For(dest).Add(Importance(dest, x, outputs!) / prompts);
                    }

                    if (srcByName.TryGetValue(name, out var src))
                    {
                        outputs ??= torch.zeros(
                            [graph.Srcs.Count, x.size(0), x.size(1), x.shape[^1]], dtype: x.dtype, device: x.device)
                            .DetachFromDisposeScope();
                        using var slots = outputs.narrow(0, src.SrcStart, src.Count);
                        using var moved = src.HeadDim is null ? x.unsqueeze(0) : x.movedim([2L], [0L]);
                        slots.copy_(moved);
                    }

                    return x;
                });
            }
            finally
            {
                outputs?.Dispose();
            }

            progress.Advance();
        }

        return scores;
    }

    /// <summary>
    /// The importances of a destination's incoming sources summed over prompts, <c>[seq?][head?][src]</c>, from its
    /// input <c>[B, T, head?, d]</c> and the source outputs <c>[S, B, T, d]</c>.
    /// </summary>
    private static Tensor Importance(DestinationModule dest, Tensor input, Tensor outputs)
    {
        var (b, t) = (input.size(0), input.size(1));
        var y = (dest.HasHeadAxis ? input : input.unsqueeze(2)).reshape(b * t, -1, input.shape[^1]); // [B*T, H, d]
        var z = outputs.narrow(0, dest.InSrcStart, dest.InSrcCount) // [S, B, T, d]
            .permute(1, 2, 0, 3).reshape(b * t, dest.InSrcCount, -1); // [B*T, S, d]
        var distance = torch.cdist(y, z.to_type(y.dtype), p: 1); // [B*T, H, S]: ‖y − z‖₁
        var proximity = (y.abs().sum(-1, keepdim: true) - distance).clamp_min(0);
        var total = proximity.sum(-1, keepdim: true);
        var importance = torch.where(total > 0, proximity / total, torch.zeros_like(proximity))
            .view(b, t, -1, dest.InSrcCount); // [B, T, H, S]
        var perPrompt = dest.SeqLen is null ? importance.mean([1L]).sum(0L) : importance.sum(0L); // [T?, H, S]
        return dest.HasHeadAxis ? perPrompt : perPrompt.squeeze(-2);
    }
}
