using System.ComponentModel;

namespace AutoCircuit.Host.Outputs;

/// <summary>The MIB circuit track's measures of one algorithm (circuits/&lt;key&gt;.json under <c>"mib"</c>).</summary>
[Description("The MIB circuit track's measures (--protocol mib): faithfulness at fractions of the edges, CPR and CMD.")]
internal sealed record MibInfo
{
    [Description("The task metric faithfulness is computed from (a metric key, e.g. logit-diff).")]
    public required string Metric { get; init; }

    [Description("The fractions of the graph's edges, in increasing order.")]
    public required IReadOnlyList<double> Fractions { get; init; }

    [Description("Per fraction, the circuit size asked for: int(fraction * edges).")]
    public required IReadOnlyList<int> Requested { get; init; }

    [Description("Per fraction, (circuit - empty) / (full - empty) of the metric; null where undefined (full = empty).")]
    public required IReadOnlyList<double?> Faithfulness { get; init; }

    [Description("Area under the faithfulness curve over the fraction axis (trapezoids); higher is better; null where undefined.")]
    public required double? Cpr { get; init; }

    [Description("Area under |1 - faithfulness| over the fraction axis (trapezoids); lower is better; null where undefined.")]
    public required double? Cmd { get; init; }

    [Description("Per fraction, the edges left in the circuit after selection and pruning (each edge weighs one).")]
    public required IReadOnlyList<double> WeightedEdgeCount { get; init; }

    [Description("The metric on the full model (clean input); null where undefined.")]
    public required double? Full { get; init; }

    [Description("The metric of the empty circuit (every edge ablated); null where undefined.")]
    public required double? Empty { get; init; }
}
