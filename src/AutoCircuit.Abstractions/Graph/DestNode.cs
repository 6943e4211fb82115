namespace AutoCircuit.Graph;

/// <summary>
/// A node whose input is the sum of incoming edges. In the residual (unfactorized) graph its
/// incoming sources are <c>MinSrcIndex ..</c> (the previous layer); in the factorized graph
/// <see cref="MinSrcIndex"/> is 0 and every source of an earlier layer feeds it.
/// </summary>
public sealed record DestNode(
    string Name,
    string ModuleName,
    int Layer,
    int? HeadIndex = null,
    int? HeadDim = null,
    string? Weight = null,
    int? WeightHeadDim = null,
    int MinSrcIndex = 0)
    : Node(Name, ModuleName, Layer, HeadIndex, HeadDim, Weight, WeightHeadDim)
{
    /// <inheritdoc />
    public override string ToString() => Name;
}
