using System.ComponentModel;

namespace AutoCircuit.Host.Outputs;

/// <summary>The <c>"graph"</c> object of compare.json.</summary>
[Description("The computational graph the algorithms scored.")]
internal sealed record CompareFileGraph
{
    [Description("Factorized (every source feeds every later destination) or residual (the previous layer only).")]
    public required bool Factorized { get; init; }

    [Description("Token positions of the graph (one edge per position), or null.")]
    public required int? SeqLen { get; init; }

    [Description("Source nodes.")]
    public required int Srcs { get; init; }

    [Description("Destination nodes.")]
    public required int Dests { get; init; }

    [Description("Edges (all token positions).")]
    public required int Edges { get; init; }
}
