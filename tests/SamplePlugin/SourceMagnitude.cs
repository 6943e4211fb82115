using AutoCircuit;
using AutoCircuit.Patching;
using AutoCircuit.Scores;
using TorchSharp;

namespace SamplePlugin;

/// <summary>Options of <see cref="SourceMagnitude"/>: declared once, bound from <c>-a key:normalize=true</c> and score files.</summary>
[AlgorithmOptions]
public sealed record SourceMagnitudeOptions
{
    /// <summary>Divide every score by the largest |score|.</summary>
    [Option("normalize", Description = "Divide every score by the largest |score|.")]
    public bool Normalize { get; init; }
}

/// <summary>
/// A sample third-party algorithm: each edge scores the magnitude of its source's mean clean activation, the same
/// for every head and position of its destination (with the default options, exactly what the built-in
/// activation-magnitude computes; the tests check that they agree).
/// </summary>
/// <remarks>
/// |mean| of a batch is not the mean of its parts' |mean|, so the algorithm keeps to the patch memory budget itself:
/// it records each batch's source outputs in chunks of prompts (<see cref="PatchableModelExtensions.RowChunks"/>: one
/// chunk without a budget) and takes the absolute value of the whole batch's mean.
/// </remarks>
[PruneAlgorithm(
    "sample-source-magnitude",
    Name = "Source magnitude (sample plugin)",
    Description = "|mean clean activation| of each edge's source.",
    MemoryBudget = MemoryBudgetSupport.ChunksItself)]
public sealed class SourceMagnitude(SourceMagnitudeOptions options) : IPruneAlgorithm
{
    /// <inheritdoc />
    public PruneScores Run(PruneContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var scores = context.Model.NewPruneScores();
        using var _ = torch.inference_mode();
        foreach (var batch in context.TrainBatches)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            using var scope = torch.NewDisposeScope();
            var magnitudes = SignedMean(context.Model, batch).abs() / context.TrainBatches.Count; // [n_src]
            foreach (var destination in scores.Destinations)
            {
                destination.AddPerGraphSource(magnitudes); // the same for every head and position
            }
        }

        if (options.Normalize)
        {
            using var flat = scores.Flatten();
            using var magnitude = flat.abs();
            using var largest = magnitude.max();
            foreach (var destination in scores.Destinations)
            {
                destination.Tensor.div_(largest);
            }
        }

        return scores;
    }

    /// <summary>Each source's clean output averaged over prompts, positions and features: <c>[n_src]</c>.</summary>
    private static torch.Tensor SignedMean(IPatchableModel model, AutoCircuit.Data.PromptBatch batch)
    {
        var chunks = model.RowChunks(batch); // one chunk (the whole batch) unless the budget is smaller
        if (chunks.Count == 1)
        {
            return model.SourceAblations(batch.Clean).mean([1L, 2L, 3L]); // [n_src, batch, seq, d] -> [n_src]
        }

        var sum = torch.zeros(model.Graph.Srcs.Count, device: model.Device); // [n_src]
        var count = 0L;
        foreach (var (start, rows) in chunks)
        {
            var outputs = model.SourceAblations(batch.Clean.narrow(0, start, rows)); // [n_src, rows, seq, d]
            sum.add_(outputs.sum([1L, 2L, 3L]));
            count += outputs.numel() / outputs.shape[0];
        }

        return sum / count;
    }
}
