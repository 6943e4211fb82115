using static TorchSharp.torch;

namespace AutoCircuit.Patching;

/// <summary>
/// Optional capability of a patchable model (test with <c>model is IActivationAccess</c>): reading the
/// activations at graph modules, and the gradients of a loss with respect to them, on an unpatched
/// forward pass. Slow reference algorithms use it (e.g. the per-edge form of edge attribution
/// patching, which needs each destination's input gradient and each source's output), so that they
/// do not depend on the patching machinery they are checking.
/// </summary>
/// <remarks>
/// A module's activation is the tensor at its hook point as the model computes it, e.g.
/// <c>[batch, seq, head, d]</c> for a module with one node per head (heads on
/// <see cref="Graph.Node.HeadDim"/>) or <c>[batch, seq, d]</c> otherwise. For a destination module
/// this is the destination's input; for a source module, the source's output. Patch mode must be off.
/// The returned tensors belong to no dispose scope: the caller owns and disposes them.
/// </remarks>
public interface IActivationAccess
{
    /// <summary>
    /// Runs the model on <paramref name="input"/> without patching and gradients and returns a copy of
    /// the activation at each of <paramref name="moduleNames"/> (source or destination modules of the graph).
    /// </summary>
    /// <exception cref="ArgumentException">A name is not a module of the graph.</exception>
    /// <exception cref="InvalidOperationException">Patch mode is on, or the forward pass did not reach a
    /// module.</exception>
    Dictionary<string, Tensor> CaptureActivations(Tensor input, IEnumerable<string> moduleNames);

    /// <summary>
    /// Runs the model on <paramref name="input"/> without patching, computes
    /// <c>loss(output)</c> from the model's whole output (a scalar) and returns
    /// <c>d loss / d activation</c> at each of <paramref name="moduleNames"/>, shaped like the activation.
    /// Model parameters and masks receive no gradients.
    /// </summary>
    /// <exception cref="ArgumentException">A name is not a module of the graph, or the loss is not a
    /// scalar.</exception>
    /// <exception cref="InvalidOperationException">Patch mode is on, or the forward pass did not reach a
    /// module.</exception>
    Dictionary<string, Tensor> CaptureGradients(
        Tensor input, IEnumerable<string> moduleNames, Func<Tensor, Tensor> loss);
}
