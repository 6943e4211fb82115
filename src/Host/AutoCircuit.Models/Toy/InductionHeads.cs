namespace AutoCircuit.Models.Toy;

/// <summary>The heads of the induction mechanism, found from their attention scores.</summary>
/// <param name="PreviousToken">Layer-0 heads with a previous-token score of at least the head threshold (0.5).</param>
/// <param name="Induction">Layer-1 heads with an induction score of at least the head threshold (0.5).</param>
public sealed record InductionHeads(IReadOnlyList<int> PreviousToken, IReadOnlyList<int> Induction);
