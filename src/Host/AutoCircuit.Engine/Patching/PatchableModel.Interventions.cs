using AutoCircuit.Patching;
using AutoCircuit.Tensors;
using static TorchSharp.torch;

namespace AutoCircuit.Engine.Patching;

/// <summary>
/// The <see cref="IActivationIntervention"/> capability: a forward pass with patch mode off whose hooks hand every
/// activation to the caller's callback (an <see cref="ActivationCapture"/>, as <c>.Capture</c>'s calls use).
/// </summary>
public sealed partial class PatchableModel : IActivationIntervention
{
    /// <inheritdoc />
    /// <remarks>
    /// Runs in its own dispose scope like every forward pass of the engine: the caller owns the output; what the callback
    /// creates during the pass is freed when it returns, unless the callback took it out of the dispose scope (then
    /// the callback's owner disposes it).
    /// </remarks>
    public Tensor ForwardWithIntervention(Tensor input, ActivationIntervention intervention)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(intervention);
        if (_patch is not null)
        {
            throw new InvalidOperationException("Interventions run with patch mode off.");
        }

        if (CurrentPass is not null)
        {
            throw new InvalidOperationException("Another intervention, capture or forward pass is running on this model.");
        }

        var pass = new ActivationCapture((name, x) =>
        {
            var y = intervention(name, x);
            if (!TensorSizes.SameSizes(y, x))
            {
                throw new InvalidOperationException(
                    $"The intervention at '{name}' returned [{string.Join(", ", y.shape)}] for an activation of shape " +
                    $"[{string.Join(", ", x.shape)}].");
            }

            return y;
        });
        return RunForward(input, () => _model.Forward(input), pass);
    }
}
