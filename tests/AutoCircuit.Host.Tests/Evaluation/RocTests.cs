using System.Text.Json;
using AutoCircuit.Engine.Patching;
using AutoCircuit.Evaluation;
using AutoCircuit.Graph;
using AutoCircuit.Models.Micro;
using Xunit;

namespace AutoCircuit.Host.Tests.Evaluation;

/// <summary><see cref="Roc"/> against auto-circuit's measure_task_roc on the micro model.</summary>
public sealed class RocTests
{
    public static TheoryData<int> Cases() => EvaluationFixture.Indices("roc");

    [Theory]
    [MemberData(nameof(Cases))]
    public void Measure_FixtureCase_MatchesAutoCircuit(int index)
    {
        using var doc = EvaluationFixture.Load();
        var c = doc.RootElement.GetProperty("roc")[index];
        var (micro, model) = EvaluationFixture.Model(c);
        using var _ = micro;
        using var __ = model;
        using var scores = EvaluationFixture.Scores(c.GetProperty("scores"), model.Graph);
        var known = c.GetProperty("official").EnumerateArray()
            .Select(o => model.Graph.FindEdge(o[0].GetString()!, o[1].ValueKind == JsonValueKind.Null ? null : o[1].GetInt32())!)
            .ToHashSet();

        var roc = Roc.Measure(scores, known, c.GetProperty("all_edges").GetBoolean());

        // Rates are ratios of the same integers on both sides: equal to float64 rounding.
        var expected = EvaluationFixture.Points(c.GetProperty("points"));
        Assert.Equal(expected.Count, roc.Points.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].X, roc.Points[i].Fpr, 1e-15);
            Assert.Equal(expected[i].Y, roc.Points[i].Tpr, 1e-15);
        }

        Assert.Equal(c.GetProperty("trapezoid_auc").GetDouble(), roc.Auc, 1e-12);
        Assert.Equal(c.GetProperty("step_auc").GetDouble(), roc.PessimisticAuc, 1e-12);
    }

    [Fact]
    public void Measure_PerfectRanking_HasAreaOne()
    {
        using var micro = new MicroModel();
        using var model = PatchableModel.Create(micro, new GraphOptions());
        using var scores = model.NewPruneScores();
        var known = model.Graph.Edges.Take(4).ToHashSet();
        foreach (var e in known)
        {
            scores.Set(e, 5.0);
        }

        var roc = Roc.Measure(scores, known);

        Assert.Equal(1.0, roc.Auc, 12);
        Assert.Equal(1.0, roc.PessimisticAuc, 12);
        Assert.Contains((0.0, 1.0), roc.Points);
    }

    [Fact]
    public void Measure_EmptyKnownCircuit_ThrowsInsteadOfDividingByZero()
    {
        using var micro = new MicroModel();
        using var model = PatchableModel.Create(micro, new GraphOptions());
        using var scores = model.NewPruneScores(1);

        var e = Assert.Throws<ArgumentException>(() => Roc.Measure(scores, new HashSet<Edge>()));

        Assert.Contains("has 0 of the graph's 13 edges", e.Message, StringComparison.Ordinal);
    }
}
