using System.ComponentModel;

namespace AutoCircuit.Host.Outputs;

/// <summary>How circuits were selected from the scores (circuits/&lt;key&gt;.json and .edges.json).</summary>
[Description("How the circuits were selected from the scores (--select, --absolute/--signed, --prune, --level).")]
internal sealed record CircuitSelectionInfo
{
    [Description("top-k (the k best-scored edges) or greedy (EAP-IG's apply_greedy, from the logits up).")]
    public required string Method { get; init; }

    [Description("Whether edges were ranked by |score| (true) or by the signed score (false).")]
    public required bool Absolute { get; init; }

    [Description("Whether edges not on a path from the input to the logits inside the circuit were dropped (to a fixed point).")]
    public required bool Prune { get; init; }

    [Description("edge, or node (every node touched by a selected edge is in, with every edge between nodes that are in).")]
    public required string Level { get; init; }
}
