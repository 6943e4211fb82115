using AutoCircuit.Patching;
using static TorchSharp.torch;

namespace AutoCircuit.Host.Patching;

/// <summary>Mutable state shared by every wrapper of one model (auto-circuit keeps it on each wrapper).</summary>
internal sealed class PatchState
{
    /// <summary>Ablations read by destinations; non-null exactly while patch mode is on.</summary>
    public Tensor? PatchSrcOuts { get; set; }

    /// <summary>Buffer sources write to while patch mode is on.</summary>
    public Tensor? CurrSrcOuts { get; set; }

    public MaskFunction MaskFunction { get; set; } = MaskFunction.None;

    public double Dropout { get; set; }

    /// <summary>Masks are being trained (dropout on the masks applies).</summary>
    public bool Training { get; set; }

    /// <summary>Sources record their outputs for source ablations (patch mode off).</summary>
    public bool Recording { get; set; }

    /// <summary>Sees (and may replace) the activation at every hook point, for <see cref="IActivationAccess"/>; null when off.</summary>
    public Func<string, Tensor, Tensor>? Capture { get; set; }
}
