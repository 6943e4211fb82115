using static TorchSharp.torch;

namespace AutoCircuit.Engine.Patching;

/// <summary>
/// A forward pass with patch mode off in which a callback sees (and may replace) the activation at every hook point,
/// for <see cref="PatchableModel.CaptureActivations"/> and <see cref="PatchableModel.CaptureGradients"/>.
/// </summary>
/// <param name="capture">Gets the module name and the activation (not to be disposed); returns the activation or a new
/// tensor in the current dispose scope.</param>
internal sealed class ActivationCapture(Func<string, Tensor, Tensor> capture) : ForwardPass
{
    /// <inheritdoc />
    public override Tensor Apply(PatchWrapper wrapper, Tensor x) => capture(wrapper.ModuleName, x);
}
