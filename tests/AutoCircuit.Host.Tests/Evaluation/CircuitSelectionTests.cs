using AutoCircuit.Data;
using AutoCircuit.Engine;
using AutoCircuit.Engine.Patching;
using AutoCircuit.Evaluation;
using AutoCircuit.Models.Micro;
using AutoCircuit.Patching;
using TorchSharp;
using Xunit;

namespace AutoCircuit.Host.Tests.Evaluation;

/// <summary>The circuit-selection stage and the MIB protocol's arithmetic on hand-checked cases.</summary>
public sealed class CircuitSelectionTests
{
    [Fact]
    public void Areas_FaithfulnessOne_CprIsTheAxisLengthAndCmdZero()
    {
        var (cpr, cmd) = MibProtocol.Areas(MibProtocol.Fractions, Enumerable.Repeat(1.0, 10).ToList());
        Assert.Equal(0.999, cpr, 12);
        Assert.Equal(0.0, cmd, 12);
    }

    [Fact]
    public void Areas_FaithfulnessEqualToTheFraction_AreTheExactIntegrals()
    {
        // A linear curve: trapezoids are exact. CPR = (1 - 0.001^2) / 2; CMD = (1 - 0.001)^2 / 2.
        var (cpr, cmd) = MibProtocol.Areas(MibProtocol.Fractions, MibProtocol.Fractions);
        Assert.Equal(0.4999995, cpr, 12);
        Assert.Equal(0.4990005, cmd, 12);
    }

    [Fact]
    public void Areas_TwoPoints_OneTrapezoid()
    {
        // Width 0.5; heights 0.2 and 1.4: CPR = 0.5 * 0.8; CMD = 0.5 * (0.8 + 0.4) / 2.
        var (cpr, cmd) = MibProtocol.Areas([0.5, 1.0], [0.2, 1.4]);
        Assert.Equal(0.4, cpr, 12);
        Assert.Equal(0.3, cmd, 12);
    }

    [Fact]
    public void Sizes_81Edges_AreIntOfEachFractionAndZero()
    {
        Assert.Equal([0, 1, 4, 8, 16, 40, 81], MibProtocol.Sizes(81));
        Assert.Equal([0, 32, 64, 162, 324, 649, 1624, 3249, 6498, 16245, 32491], MibProtocol.Sizes(32491));
    }

    [Fact]
    public void Measure_SyntheticResults_NormalisesBetweenEmptyAndFull()
    {
        // 1000 edges: sizes 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000; logit diff = k / 100 - 2, empty = -2, full = 8.
        var sizes = MibProtocol.Sizes(1000);
        var results = sizes.Select(k => new CircuitResult(
            k, Math.Max(0, k - 1), new Dictionary<string, double> { ["logit-diff"] = (k / 100.0) - 2 })).ToList();
        var mib = MibProtocol.Measure(results, 1000, full: 8);
        Assert.Equal([1, 2, 5, 10, 20, 50, 100, 200, 500, 1000], mib.Requested);
        Assert.Equal([0, 1, 4, 9, 19, 49, 99, 199, 499, 999], mib.WeightedEdgeCount);
        Assert.Equal(-2, mib.Empty);
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(mib.Requested[i] / 1000.0, mib.Faithfulness[i], 12);
        }

        Assert.Equal(0.4999995, mib.Cpr, 12);
        Assert.Equal(0.4990005, mib.Cmd, 12);
    }

    [Fact]
    public void Prune_DeadEndChain_IsRemovedToAFixedPoint()
    {
        // Components: 0 input, 1 A, 2 B. Edges: input->A, A->B, input->logits. B has no way out, so A->B goes, then A
        // has no way out, so input->A goes too (a single pass of EAP-IG's loop after apply_topn keeps input->A).
        var topology = CircuitTopology.FromArrays(3, [0, 1, 0], [[1], [2], []]);
        var inCircuit = new[] { true, true, true };
        Assert.Equal(1, topology.Prune(inCircuit));
        Assert.Equal([false, false, true], inCircuit);
    }

    [Fact]
    public void Prune_ConnectedCircuit_KeepsEveryEdge()
    {
        var topology = CircuitTopology.FromArrays(3, [0, 1, 2, 0], [[1], [2], [], [2]]);
        var inCircuit = new[] { true, true, true, true };
        Assert.Equal(4, topology.Prune(inCircuit));
    }

    [Fact]
    public void ExpandToNodes_AddsEveryEdgeBetweenTouchedNodes()
    {
        // input->A selected: input and A are in, so input->logits and A->logits join; B stays out.
        var topology = CircuitTopology.FromArrays(3, [0, 0, 1, 0, 2], [[1], [], [], [2], []]);
        var inCircuit = new[] { true, false, false, false, false };
        topology.ExpandToNodes(inCircuit);
        Assert.Equal([true, true, true, false, false], inCircuit);
    }

    [Fact]
    public void Greedy_GrowsFromTheLogits()
    {
        // Edges: 0 input->A (key 10), 1 A->logits (key 1), 2 input->logits (key 2). The best edge (input->A) is not a
        // candidate until A joins; greedy takes input->logits, then A->logits, then input->A.
        var topology = CircuitTopology.FromArrays(2, [0, 1, 0], [[1], [], []]);
        Assert.Equal([false, false, true], topology.Greedy([10, 1, 2], 1));
        Assert.Equal([false, true, true], topology.Greedy([10, 1, 2], 2));
        Assert.Equal([true, true, true], topology.Greedy([10, 1, 2], 3));
    }

    [Fact]
    public void Resolve_ProtocolDefaults()
    {
        var auto = CircuitSelection.Default.Resolve(EvaluationProtocol.AutoCircuit);
        Assert.True(auto.Absolute);
        Assert.False(auto.Prune);
        Assert.True(CircuitSelection.Default.IsThresholdSelection(EvaluationProtocol.AutoCircuit));
        var mib = CircuitSelection.Default.Resolve(EvaluationProtocol.Mib);
        Assert.False(mib.Absolute);
        Assert.True(mib.Prune);
        Assert.False(CircuitSelection.Default.IsThresholdSelection(EvaluationProtocol.Mib));
        Assert.True(new CircuitSelection(Absolute: true, Prune: false).IsThresholdSelection(EvaluationProtocol.Mib));
        Assert.False(new CircuitSelection(Absolute: false).IsThresholdSelection(EvaluationProtocol.AutoCircuit));
    }

    [Theory]
    [InlineData("top-k", true, true, null, "edge", "exclude each other")]
    [InlineData("greedy", false, false, null, "node", "edges only")]
    [InlineData("best", false, false, null, "edge", "--select best")]
    [InlineData("top-k", false, false, null, "neuron", "--level neuron")]
    public void Parse_BadCombination_Refused(string method, bool absolute, bool signed, bool? prune, string level, string message)
    {
        var e = Assert.Throws<AutoCircuitException>(() => CircuitSelection.Parse(method, absolute, signed, prune, level));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_Names()
    {
        Assert.Equal(new CircuitSelection(SelectionMethod.Greedy, false, true), CircuitSelection.Parse("greedy", false, true, true, null));
        Assert.Equal(EvaluationProtocol.Mib, CircuitSelection.ParseProtocol("mib"));
        Assert.Throws<AutoCircuitException>(() => CircuitSelection.ParseProtocol("acdc"));
    }

    [Theory]
    [InlineData(PatchType.EdgePatch)]
    [InlineData(PatchType.TreePatch)]
    public void ExplicitTopK_DistinctScores_MeasuresAsTheThresholdPath(PatchType patchType)
    {
        // Without ties, the k largest |score|s are the threshold circuit: explicit masks must give the same metrics.
        using var micro = new MicroModel();
        using var model = PatchableModel.Create(micro, new GraphOptions(true, null));
        using var scores = model.NewPruneScores();
        var rng = new Random(3);
        foreach (var e in model.Graph.Edges)
        {
            scores.Set(e, (rng.NextDouble() * 2) - 1 + (e.Src.SrcIndex * 1e-3));
        }

        using var batch = new PromptBatch(
            0,
            torch.tensor(new float[] { 3, 3, 2, 2, 1, 1, 1, 2, 3, 1, 2, 3 }, [2, 3, 2]),
            torch.tensor(new float[] { -3, -3, -2, -2, -1, -1, -1, 0, 1, 1, 0, -2 }, [2, 3, 2]),
            new AnswerSet(torch.tensor(new long[] { 1, 0 }, [2, 1])),
            new AnswerSet(torch.tensor(new long[] { 0, 1 }, [2, 1])));
        var sizes = Enumerable.Range(0, model.Graph.EdgeCount + 1).ToList();
        var options = new CircuitRunOptions(patchType);
        using var thresholdSink = new PruneMetricsSink(model);
        var thresholdCounts = CircuitRunner.Run(model, [batch], scores, sizes, options, thresholdSink);
        var selected = CircuitSelector.Select(FlatScores.From(scores), sizes, new CircuitSelection(Absolute: true, Prune: false));
        using var explicitSink = new PruneMetricsSink(model);
        var explicitCounts = CircuitRunner.Run(model, [batch], selected, options, explicitSink);
        Assert.Equal(thresholdCounts, explicitCounts);
        var a = thresholdSink.Results();
        var b = explicitSink.Results();
        for (var i = 0; i < sizes.Count; i++)
        {
            foreach (var (key, value) in a[i])
            {
                Assert.Equal(value, b[i][key]);
            }
        }
    }
}
