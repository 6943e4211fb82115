using AutoCircuit.Algorithms.Eap;
using AutoCircuit.Algorithms.MaskGradient;
using AutoCircuit.Algorithms.Random;
using AutoCircuit.Scores;
using AutoCircuit.Testing;
using Xunit;
using ActMag = AutoCircuit.Algorithms.ActivationMagnitude.ActivationMagnitude;
using MaskGrad = AutoCircuit.Algorithms.MaskGradient.MaskGradient;

namespace AutoCircuit.Algorithms.Tests.TestKit;

/// <summary>
/// The plugin authors' test kit (src/AutoCircuit.Testing) on our own algorithms: the scenarios it builds, its shape
/// assertion (it must fail on scores of another graph) and its agreement assertion (it must fail on unrelated scores).
/// </summary>
[Collection(nameof(SeededCollection))]
public sealed class TestKitTests
{
    public static TheoryData<TestModel, bool, bool> Graphs() => new()
    {
        { TestModel.Micro, true, false },
        { TestModel.Micro, false, true },
        { TestModel.Toy, true, false },
        { TestModel.Toy, true, true },
        { TestModel.Toy, false, false },
    };

    [Theory]
    [MemberData(nameof(Graphs))]
    public void Scenario_ActivationMagnitude_HasTheGraphsShapesAndKinds(TestModel model, bool factorized, bool positions)
    {
        using var scenario = PruneContextBuilder.For(model).Factorized(factorized).TokenPositions(positions).Batches(2, 3).Build();

        using var scores = scenario.Run(new ActMag());

        ScoreAssert.HasGraphShapes(scores, scenario.Graph);
        Assert.Equal(2, scenario.TrainBatches.Count);
        Assert.All(scenario.TrainBatches, b => Assert.Equal(3, b.Size));
        Assert.Equal(positions ? (int)scenario.TrainBatches[0].Clean.shape[1] : null, scenario.Graph.SeqLen);
        Assert.Equal(factorized, scenario.Graph.IsFactorized);
        // Each destination's typed scores are the kind its axes call for; the factorized graphs have head axes.
        foreach (var d in scores.Destinations)
        {
            var expected = (positions, d.Destination.HasHeadAxis) switch
            {
                (false, false) => typeof(SrcScores),
                (false, true) => typeof(HeadSrcScores),
                (true, false) => typeof(SeqSrcScores),
                (true, true) => typeof(SeqHeadSrcScores),
            };
            Assert.Equal(expected, d.GetType());
        }

        Assert.Equal(factorized, scores.Destinations.Any(d => d.Destination.HasHeadAxis));
    }

    [Fact]
    public void Scenario_SameSeed_SameBatchesAndScores_OtherSeed_Others()
    {
        using var a = PruneContextBuilder.Micro().Seed(3).Build();
        using var b = PruneContextBuilder.Micro().Seed(3).Build();
        using var c = PruneContextBuilder.Micro().Seed(4).Build();

        TensorAssert.Equal(a.TrainBatches[1].Clean, b.TrainBatches[1].Clean, "same seed");
        Assert.False(a.TrainBatches[1].Clean.allclose(c.TrainBatches[1].Clean), "another seed draws other prompts");
        using var ra = a.Run(new RandomScores());
        using var rb = b.Run(new RandomScores());
        TensorAssert.Equal(ra.Flatten(), rb.Flatten(), "random scores under the context's seed");
        Assert.Equal(3, a.Context.Seed);
    }

    [Fact]
    public void HasGraphShapes_ScoresOfAnotherGraph_FailsNamingTheDestination()
    {
        // The same destinations, with and without a token-position axis.
        using var whole = PruneContextBuilder.Micro().Build();
        using var positions = PruneContextBuilder.Micro().TokenPositions().Build();
        using var scores = positions.Run(new ActMag());
        using var residual = PruneContextBuilder.Micro().Residual().Build();

        var e = Assert.Throws<ScoreAssertionException>(() => ScoreAssert.HasGraphShapes(scores, whole.Graph));
        var other = Assert.Throws<ScoreAssertionException>(() => ScoreAssert.HasGraphShapes(scores, residual.Graph));

        Assert.Contains("have shape [", e.Message, StringComparison.Ordinal);
        Assert.Contains("the graph's mask is", e.Message, StringComparison.Ordinal);
        Assert.StartsWith("The scores do not have the graph's destinations; ", other.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void HasGraphShapes_NaNScore_FailsCountingThem()
    {
        using var scenario = PruneContextBuilder.Micro().Build();
        using var scores = scenario.Run(new ActMag());
        var module = scenario.Graph.DestModules[^1].ModuleName;
        scores[module].view(-1)[0] = float.NaN;

        var e = Assert.Throws<ScoreAssertionException>(() => ScoreAssert.HasGraphShapes(scores, scenario.Graph));

        Assert.Equal($"Scores of '{module}' hold 1 NaN or infinite value(s) of {scores[module].numel()}.", e.Message);
    }

    [Theory]
    [InlineData(TestModel.Micro)]
    [InlineData(TestModel.Toy)]
    public void AgreesWith_EapAndItsBuiltInReferenceMaskGradient_Agree(TestModel model)
    {
        // EAP is mask-gradient's per-edge oracle: the same top edges (EapTests checks the values to 1e-5). Edges whose
        // scores are equal up to float rounding may swap ranks, hence a Spearman just under 1 (0.9986 measured on micro).
        using var scenario = PruneContextBuilder.For(model).Batches(2, 4).Build();
        using var eap = scenario.Run(new EdgeAttributionPatching(new EapOptions()));
        using var reference = scenario.RunBuiltIn("mask-gradient", new Dictionary<string, string> { ["mask-value"] = "0" });

        var agreement = ScoreAssert.AgreesWith(eap, reference, k: 10, minTopKOverlap: 1.0, minSpearman: 0.99);

        Assert.Equal(10, agreement.Shared);
        Assert.Equal(1.0, agreement.TopKOverlap);
    }

    [Fact]
    public void AgreesWith_RandomScoresAgainstMaskGradient_FailsWithTheNumbers()
    {
        using var scenario = PruneContextBuilder.Toy().Batches(2, 4).Build();
        using var random = scenario.Run(new RandomScores());
        using var reference = scenario.RunBuiltIn("mask-gradient");
        var measured = ScoreAssert.Agreement(random, reference, 20);

        var e = Assert.Throws<ScoreAssertionException>(() => ScoreAssert.AgreesWith(random, reference, 20, 0.9, 0.9));

        Assert.True(measured.TopKOverlap < 0.9 && measured.Spearman < 0.9, measured.ToString());
        Assert.Contains($"top-20 overlap {measured.TopKOverlap:0.###} < 0.9", e.Message, StringComparison.Ordinal);
        Assert.Contains("Spearman", e.Message, StringComparison.Ordinal);
        Assert.Contains("the reference's top edges missing: ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Toy_WithKnownCircuit_GroundTruthRanksItFirst()
    {
        using var scenario = PruneContextBuilder.Toy().WithKnownCircuit().Build();
        var known = scenario.Context.KnownEdges!;
        Assert.NotEmpty(known);

        using var scores = scenario.RunBuiltIn("ground-truth");

        Assert.Equal(
            known.Select(e => e.ToString()).Order(StringComparer.Ordinal),
            scores.RankedEdges(known.Count).Select(e => e.Edge.ToString()).Order(StringComparer.Ordinal));
        Assert.Throws<InvalidOperationException>(() => PruneContextBuilder.Micro().WithKnownCircuit());
    }

    [Fact]
    public void RunBuiltIn_UnknownKey_ListsTheBuiltIns()
    {
        var e = Assert.Throws<ArgumentException>(() => TestScenario.CreateBuiltIn("no-such-algorithm"));

        Assert.Contains("mask-gradient", e.Message, StringComparison.Ordinal);
        Assert.Contains("activation-magnitude", TestScenario.BuiltInKeys);
    }

    [Fact]
    public void MaskGradient_OnTheKitsMicroScenario_MatchesEapOnEveryEdge()
    {
        // The kit used as any plugin author would: no fixtures, a built-in as the reference, stated tolerances.
        using var scenario = PruneContextBuilder.Micro().TokenPositions().Batches(3, 3).Build();
        using var mask = scenario.Run(new MaskGrad(new MaskGradientOptions { MaskValue = 0 }));
        using var eap = scenario.Run(new EdgeAttributionPatching(new EapOptions()));

        ScoreAssert.HasGraphShapes(mask, scenario.Graph);
        using var a = mask.Flatten();
        using var b = eap.Flatten();
        TensorAssert.AllClose(b, a, 1e-5, 1e-4, "mask-gradient at mask 0 = EAP");
    }
}
