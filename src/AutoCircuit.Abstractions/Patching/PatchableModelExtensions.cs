using AutoCircuit.Data;
using static TorchSharp.torch;

namespace AutoCircuit.Patching;

/// <summary>Helpers built on <see cref="IPatchableModel"/> that several algorithms need.</summary>
public static class PatchableModelExtensions
{
    /// <summary>
    /// The chunks of prompts (<c>start</c>, <c>count</c>) to patch <paramref name="batch"/> in under the model's memory
    /// budget (<see cref="IPatchMemoryBudget"/>): one chunk of the whole batch without a budget.
    /// </summary>
    public static IReadOnlyList<(long Start, long Count)> RowChunks(this IPatchableModel model, PromptBatch batch)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(batch);
        var size = batch.Size;
        var rows = model is IPatchMemoryBudget budget && budget.MaxPatchRows(batch) is int r ? Math.Max(1, r) : size;
        if (rows >= size)
        {
            return [(0, size)];
        }

        var chunks = new List<(long, long)>();
        for (long start = 0; start < size; start += rows)
        {
            chunks.Add((start, Math.Min(rows, size - start)));
        }

        return chunks;
    }

    /// <summary>
    /// Ablations for every batch (auto-circuit's <c>batch_src_ablations</c>): dataset means are computed
    /// once and shared; zero ablation ignores <paramref name="fromClean"/>; the batch-wise types are
    /// computed from the clean or the corrupt inputs of each batch.
    /// The caller owns the returned tensors (dispose them, or the dictionary's values, when done).
    /// </summary>
    public static Dictionary<int, Tensor> BatchSourceAblations(
        this IPatchableModel model, IReadOnlyList<PromptBatch> batches, AblationType type, bool fromClean)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(batches);
        var result = new Dictionary<int, Tensor>(batches.Count);
        if (type.IsMeanOverDataset())
        {
            var mean = model.SourceAblations(batches, type);
            foreach (var batch in batches)
            {
                result[batch.Key] = mean.alias().DetachFromDisposeScope();
            }

            mean.Dispose();
            return result;
        }

        foreach (var batch in batches)
        {
            var input = type == AblationType.Zero ? batch.Clean : batch.Input(fromClean);
            result[batch.Key] = model.SourceAblations(input, type).DetachFromDisposeScope();
        }

        return result;
    }
}
