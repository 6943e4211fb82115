using static TorchSharp.torch;

namespace AutoCircuit.Engine.Patching;

/// <summary>
/// <see cref="PatchForwardMode.Autograd"/>: auto-circuit's patch (<c>utils/patch_wrapper.py</c>,
/// <c>PatchWrapperImpl.forward</c>), differentiable in the masks, the activations and the buffers. Each source writes its
/// output into the current-output buffer (<c>curr_src_outs[src_idxs] = src_out</c>); each destination computes
/// <c>d = patch_src_outs[in_srcs] - curr_src_outs[in_srcs]</c> and returns <c>x + einsum(mask, d)</c>.
/// </summary>
/// <remarks>
/// The one liberty, taken only without <see cref="PatchOptions.ReferencePatching"/>: where the einsum is a plain matrix
/// product (no token-position axis, no sampled masks) it is computed as one, heads first in memory (the same sum;
/// <see cref="PatchMath.HeadMajorProduct"/>), and with mask values per row as one matrix product and a sum over the
/// sources (<see cref="PatchMath.RowValuesProduct"/>). Used whenever a gradient may be wanted and the zero-mask probe does not
/// apply, and always under <see cref="PatchOptions.ReferencePatching"/>.
/// </remarks>
internal sealed class ReferencePatch : PatchForward
{
    private readonly Tensor _curr;

    private ReferencePatch(PatchableModel owner, PatchScope scope, MaskSettings masks)
        : base(owner, scope, masks)
    {
        scope.DiffValid = false; // this pass writes only the current outputs
        _curr = scope.EnsureCurrSrcOuts(); // [S, B, T, d]
    }

    /// <inheritdoc />
    public override PatchForwardMode Mode => PatchForwardMode.Autograd;

    /// <summary>Starts a pass in <paramref name="scope"/>.</summary>
    public static ReferencePatch Begin(PatchableModel owner, PatchScope scope, MaskSettings masks) => new(owner, scope, masks);

    /// <inheritdoc />
    protected override Tensor PatchInput(PatchWrapper destination, Tensor x)
    {
        using var patch = destination.IncomingSlots(Scope.PatchSrcOuts); // [S, B, T, d...]
        using var curr = destination.IncomingSlots(_curr); // [S, B, T, d...]
        using var diff = patch - curr; // [S, B, T, d...]: auto-circuit's d
        Owner.Ledger.TrackUntilPatchEnd(diff); // autograd keeps it for the backward pass
        if (!Owner.PatchOptions.ReferencePatching && PatchMath.IsRowValuesProduct(destination, Masks))
        {
            using var rowProduct = PatchMath.RowValuesProduct(destination.Mask!, Masks.RowValues!, diff); // [H?, B, T, d...]
            return PatchMath.AddHeadMajor(x, rowProduct, destination.Destination!.HasHeadAxis, inPlace: false);
        }

        if (Owner.PatchOptions.ReferencePatching || !PatchMath.IsMatrixProduct(destination, Masks))
        {
            using var delta = PatchMath.Contract(destination, Masks, x.size(0), diff); // [B, T, H?, d...]
            return x + delta; // auto-circuit's arg_0 += einsum(mask, d, ...)
        }

        using var weights = PatchMath.DroppedWeights(destination, Masks, diff.dtype); // [H?, S]
        using var product = PatchMath.HeadMajorProduct(weights, diff); // [H?, B, T, d...]
        return PatchMath.AddHeadMajor(x, product, destination.Destination!.HasHeadAxis, inPlace: false);
    }

    /// <inheritdoc />
    protected override void WriteOutput(PatchWrapper source, Tensor output) => source.Write(_curr, output);
}
