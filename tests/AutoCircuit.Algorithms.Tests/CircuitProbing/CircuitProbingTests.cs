using AutoCircuit.Graph;
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

    [Theory]
    [InlineData(6, "true-size;1000")]
    [InlineData(7, "3;14;500")]
    public void Run_SizesAboveTheEdgeCount_AreClampedToIt(int index, string sizes)
    {
        // auto-circuit fails (index error) for sizes above the edge count; clamping to it gives exactly
        // auto-circuit's result at the edge count (13 here), which the fixture holds.
        using var s = MicroScenario.Load(Fixture, index);
        var options = s.Options;
        options["circuit-sizes"] = sizes;
        var algorithm = MicroScenario.Create(s.Element.GetProperty("algorithm").GetString()!, options);
        var known = s.EdgesOf(s.Element.GetProperty("known_edges"));
        var log = new List<string>();
        torch.random.manual_seed(s.TorchSeed);

        using var scores = algorithm.Run(s.Context(known, log.Add));

        s.AssertScores(scores, 0, 0);
        Assert.Contains(log, l => l.Contains("exceed the graph's 13 edges", StringComparison.Ordinal));
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
