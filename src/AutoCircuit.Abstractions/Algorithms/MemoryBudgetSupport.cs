namespace AutoCircuit;

/// <summary>
/// How a prune algorithm keeps to the patch memory budget (<c>--max-patch-memory</c>, see
/// <see cref="Patching.IPatchMemoryBudget"/>), declared with <see cref="PruneAlgorithmAttribute.MemoryBudget"/>.
/// A budget the algorithm does not know about is silently exceeded, so the generator warns (<c>ACG0014</c>) about an
/// algorithm that declares nothing and never calls the chunking API.
/// </summary>
public enum MemoryBudgetSupport
{
    /// <summary>
    /// Nothing declared. The generator warns (<c>ACG0014</c>) unless the class calls the chunking API
    /// (<see cref="Patching.PatchableModelExtensions.RowChunks"/>, <see cref="Patching.ChunkedAblations"/>,
    /// <see cref="Patching.IPatchMemoryBudget.MaxPatchRows"/>), in which case the registry records
    /// <see cref="ChunksItself"/>. The host warns when a budget would be exceeded.
    /// </summary>
    Undeclared = 0,

    /// <summary>
    /// The algorithm's scores are linear in its batches' prompts: running it on the j-th equal part of every batch,
    /// for each j, and averaging those scores gives its scores on the whole batches (true of gradient attributions
    /// at fixed masks such as EAP, and of sums or means over batches of per-prompt means; false of anything that
    /// trains on the batches, takes a non-linear function of a batch statistic, or draws random numbers). Under a
    /// budget the host then does exactly that (<see cref="MemoryBudgetRunner.Run"/>), so the algorithm never sees
    /// more prompts per batch than fit, and needs no chunking code of its own.
    /// </summary>
    BatchSeparable = 1,

    /// <summary>
    /// The algorithm patches each batch in chunks of at most <see cref="Patching.IPatchMemoryBudget.MaxPatchRows"/>
    /// prompts itself (<see cref="Patching.PatchableModelExtensions.RowChunks"/>, <see cref="Patching.ChunkedAblations"/>).
    /// </summary>
    ChunksItself = 2,

    /// <summary>The algorithm runs no forward pass on the batches (e.g. random or known-circuit scores): there is nothing to bound.</summary>
    NoPatching = 3,

    /// <summary>
    /// The algorithm patches whole batches whatever the budget (e.g. it trains on them). Declaring it is honest: when
    /// a budget is set and a batch does not fit, the host warns that this algorithm will exceed it.
    /// </summary>
    Unsupported = 4,
}
