using System.ComponentModel;

namespace AutoCircuit.Host.Outputs;

/// <summary>One circuit size of an evaluation (circuits/&lt;key&gt;.json and compare.json).</summary>
[Description("The metrics of one circuit: the top edges by |score|, patched.")]
internal sealed record CircuitSizeResult
{
    [Description("The circuit size asked for.")]
    public required int Requested { get; init; }

    [Description("The edges patched (more than requested when scores tie at the boundary).")]
    public required int Edges { get; init; }

    [Description("Every prune metric by key (e.g. logit-diff-percent); null where undefined.")]
    public required IReadOnlyDictionary<string, double?> Metrics { get; init; }
}
