using AutoCircuit.Algorithms.CleanCorrupted;
using AutoCircuit.Algorithms.EapIgInputs;
using AutoCircuit.Algorithms.MaskGradient;
using AutoCircuit.Engine.Patching;
using AutoCircuit.Patching;
using AutoCircuit.Scores;
using AutoCircuit.Testing;
using TorchSharp;
using Xunit;
using MaskGrad = AutoCircuit.Algorithms.MaskGradient.MaskGradient;

namespace AutoCircuit.Algorithms.Tests.EapIg;

/// <summary>
/// What EAP-IG's definitions imply, checked against independent computations: its input interpolation starts at the
/// corrupt end (steps k/m, k = 0..m-1), so <c>eap-ig-inputs</c> with one step is the gradient at the corrupt (ablated)
/// input; <c>clean-corrupted</c> is the mean of that and of the gradient at the clean input, which is
/// <c>mask-gradient</c> at mask 0 (per batch; EAP-IG averages over prompts). With every ablation type, on factorized
/// and residual graphs, with and without token positions, and on a GPT-2.
/// </summary>
public sealed class EapIgIdentityTests
{
    // Float32 sums of the same products in different orders (per-edge sums, einsums, autograd through patching).
    private const double Atol = 1e-6;
    private const double Rtol = 1e-5;

    private const string Fixture = "auto-circuit/micro_mask_gradient.json";

    public static TheoryData<bool, bool, AblationType> MicroCases()
    {
        var data = new TheoryData<bool, bool, AblationType>();
        foreach (var (factorized, positions) in new[] { (true, false), (true, true), (false, true) })
        {
            foreach (var ablation in Enum.GetValues<AblationType>())
            {
                data.Add(factorized, positions, ablation);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(MicroCases))]
    public void EapIgInputs_OneStep_EqualsGradientAtAblatedInput(bool factorized, bool positions, AblationType ablation)
    {
        using var s = MicroScenario.Custom(Fixture, "small-20", factorized, positions, batchSize: 3, trainSize: 9);
        var algorithm = new EapIgInputs.EapIgInputs(new EapIgInputsOptions { Steps = 1, Ablation = ablation, GradFunction = GradFunction.Prob });

        using var scores = algorithm.Run(s.Context());

        // The micro model's input is its Resid Start output (slot 0): the ablated input is that slot's ablation.
        using var expected = GradientOracle.At(s.Model, s.Data.Train, (_, ablated) => ablated[0], ablation, GradFunction.Prob);
        AssertEqual(expected, scores, $"{ablation}");
    }

    [Theory]
    [MemberData(nameof(MicroCases))]
    public void CleanCorrupted_IsMeanOfCleanGradientAndOneStep(bool factorized, bool positions, AblationType ablation)
    {
        using var s = MicroScenario.Custom(Fixture, "small-20", factorized, positions, batchSize: 3, trainSize: 9);

        using var both = new CleanCorrupted.CleanCorrupted(new CleanCorruptedOptions { Ablation = ablation, GradFunction = GradFunction.Prob })
            .Run(s.Context());

        using var oneStep = new EapIgInputs.EapIgInputs(new EapIgInputsOptions { Steps = 1, Ablation = ablation, GradFunction = GradFunction.Prob })
            .Run(s.Context());
        using var atClean = MaskGradientAtZero(s.Context(), ablation, GradFunction.Prob);
        using var expected = GradientOracle.Mean(oneStep, atClean, 1.0 / s.Data.Train.Count);
        AssertEqual(expected, both, $"{ablation}");
    }

    [Theory]
    [InlineData(AblationType.Resample)]
    [InlineData(AblationType.Zero)]
    [InlineData(AblationType.TokenwiseMeanCleanAndCorrupt)]
    [InlineData(AblationType.BatchTokenwiseMean)]
    public void CleanCorrupted_Gpt2_IsMeanOfCleanGradientAndGradientAtCorruptInput(AblationType ablation)
    {
        using var f = EapIgFixture.Load("gpt2-random");
        var options = new CleanCorruptedOptions { Ablation = ablation, GradFunction = GradFunction.Logprob };

        using var both = new CleanCorrupted.CleanCorrupted(options).Run(f.Context());

        using var atClean = GradientOracle.At(f.Model, f.Batches, (b, _) => b.Clean, ablation, GradFunction.Logprob);
        using var atCorrupt = ablation == AblationType.Resample
            ? GradientOracle.At(f.Model, f.Batches, (b, _) => b.Corrupt, ablation, GradFunction.Logprob)
            : new EapIgInputs.EapIgInputs(new EapIgInputsOptions { Steps = 1, Ablation = ablation, GradFunction = GradFunction.Logprob })
                .Run(f.Context());
        using var expected = GradientOracle.Mean(atCorrupt, atClean);
        AssertEqual(expected, both, $"{ablation}");
        using var maskGradient = MaskGradientAtZero(f.Context(), ablation, GradFunction.Logprob);
        foreach (var m in f.Model.Graph.DestModules)
        {
            using var perBatch = maskGradient[m] / f.Batches.Count;
            TensorAssert.AllClose(perBatch, atClean[m], Atol, Rtol, $"mask-gradient at 0 = gradient at clean, {m.ModuleName}");
        }
    }

    [Fact]
    public void EapIgInputs_Gpt2OneStep_EqualsGradientAtCorruptInput()
    {
        using var f = EapIgFixture.Load("gpt2-random");

        using var scores = new EapIgInputs.EapIgInputs(new EapIgInputsOptions { Steps = 1 }).Run(f.Context());

        using var expected = GradientOracle.At(f.Model, f.Batches, (b, _) => b.Corrupt, AblationType.Resample);
        AssertEqual(expected, scores, "gpt2 resample");
    }

    public static TheoryData<string> GradientKeys() => new() { "eap-ig-inputs", "eap-ig-activations", "clean-corrupted" };

    [Theory]
    [MemberData(nameof(GradientKeys))]
    public void Run_TokenPositions_SumOverPositionsEqualsWholeSequence(string key)
    {
        using var whole = MicroScenario.Custom(Fixture, "two-answers-12", true, false, batchSize: 3, trainSize: 6);
        using var split = MicroScenario.Custom(Fixture, "two-answers-12", true, true, batchSize: 3, trainSize: 6);
        var options = new Dictionary<string, string> { ["grad-function"] = "logprob", ["ablation"] = "batch-tokenwise-mean" };
        if (key != "clean-corrupted")
        {
            options["steps"] = "3";
        }

        using var total = MicroScenario.Create(key, options).Run(whole.Context());
        using var perPosition = MicroScenario.Create(key, options).Run(split.Context());

        foreach (var m in whole.Graph.DestModules)
        {
            using var summed = perPosition[m.ModuleName].sum(0L);
            TensorAssert.AllClose(total[m], summed, Atol, Rtol, m.ModuleName);
        }

        using var flat = total.Flatten();
        Assert.True(flat.abs().max().ToDouble() > 1e-3, "the scores are all ~0: the comparison would prove nothing");
    }

    [Theory]
    [MemberData(nameof(GradientKeys))]
    public void Run_Gpt2TokenPositions_SumOverPositionsEqualsWholeSequence(string key)
    {
        using var whole = EapIgFixture.Load("gpt2-random");
        using var split = EapIgFixture.Load("gpt2-random", new GraphOptions(SeqLen: 6));
        var options = new Dictionary<string, string> { ["ablation"] = "zero" };
        if (key != "clean-corrupted")
        {
            options["steps"] = "2";
        }

        using var total = MicroScenario.Create(key, options).Run(whole.Context());
        using var perPosition = MicroScenario.Create(key, options).Run(split.Context());

        foreach (var m in whole.Model.Graph.DestModules)
        {
            using var summed = perPosition[m.ModuleName].sum(0L);
            TensorAssert.AllClose(total[m], summed, Atol, Rtol, m.ModuleName);
        }
    }

    private static PruneScores MaskGradientAtZero(PruneContext context, AblationType ablation, GradFunction gradFunction) =>
        new MaskGrad(new MaskGradientOptions
        {
            MaskValue = 0,
            Ablation = ablation,
            AblationSource = AblationSource.Corrupt,
            GradFunction = gradFunction,
        }).Run(context);

    private static void AssertEqual(PruneScores expected, PruneScores actual, string what)
    {
        foreach (var m in expected.Graph.DestModules)
        {
            TensorAssert.AllClose(expected[m], actual[m], Atol, Rtol, $"{what} {m.ModuleName}");
        }

        using var flat = expected.Flatten();
        Assert.True(flat.abs().max().ToDouble() > 1e-4, $"{what}: the scores are all ~0: the comparison would prove nothing");
    }
}
