using AutoCircuit.Algorithms.Eap;
using AutoCircuit.Algorithms.MaskGradient;
using AutoCircuit.Data;
using AutoCircuit.Patching;
using AutoCircuit.Testing;
using TorchSharp;
using Xunit;

namespace AutoCircuit.Algorithms.Tests.Eap;

/// <summary>
/// auto-circuit's test_edge_attribution_patching.py for any patchable model: the per-edge reference
/// <c>eap</c> equals the fast <c>mask-gradient</c> at mask value 0 with resample ablations of the corrupt
/// prompts and the same objective. One call per model kind (micro now, transformers when they land).
/// </summary>
public static class EapEquivalence
{
    // auto-circuit's own tolerance for this comparison (atol 1e-5), plus 1e-5 relative because the two
    // float32 computations sum the same products in different orders (per-edge sums vs the einsum backward).
    public const double Atol = 1e-5;
    public const double Rtol = 1e-5;

    /// <summary>
    /// Asserts eap = mask-gradient on <paramref name="batches"/> and that the scores are not trivially zero.
    /// </summary>
    public static void AssertEapEqualsMaskGradient(
        IPatchableModel model,
        IReadOnlyList<PromptBatch> batches,
        GradFunction gradFunction = GradFunction.Logit,
        AnswerFunction answerFunction = AnswerFunction.AvgDiff)
    {
        ArgumentNullException.ThrowIfNull(model);
        var context = new PruneContext { Model = model, TrainBatches = batches };
        var eap = new EdgeAttributionPatching(
            new EapOptions { GradFunction = gradFunction, AnswerFunction = answerFunction });
        var fast = new AutoCircuit.Algorithms.MaskGradient.MaskGradient(new MaskGradientOptions
        {
            GradFunction = gradFunction,
            AnswerFunction = answerFunction,
            MaskValue = 0,
            Ablation = AblationType.Resample,
            AblationSource = AblationSource.Corrupt,
        });

        using var slow = eap.Run(context);
        using var quick = fast.Run(context);

        foreach (var module in model.Graph.DestModules)
        {
            var what = $"{module.ModuleName} ({gradFunction}, {answerFunction})";
            TensorAssert.AllClose(quick[module], slow[module], Atol, Rtol, what);
        }

        using var flat = slow.Flatten();
        Assert.True(flat.abs().max().ToDouble() > 1e-3, "eap scores are all ~0: the comparison would prove nothing");
    }
}
