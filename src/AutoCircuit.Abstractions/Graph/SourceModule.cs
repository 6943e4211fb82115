namespace AutoCircuit.Graph;

/// <summary>
/// One source module (hook point): its nodes occupy the contiguous slots
/// <c>SrcStart .. SrcStart + Nodes.Count - 1</c> of the shared source-output buffer.
/// </summary>
/// <param name="ModuleName">Hook point name, e.g. <c>blocks.0.attn.hook_result</c>.</param>
/// <param name="Nodes">Source nodes of the module, ordered by source index.</param>
/// <param name="SrcStart">Source index of the first node.</param>
/// <param name="HeadDim">Axis of the module's output holding heads, or <c>null</c> for a single node.</param>
public sealed record SourceModule(string ModuleName, IReadOnlyList<SrcNode> Nodes, int SrcStart, int? HeadDim)
{
    /// <summary>Number of source slots the module writes.</summary>
    public int Count => Nodes.Count;
}
