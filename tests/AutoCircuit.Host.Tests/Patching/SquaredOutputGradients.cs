using AutoCircuit.Engine.Patching;
using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Host.Tests.Patching;

/// <summary>The mask gradient the patching tests compare: of the sum of squared (sliced) outputs, in one patched pass.</summary>
internal static class SquaredOutputGradients
{
    /// <summary>
    /// d (sum of squared outputs of <paramref name="clean"/>) / d mask, every mask at <paramref name="maskValue"/>, patched
    /// with the ablations of <paramref name="corrupt"/>; one tensor per destination module, owned by the caller.
    /// </summary>
    public static Dictionary<string, Tensor> Of(PatchableModel model, Tensor clean, Tensor corrupt, double maskValue = 0)
    {
        using var scope = torch.NewDisposeScope();
        using var patch = model.SourceAblations(corrupt);
        using (model.TrainMaskMode())
        {
            model.SetAllMasks(maskValue);
            using (model.PatchMode(patch))
            {
                var output = model.Run(clean);
                var loss = output.square().sum();
                loss.backward();
            }

            return model.Masks.ToDictionary(kv => kv.Key, kv => kv.Value.grad!.detach().clone().DetachFromDisposeScope());
        }
    }
}
