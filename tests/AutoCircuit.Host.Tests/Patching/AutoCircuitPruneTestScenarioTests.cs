using AutoCircuit.Engine.Patching;
using AutoCircuit.Graph;
using AutoCircuit.Models.Micro;
using AutoCircuit.Patching;
using AutoCircuit.Testing;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace AutoCircuit.Host.Tests.Patching;

/// <summary>
/// auto-circuit's <c>tests/test_prune.py</c> scenarios, whose expected outputs auto-circuit states
/// (worked out by hand): edge-patching the top 0..3 edges of the micro model, clean ablations on the
/// corrupt input. Here the masks are set directly; circuit evaluation has its own tests.
/// </summary>
public sealed class AutoCircuitPruneTestScenarioTests
{
    private static Tensor Clean() => torch.tensor(new float[] { 3, 3, 2, 2, 1, 1 }, [1, 3, 2]);

    [Theory]
    [InlineData(null)]
    [InlineData(3)]
    public void EdgePatch_TopEdgesOfMicroModel_ReproducesTestPrune(int? seqLen)
    {
        using var micro = new MicroModel();
        using var model = PatchableModel.Create(micro, new GraphOptions(true, seqLen));
        using var clean = Clean();
        using var corrupt = -clean;
        int? seq = seqLen is null ? null : seqLen - 1;
        var ranked = new[]
        {
            model.Graph.FindEdge("B0.1->Resid End", seq)!,
            model.Graph.FindEdge("B0.0->B1.1", seq)!,
            model.Graph.FindEdge("Resid Start->B0.0", seq)!,
        };
        var expected = new[] { new[] { -25f, -49f }, [-19f, -41f], [-13f, -25f], [-9f, -13f] };
        using var patch = model.SourceAblations(clean);

        for (var k = 0; k <= 3; k++)
        {
            model.SetMasks(ranked.Take(k));
            using (model.PatchMode(patch))
            using (torch.inference_mode())
            {
                using var output = model.Run(corrupt);
                using var want = torch.tensor(expected[k], [1, 2]);
                TensorAssert.AllClose(want, output, 1e-3, 0, $"{k} edges");
            }
        }
    }

    [Fact]
    public void EdgePatch_DifferentPositions_ReproducesTestPruneSequence()
    {
        using var micro = new MicroModel();
        using var model = PatchableModel.Create(micro, new GraphOptions(true, 3, OutputSlice: OutputSlice.All));
        using var clean = Clean();
        using var corrupt = -clean;
        var ranked = new Edge[]
        {
            model.Graph.FindEdge("B0.1->Resid End", 2)!,
            model.Graph.FindEdge("B0.0->B1.1", 2)!,
            model.Graph.FindEdge("Resid Start->Resid End", 0)!,
        };
        using var patch = model.SourceAblations(clean);
        using var corruptOut = model.Run(corrupt);

        var outputs = new List<Tensor>();
        for (var k = 0; k <= 3; k++)
        {
            model.SetMasks(ranked.Take(k));
            using (model.PatchMode(patch))
            using (torch.inference_mode())
            {
                outputs.Add(model.Run(corrupt));
            }
        }

        TensorAssert.AllClose(corruptOut, outputs[0], 1e-3, 0, "0 edges");
        TensorAssert.AllClose(torch.tensor(new float[] { -19, -41 }, [1, 2]), outputs[1].select(1, 2), 1e-3, 0, "1 edge, position 2");
        TensorAssert.AllClose(torch.tensor(new float[] { -13, -25 }, [1, 2]), outputs[2].select(1, 2), 1e-3, 0, "2 edges, position 2");
        TensorAssert.AllClose(torch.tensor(new float[] { -69, -141 }, [1, 2]), outputs[3].select(1, 0), 1e-3, 0, "3 edges, position 0");
        foreach (var o in outputs)
        {
            o.Dispose();
        }
    }
}
