using AutoCircuit.Algorithms.Acdc;
using AutoCircuit.Engine.Patching;
using AutoCircuit.Models.Micro;
using AutoCircuit.Testing;
using TorchSharp;
using Xunit;
using AcdcAlgorithm = AutoCircuit.Algorithms.Acdc.Acdc;

namespace AutoCircuit.Algorithms.Tests.Acdc;

/// <summary>
/// ACDC against auto-circuit's <c>acdc_prune_scores</c> on the micro model
/// (tests/Fixtures/auto-circuit/micro_acdc.json; auto-circuit was given the edges in our documented
/// order), through both the full-forward path and the start-at-block path, and step by step against
/// tree-patched forwards.
/// </summary>
public sealed class AcdcTests
{
    private const string Fixture = "auto-circuit/micro_acdc.json";

    public static TheoryData<int> Scenarios() => MicroScenario.Indices(Fixture);

    [Theory]
    [MemberData(nameof(Scenarios))]
    public void Run_MicroScenario_MatchesAutoCircuit(int index)
    {
        using var s = MicroScenario.Load(Fixture, index);
        var acdc = MicroScenario.Create("acdc", s.Options);

        using var scores = acdc.Run(s.Context());

        AssertAutoCircuitScores(s, scores);
    }

    [Theory]
    [MemberData(nameof(Scenarios))]
    public void Run_FullForwardPerEdge_MatchesAutoCircuit(int index)
    {
        // auto-circuit's own way (its micro model does not start at a block): one full forward pass per tested edge.
        using var s = MicroScenario.Load(Fixture, index);
        Assert.True(s.Model.CanRestartAtBlock, "the micro model restarts at blocks: Run_MicroScenario covers that path");
        using var fullForward = new FullForwardMicroModel();
        using var model = PatchableModel.Create(fullForward, s.Model.Options);
        Assert.False(model.CanRestartAtBlock);
        var acdc = MicroScenario.Create("acdc", s.Options);

        using var scores = acdc.Run(new PruneContext { Model = model, TrainBatches = s.Data.Train });

        AssertAutoCircuitScores(s, scores);
    }

    [Theory]
    [MemberData(nameof(Scenarios))]
    public void Run_DecisionsOnTheDevice_MatchAutoCircuit(int index)
    {
        // On the CPU each step's decision is a host read of the metric; accelerators decide with tensor operations (no
        // per-edge wait). Both ways run here.
        using var s = MicroScenario.Load(Fixture, index);
        var onHost = (AcdcAlgorithm)MicroScenario.Create("acdc", s.Options);
        var onDevice = new AcdcAlgorithm(onHost.Options) { DecideOnDevice = true };

        using var scores = onDevice.Run(s.Context());

        AssertAutoCircuitScores(s, scores);
    }

    [Theory]
    [MemberData(nameof(Scenarios))]
    public void EdgeOrder_MicroGraph_IsTheOrderAutoCircuitWasGiven(int index)
    {
        using var s = MicroScenario.Load(Fixture, index);
        var expected = s.Element.GetProperty("edge_order").EnumerateArray()
            .Select(e => e[1].ValueKind == System.Text.Json.JsonValueKind.Null
                ? e[0].GetString()
                : $"{e[0].GetString()}@{e[1].GetInt32()}");

        var order = AcdcAlgorithm.EdgeOrder(s.Graph).Select(e => e.ToString());

        Assert.Equal(expected, order);
    }

    [Fact]
    public void EdgeOrder_FactorizedMicro_IsReverseTopological()
    {
        using var s = MicroScenario.Varied(factorized: true, tokenPositions: false);

        var order = AcdcAlgorithm.EdgeOrder(s.Graph);

        Assert.Equal("B1.1->Resid End", order[0].Name);
        Assert.Equal("Resid Start->B0.0", order[^1].Name);
        Assert.Equal(order.Select(e => e.Dest.Layer).OrderDescending(), order.Select(e => e.Dest.Layer));
    }

    [Theory]
    [InlineData(true, false, AcdcTarget.KlDiv)]
    [InlineData(true, true, AcdcTarget.Mse)]
    [InlineData(false, false, AcdcTarget.Mse)]
    [InlineData(false, true, AcdcTarget.KlDiv)]
    public void Run_EveryStep_EqualsTreePatchedForwardOfTheCurrentCircuit(
        bool factorized, bool tokenPositions, AcdcTarget target)
    {
        using var s = MicroScenario.Varied(factorized, tokenPositions);
        using var referenceMicro = new MicroModel();
        using var reference = PatchableModel.Create(referenceMicro, s.Model.Options);
        using var fullForwardMicro = new FullForwardMicroModel();
        using var fullForward = PatchableModel.Create(fullForwardMicro, s.Model.Options);
        var options = new AcdcOptions { TauExps = [-2, 0, 2], TauBases = [1, 3], Target = target };

        // Full forwards (the double without restarts) and start-at-block (the micro model).
        Assert.True(s.Model.CanRestartAtBlock);
        AcdcStepCheck.AssertEachStepEqualsTreePatchedForward(fullForward, reference, s.Data.Train, options);
        AcdcStepCheck.AssertEachStepEqualsTreePatchedForward(s.Model, reference, s.Data.Train, options);
        AcdcStepCheck.AssertEachStepEqualsTreePatchedForward(s.Model, reference, s.Data.Train, options, decideOnDevice: true);
        AcdcStepCheck.AssertEachStepEqualsTreePatchedForward(s.Model, reference, s.Data.Train, options, decideOnDevice: false);
    }

    [Fact]
    public void Run_TokenPositions_RemovesEveryEarlierPositionEdgeAtTheSmallestTau()
    {
        // The micro model does not mix positions and the task reads the last one: edges at earlier
        // positions change nothing and go at the first tau; the last position's edges are what remains.
        using var s = MicroScenario.Varied(factorized: true, tokenPositions: true);
        var acdc = new AcdcAlgorithm(new AcdcOptions { TauExps = [-3, -1], TauBases = [1] });

        using var scores = acdc.Run(s.Context());

        foreach (var module in s.Graph.DestModules)
        {
            using var early = scores[module].narrow(0, 0, 2);
            using var expected = torch.full_like(early, 1e-3);
            TensorAssert.AllClose(expected, early, 0, 0, $"{module.ModuleName} positions 0-1");
        }

        var top = scores.RankedEdges(take: 3);
        Assert.All(top, e => Assert.Equal(2, e.Edge.SeqIndex));
    }

    [Fact]
    public void Run_EdgesNoTauRemoves_ScoreTheLargestFiniteFloat()
    {
        using var s = MicroScenario.Varied(factorized: true, tokenPositions: false);
        var acdc = new AcdcAlgorithm(new AcdcOptions { TauExps = [-6], TauBases = [1] });

        using var scores = acdc.Run(s.Context());

        Assert.False(scores.HasNonFinite());
        var kept = scores.RankedEdges().Count(e => e.Score == float.MaxValue);
        Assert.InRange(kept, 1, s.Graph.EdgeCount);
        Assert.All(s.Model.Masks.Values, m => Assert.Equal(0.0, m.abs().sum().ToDouble()));
    }

    [Fact]
    public void Run_StartingAtTheDestinationBlock_HoldsTwoSourceBuffers()
    {
        // The corrupt source outputs and the engine's difference buffer; no copy of the clean source outputs (the
        // first step of each tau is a full pass that writes them), where there were four buffers before (issue 17).
        using var s = MicroScenario.Varied(factorized: true, tokenPositions: false);
        var model = s.Model;
        Assert.True(model.CanRestartAtBlock);
        long minimum;
        using (var probe = model.SourceAblations(s.Data.Train[0].Corrupt))
        {
            minimum = probe.numel() * 4; // n_src x batch x seq x d x float32
        }

        var acdc = new AcdcAlgorithm(new AcdcOptions { TauExps = [-2, 0], TauBases = [1] });
        model.ReleaseBuffers();
        model.Ledger.Enabled = true;
        try
        {
            model.Ledger.Reset();
            var baseline = model.Ledger.PeakBytes;
            using var scores = acdc.Run(new PruneContext { Model = model, TrainBatches = s.Data.Train });

            Assert.Equal(2 * minimum, model.Ledger.PeakBytes - baseline);
        }
        finally
        {
            model.Ledger.Enabled = false;
        }
    }

    private static void AssertAutoCircuitScores(MicroScenario s, AutoCircuit.Scores.PruneScores scores)
    {
        // Scores are tau values (stored as float32 by both) or "never removed": exact. auto-circuit's
        // +inf is the largest finite float here (see Acdc's remarks).
        var expected = s.ExpectedScores();
        try
        {
            foreach (var (module, e) in expected)
            {
                using var finite = e.masked_fill(e.isposinf(), float.MaxValue);
                using var asFloat = finite.to_type(torch.ScalarType.Float32);
                TensorAssert.Equal(asFloat, scores[module], module);
            }

            Assert.Contains(expected.Values, t => t.isposinf().any().ToBoolean());
            Assert.Contains(expected.Values, t => t.isfinite().any().ToBoolean());
        }
        finally
        {
            foreach (var t in expected.Values)
            {
                t.Dispose();
            }
        }
    }
}
