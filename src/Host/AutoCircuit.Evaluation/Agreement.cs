
namespace AutoCircuit.Evaluation;

/// <summary>How much the circuits of size <see cref="K"/> of two rankings share.</summary>
/// <param name="K">The requested size.</param>
/// <param name="SizeA">Edges in the first circuit (more than k when scores tie at the k-th).</param>
/// <param name="SizeB">Edges in the second circuit.</param>
/// <param name="Shared">Edges in both.</param>
/// <param name="Jaccard">Shared / edges in either (1 when both are empty).</param>
public sealed record TopKOverlap(int K, int SizeA, int SizeB, int Shared, double Jaccard);

/// <summary>The agreement of two algorithms' scores.</summary>
/// <param name="A">First algorithm's label.</param>
/// <param name="B">Second algorithm's label.</param>
/// <param name="Spearman">Spearman's rank correlation of <c>|score|</c> over every edge (tied values share their average
/// rank); <c>null</c> when either set of <c>|score|</c>s is constant.</param>
/// <param name="TopK">Circuit overlaps at each size.</param>
public sealed record PairAgreement(string A, string B, double? Spearman, IReadOnlyList<TopKOverlap> TopK);

/// <summary>Agreement between every pair of compared algorithms.</summary>
/// <param name="Ks">The circuit sizes compared.</param>
/// <param name="Pairs">One entry per unordered pair, in the algorithms' order.</param>
public sealed record AgreementResult(IReadOnlyList<int> Ks, IReadOnlyList<PairAgreement> Pairs)
{
    /// <summary>The entry for two labels (in either order), or <c>null</c>.</summary>
    public PairAgreement? For(string a, string b) =>
        Pairs.FirstOrDefault(p => (p.A == a && p.B == b) || (p.A == b && p.B == a));
}

/// <summary>Top-k overlap and rank correlation of score rankings.</summary>
public static class Agreement
{
    /// <summary>The default circuit sizes: 5, 10, 20, 50, 100, … below the edge count, and the known circuit's size.</summary>
    public static IReadOnlyList<int> DefaultKs(int edgeCount, int? knownSize)
    {
        int[] candidates = [5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000];
        var ks = candidates.Where(k => k < edgeCount).ToList();
        if (ks.Count == 0 && edgeCount > 1)
        {
            ks.Add(Math.Max(1, edgeCount / 2));
        }

        if (knownSize is int n && n > 0 && n < edgeCount && !ks.Contains(n))
        {
            ks.Add(n);
        }

        ks.Sort();
        return ks;
    }

    /// <summary>Agreement of every pair of <paramref name="scores"/> (label → scores of one graph).</summary>
    /// <exception cref="ArgumentException">A size outside <c>1..n_edges</c>, or scores of different graphs.</exception>
    public static AgreementResult Measure(IReadOnlyList<(string Label, FlatScores Scores)> scores, IReadOnlyList<int> ks)
    {
        ArgumentNullException.ThrowIfNull(scores);
        ArgumentNullException.ThrowIfNull(ks);
        if (scores.Count > 0)
        {
            var n = scores[0].Scores.Values.Count;
            var bad = ks.FirstOrDefault(k => k < 1 || k > n, -1);
            if (bad != -1)
            {
                throw new ArgumentException($"Agreement size {bad} is outside 1..{n} edges.", nameof(ks));
            }

            if (scores.Any(s => !ReferenceEquals(s.Scores.Graph, scores[0].Scores.Graph)))
            {
                throw new ArgumentException("Agreement compares scores of one graph.", nameof(scores));
            }
        }

        var ranks = scores.Select(s => AverageRanks(s.Scores)).ToList();
        var circuits = scores.Select(s => ks.Select(s.Scores.CircuitOf).ToList()).ToList();
        var pairs = new List<PairAgreement>();
        for (var a = 0; a < scores.Count; a++)
        {
            for (var b = a + 1; b < scores.Count; b++)
            {
                var overlaps = ks.Select((k, i) => Overlap(k, circuits[a][i], circuits[b][i])).ToList();
                pairs.Add(new PairAgreement(scores[a].Label, scores[b].Label, Pearson(ranks[a], ranks[b]), overlaps));
            }
        }

        return new AgreementResult(ks, pairs);
    }

    /// <summary>Spearman's rank correlation of the <c>|score|</c>s of two rankings (average ranks for ties).</summary>
    public static double? Spearman(FlatScores a, FlatScores b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        return Pearson(AverageRanks(a), AverageRanks(b));
    }

    private static TopKOverlap Overlap(int k, bool[] a, bool[] b)
    {
        int sizeA = 0, sizeB = 0, shared = 0;
        for (var i = 0; i < a.Length; i++)
        {
            sizeA += a[i] ? 1 : 0;
            sizeB += b[i] ? 1 : 0;
            shared += a[i] && b[i] ? 1 : 0;
        }

        var union = sizeA + sizeB - shared;
        return new TopKOverlap(k, sizeA, sizeB, shared, union == 0 ? 1 : (double)shared / union);
    }

    /// <summary>1-based ranks of |score| in descending order; equal values get the mean of their ranks.</summary>
    private static double[] AverageRanks(FlatScores scores)
    {
        var order = scores.Order;
        var ranks = new double[order.Count];
        var i = 0;
        while (i < order.Count)
        {
            var value = MathF.Abs(scores.Values[order[i]]);
            var j = i;
            while (j + 1 < order.Count && MathF.Abs(scores.Values[order[j + 1]]) == value)
            {
                j++;
            }

            var mean = ((i + 1) + (j + 1)) / 2.0;
            for (var r = i; r <= j; r++)
            {
                ranks[order[r]] = mean;
            }

            i = j + 1;
        }

        return ranks;
    }

    private static double? Pearson(double[] x, double[] y)
    {
        var n = x.Length;
        if (n < 2)
        {
            return null;
        }

        double mx = x.Average(), my = y.Average();
        double sxy = 0, sxx = 0, syy = 0;
        for (var i = 0; i < n; i++)
        {
            var dx = x[i] - mx;
            var dy = y[i] - my;
            sxy += dx * dy;
            sxx += dx * dx;
            syy += dy * dy;
        }

        return sxx == 0 || syy == 0 ? null : sxy / Math.Sqrt(sxx * syy);
    }
}
