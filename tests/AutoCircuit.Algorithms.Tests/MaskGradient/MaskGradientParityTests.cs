using AutoCircuit.Testing;
using Xunit;

namespace AutoCircuit.Algorithms.Tests.MaskGradient;

/// <summary>
/// mask-gradient against auto-circuit's <c>mask_gradient_prune_scores</c> on the micro model
/// (tests/Fixtures/auto-circuit/micro_mask_gradient.json): every grad function with every answer
/// function, integrated gradients, other mask values, all seven ablation types from clean and corrupt
/// prompts, two answers per prompt, factorized and residual graphs with and without token positions.
/// Runs on <see cref="TestDevice.Current"/> (CUDA with AUTOCIRCUIT_TEST_DEVICE=cuda).
/// </summary>
[Trait("Category", "Gpu")]
public sealed class MaskGradientParityTests
{
    // Deterministic float32 on both sides: the same forward and backward and the same sums over batches and
    // samples (ours batch by batch, auto-circuit's sample by sample: only the order of float additions and
    // libtorch's kernel-level rounding differ).
    private const double Rtol = 1e-5;

    // Gradients that cancel to ~0 (e.g. an answer minus itself) are compared absolutely.
    private const double Atol = 1e-6;

    public static TheoryData<int> Scenarios() => MicroScenario.Indices(Fixture);

    private const string Fixture = "auto-circuit/micro_mask_gradient.json";

    [Theory]
    [MemberData(nameof(Scenarios))]
    public void Run_MicroScenario_MatchesAutoCircuit(int index)
    {
        using var s = MicroScenario.Load(Fixture, index, TestDevice.Current);
        var algorithm = MicroScenario.Create("mask-gradient", s.Options);

        using var scores = algorithm.Run(s.Context());

        s.AssertScores(scores, Atol, Rtol);
    }
}
