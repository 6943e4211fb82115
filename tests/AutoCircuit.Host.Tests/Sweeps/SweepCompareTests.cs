using AutoCircuit.Evaluation;
using AutoCircuit.Host.Sweeps;
using Xunit;

namespace AutoCircuit.Host.Tests.Sweeps;

public sealed class SweepCompareTests
{
    private static ComparedCell C(string alg, string ablation, string patch, long seed, double? auc) =>
        new("t", "m", alg, alg, ablation, patch, seed, auc);

    [Fact]
    public void Bootstrap_OverSeeds_IsSeededAndBracketsTheMean()
    {
        double[] values = [1.0, 2.0, 4.0, 8.0];

        var (lo, hi) = SweepCompare.Bootstrap(values);
        var again = SweepCompare.Bootstrap(values);

        Assert.Equal((lo, hi), again);
        Assert.True(lo < 3.75 && 3.75 < hi, $"[{lo}, {hi}] does not contain the mean 3.75");
        Assert.True(lo >= 1.0 && hi <= 8.0);
        Assert.Equal((5.0, 5.0), SweepCompare.Bootstrap([5.0]));
    }

    [Fact]
    public void KendallTauB_SameOrderIsOne_ReversedIsMinusOne()
    {
        Assert.Equal(1.0, SweepCompare.KendallTauB([1, 2, 3], [10, 20, 30]));
        Assert.Equal(-1.0, SweepCompare.KendallTauB([1, 2, 3], [3, 2, 1]));
        Assert.Null(SweepCompare.KendallTauB([1, null], [1, 2]));
    }

    [Fact]
    public void Build_RanksPerCondition_AndShowsTheRankFlipAcrossAblations()
    {
        var cells = new[]
        {
            C("a", "resample", "edge", 1, 10), C("a", "resample", "edge", 2, 12),
            C("b", "resample", "edge", 1, 5), C("b", "resample", "edge", 2, 7),
            C("a", "zero", "edge", 1, 1), C("a", "zero", "edge", 2, 1),
            C("b", "zero", "edge", 1, 9), C("b", "zero", "edge", 2, 11),
        };

        var file = SweepCompare.Build("plan", "cache", cells, 0, PruneMetric.LogitDiffPercent, []);

        var g = Assert.Single(file.Groups);
        Assert.Equal(("resample", "edge"), (g.Reference.Ablation, g.Reference.PatchType));
        Assert.Equal(["a", "b"], g.Algorithms.Select(a => a.Algorithm));
        var a = g.Algorithms[0];
        Assert.Equal([1, 2], a.Conditions.Select(c => c!.Rank));
        Assert.Equal(11.0, a.Conditions[0]!.Mean);
        Assert.Equal(Math.Sqrt(2), a.Conditions[0]!.Std!.Value, 12);
        Assert.Equal((1, 2, 1.5), (a.BestRank, a.WorstRank, a.MeanRank));
        Assert.Equal([1.0, -1.0], g.RankAgreement);
        Assert.Contains("t,m,a,zero,edge,2,1,0,1,1,2,1;1", SweepCompare.ToCsv(file), StringComparison.Ordinal);
    }

    [Fact]
    public void Build_LowerBetterMetric_RanksTheSmallestAreaFirst()
    {
        var cells = new[] { C("a", "resample", "edge", 1, 1), C("b", "resample", "edge", 1, 2) };

        var file = SweepCompare.Build("plan", "cache", cells, 0, PruneMetric.CleanKlDiv, []);

        Assert.True(PruneMetric.CleanKlDiv.LowerBetter);
        Assert.Equal(["a", "b"], file.Groups[0].Algorithms.Select(x => x.Algorithm));
        Assert.Equal(1, file.Groups[0].Algorithms[0].Conditions[0]!.Rank);
    }
}
