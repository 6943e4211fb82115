using AutoCircuit.Engine.Hooks;
using AutoCircuit.Engine.Patching;
using AutoCircuit.Models.Micro;
using AutoCircuit.Testing;
using TorchSharp;
using Xunit;

namespace AutoCircuit.Host.Tests.Patching;

/// <summary>
/// <see cref="AutoCircuit.Patching.IActivationAccess"/> on the micro model, against values worked out
/// by hand: a block multiplies each head's copy of the residual by its weight row ([1, 2] and [3, 4]) and
/// adds the sum ([4, 6] x) to the residual, so the output is [5, 7]² x = [25, 49] x.
/// </summary>
public sealed class ActivationAccessTests
{
    private static torch.Tensor Input() => torch.tensor(
        new float[] { 3, 3, 2, 2, 1, 1, 0.5f, -1, 2, 0.25f, -3, 1.5f }, [2, 3, 2]);

    [Fact]
    public void CaptureActivations_MicroModel_ReturnsEachModulesActivation()
    {
        using var micro = new MicroModel();
        using var model = PatchableModel.Create(micro, new GraphOptions());
        using var input = Input();
        using var output = model.Forward(input);
        using var weights = torch.tensor(new float[,] { { 1, 2 }, { 3, 4 } });

        var acts = model.CaptureActivations(
            input, [HookNames.Micro.Input, HookNames.Micro.HeadOutputs(0), HookNames.Micro.HeadInputs(1), HookNames.Micro.Output]);

        try
        {
            TensorAssert.AllClose(input, acts[HookNames.Micro.Input], 0, 0, "input");
            using var heads0 = input.unsqueeze(2) * weights; // [B, T, H, R]
            TensorAssert.AllClose(heads0, acts[HookNames.Micro.HeadOutputs(0)], 1e-6, 0, "block 0 heads");
            using var resid1 = input * torch.tensor(new float[] { 5, 7 });
            using var inputs1 = resid1.unsqueeze(2).expand(2, 3, 2, 2);
            TensorAssert.AllClose(inputs1, acts[HookNames.Micro.HeadInputs(1)], 1e-5, 0, "block 1 head inputs");
            TensorAssert.AllClose(output, acts[HookNames.Micro.Output], 0, 0, "output");
        }
        finally
        {
            foreach (var t in acts.Values)
            {
                t.Dispose();
            }
        }
    }

    [Fact]
    public void CaptureGradients_SumOfOutputs_GivesTotalDerivativesAndLeavesModelUnchanged()
    {
        using var micro = new MicroModel();
        using var model = PatchableModel.Create(micro, new GraphOptions());
        using var input = Input();
        using var before = model.Forward(input);

        var grads = model.CaptureGradients(input, [HookNames.Micro.Input, HookNames.Micro.HeadInputs(0), HookNames.Micro.Output], output => output.sum());

        try
        {
            // d sum(out) / d out = 1; / d input = [25, 49]; / d head_inputs.0[h, r] = w[h, r] * [5, 7][r].
            using var ones = torch.ones(2, 3, 2);
            TensorAssert.AllClose(ones, grads[HookNames.Micro.Output], 0, 0, "output");
            using var dInput = torch.tensor(new float[] { 25, 49 }).expand(2, 3, 2);
            TensorAssert.AllClose(dInput, grads[HookNames.Micro.Input], 1e-5, 0, "input");
            using var weights = torch.tensor(new float[,] { { 1, 2 }, { 3, 4 } });
            using var dHeads = (weights * torch.tensor(new float[] { 5, 7 })).expand(2, 3, 2, 2);
            TensorAssert.AllClose(dHeads, grads[HookNames.Micro.HeadInputs(0)], 1e-5, 0, "head inputs");
        }
        finally
        {
            foreach (var t in grads.Values)
            {
                t.Dispose();
            }
        }

        using var after = model.Forward(input);
        TensorAssert.Equal(before, after, "forward after capture");
        Assert.All(model.Masks.Values, m => Assert.Null(m.grad));
    }

    [Fact]
    public void Capture_UnknownModuleOrPatchMode_Throws()
    {
        using var micro = new MicroModel();
        using var model = PatchableModel.Create(micro, new GraphOptions());
        using var input = Input();

        var unknown = Assert.Throws<ArgumentException>(() => model.CaptureActivations(input, [HookNames.Micro.HeadInputs(9)]));
        Assert.Contains(HookNames.Micro.HeadInputs(9), unknown.Message, StringComparison.Ordinal);

        using var patch = model.SourceAblations(input);
        using (model.PatchMode(patch))
        {
            Assert.Throws<InvalidOperationException>(() => model.CaptureGradients(input, [HookNames.Micro.Output], o => o.sum()));
        }
    }
}
