using System.ComponentModel;

namespace AutoCircuit.Host.Outputs;

/// <summary>The <c>"agreement"</c> object of compare.json.</summary>
[Description("Pairwise agreement of the algorithms that produced scores.")]
internal sealed record CompareFileAgreement
{
    [Description("The circuit sizes of the top-k overlaps.")]
    public required IReadOnlyList<int> Ks { get; init; }

    [Description("One entry per pair of algorithms.")]
    public required IReadOnlyList<CompareFileAgreementPair> Pairs { get; init; }
}
