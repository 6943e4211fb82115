using AutoCircuit.Algorithms.SubnetworkProbing;
using AutoCircuit.Patching;
using AutoCircuit.Testing;
using TorchSharp;
using Xunit;
using Sp = AutoCircuit.Algorithms.SubnetworkProbing.SubnetworkProbing;

namespace AutoCircuit.Algorithms.Tests.SubnetworkProbing;

/// <summary>
/// subnetwork-probing against auto-circuit's <c>subnetwork_probing_prune_scores</c> on the micro model
/// (tests/Fixtures/auto-circuit/micro_subnetwork_probing.json), seeded identically: libtorch 2.10's CPU
/// generator draws the same numbers as PyTorch 1.13's for the same seed, and we draw in the same order
/// (each destination's HardConcrete sample and dropout in forward order, then the regulariser's sample),
/// so the stochastic runs are compared too.
/// </summary>
[Collection(nameof(SeededCollection))]
public sealed class SubnetworkProbingTests
{
    private const string Fixture = "auto-circuit/micro_subnetwork_probing.json";

    // A few epochs of Adam on float32 losses: each step's rounding differences are amplified by the
    // optimiser's normalisation, but stay well below 1e-5 relative on the micro model.
    private const double Rtol = 1e-5;
    private const double Atol = 1e-6;

    public static TheoryData<int> Scenarios() => MicroScenario.Indices(Fixture);

    [Theory]
    [MemberData(nameof(Scenarios))]
    public void Run_MicroScenario_MatchesAutoCircuit(int index)
    {
        using var s = MicroScenario.Load(Fixture, index);
        var sp = MicroScenario.Create("subnetwork-probing", s.Options);
        torch.random.manual_seed(s.TorchSeed);

        using var scores = sp.Run(s.Context());

        s.AssertScores(scores, Atol, Rtol);
    }

    [Fact]
    public void Run_SameSeed_IsReproducibleAndAnotherSeedIsNot()
    {
        using var s = MicroScenario.Varied(factorized: true, tokenPositions: false);
        var sp = new Sp(new SubnetworkProbingOptions { Epochs = 3, Dropout = 0.2 });

        torch.random.manual_seed(5);
        using var first = sp.Run(s.Context());
        torch.random.manual_seed(5);
        using var again = sp.Run(s.Context());
        torch.random.manual_seed(6);
        using var other = sp.Run(s.Context());

        using var a = first.Flatten();
        using var b = again.Flatten();
        using var c = other.Flatten();
        TensorAssert.Equal(a, b, "same seed");
        Assert.True((a - c).abs().max().ToDouble() > 1e-4, "another seed must sample other masks");
    }

    [Theory]
    [InlineData(MaskFunction.HardConcrete, false)]
    [InlineData(MaskFunction.Sigmoid, false)]
    [InlineData(MaskFunction.HardConcrete, true)]
    public void Run_TokenPositions_RecoversTheLastTokenCircuit(MaskFunction maskFn, bool tree)
    {
        // The micro model does not mix positions and the task reads the last one: the 13 edges at the
        // last position are the whole circuit. Every other edge only feels the regulariser.
        using var s = MicroScenario.Varied(factorized: true, tokenPositions: true);
        var sp = new Sp(new SubnetworkProbingOptions
        {
            Epochs = 40,
            RegularizeLambda = 1,
            MaskFn = maskFn,
            TreeOptimisation = tree,
        });
        torch.random.manual_seed(0);

        using var scores = sp.Run(s.Context());

        var top = scores.RankedEdges(take: 13);
        Assert.All(top, e => Assert.Equal(2, e.Edge.SeqIndex));
    }

    [Fact]
    public void Run_AvoidEdges_PushesThoseEdgesOut()
    {
        using var s = MicroScenario.Varied(factorized: true, tokenPositions: false);
        const string avoided = "Resid Start->Resid End";
        var plain = new Sp(new SubnetworkProbingOptions { Epochs = 15, MaskFn = MaskFunction.Sigmoid });
        var avoiding = new Sp(new SubnetworkProbingOptions
        {
            Epochs = 15,
            MaskFn = MaskFunction.Sigmoid,
            AvoidEdges = [avoided],
            AvoidLambda = 50,
        });

        using var before = plain.Run(s.Context());
        using var after = avoiding.Run(s.Context());

        var edge = s.Graph.FindEdge(avoided)!;
        Assert.True(after.ScoreOf(edge) < before.ScoreOf(edge) - 0.5, $"{before.ScoreOf(edge)} -> {after.ScoreOf(edge)}");
    }

    [Fact]
    public void Run_AvoidEdgeAtAPosition_PenalisesOnlyThatPosition()
    {
        // Sigmoid masks are deterministic and Adam updates each mask from its own gradient, so an edge
        // the penalty does not name trains exactly as without it.
        using var s = MicroScenario.Varied(factorized: true, tokenPositions: true);
        const string name = "Resid Start->Resid End";
        var options = new SubnetworkProbingOptions { Epochs = 10, MaskFn = MaskFunction.Sigmoid, RegularizeLambda = 1 };
        var plain = new Sp(options);
        var avoiding = new Sp(options with { AvoidEdges = [$"{name}@2"], AvoidLambda = 50 });

        using var before = plain.Run(s.Context());
        using var after = avoiding.Run(s.Context());

        var at2 = s.Graph.FindEdge(name, 2)!;
        var at1 = s.Graph.FindEdge(name, 1)!;
        Assert.True(after.ScoreOf(at2) < before.ScoreOf(at2) - 0.5, $"{before.ScoreOf(at2)} -> {after.ScoreOf(at2)}");
        var other = s.Graph.FindEdge("B1.1->Resid End", 0)!;

        // Scores are masks plus a common offset; masks at positions 0-1 only feel the regulariser.
        Assert.Equal(before.ScoreOf(at1) - before.ScoreOf(other), after.ScoreOf(at1) - after.ScoreOf(other), 5);
    }

    [Fact]
    public void AvoidIndices_NameOrNameAtPosition_SelectsThoseEdges()
    {
        using var s = MicroScenario.Varied(factorized: true, tokenPositions: true);
        const string name = "Resid Start->Resid End";
        long Flat(int pos) => s.Graph.FlatOffset(s.Graph.DestModule("output")) + (pos * 5);

        Assert.Equal([Flat(2)], ProbingCore.AvoidIndices(s.Graph, [$"{name}@2"]));
        Assert.Equal([Flat(0), Flat(1), Flat(2)], ProbingCore.AvoidIndices(s.Graph, [name, $" {name}@1 "]));
        Assert.Throws<ArgumentException>(() => ProbingCore.AvoidIndices(s.Graph, [$"{name}@3"]));
    }

    [Fact]
    public void Run_UnknownAvoidEdge_NamesIt()
    {
        using var s = MicroScenario.Varied(factorized: true, tokenPositions: false);
        var sp = new Sp(new SubnetworkProbingOptions { Epochs = 1, AvoidEdges = ["Nowhere->Resid End"] });

        var e = Assert.Throws<ArgumentException>(() => sp.Run(s.Context()).Dispose());

        Assert.Contains("Nowhere->Resid End", e.Message, StringComparison.Ordinal);
        Assert.All(s.Model.Masks.Values, m => Assert.False(m.requires_grad));
    }

    [Fact]
    public void Defaults_AreAutoCircuits()
    {
        var o = new SubnetworkProbingOptions();

        // auto-circuit: mask_p = 0.9, left = -0.1, right = 1.1 -> p = 1 / 1.2, init = log(p / (1 - p)) = log 5.
        Assert.Equal(Math.Log(5), o.InitVal, 12);
        Assert.Equal((0.1, 20, 10.0, MaskFunction.HardConcrete, 0.0, ProbingTarget.KlDiv, false, (int?)null, 1.0),
            (o.LearningRate, o.Epochs, o.RegularizeLambda, o.MaskFn, o.Dropout, o.Target, o.TreeOptimisation,
                o.CircuitSize, o.AvoidLambda));
    }
}
