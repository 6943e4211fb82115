using AutoCircuit.Graph;

namespace AutoCircuit.Engine.Hooks;

/// <summary>The source and destination nodes a model family defines for one kind of graph.</summary>
/// <param name="Srcs">Source nodes, indexed 0..n_src-1.</param>
/// <param name="Dests">Destination nodes in the model's module order.</param>
public sealed record GraphNodes(IReadOnlyList<SrcNode> Srcs, IReadOnlyList<DestNode> Dests);
