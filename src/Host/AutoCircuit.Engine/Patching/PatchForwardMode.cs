namespace AutoCircuit.Engine.Patching;

/// <summary>
/// How the destinations of one forward pass in patch mode compute their patch; <see cref="PatchPlanner"/> chooses it
/// when the pass starts. The three modes compute the same values (docs/engine.md says why).
/// </summary>
internal enum PatchForwardMode
{
    /// <summary>
    /// Gradients may flow into the masks or the activations: auto-circuit's computation (<see cref="ReferencePatch"/>).
    /// Sources write their outputs into the current-output buffer; each destination subtracts and contracts its slice.
    /// </summary>
    Autograd,

    /// <summary>
    /// No gradient (inference mode or <c>no_grad</c>; <see cref="GroupedInferencePatch"/>): sources write
    /// <c>patch - output</c> into one shared difference buffer, destinations only contract it with their mask (one matrix
    /// product per group of destinations that read the same sources), and destinations known to have all-zero masks are
    /// skipped.
    /// </summary>
    Inference,

    /// <summary>
    /// Gradients of masks that are all 0 with no mask function (edge attribution patching;
    /// <see cref="ZeroMaskGradientPatch"/>): the patched forward pass equals the plain one, so destinations pass their
    /// input through a <see cref="MaskGradientProbe"/> whose backward pass turns the input's gradient into the mask
    /// gradient.
    /// </summary>
    ZeroMaskGradient,
}
