using AutoCircuit.Algorithms.Tests.EapIg;
using AutoCircuit.Algorithms.Tests.Exact;
using AutoCircuit.Engine.Patching;
using AutoCircuit.Models.Toy;
using AutoCircuit.Testing;
using TorchSharp;
using Xunit;
using Ifr = AutoCircuit.Algorithms.InformationFlowRoutes.InformationFlowRoutes;

namespace AutoCircuit.Algorithms.Tests.InformationFlowRoutes;

/// <summary>
/// Properties of information flow routes beyond the reference fixtures (<see cref="EapIgParityTests"/>): a
/// destination's importances are a distribution over its incoming sources (at each prompt, position and head, so also
/// in the mean), token positions split the mean over positions, and the corrupt prompts play no part.
/// </summary>
public sealed class InformationFlowRoutesTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Run_Toy_EveryDestinationsImportancesSumToOne(bool factorized)
    {
        var (toy, _) = ToyModel.Load();
        using var _ = toy;
        using var model = PatchableModel.Create(toy, new GraphOptions(factorized));
        var batches = ExactTests.ToyBatches();

        try
        {
            using var scores = new Ifr().Run(new PruneContext { Model = model, TrainBatches = batches });

            foreach (var m in model.Graph.DestModules)
            {
                using var sums = scores[m].sum(-1L);
                using var ones = torch.ones_like(sums);
                TensorAssert.AllClose(ones, sums, 1e-5, 0, m.ModuleName);
                Assert.True(scores[m].min().ToDouble() >= 0, $"{m.ModuleName}: importances are proportions");
            }
        }
        finally
        {
            batches.ForEach(b => b.Dispose());
        }
    }

    [Theory]
    [InlineData("micro")]
    [InlineData("gpt2-random")]
    public void Run_TokenPositions_MeanOverPositionsEqualsWholeSequence(string model)
    {
        using var whole = EapIgFixture.Load(model);
        using var split = EapIgFixture.Load(model, new GraphOptions(SeqLen: (int)whole.Batches[0].Clean.shape[1]));

        using var total = new Ifr().Run(whole.Context());
        using var perPosition = new Ifr().Run(split.Context());

        foreach (var m in whole.Model.Graph.DestModules)
        {
            using var mean = perPosition[m.ModuleName].mean([0L]);
            TensorAssert.AllClose(total[m], mean, 1e-6, 1e-5, m.ModuleName);
        }
    }

    [Fact]
    public void Run_OtherCorruptPrompts_SameScores()
    {
        using var f = EapIgFixture.Load("gpt2-random");
        using var scores = new Ifr().Run(f.Context());
        var swapped = f.Batches.Select(b => new AutoCircuit.Data.PromptBatch(
            b.Key, b.Clean.clone(), b.Clean.clone(), new(b.Answers.Ids.clone()), new(b.WrongAnswers.Ids.clone()))).ToList();

        try
        {
            using var again = new Ifr().Run(new PruneContext { Model = f.Model, TrainBatches = swapped });

            foreach (var m in f.Model.Graph.DestModules)
            {
                TensorAssert.Equal(scores[m], again[m], m.ModuleName);
            }
        }
        finally
        {
            swapped.ForEach(b => b.Dispose());
        }
    }
}
