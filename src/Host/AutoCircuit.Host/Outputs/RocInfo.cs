using System.ComponentModel;

namespace AutoCircuit.Host.Outputs;

/// <summary>The <c>"roc"</c> object of circuits/&lt;key&gt;.json and compare.json.</summary>
[Description("The ROC curve of the scores against the known circuit.")]
internal sealed record RocInfo
{
    [Description("Area under the ROC curve.")]
    public required double Auc { get; init; }

    [Description("Area under the ROC curve when tied scores rank known edges last.")]
    public required double PessimisticAuc { get; init; }

    [Description("The circuit size of each point.")]
    public required IReadOnlyList<int> EdgeCounts { get; init; }

    [Description("The curve's points as [false positive rate, true positive rate].")]
    public required IReadOnlyList<double[]> Points { get; init; }
}
