using AutoCircuit.Graph;
using AutoCircuit.Patching;
using AutoCircuit.Scores;
using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Algorithms;

/// <summary>
/// One forward and backward pass of a gradient attribution: the output that replaces a source module's activation, or
/// <c>null</c> to keep it. <paramref name="clean"/> and <paramref name="ablation"/> are the module's activations on the
/// clean prompts and their ablation, shaped like the activation (<c>[batch, seq, head?, d]</c>).
/// </summary>
internal delegate Tensor? SourceReplacement(SourceModule module, Tensor clean, Tensor ablation);

/// <summary>
/// The computation EAP-IG's gradient methods share (<c>eap/attribute.py</c>, <c>make_hooks_and_matrices</c>): per batch
/// the activation differences <c>ablation − clean</c> of every source, a list of passes on the clean prompts with some
/// source outputs replaced, and per edge <c>Σ_passes grad_dest · (ablation − clean)_src</c> over prompts, positions
/// (unless the graph has token positions) and the hidden axis, divided by the number of prompts and of passes.
/// </summary>
/// <remarks>
/// EAP-IG adds each pass's product from a backward hook; the product is linear in the gradient, so here the
/// destinations' gradients are summed over the passes and multiplied once per batch (the same sum in another order).
/// Each batch's loss (a mean over its prompts) is weighted by its share of all prompts: the scores are EAP-IG's with a
/// metric summed over prompts divided by <c>total_items</c>. Under a memory budget (<see cref="IPatchMemoryBudget"/>)
/// each batch is processed in chunks of prompts (<see cref="PatchableModelExtensions.RowChunks"/>), each chunk's loss
/// weighted by its share, with the batch-mean ablations of the whole batch (<see cref="ChunkedAblations"/>) and dataset
/// means over every batch: the scores are those of the unchunked run. The algorithms built on it declare
/// <see cref="MemoryBudgetSupport.ChunksItself"/>; they are not batch-separable, since a batch or dataset mean ablation
/// is a statistic of the batches (a part's mean is not the batch's).
/// </remarks>
internal static class EdgeGradients
{
    public static PruneScores Run(
        PruneContext context, GradientAttributionOptions o, string title, IReadOnlyList<SourceReplacement> passes)
    {
        var model = context.Model;
        var graph = model.Graph;
        if (model is not IActivationIntervention intervene)
        {
            throw new NotSupportedException(
                $"{title} replaces activations at hook points, which {model.GetType().Name} does not support " +
                "(IActivationIntervention).");
        }

        var batches = context.TrainBatches;
        var prompts = (double)batches.Sum(b => b.Size);
        var srcByName = graph.SrcModules.ToDictionary(m => m.ModuleName, StringComparer.Ordinal);
        var destByName = graph.DestModules.ToDictionary(m => m.ModuleName, StringComparer.Ordinal);
        using var datasetMean = o.Ablation.IsMeanOverDataset() ? model.SourceAblations(batches, o.Ablation) : null;
        var scores = model.NewPruneScores();
        long hidden = 1;
        using var progress = context.Progress.Start(title, (long)batches.Count * passes.Count);
        foreach (var batch in batches)
        {
            // Chunks of prompts under the memory budget; batch means are taken over the whole batch, dataset means over
            // every batch, so the scores do not depend on the chunking.
            var chunks = model.RowChunks(batch);
            using var ablations = datasetMean is not null
                ? ChunkedAblations.FromDatasetMean(model, datasetMean)
                : ChunkedAblations.Create(model, o.Ablation == AblationType.Zero ? batch.Clean : batch.Corrupt, o.Ablation, chunks);
            foreach (var (start, count) in chunks)
            {
                context.CancellationToken.ThrowIfCancellationRequested();
                using var scope = torch.NewDisposeScope();
                using var rows = count == batch.Size ? null : batch.Rows(start, count);
                var part = rows ?? batch;
                var clean = model.SourceAblations(part.Clean, AblationType.Resample); // [S, b, T, d]
                var ablation = ablations.For(start, count); // [S, b, T, d]
                hidden = clean.size(-1);
                var sums = new Tensor?[graph.DestModules.Count];
                foreach (var pass in passes)
                {
                    using var passScope = torch.NewDisposeScope(); // frees each pass's activations and graph
                    using var grad = torch.enable_grad();
                    var held = new Dictionary<DestinationModule, Tensor>();
                    try
                    {
                        var output = intervene.ForwardWithIntervention(part.Clean, (name, x) =>
                        {
                            if (destByName.TryGetValue(name, out var dest))
                            {
                                // A node of its own on the graph, so its gradient is the total derivative after this
                                // point; ours until autograd.grad (the pass frees what its hooks create).
                                var leaf = (x.requires_grad ? x.clone() : x.detach().requires_grad_(true))
                                    .DetachFromDisposeScope();
                                held[dest] = leaf;
                                x = leaf.alias();
                            }

                            return srcByName.TryGetValue(name, out var src)
                                && pass(src, Activation(clean, src), Activation(ablation, src)) is { } r
                                ? r.to_type(x.dtype).alias()
                                : x;
                        });
                        using var values = Objective.TokenValues(model.SliceOutput(output), o.GradFunction);
                        var loss = Objective.Loss(values, part, o.AnswerFunction) * (count / prompts);
                        var leaves = held.Keys.ToList();
                        var grads = torch.autograd.grad([loss], [.. leaves.Select(d => held[d])], allow_unused: true);
                        for (var i = 0; i < leaves.Count; i++)
                        {
                            if (grads[i].IsInvalid)
                            {
                                continue; // the loss does not depend on this destination in this pass
                            }

                            var m = leaves[i].Index;
                            sums[m] = sums[m] is null ? grads[i].MoveToOuterDisposeScope() : sums[m]!.add_(grads[i]);
                        }
                    }
                    finally
                    {
                        foreach (var leaf in held.Values)
                        {
                            leaf.Dispose();
                        }
                    }
                }

                using var noGrad = torch.no_grad();
                foreach (var dest in graph.DestModules)
                {
                    if (sums[dest.Index] is { } g)
                    {
                        var (first, n) = (dest.InSrcStart, dest.InSrcCount);
                        var diff = ablation.narrow(0, first, n) - clean.narrow(0, first, n); // [S_in, b, T, d]
                        scores.For(dest).Add(torch.einsum(Equation(dest), g, diff.to_type(g.dtype)));
                    }
                }
            }

            progress.Advance(passes.Count);
        }

        using (torch.no_grad())
        {
            foreach (var d in scores.Destinations)
            {
                d.Tensor.div_(o.Aggregation == Aggregation.Mean ? passes.Count * (double)hidden : passes.Count);
            }
        }

        return scores;
    }

    /// <summary>A source module's slots of a <c>[n_src, batch, seq, d]</c> buffer, shaped like its activation.</summary>
    private static Tensor Activation(Tensor buffer, SourceModule module) =>
        module.HeadDim is null
            ? buffer.select(0, module.SrcStart) // [b, T, d]
            : buffer.narrow(0, module.SrcStart, module.Count).movedim([0L], [2L]); // [b, T, H, d]

    /// <summary>Gradient <c>[b, T, head?, d]</c> times differences <c>[src, b, T, d]</c> to the mask's axes.</summary>
    private static string Equation(DestinationModule dest)
    {
        var head = dest.HasHeadAxis ? "h" : string.Empty;
        var seq = dest.SeqLen is null ? string.Empty : "t";
        return $"bt{head}d,sbtd->{seq}{head}s";
    }
}
