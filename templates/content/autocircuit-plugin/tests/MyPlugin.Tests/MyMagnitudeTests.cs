using AutoCircuit;
using AutoCircuit.Testing;
using Xunit;
using Xunit.Abstractions;

namespace MyPlugin.Tests;

/// <summary>my-magnitude on the test kit's models: the scores fit every kind of graph and rank like the built-in.</summary>
public sealed class MyMagnitudeTests(ITestOutputHelper output)
{
    public static TheoryData<TestModel, bool, bool> Graphs() => new()
    {
        { TestModel.Micro, true, false },  // SrcScores
        { TestModel.Micro, false, true },  // SeqSrcScores
        { TestModel.Toy, true, false },    // HeadSrcScores too (attention heads)
        { TestModel.Toy, true, true },     // SeqHeadSrcScores too
    };

    [Theory]
    [MemberData(nameof(Graphs))]
    public void Run_AnyGraph_ScoresHaveTheGraphsShapes(TestModel model, bool factorized, bool tokenPositions)
    {
        using var scenario = PruneContextBuilder.For(model)
            .Factorized(factorized).TokenPositions(tokenPositions).Batches(2, size: 4).Log(output.WriteLine).Build();

        using var scores = scenario.Run(new MyMagnitude(new MyMagnitudeOptions()));

        ScoreAssert.HasGraphShapes(scores, scenario.Graph);
    }

    [Theory]
    [InlineData(TestModel.Micro, 1.0)]
    [InlineData(TestModel.Toy, 1.0)]
    [InlineData(TestModel.Toy, 2.0)]
    public void Run_RanksEdgesAsTheBuiltInActivationMagnitude(TestModel model, double power)
    {
        using var scenario = PruneContextBuilder.For(model).Batches(2, size: 4).Build();
        using var mine = scenario.Run(new MyMagnitude(new MyMagnitudeOptions { Power = power }));
        using var reference = scenario.RunBuiltIn("activation-magnitude");

        // A power keeps the order of |mean activation|: the same top edges, a rank correlation of 1.
        var agreement = ScoreAssert.AgreesWith(mine, reference, k: 10, minTopKOverlap: 1.0, minSpearman: 0.9999);

        output.WriteLine($"{scenario}: {agreement}");
    }
}
