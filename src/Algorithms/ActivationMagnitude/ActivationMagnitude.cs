using AutoCircuit.Data;
using AutoCircuit.Patching;
using AutoCircuit.Scores;
using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Algorithms.ActivationMagnitude;

/// <summary>
/// Activation magnitude, auto-circuit's simplest baseline (<c>prune_algos/activation_magnitude.py</c>):
/// for each train batch, each source's clean output averaged over batch, positions and features
/// (signed mean); an edge scores <c>Σ_batches |mean(src)| / n_batches</c>, the same for every head
/// and position of its destination.
/// </summary>
/// <remarks>
/// auto-circuit gives every destination the first <c>n_in</c> sources (<c>src_out_means[:n_srcs]</c>),
/// which is right for the factorized graph (incoming sources are 0..n_in-1) but wrong for the
/// residual graph, where a destination's sources start at its <c>min_src_idx</c>. We use each
/// destination's true incoming sources, so the factorized results equal auto-circuit's and the
/// residual ones differ from them by design (tested both ways).
/// |mean| of a batch is not the mean of its parts' |mean|, so under a memory budget the batch's sum is taken over
/// chunks of prompts (<see cref="PatchableModelExtensions.RowChunks"/>) before the absolute value.
/// </remarks>
[PruneAlgorithm(
    "activation-magnitude",
    Name = "Activation Magnitude",
    ShortName = "Act Mag",
    Description = "Mean clean activation of each edge's source, |mean| averaged over batches. A cheap baseline that ignores the task's answers.",
    MemoryBudget = MemoryBudgetSupport.ChunksItself)]
[PruneAlgorithmPreset("Act Mag", "")]
public sealed class ActivationMagnitude : IPruneAlgorithm
{
    /// <inheritdoc />
    public PruneScores Run(PruneContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var model = context.Model;
        var batches = context.TrainBatches;
        var scores = model.NewPruneScores();
        using var _ = torch.inference_mode();
        using var progress = context.Progress.Start("Activation magnitude", batches.Count);
        var dtype = scores.Destinations.Count > 0 ? scores.Destinations[0].Tensor.dtype : ScalarType.Float32;
        Tensor? total = null; // [n_src]: the batches' magnitudes summed in the scores' dtype, in batch order
        try
        {
            foreach (var batch in batches)
            {
                context.CancellationToken.ThrowIfCancellationRequested();
                using var scope = torch.NewDisposeScope();
                var magnitudes = (SignedMean(model, batch).abs() / batches.Count).to_type(dtype); // [n_src]: |signed mean|
                total = total is null ? magnitudes.DetachFromDisposeScope() : total.add_(magnitudes);
                progress.Advance();
            }

            // Each edge gets its source's magnitude, the same for every head and position: added once per destination
            // (the same sums as adding each batch's, since the scores start at zero).
            foreach (var destination in total is null ? [] : scores.Destinations)
            {
                destination.AddPerGraphSource(total!);
            }
        }
        catch
        {
            scores.Dispose();
            throw;
        }
        finally
        {
            total?.Dispose();
        }

        return scores;
    }

    /// <summary>Each source's clean output averaged over prompts, positions and features: <c>[n_src]</c>.</summary>
    private static Tensor SignedMean(IPatchableModel model, PromptBatch batch)
    {
        var chunks = model.RowChunks(batch);
        if (chunks.Count == 1)
        {
            var outs = model.SourceAblations(batch.Clean, AblationType.Resample); // [n_src, batch, seq, d]
            return outs.mean(EveryAxisButSources(outs));
        }

        Tensor? sum = null; // [n_src]
        long count = 0;
        foreach (var (start, rows) in chunks)
        {
            using var part = batch.Clean.narrow(0, start, rows);
            using var outs = model.SourceAblations(part, AblationType.Resample); // [n_src, rows, seq, d]
            var partSum = outs.sum(EveryAxisButSources(outs));
            count += outs.numel() / outs.size(0);
            sum = sum is null ? partSum : sum.add_(partSum);
        }

        return sum! / count;
    }

    private static long[] EveryAxisButSources(Tensor outs) => Enumerable.Range(1, (int)outs.dim() - 1).Select(d => (long)d).ToArray();
}
