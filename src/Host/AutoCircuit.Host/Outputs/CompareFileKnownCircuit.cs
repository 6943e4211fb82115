using System.ComponentModel;

namespace AutoCircuit.Host.Outputs;

/// <summary>The <c>"known_circuit"</c> object of compare.json.</summary>
[Description("The known circuit the ROC curves are measured against.")]
internal sealed record CompareFileKnownCircuit
{
    [Description("Where it came from: a file (--circuit) or 'task <key>'.")]
    public required string? Source { get; init; }

    [Description("Its edges.")]
    public required int Edges { get; init; }
}
