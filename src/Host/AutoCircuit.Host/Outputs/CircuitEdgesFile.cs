using System.ComponentModel;

namespace AutoCircuit.Host.Outputs;

/// <summary><c>circuits/&lt;key&gt;.edges.json</c>: the edge set of every circuit the selection stage chose.</summary>
[Description("circuits/<key>.edges.json: the edges of every circuit the selection stage chose (written when the selection is not auto-circuit's).")]
internal sealed record CircuitEdgesFile
{
    [Description("The algorithm whose scores define the circuits.")]
    public required string Algorithm { get; init; }

    [Description("edge or tree: how the circuits were patched (the edge sets are the circuits either way).")]
    public required string PatchType { get; init; }

    [Description("auto-circuit or mib.")]
    public required string Protocol { get; init; }

    [Description("How the circuits were selected.")]
    public required CircuitSelectionInfo Selection { get; init; }

    [Description("Edges of the graph.")]
    public required int GraphEdges { get; init; }

    [Description("One entry per circuit, in increasing requested size.")]
    public required IReadOnlyList<CircuitEdgesEntry> Circuits { get; init; }
}

/// <summary>One selected circuit's edges.</summary>
[Description("One selected circuit.")]
internal sealed record CircuitEdgesEntry
{
    [Description("The circuit size asked for.")]
    public required int Requested { get; init; }

    [Description("Edges in the circuit (after pruning and node expansion).")]
    public required int Edges { get; init; }

    [Description("Nodes (components) the circuit touches.")]
    public required int Nodes { get; init; }

    [Description("The circuit's edges, \"src->dest\" (with \"@position\" on a token-position graph), in flat score order.")]
    public required IReadOnlyList<string> EdgeNames { get; init; }
}
