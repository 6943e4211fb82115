using System.ComponentModel;

namespace AutoCircuit.Host.Outputs;

/// <summary>The agreement of two algorithms in compare.json.</summary>
[Description("The agreement of two algorithms.")]
internal sealed record CompareFileAgreementPair
{
    [Description("The first algorithm's label.")]
    public required string A { get; init; }

    [Description("The second algorithm's label.")]
    public required string B { get; init; }

    [Description("Spearman rank correlation of |score|; null where undefined.")]
    public required double? Spearman { get; init; }

    [Description("Overlap of their top-k circuits, per k.")]
    public required IReadOnlyList<CompareFileTopKOverlap> TopK { get; init; }
}
