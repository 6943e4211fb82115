using AutoCircuit.Patching;
using static TorchSharp.torch;

namespace AutoCircuit.Engine.Patching;

/// <summary>How the destinations of one forward pass in patch mode compute their patch.</summary>
internal enum PatchForwardMode
{
    /// <summary>
    /// Gradients may flow into the masks or the activations (auto-circuit's computation, op for op): sources write
    /// their outputs into <see cref="PatchState.CurrSrcOuts"/>, each destination subtracts and contracts its slice.
    /// </summary>
    Autograd,

    /// <summary>
    /// No gradient (inference mode or <c>no_grad</c>): sources write <c>patch - output</c> into the shared
    /// <see cref="PatchState.DiffSrcOuts"/> once, destinations only contract it with their mask (one einsum per
    /// group of destinations that read the same sources), and destinations known to have all-zero masks are skipped.
    /// </summary>
    Inference,

    /// <summary>
    /// Gradients of masks that are all 0 with no mask function (edge attribution patching): the patched forward pass
    /// equals the plain one, so destinations pass their input through a probe whose backward pass turns the input's
    /// gradient into the mask gradient <c>einsum(grad, patch - output)</c> with the differences written by the sources.
    /// </summary>
    ZeroMaskGradient,
}

/// <summary>Mutable state shared by every wrapper of one model (auto-circuit keeps it on each wrapper).</summary>
internal sealed class PatchState
{
    /// <summary>Ablations read by destinations; non-null exactly while patch mode is on.</summary>
    public Tensor? PatchSrcOuts { get; set; }

    /// <summary>Buffer sources write their outputs to: given by the caller, or allocated for the first
    /// <see cref="PatchForwardMode.Autograd"/> forward pass; kept up to date in every mode once it exists.</summary>
    public Tensor? CurrSrcOuts { get; set; }

    /// <summary><c>patch - current output</c> per source slot (<see cref="PatchForwardMode.Inference"/> and
    /// <see cref="PatchForwardMode.ZeroMaskGradient"/>).</summary>
    public Tensor? DiffSrcOuts { get; set; }

    /// <summary>Whether <see cref="DiffSrcOuts"/> holds <c>patch - curr</c> for every slot not yet rewritten.</summary>
    public bool DiffValid { get; set; }

    /// <summary>The mode of the forward pass in progress.</summary>
    public PatchForwardMode Mode { get; set; }

    /// <summary>Per destination module (by index): whether its mask may be non-zero; <c>null</c>: all may be.</summary>
    public bool[]? Active { get; set; }

    /// <summary>Patches computed for a whole group of destinations, waiting for the group's other members.</summary>
    public Dictionary<PatchWrapper, Tensor> PendingDeltas { get; } = [];

    /// <summary>
    /// Patches of a group's extension (e.g. the layer's MLP input) over the group's sources only, computed with the
    /// group's product (and how many of its sources that covers); the extension adds its own later sources. Kept across
    /// source writes, cleared per forward pass.
    /// </summary>
    public Dictionary<PatchWrapper, (Tensor Partial, long Covered)> PendingPartials { get; } = [];

    public MaskFunction MaskFunction { get; set; } = MaskFunction.None;

    public double Dropout { get; set; }

    /// <summary>Masks are being trained (dropout on the masks applies).</summary>
    public bool Training { get; set; }

    /// <summary>Sources record their outputs for source ablations (patch mode off).</summary>
    public bool Recording { get; set; }

    /// <summary>Sees (and may replace) the activation at every hook point, for <see cref="IActivationAccess"/>; null when off.</summary>
    public Func<string, Tensor, Tensor>? Capture { get; set; }
}
