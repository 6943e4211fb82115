using static TorchSharp.torch;

namespace AutoCircuit.Patching;

/// <summary>
/// Optional capability of a patchable model (test with <c>model is IActivationIntervention</c>): a forward pass in
/// which a callback sees, and may replace, the activation at every graph module's hook point. Algorithms build their
/// own interventions on it without the patching machinery: integrated gradients over interpolated inputs or layer
/// outputs (replace a source module's output and hold each destination's input for <c>autograd.grad</c>), one edge
/// patched per prompt of a batch, or attributions computed from activations as they pass.
/// </summary>
/// <remarks>
/// <para>The callback runs once per graph module and forward pass, in the order the model reaches the modules (every
/// source before the destinations it feeds). A module that is both a destination and a source is seen once: the
/// returned tensor is the destination's input and the source's output, as in patching.</para>
/// <para>The pass runs under the caller's gradient mode: inside <c>torch.inference_mode()</c> nothing is recorded; with
/// gradients enabled, gradients flow through the tensors the callback returns. Model parameters never require grad.</para>
/// </remarks>
public interface IActivationIntervention
{
    /// <summary>
    /// Runs the model on <paramref name="input"/> with <paramref name="intervention"/> at every graph module and returns
    /// the whole output (e.g. logits <c>[batch, seq, vocab]</c>; apply <see cref="IPatchableModel.SliceOutput"/> for the
    /// task's slice).
    /// </summary>
    /// <exception cref="InvalidOperationException">Patch mode is on, another intervention or capture is running, or the
    /// callback returned a tensor of another shape than the activation (the message names the module and both
    /// shapes).</exception>
    Tensor ForwardWithIntervention(Tensor input, ActivationIntervention intervention);
}
