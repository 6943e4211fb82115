using AutoCircuit.Patching;
using static TorchSharp.torch;

namespace AutoCircuit.Engine.Patching;

/// <summary>The <see cref="IActivationIntervention"/> capability: the patch wrappers' capture hook, handed to a callback.</summary>
public sealed partial class PatchableModel : IActivationIntervention
{
    /// <inheritdoc />
    public Tensor ForwardWithIntervention(Tensor input, ActivationIntervention intervention)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(intervention);
        if (State.PatchSrcOuts is not null)
        {
            throw new InvalidOperationException("Interventions run with patch mode off.");
        }

        if (State.Capture is not null)
        {
            throw new InvalidOperationException("Another intervention or activation capture is running on this model.");
        }

        State.Capture = (name, x) =>
        {
            var y = intervention(name, x);
            if (!y.shape.SequenceEqual(x.shape))
            {
                throw new InvalidOperationException(
                    $"The intervention at '{name}' returned [{string.Join(", ", y.shape)}] for an activation of shape " +
                    $"[{string.Join(", ", x.shape)}].");
            }

            return y;
        };
        try
        {
            return Forward(input);
        }
        finally
        {
            State.Capture = null;
        }
    }
}
