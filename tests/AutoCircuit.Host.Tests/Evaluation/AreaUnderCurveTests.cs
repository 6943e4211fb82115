using System.Text.Json;
using AutoCircuit.Evaluation;
using Xunit;

namespace AutoCircuit.Host.Tests.Evaluation;

/// <summary><see cref="AreaUnderCurve"/> and the metric table against auto-circuit's area_under_curve.py and PRUNE_METRICS.</summary>
public sealed class AreaUnderCurveTests
{
    public static TheoryData<int> Cases() => EvaluationFixture.Indices("auc");

    [Theory]
    [MemberData(nameof(Cases))]
    public void Measure_FixtureCase_MatchesAutoCircuit(int index)
    {
        using var doc = EvaluationFixture.Load();
        var c = doc.RootElement.GetProperty("auc")[index];
        var points = EvaluationFixture.Points(c.GetProperty("points"));
        double? yMin = c.GetProperty("y_min").ValueKind == JsonValueKind.Null ? null : c.GetProperty("y_min").GetDouble();

        double Act() => AreaUnderCurve.Measure(points, c.GetProperty("log_x").GetBoolean(), c.GetProperty("log_y").GetBoolean(), yMin);

        if (c.GetProperty("error").ValueKind == JsonValueKind.String)
        {
            // auto-circuit asserts a point at 0 edges.
            Assert.Throws<ArgumentException>(() => Act());
            return;
        }

        // Same float64 arithmetic in the same order: equal up to the last bits of log10.
        var expected = c.GetProperty("result").GetDouble();
        Assert.Equal(expected, Act(), 1e-12 * Math.Max(1, Math.Abs(expected)));
    }

    [Fact]
    public void All_MetricTable_IsAutoCircuitsPruneMetrics()
    {
        using var doc = EvaluationFixture.Load();
        var table = doc.RootElement.GetProperty("prune_metrics").EnumerateArray().ToList();

        Assert.Equal(table.Count, PruneMetric.All.Count);
        for (var i = 0; i < table.Count; i++)
        {
            var t = table[i];
            var m = PruneMetric.All[i];
            Assert.Equal(t.GetProperty("key").GetString(), m.AutoCircuitKey);
            Assert.Equal(t.GetProperty("our_key").GetString(), m.Key);
            Assert.Equal(t.GetProperty("log_x").GetBoolean(), m.LogX);
            Assert.Equal(t.GetProperty("log_y").GetBoolean(), m.LogY);
            Assert.Equal(t.GetProperty("lower_better").GetBoolean(), m.LowerBetter);
            Assert.Equal(t.GetProperty("y_min").ValueKind == JsonValueKind.Null ? null : t.GetProperty("y_min").GetDouble(), m.YMin);
        }
    }

    [Fact]
    public void Measure_LogYBaseline_IsSubtractedUntransformedAsInAutoCircuit()
    {
        // Worked by hand, y_min 1, linear x: the values become log10(max(y, 1)) = 0 and 2, but the baseline stays the
        // raw 0.5, so the heights are -0.5 and 1.5 and the area 0.5 (a transformed baseline, 0, would give 1).
        var area = AreaUnderCurve.Measure([(0, 0.5), (1, 100)], false, true, 1);

        Assert.Equal(0.5, area, 1e-12);
    }

    [Fact]
    public void ForMetric_UndefinedCurves_GiveNull()
    {
        var m = PruneMetric.LogitDiff;

        Assert.Null(AreaUnderCurve.ForMetric(m, [(0, 1)]));
        Assert.Null(AreaUnderCurve.ForMetric(m, [(1, 1), (2, 3)]));
        Assert.Null(AreaUnderCurve.ForMetric(m, [(0, 1), (2, double.NaN)]));
        Assert.Equal(Math.Log10(2) * 2 / 2, AreaUnderCurve.ForMetric(m, [(0, 1), (1, 1), (2, 3)])!.Value, 1e-12);
    }

    [Fact]
    public void NormalizedByRandom_IsAverageAucPlotsNormalisation()
    {
        // average_auc_plot: auc / (random_auc * tasks); lower-better metrics mirrored: 1/tasks + (1/tasks - normalised).
        Assert.Equal(2.0, AreaUnderCurve.NormalizedByRandom(4, 2), 12);
        Assert.Equal(1.0, AreaUnderCurve.NormalizedByRandom(4, 2, taskCount: 2), 12);
        Assert.Equal(0.0, AreaUnderCurve.NormalizedByRandom(4, 2, lowerBetter: true), 12);
        Assert.Equal(0.5 + (0.5 - 0.25), AreaUnderCurve.NormalizedByRandom(1, 2, taskCount: 2, lowerBetter: true), 12);
    }

    [Fact]
    public void MeanOverSizes_LinearAxisFromFirstToLastSize()
    {
        // Ground truth's three sizes: 0 → 80 % over 5 edges, then 80 → 100 % over 8: (5·40 + 8·90) / 13.
        Assert.Equal(920.0 / 13, AreaUnderCurve.MeanOverSizes([(13, 100), (0, 0), (5, 80)])!.Value, 12);
        Assert.Equal(50, AreaUnderCurve.MeanOverSizes([(0, 0), (10, 100)])!.Value, 12);
        Assert.Equal(-2, AreaUnderCurve.MeanOverSizes([(2, -2), (4, -2)])!.Value, 12); // not relative to a baseline
        Assert.Null(AreaUnderCurve.MeanOverSizes([(0, 1)]));
        Assert.Null(AreaUnderCurve.MeanOverSizes([(0, 1), (0, 2)]));
        Assert.Null(AreaUnderCurve.MeanOverSizes([(0, 1), (3, double.NaN)]));
    }
}
