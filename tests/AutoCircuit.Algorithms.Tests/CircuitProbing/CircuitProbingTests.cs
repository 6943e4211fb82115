using AutoCircuit.Graph;
using AutoCircuit.Testing;
using TorchSharp;
using Xunit;

namespace AutoCircuit.Algorithms.Tests.CircuitProbing;

/// <summary>
/// circuit-probing, circuit-tree-probing and opposite-tree-probing against auto-circuit's
/// <c>circuit_probing_prune_scores</c> on the micro model (tests/Fixtures/auto-circuit/micro_circuit_probing.json),
/// seeded identically (see the subnetwork-probing tests), with known circuits for <c>true-size</c>.
/// </summary>
[Collection(nameof(SeededCollection))]
public sealed class CircuitProbingTests
{
    private const string Fixture = "auto-circuit/micro_circuit_probing.json";

    public static TheoryData<int> Scenarios() => MicroScenario.Indices(Fixture);

    [Theory]
    [MemberData(nameof(Scenarios))]
    public void Run_MicroScenario_MatchesAutoCircuit(int index)
    {
        using var s = MicroScenario.Load(Fixture, index);
        var algorithm = MicroScenario.Create(s.Element.GetProperty("algorithm").GetString()!, s.Options);
        var known = s.EdgesOf(s.Element.GetProperty("known_edges"));
        torch.random.manual_seed(s.TorchSeed);

        using var scores = algorithm.Run(s.Context(known));

        // Ranks (integers) from thresholds of learned masks: exact unless a mask sits on a threshold.
        s.AssertScores(scores, 0, 0);
    }

    [Fact]
    public void Run_SizeAboveTheEdgeCount_TakesTheWholeGraph()
    {
        // auto-circuit fails (index error) for a size above the edge count. A circuit of that size is the
        // whole graph, which is auto-circuit's result at exactly the edge count (13 here; the fixture):
        // with sigmoid masks the regulariser ReLU(n - size) is 0 for both sizes, so training is identical.
        using var s = MicroScenario.Load(Fixture, 6);
        Assert.Equal("true-size;13", s.Options["circuit-sizes"]);
        var options = s.Options;
        options["circuit-sizes"] = "true-size;1000";

        using var scores = RunWith(s, options, log: null);

        s.AssertScores(scores, 0, 0);
    }

    [Fact]
    public void Run_SizesPastTheWholeGraph_AreNotProbed()
    {
        // Sizes 14 and 500 both exceed the 13 edges: 14 takes every remaining edge, so 500 cannot change a
        // score and is skipped. Ranks count all three sizes (3, 2) where auto-circuit's "3;13" gives (2, 1).
        using var s = MicroScenario.Load(Fixture, 7);
        Assert.Equal("3;13", s.Options["circuit-sizes"]);
        var options = s.Options;
        options["circuit-sizes"] = "3;14;500";
        var log = new List<string>();

        using var scores = RunWith(s, options, log.Add);

        var expected = s.ExpectedScores();
        try
        {
            foreach (var (module, e) in expected)
            {
                using var shifted = e + 1;
                TensorAssert.AllClose(shifted, scores[module], 0, 0, module);
            }
        }
        finally
        {
            foreach (var t in expected.Values)
            {
                t.Dispose();
            }
        }

        Assert.Contains(log, l => l.Contains("sizes 500 cannot change the scores", StringComparison.Ordinal));
    }

    private static AutoCircuit.Scores.PruneScores RunWith(
        MicroScenario s, Dictionary<string, string> options, Action<string>? log)
    {
        var algorithm = MicroScenario.Create(s.Element.GetProperty("algorithm").GetString()!, options);
        var known = s.EdgesOf(s.Element.GetProperty("known_edges"));
        torch.random.manual_seed(s.TorchSeed);
        return algorithm.Run(s.Context(known, log));
    }

    [Fact]
    public void Run_TrueSizeWithoutKnownCircuit_SaysSo()
    {
        using var s = MicroScenario.Varied(factorized: true, tokenPositions: false);
        var algorithm = MicroScenario.Create("circuit-probing", new Dictionary<string, string> { ["epochs"] = "1" });

        var e = Assert.Throws<InvalidOperationException>(() => algorithm.Run(s.Context()).Dispose());

        Assert.Contains("true-size", e.Message, StringComparison.Ordinal);
        Assert.Contains("no known circuit", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("5;5", "twice")]
    [InlineData("0", "positive")]
    [InlineData("true-size;big", "positive integers")]
    [InlineData("", "at least one")]
    public void Bind_BadSizes_Rejected(string sizes, string message)
    {
        var e = Assert.Throws<OptionBindingException>(() =>
            MicroScenario.Create(
                "opposite-tree-probing", new Dictionary<string, string> { ["circuit-sizes"] = sizes }));

        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_SizesEqualAfterResolution_Rejected()
    {
        // true-size resolves to 4 here, as auto-circuit asserts unique sizes.
        using var s = MicroScenario.Varied(factorized: true, tokenPositions: false);
        var known = new HashSet<Edge>(s.Graph.Edges.Take(4));
        var options = new Dictionary<string, string> { ["circuit-sizes"] = "4;true-size", ["epochs"] = "1" };
        var algorithm = MicroScenario.Create("circuit-tree-probing", options);

        var e = Assert.Throws<InvalidOperationException>(() => algorithm.Run(s.Context(known)).Dispose());

        Assert.Contains("repeated", e.Message, StringComparison.Ordinal);
    }
}
