using AutoCircuit.Evaluation;
using AutoCircuit.Graph;
using AutoCircuit.Models.Micro;
using Xunit;

namespace AutoCircuit.Host.Tests.Comparison;

public sealed class AgreementTests
{
    private static readonly ModelGraph Graph = Build();

    private static ModelGraph Build()
    {
        using var micro = new MicroModel();
        var nodes = micro.FactorizedNodes(false);
        return ModelGraph.Build(nodes.Srcs, nodes.Dests, factorized: true); // 13 edges
    }

    private static FlatScores Scores(params float[] values) => FlatScores.FromValues(Graph, values);

    [Fact]
    public void Spearman_SameOrderDifferentValuesAndSigns_IsOne()
    {
        var a = Scores(13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1);
        var b = Scores(-130, 120, 11, -1.0f, 0.9f, 0.8f, 0.7f, 0.6f, 0.5f, 0.4f, 0.3f, 0.2f, -0.1f);

        Assert.Equal(1, Agreement.Spearman(a, b)!.Value, 12);
    }

    [Fact]
    public void Spearman_ReversedOrder_IsMinusOne()
    {
        var a = Scores(13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1);
        var b = Scores(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13);

        Assert.Equal(-1, Agreement.Spearman(a, b)!.Value, 12);
    }

    [Fact]
    public void Spearman_Ties_UseAverageRanks()
    {
        // |a| ranks (descending): 3 -> 1, the two 2s -> 2.5, the ten 1s -> 8.5; b is 13..1, ranks 1..13.
        var a = Scores(3, -2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1);
        var b = Scores(13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1);
        double[] ra = [1, 2.5, 2.5, 8.5, 8.5, 8.5, 8.5, 8.5, 8.5, 8.5, 8.5, 8.5, 8.5];
        double[] rb = [.. Enumerable.Range(1, 13).Select(i => (double)i)];
        var expected = Pearson(ra, rb);

        Assert.Equal(expected, Agreement.Spearman(a, b)!.Value, 12);
        Assert.Equal(0.73753, expected, 5); // numpy.corrcoef of the same ranks; ties pull it below 1
    }

    [Fact]
    public void Spearman_ConstantScores_IsUndefined()
    {
        var a = Scores(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1);
        var b = Scores(13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1);

        Assert.Null(Agreement.Spearman(a, b));
    }

    [Fact]
    public void Measure_TopK_CountsTiedEdgesAsCircuitEvaluationDoes()
    {
        // a's 3rd and 4th edges tie: its circuit of 3 holds 4 edges.
        var a = Scores(10, 9, 8, 8, 1, 1, 1, 1, 1, 1, 1, 1, 1);
        var b = Scores(1, 9, 8, 10, 1, 1, 1, 1, 1, 1, 1, 1, 1);

        var result = Agreement.Measure([("a", a), ("b", b)], [3, 2]);

        var pair = Assert.Single(result.Pairs);
        Assert.Equal(("a", "b"), (pair.A, pair.B));
        var k3 = pair.TopK[0];
        Assert.Equal((3, 4, 3, 3), (k3.K, k3.SizeA, k3.SizeB, k3.Shared));
        Assert.Equal(0.75, k3.Jaccard, 12);
        var k2 = pair.TopK[1];
        Assert.Equal((2, 2, 2, 1), (k2.K, k2.SizeA, k2.SizeB, k2.Shared));
        Assert.Equal(1.0 / 3, k2.Jaccard, 12);
        Assert.Same(pair, result.For("b", "a"));
    }

    [Fact]
    public void DefaultKs_BelowEdgeCount_WithKnownSize()
    {
        Assert.Equal([5, 10], Agreement.DefaultKs(13, null));
        Assert.Equal([5, 7, 10], Agreement.DefaultKs(13, 7));
        Assert.Equal([5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000], Agreement.DefaultKs(32491, 5));
        Assert.Equal([2], Agreement.DefaultKs(4, null));
    }

    private static double Pearson(double[] x, double[] y)
    {
        double mx = x.Average(), my = y.Average();
        var sxy = x.Zip(y).Sum(p => (p.First - mx) * (p.Second - my));
        return sxy / Math.Sqrt(x.Sum(v => (v - mx) * (v - mx)) * y.Sum(v => (v - my) * (v - my)));
    }
}
