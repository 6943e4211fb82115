using AutoCircuit.Data;
using static TorchSharp.torch;

namespace AutoCircuit.Patching;

/// <summary>Helpers built on <see cref="IPatchableModel"/> that several algorithms need.</summary>
public static class PatchableModelExtensions
{
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
