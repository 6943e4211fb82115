namespace AutoCircuit.Graph;

/// <summary>
/// A node whose output feeds edges. <see cref="SrcIndex"/> is its slot in the shared source-output
/// buffer <c>[n_src, batch, seq, d]</c>: global, 0..n_src-1, ordered by layer.
/// </summary>
public sealed record SrcNode(
    string Name,
    string ModuleName,
    int Layer,
    int SrcIndex,
    int? HeadIndex = null,
    int? HeadDim = null,
    string? Weight = null,
    int? WeightHeadDim = null)
    : Node(Name, ModuleName, Layer, HeadIndex, HeadDim, Weight, WeightHeadDim)
{
    /// <inheritdoc />
    public override string ToString() => Name;
}
