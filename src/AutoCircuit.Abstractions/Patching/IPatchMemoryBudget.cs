using AutoCircuit.Data;

namespace AutoCircuit.Patching;

/// <summary>
/// Optional capability of a patchable model (test with <c>model is IPatchMemoryBudget</c>): a memory budget for the
/// source-output buffers (<c>[n_src, batch, seq, d]</c>: patch activations and the engine's working buffers). An
/// algorithm that patches whole batches processes each batch in chunks of at most <see cref="MaxPatchRows"/> prompts
/// and combines the chunks so that its results equal the unchunked run (e.g. a mean over prompts becomes a sum of
/// chunk means weighted by chunk size). <see cref="PatchableModelExtensions.RowChunks"/> does the splitting.
/// </summary>
public interface IPatchMemoryBudget
{
    /// <summary>
    /// The most prompts of <paramref name="batch"/> whose source-output buffers fit the budget for the forward (and
    /// backward) pass the model is set up for now (masks trainable or not, mask values, mask function), at least 1;
    /// <c>null</c> when there is no budget. Call it after setting the masks for the pass.
    /// </summary>
    int? MaxPatchRows(PromptBatch batch);
}
