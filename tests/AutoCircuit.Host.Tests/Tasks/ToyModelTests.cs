using AutoCircuit.Host.Toy;
using AutoCircuit.Models.Toy;
using AutoCircuit.Testing;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace AutoCircuit.Host.Tests.Tasks;

/// <summary>The embedded toy model: reproducible training, its documented accuracy and its known circuit.</summary>
[Collection(nameof(SeededCollection))]
public sealed class ToyModelTests(ITestOutputHelper output)
{
    /// <summary>docs/models-and-tasks.md: held-out top-1 accuracy of the embedded model (2048 prompts, seed 1000003).</summary>
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
    public void EmbeddedModel_HeldOutAccuracy_MatchesAnIndependentForwardAndTheDocumentedNumbers()
    {
        var (model, info) = ToyModel.Load();
        using (model)
        using (var reference = new ToyReferenceForward())
        {
            using var prompts = InductionData.Generate(ToyModel.HeldOutPrompts, ToyModel.HeldOutSeed);

            var measured = ToyAnalysis.Measure(model, prompts);
            var (clean, cleanPatterns) = reference.Run(prompts.Clean);
            var (corrupt, corruptPatterns) = reference.Run(prompts.Corrupt);
            using var logits = model.Forward(prompts.Clean, prefix: null);
            using var scope = torch.NewDisposeScope();
            var last = clean.select(1, -1); // [n, V]
            var accuracy = last.argmax(1).eq(prompts.Answer).to_type(ScalarType.Float64).mean().ToDouble();
            var diff = LogitDiff(last, prompts).ToDouble();
            var corruptDiff = LogitDiff(corrupt.select(1, -1), prompts).ToDouble();

            output.WriteLine($"{measured}; independent: accuracy {accuracy}, logit diff {diff:F4} / {corruptDiff:F4}");
            TensorAssert.AllClose(clean, logits.to_type(ScalarType.Float64), 1e-3, 1e-4, "the model's logits vs the float64 reference");
            Assert.Equal(accuracy, measured.Accuracy);
            Assert.Equal(diff, measured.LogitDiff, 1e-4);
            Assert.Equal(corruptDiff, measured.CorruptLogitDiff, 1e-4);
            // docs/models-and-tasks.md: 100.00% held-out accuracy; logit(B) - logit(C) 11.83 clean, -11.80 corrupt.
            Assert.Equal(DocumentedAccuracy, accuracy);
            Assert.Equal(11.83, diff, 0.005);
            Assert.Equal(-11.80, corruptDiff, 0.005);
            Assert.Equal("dotnet autocircuit train-toy --seed 1 --steps 1000", info.Recipe);
            foreach (var t in cleanPatterns.Concat(corruptPatterns).Append(clean).Append(corrupt))
            {
                t.Dispose();
            }
        }
    }

    [Fact]
    public void EmbeddedModel_HeadsFromAttention_MatchAnIndependentForwardAndTheDocumentedHeads()
    {
        var (model, info) = ToyModel.Load();
        using (model)
        using (var reference = new ToyReferenceForward())
        {
            // The prompts train-toy measures the heads on (docs/models-and-tasks.md states the scores).
            using var prompts = InductionData.Generate(ToyModel.HeldOutPrompts, ToyModel.HeldOutSeed);

            var heads = ToyAnalysis.MeasureHeads(model, prompts);
            var found = ToyCircuit.IdentifyHeads(heads);
            var (logits, patterns) = reference.Run(prompts.Clean);
            using var scope = torch.NewDisposeScope();
            var t = prompts.Clean.shape[1];
            var n = prompts.Count;
            for (var l = 0; l < 2; l++)
            {
                // Previous token: attention from position i to i - 1, averaged over i = 1..T-1 and the prompts.
                var previous = Enumerable.Range(1, (int)t - 1)
                    .Select(i => patterns[l].select(2, i).select(2, i - 1)) // [n, H]
                    .Aggregate((a, b) => a + b) / (t - 1);
                // Induction: attention from the last position to B, the token after A's first occurrence.
                var toB = (prompts.FirstPosition + 1).view(n, 1, 1).expand(n, 4, 1); // [n, H, 1]
                var induction = patterns[l].select(2, t - 1).gather(2, toB).squeeze(2); // [n, H]
                for (var h = 0; h < 4; h++)
                {
                    Assert.Equal(previous.mean([0L])[h].ToDouble(), heads.PreviousToken[l][h], 1e-5);
                    Assert.Equal(induction.mean([0L])[h].ToDouble(), heads.Induction[l][h], 1e-5);
                }
            }

            output.WriteLine($"previous-token {string.Join(" ", heads.PreviousToken[0].Select(x => x.ToString("F3", System.Globalization.CultureInfo.InvariantCulture)))}; " +
                             $"induction {string.Join(" ", heads.Induction[1].Select(x => x.ToString("F3", System.Globalization.CultureInfo.InvariantCulture)))}");
            // docs/models-and-tasks.md: A0.0 is a previous-token head (0.83; the other layer-0 heads 0.21-0.28), and the four
            // layer-1 heads are induction heads (0.95, 0.96, 0.97, 0.98).
            Assert.Equal(0.83, heads.PreviousToken[0][0], 0.005);
            Assert.All(heads.PreviousToken[0].Skip(1), x => Assert.InRange(x, 0.205, 0.285));
            Assert.Equal([0.95, 0.96, 0.97, 0.98], heads.Induction[1].Select(x => Math.Round(x, 2)));
            Assert.Equal([0], found.PreviousToken);
            Assert.Equal([0, 1, 2, 3], found.Induction);
            // The known circuit is the four induction heads' value path, as the docs list it (28 edges).
            Assert.Equal(DocumentedCircuit.Order(StringComparer.Ordinal), info.Circuit.Order(StringComparer.Ordinal));
            logits.Dispose();
            foreach (var p in patterns)
            {
                p.Dispose();
            }
        }
    }

    private static Tensor LogitDiff(Tensor last, InductionBatch prompts) =>
        (last.gather(1, prompts.Answer.unsqueeze(1)) - last.gather(1, prompts.Wrong.unsqueeze(1))).mean(); // mean over [n, 1]

    /// <summary>docs/models-and-tasks.md, "Its known circuit": the value path of the four induction heads.</summary>
    private static readonly string[] DocumentedCircuit =
    [
        "Resid Start->A0.0.V", "Resid Start->A0.1.V", "Resid Start->A0.2.V", "Resid Start->A0.3.V",
        "Resid Start->A1.0.V", "A0.0->A1.0.V", "A0.1->A1.0.V", "A0.2->A1.0.V", "A0.3->A1.0.V", "A1.0->Resid End",
        "Resid Start->A1.1.V", "A0.0->A1.1.V", "A0.1->A1.1.V", "A0.2->A1.1.V", "A0.3->A1.1.V", "A1.1->Resid End",
        "Resid Start->A1.2.V", "A0.0->A1.2.V", "A0.1->A1.2.V", "A0.2->A1.2.V", "A0.3->A1.2.V", "A1.2->Resid End",
        "Resid Start->A1.3.V", "A0.0->A1.3.V", "A0.1->A1.3.V", "A0.2->A1.3.V", "A0.3->A1.3.V", "A1.3->Resid End",
    ];

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
