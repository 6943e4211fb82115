using AutoCircuit.Algorithms.Random;
using AutoCircuit.Host.Algorithms;
using AutoCircuit.Testing;
using TorchSharp;
using Xunit;

namespace AutoCircuit.Algorithms.Tests.Random;

/// <summary>
/// random against auto-circuit's <c>random_prune_scores</c> (tests/Fixtures/auto-circuit/micro_random.json).
/// </summary>
[Collection(nameof(SeededCollection))]
public sealed class RandomScoresTests
{
    private const string Fixture = "auto-circuit/micro_random.json";

    public static TheoryData<int> Scenarios() => MicroScenario.Indices(Fixture);

    [Theory]
    [MemberData(nameof(Scenarios))]
    public void Run_SeededLikeAutoCircuit_DrawsTheSameNumbers(int index)
    {
        // Same generator (mt19937), same seed, same draws in the same module order: bit-identical.
        using var s = MicroScenario.Load(Fixture, index);
        var context = new PruneContext { Model = s.Model, TrainBatches = s.Data.Train, Seed = s.TorchSeed };

        using var outcome = AlgorithmRunner.Run(new RandomScores(), context); // seeds torch with context.Seed

        Assert.True(outcome.Succeeded, outcome.Error);
        s.AssertScores(outcome.Scores!, 0, 0);
    }

    [Fact]
    public void ManualSeed_Zero_DrawsPyTorchsFirstNumbers()
    {
        using var doc = TestFixtures.Load(Fixture);
        using var expected = MicroScenario.ToTensor(doc.RootElement.GetProperty("rand5_seed0"));
        torch.random.manual_seed(0);

        using var drawn = torch.rand(5);

        TensorAssert.AllClose(expected, drawn, 0, 0, "torch.manual_seed(0); torch.rand(5)");
    }
}
