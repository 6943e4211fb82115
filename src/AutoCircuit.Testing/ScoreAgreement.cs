namespace AutoCircuit.Testing;

/// <summary>How much two score sets of one graph agree (see <see cref="ScoreAssert.Agreement"/>).</summary>
/// <param name="K">The circuit size compared: the top <c>k</c> edges by <c>|score|</c> of each set.</param>
/// <param name="Shared">Edges in both top-k circuits (a circuit holds more than k edges when scores tie at the k-th).</param>
/// <param name="TopKOverlap"><see cref="Shared"/> / <see cref="K"/>, capped at 1: 1 when the top-k sets are equal.</param>
/// <param name="Jaccard">Shared / edges in either circuit.</param>
/// <param name="Spearman">Spearman's rank correlation of the <c>|score|</c>s over every edge (ties share their average
/// rank), or <c>null</c> when either set's <c>|score|</c>s are all equal.</param>
public sealed record ScoreAgreement(int K, int Shared, double TopKOverlap, double Jaccard, double? Spearman)
{
    /// <inheritdoc />
    public override string ToString() =>
        $"top-{K} overlap {TopKOverlap:0.###} ({Shared} shared, Jaccard {Jaccard:0.###}), Spearman " +
        (Spearman is double s ? s.ToString("0.####", System.Globalization.CultureInfo.InvariantCulture) : "undefined (constant scores)");
}
