using System.ComponentModel;

namespace AutoCircuit.Host.Outputs;

/// <summary>The <c>"graph"</c> object of evaluate.json.</summary>
[Description("The computational graph the scores are read into.")]
internal sealed record EvaluateFileGraph
{
    [Description("Factorized (every source feeds every later destination) or residual (the previous layer only).")]
    public required bool Factorized { get; init; }

    [Description("Token positions of the graph (one edge per position), or null.")]
    public required int? SeqLen { get; init; }

    [Description("Edges (all token positions).")]
    public required int Edges { get; init; }

    [Description("Which part of the output tasks are measured on (e.g. LastSeq).")]
    public required string OutputSlice { get; init; }
}
