using AutoCircuit.Graph;
using Xunit;
using Gt = AutoCircuit.Algorithms.GroundTruth.GroundTruth;

namespace AutoCircuit.Algorithms.Tests.GroundTruth;

public sealed class GroundTruthTests
{
    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void Run_KnownEdges_ScoreOneAndEveryOtherEdgeZero(bool factorized, bool tokenPositions)
    {
        using var s = MicroScenario.Varied(factorized, tokenPositions);
        var known = s.Graph.Edges.Where((_, i) => i % 3 == 1).ToHashSet();

        using var scores = new Gt().Run(s.Context(known));

        var ranked = scores.RankedEdges();
        Assert.Equal(s.Graph.EdgeCount, ranked.Count);
        Assert.All(ranked, e => Assert.Equal(known.Contains(e.Edge) ? 1f : 0f, e.Score));
    }

    [Fact]
    public void Run_NoKnownCircuit_SaysSo()
    {
        using var s = MicroScenario.Varied(factorized: true, tokenPositions: false);

        var e = Assert.Throws<InvalidOperationException>(() => new Gt().Run(s.Context()));

        Assert.Contains("no known edges", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_EdgeOfAnotherGraph_NamesIt()
    {
        using var s = MicroScenario.Varied(factorized: true, tokenPositions: false);
        using var residual = MicroScenario.Varied(factorized: false, tokenPositions: false);
        var foreign = new HashSet<Edge> { residual.Graph.Edges[0] };

        var e = Assert.Throws<ArgumentException>(() => new Gt().Run(s.Context(foreign)));

        Assert.Contains(residual.Graph.Edges[0].Name, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Descriptor_RequiresKnownEdges()
    {
        Assert.True(AutoCircuit.Host.Algorithms.AlgorithmCatalog.BuiltIn().TryGet("ground-truth", out var entry));
        Assert.True(entry.Descriptor.RequiresKnownEdges);
    }
}
