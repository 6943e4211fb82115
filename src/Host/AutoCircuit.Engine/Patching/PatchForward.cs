using static TorchSharp.torch;

namespace AutoCircuit.Engine.Patching;

/// <summary>
/// A forward pass in patch mode (auto-circuit's <c>PatchWrapperImpl.forward</c> with <c>patch_mode</c> on): at a
/// destination the input is patched first; at a source the (patched) output is then written into the buffers the
/// mode reads. Subclasses are the three ways of computing the same patch (<see cref="PatchForwardMode"/>).
/// </summary>
internal abstract class PatchForward(PatchableModel owner, PatchScope scope, MaskSettings masks) : ForwardPass
{
    /// <summary>Which of the three units this is.</summary>
    public abstract PatchForwardMode Mode { get; }

    /// <summary>The engine (its buffer type, memory ledger, options).</summary>
    protected PatchableModel Owner { get; } = owner;

    /// <summary>The patch scope this pass runs in: the ablations and the buffers kept across its passes.</summary>
    protected PatchScope Scope { get; } = scope;

    /// <summary>Mask function, dropout and training, as they were when the pass started.</summary>
    protected MaskSettings Masks { get; } = masks;

    /// <inheritdoc />
    public sealed override Tensor Apply(PatchWrapper wrapper, Tensor x)
    {
        if (wrapper.Destination is not null)
        {
            x = PatchInput(wrapper, x);
        }

        if (wrapper.Source is not null)
        {
            WriteOutput(wrapper, x);
        }

        return x;
    }

    /// <summary>The destination's patched input: <c>x + Σ_s mask[..., s] · (patch[s] - curr[s])</c> over its incoming sources.</summary>
    protected abstract Tensor PatchInput(PatchWrapper destination, Tensor x);

    /// <summary>Records a source's output where this mode's destinations will read it.</summary>
    protected abstract void WriteOutput(PatchWrapper source, Tensor output);
}
