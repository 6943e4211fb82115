using AutoCircuit;
using AutoCircuit.Data;
using AutoCircuit.Patching;
using AutoCircuit.Scores;
using TorchSharp;

namespace MyPlugin;

/// <summary>
/// Scores each edge by the magnitude of its source's mean clean activation, raised to <c>power</c>: the same for
/// every head and token position of the destination. With <c>power=1</c> it ranks edges as the built-in
/// <c>activation-magnitude</c> does (the tests check it with AutoCircuit.Testing).
/// </summary>
[PruneAlgorithm(
    "my-magnitude",
    Name = "My magnitude",
    Description = "|mean clean activation| of each edge's source, raised to a power.",
    // |mean| of a batch is not the mean of its parts' |mean|: the algorithm splits batches itself (RowChunks), so
    // it keeps to --max-patch-memory.
    MemoryBudget = MemoryBudgetSupport.ChunksItself)]
public sealed class MyMagnitude(MyMagnitudeOptions options) : IPruneAlgorithm
{
    /// <inheritdoc />
    public PruneScores Run(PruneContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var scores = context.Model.NewPruneScores(); // zeros: one typed tensor per destination
        using var _ = torch.inference_mode();
        var sum = torch.zeros(context.Graph.Srcs.Count, device: context.Device); // [n_src]
        foreach (var batch in context.TrainBatches)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            using var scope = torch.NewDisposeScope();
            sum.add_(SignedMean(context.Model, batch).abs());
        }

        using (sum)
        {
            using var magnitudes = (sum / context.TrainBatches.Count).pow(options.Power); // [n_src]
            foreach (var destination in scores.Destinations)
            {
                destination.AddPerGraphSource(magnitudes); // every head and position gets its source's value
            }
        }

        context.Log($"my-magnitude: {context.TrainBatches.Count} batches, power {options.Power}");
        return scores;
    }

    /// <summary>Each source's clean output averaged over prompts, positions and features: <c>[n_src]</c>.</summary>
    private static torch.Tensor SignedMean(IPatchableModel model, PromptBatch batch)
    {
        var sum = torch.zeros(model.Graph.Srcs.Count, device: model.Device); // [n_src]
        var count = 0L;
        foreach (var (start, rows) in model.RowChunks(batch)) // one chunk (the whole batch) without a memory budget
        {
            var outputs = model.SourceAblations(batch.Clean.narrow(0, start, rows)); // [n_src, rows, seq, d]
            sum.add_(outputs.sum([1L, 2L, 3L]));
            count += outputs.numel() / outputs.shape[0];
        }

        return sum / count;
    }
}
