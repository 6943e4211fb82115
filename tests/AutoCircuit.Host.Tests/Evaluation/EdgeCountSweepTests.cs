using System.Text.Json;
using AutoCircuit.Engine;
using AutoCircuit.Engine.Patching;
using AutoCircuit.Evaluation;
using AutoCircuit.Models.Micro;
using AutoCircuit.Testing;
using TorchSharp;
using Xunit;

namespace AutoCircuit.Host.Tests.Evaluation;

/// <summary><see cref="EdgeCountSweep"/> against auto-circuit's <c>edge_counts_util</c>.</summary>
public sealed class EdgeCountSweepTests
{
    public static TheoryData<int> Cases() => EvaluationFixture.Indices("edge_counts");

    [Theory]
    [MemberData(nameof(Cases))]
    public void Compute_FixtureCase_MatchesAutoCircuit(int index)
    {
        using var doc = EvaluationFixture.Load();
        var c = doc.RootElement.GetProperty("edge_counts")[index];
        using var scores = c.GetProperty("scores").ValueKind == JsonValueKind.Null
            ? null
            : TestFixtures.ToTensor(c.GetProperty("scores")).to_type(torch.ScalarType.Float32);
        bool? Flag(string name) => c.GetProperty(name).ValueKind == JsonValueKind.Null ? null : c.GetProperty(name).GetBoolean();
        int? trueCount = c.GetProperty("true_edge_count").ValueKind == JsonValueKind.Null ? null : c.GetProperty("true_edge_count").GetInt32();

        var counts = EdgeCountSweep.Compute(
            c.GetProperty("n_edges").GetInt32(), EvaluationFixture.Request(c.GetProperty("test_counts")), scores,
            Flag("zero_edges"), Flag("all_edges"), trueCount);

        Assert.Equal(EvaluationFixture.Ints(c.GetProperty("result")), counts);
    }

    [Fact]
    public void Compute_TestGroupsEdgeCounts_ReproducesAutoCircuitTest()
    {
        // auto-circuit's tests/utils/test_graph_utils.py::test_groups_edge_counts on the micro model's factorized graph.
        using var micro = new MicroModel();
        using var model = PatchableModel.Create(micro, new GraphOptions());
        var edges = model.Graph.Edges;
        var n = model.Graph.EdgeCount;
        List<int> Groups(bool zero, bool all, params (int Edge, double Score)[] set)
        {
            using var ps = model.NewPruneScores();
            foreach (var (e, s) in set)
            {
                ps.Set(edges[e], s);
            }

            return EdgeCountSweep.Compute(n, EdgeCountRequest.Groups, ps, zero, all);
        }

        Assert.Equal([0, n], Groups(true, true));
        Assert.Empty(Groups(false, false));
        Assert.Equal([1], Groups(false, false, (0, 1.0)));
        Assert.Equal([2], Groups(false, false, (0, 1.0), (1, 1.0)));
        Assert.Equal([1, 3], Groups(false, false, (0, 1.0), (1, 1.0), (2, 2.0)));
        Assert.Equal([2, 3], Groups(false, false, (0, 1.0), (1, 2.0), (2, 2.0)));
    }

    [Fact]
    public void Compute_FractionsAndAll_ReproduceAutoCircuitTestEdgeCountsUtil()
    {
        // auto-circuit's test_edge_counts_util (there on a small transformer; the rule does not depend on the model).
        const int n = 39;

        var fractions = EdgeCountSweep.Compute(n, EdgeCountRequest.Of(
            EdgeCountItem.Fraction(0.0), EdgeCountItem.Fraction(0.5), EdgeCountItem.Fraction(1.0)));
        var all = EdgeCountSweep.Compute(n, EdgeCountRequest.All);

        Assert.Equal([0, n / 2, n], fractions);
        Assert.Equal(Enumerable.Range(0, n + 1), all);
    }

    [Theory]
    [InlineData("all", EdgeCountMode.All)]
    [InlineData("logarithmic", EdgeCountMode.Logarithmic)]
    [InlineData("Groups", EdgeCountMode.Groups)]
    [InlineData("default", EdgeCountMode.Default)]
    public void Parse_Keyword_GivesMode(string text, EdgeCountMode mode)
    {
        var request = EdgeCountRequest.Parse(text);

        Assert.Equal(mode, request.Mode);
        Assert.Empty(request.Items);
    }

    [Fact]
    public void Parse_List_TellsCountsFromFractionsAsPythonDoes()
    {
        var request = EdgeCountRequest.Parse("0, 2,1.0,0.25,5,1e-1");

        Assert.Equal(EdgeCountMode.List, request.Mode);
        Assert.Equal(
            [EdgeCountItem.Count(0), EdgeCountItem.Count(2), EdgeCountItem.Fraction(1.0), EdgeCountItem.Fraction(0.25),
             EdgeCountItem.Count(5), EdgeCountItem.Fraction(0.1)],
            request.Items);
        Assert.Equal([0, 1, 2, 2, 5, 10], EdgeCountSweep.Compute(10, request)); // duplicates stay, as in auto-circuit
        Assert.Equal("0,2,1.0,0.25,5,0.1", request.ToString());
    }

    [Theory]
    [InlineData("1,,2", "empty entry")]
    [InlineData("1,x", "'x' is not an edge count")]
    [InlineData("-3", "edge count -3 is negative")]
    [InlineData("1.5", "fraction 1.5 is outside [0, 1]")]
    [InlineData("0.5.1", "'0.5.1' is not a number")]
    public void Parse_Malformed_ThrowsNamingTheEntry(string text, string expected)
    {
        var e = Assert.Throws<AutoCircuitException>(() => EdgeCountRequest.Parse(text));

        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.StartsWith("--edges ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Compute_CountAboveGraph_ThrowsInsteadOfCrashingLater()
    {
        var e = Assert.Throws<AutoCircuitException>(() => EdgeCountSweep.Compute(13, EdgeCountRequest.Of(1, 2, 20)));

        Assert.Contains("edge count 20 is outside the graph's 0..13 edges", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Compute_GroupsWithoutScores_Throws()
    {
        Assert.Throws<AutoCircuitException>(() => EdgeCountSweep.Compute(13, EdgeCountRequest.Groups));
    }
}
