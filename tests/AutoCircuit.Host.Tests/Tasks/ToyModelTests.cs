using AutoCircuit.Host.Toy;
using AutoCircuit.Models.Toy;
using AutoCircuit.Testing;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;

namespace AutoCircuit.Host.Tests.Tasks;

/// <summary>The embedded toy model: reproducible training, its documented accuracy and its known circuit.</summary>
[Collection(nameof(SeededCollection))]
public sealed class ToyModelTests(ITestOutputHelper output)
{
    /// <summary>README, Tasks: held-out top-1 accuracy of the embedded model (2048 prompts, seed 1000003).</summary>
    private const double DocumentedAccuracy = 1.0;

    [Fact]
    public void Train_SameSeed_SameWeightsBitForBit_OtherSeed_Different()
    {
        var options = new ToyTrainOptions(Seed: 5, Steps: 3, BatchSize: 16);

        using var a = ToyTraining.Train(options);
        using var b = ToyTraining.Train(options);
        using var c = ToyTraining.Train(options with { Seed = 6 });

        var pa = a.named_parameters().ToList();
        var pb = b.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var pc = c.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        Assert.Equal(25, pa.Count); // embeddings, 2 x (norm, Q, K, V, O with biases), final norm, unembedding
        foreach (var (name, p) in pa)
        {
            TensorAssert.Equal(p, pb[name], name);
        }

        using var diff = (pa[0].parameter - pc[pa[0].name]).abs().max();
        Assert.True(diff.ToDouble() > 1e-3, "another seed must give other weights");
    }

    [Fact]
    public void Train_ChangesTheWeights()
    {
        using var zeroSteps = ToyTraining.Train(new ToyTrainOptions(Seed: 5, Steps: 1, BatchSize: 16, LearningRate: 1e-12));
        using var trained = ToyTraining.Train(new ToyTrainOptions(Seed: 5, Steps: 20, BatchSize: 16));

        using var diff = (zeroSteps.named_parameters().First().parameter - trained.named_parameters().First().parameter).abs().max();
        Assert.True(diff.ToDouble() > 1e-3);
    }

    [Fact]
    public void EmbeddedModel_HeldOutAccuracy_ReachesTheDocumentedNumber()
    {
        var (model, info) = ToyModel.Load();
        using (model)
        {
            using var prompts = InductionData.Generate(ToyModel.HeldOutPrompts, ToyModel.HeldOutSeed);

            var measured = ToyAnalysis.Measure(model, prompts);

            output.WriteLine($"{measured}");
            Assert.True(measured.Accuracy >= DocumentedAccuracy, $"accuracy {measured.Accuracy}");
            Assert.Equal(info.HeldOut.Accuracy, measured.Accuracy);
            Assert.Equal(info.HeldOut.LogitDiff, measured.LogitDiff, 4);
            Assert.True(measured.CorruptLogitDiff < -5, "on the corrupt prompt the model copies C");
            Assert.Equal("dotnet autocircuit train-toy --seed 1 --steps 1000", info.Recipe);
        }
    }

    [Fact]
    public void EmbeddedModel_HeadsFromAttention_AreThoseStoredWithIt()
    {
        var (model, info) = ToyModel.Load();
        using (model)
        {
            using var prompts = InductionData.Generate(512, 99);

            var found = ToyCircuit.IdentifyHeads(ToyAnalysis.MeasureHeads(model, prompts));

            Assert.Equal([0], found.PreviousToken);
            Assert.Equal([0, 1, 2, 3], found.Induction);
            Assert.Equal(info.Found.PreviousToken, found.PreviousToken);
            Assert.Equal(info.Found.Induction, found.Induction);
            Assert.Equal(ToyCircuit.ValuePath(4, found), info.Circuit);
        }
    }

    [Fact]
    public void EmbeddedModel_KnownCircuit_IsFaithful()
    {
        var (model, info) = ToyModel.Load();
        using (model)
        {
            using var prompts = InductionData.Generate(256, 4242);

            var evidence = ToyCircuit.Verify(model, info.Circuit, info.MatchPath, prompts);

            output.WriteLine($"{evidence}");
            Assert.Equal(28, info.Circuit.Count);
            Assert.True(evidence.CircuitAlone >= 95, $"the circuit alone recovers {evidence.CircuitAlone}%");
            Assert.True(evidence.ComplementAblated >= 85, $"with every other edge corrupt: {evidence.ComplementAblated}%");
            Assert.True(evidence.ComplementAlone <= -80, $"every other edge alone: {evidence.ComplementAlone}%");
            Assert.True(evidence.CircuitAblated <= -80, $"the circuit ablated: {evidence.CircuitAblated}%");
            Assert.True(evidence.CorruptModel <= -95, $"the corrupt model: {evidence.CorruptModel}%");
            // The query/key half carries the same activations in clean and corrupt prompts...
            Assert.True(Math.Abs(evidence.MatchPathAlone - evidence.CorruptModel) < 2, $"query/key half alone: {evidence.MatchPathAlone}%");
            // ...but the mechanism needs it: mean-ablated, most of the logit difference is gone.
            Assert.True(evidence.MatchPathMeanAblated <= 50, $"query/key half mean-ablated: {evidence.MatchPathMeanAblated}%");
        }
    }

    [Fact]
    public void Verify_CircuitWithoutTheInductionHeadOutputs_FailsWhenItsComplementIsAblated()
    {
        var (model, info) = ToyModel.Load();
        using (model)
        {
            using var prompts = InductionData.Generate(128, 4243);
            var withoutOutputs = info.Circuit.Where(e => !e.EndsWith("->Resid End", StringComparison.Ordinal)).ToList();

            var evidence = ToyCircuit.Verify(model, withoutOutputs, info.MatchPath, prompts);

            // Edge patching alone still works (the unpatched output edges carry the recomputed, now clean-like outputs of
            // the induction heads); with every other edge corrupt, the induction heads' outputs are corrupt.
            Assert.True(evidence.CircuitAlone > 90, $"{evidence.CircuitAlone}%");
            Assert.True(evidence.ComplementAblated < 0, $"{evidence.ComplementAblated}%");
        }
    }

    [Fact]
    public void SaveAndLoad_RoundTripsWeightsAndInfo()
    {
        var (model, info) = ToyModel.Load();
        var path = Path.Combine(Path.GetTempPath(), $"toy-{Guid.NewGuid():N}.safetensors");
        try
        {
            using (model)
            {
                ToyModel.Save(model, info, path);
                var (again, againInfo) = ToyModel.Load(path);
                using (again)
                {
                    foreach (var ((name, p), (_, q)) in model.named_parameters().Zip(again.named_parameters()))
                    {
                        TensorAssert.Equal(p, q, name);
                    }
                }

                Assert.Equal(info.Circuit, againInfo.Circuit);
                Assert.Equal(info.HeldOut, againInfo.HeldOut);
            }

            Assert.True(new FileInfo(path).Length < 5_000_000);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
