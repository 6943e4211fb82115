using AutoCircuit.Algorithms.Eap;
using AutoCircuit.Testing;
using TorchSharp;
using Xunit;

namespace AutoCircuit.Algorithms.Tests.Eap;

/// <summary>The per-edge edge attribution patching oracle on the micro model.</summary>
public sealed class EapTests
{
    private const string Fixture = "auto-circuit/micro_mask_gradient.json";

    public static TheoryData<bool, bool, GradFunction, AnswerFunction> Cases()
    {
        var data = new TheoryData<bool, bool, GradFunction, AnswerFunction>();
        foreach (var (factorized, positions) in new[] { (true, false), (true, true), (false, false), (false, true) })
        {
            data.Add(factorized, positions, GradFunction.Logit, AnswerFunction.AvgDiff);
            data.Add(factorized, positions, GradFunction.Prob, AnswerFunction.AvgVal);
            data.Add(factorized, positions, GradFunction.Logprob, AnswerFunction.Mse);
            data.Add(factorized, positions, GradFunction.LogitExp, AnswerFunction.AvgDiff);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Run_MicroModel_EqualsMaskGradientAtMaskZero(
        bool factorized, bool tokenPositions, GradFunction grad, AnswerFunction answer)
    {
        // The small-input dataset keeps softmax and exp away from saturation and overflow.
        using var s = MicroScenario.Custom(Fixture, "small-20", factorized, tokenPositions, batchSize: 3, trainSize: 9);

        EapEquivalence.AssertEapEqualsMaskGradient(s.Model, s.Data.Train, grad, answer);
    }

    [Fact]
    public void Run_TokenPositions_ScoreEachPositionSeparately()
    {
        // Per-position edges split the whole-sequence score (auto-circuit's EAP gives every position the total).
        using var whole = MicroScenario.Custom(Fixture, "small-20", true, false, 3, 9);
        using var perPosition = MicroScenario.Custom(Fixture, "small-20", true, true, 3, 9);
        var eap = new EdgeAttributionPatching(new EapOptions());

        using var total = eap.Run(whole.Context());
        using var split = eap.Run(perPosition.Context());

        foreach (var module in whole.Graph.DestModules)
        {
            using var summed = split[module.ModuleName].sum(0L);
            TensorAssert.AllClose(total[module], summed, 1e-5, 1e-5, module.ModuleName);
            using var first = split[module.ModuleName].select(0, 0);
            using var last = split[module.ModuleName].select(0, -1);
            Assert.True(
                first.abs().max().ToDouble() < 1e-7,
                "the micro model does not mix positions: only the last token's edges matter");
            Assert.True(last.abs().max().ToDouble() > 1e-3, "last-token edges carry the score");
        }
    }
}
