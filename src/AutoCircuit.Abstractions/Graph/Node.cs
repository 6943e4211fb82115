namespace AutoCircuit.Graph;

/// <summary>
/// A node of the computational graph used for ablation (auto-circuit's <c>Node</c>).
/// </summary>
/// <param name="Name">Display name, e.g. <c>A0.3</c>, <c>MLP 1</c>, <c>Resid End</c>.</param>
/// <param name="ModuleName">Name of the hook point the node lives at, e.g. <c>blocks.0.attn.hook_result</c>.
/// Several nodes can share a module (one per attention head).</param>
/// <param name="Layer">Graph layer. Transformer blocks count as two layers (attention, then MLP).</param>
/// <param name="HeadIndex">Index of the head within the module, or <c>null</c> for a module with one node.</param>
/// <param name="HeadDim">Axis of the module's activation that holds the heads (2 for <c>[batch, seq, head, d]</c>).</param>
/// <param name="Weight">Name of the weight matrix behind the node (informational).</param>
/// <param name="WeightHeadDim">Axis of <paramref name="Weight"/> that indexes heads (informational).</param>
public abstract record Node(
    string Name,
    string ModuleName,
    int Layer,
    int? HeadIndex = null,
    int? HeadDim = null,
    string? Weight = null,
    int? WeightHeadDim = null)
{
    /// <inheritdoc />
    public override string ToString() => Name;
}
