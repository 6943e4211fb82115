using AutoCircuit.Tensors;
using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Engine.Patching;

/// <summary>
/// <see cref="PatchForwardMode.ZeroMaskGradient"/>: the mask gradient at mask 0 (edge attribution patching, auto-circuit's
/// <c>mask_gradient_prune_scores</c> with <c>mask_val=0</c>). At mask 0 auto-circuit's patched input
/// <c>x + einsum(mask, d)</c> equals <c>x</c>, and its gradient with respect to the mask is
/// <c>einsum(grad of the input, d)</c>: each destination passes its input through a <see cref="MaskGradientProbe"/>,
/// which copies it forward and computes exactly that contraction backward, from this pass's difference buffer.
/// </summary>
/// <remarks>
/// Sources write <c>patch - output</c> into the pass's own difference buffer (fresh each pass: the probes read it during
/// the backward pass). No forward einsum, no per-destination subtraction, and autograd keeps no
/// <c>[n_src, B, T, d]</c> tensor per destination. The planner picks this mode only when it equals
/// <see cref="ReferencePatch"/>: every mask 0, masks trained with no mask function or dropout, and no gradient wanted for
/// the ablations or current outputs.
/// </remarks>
internal sealed class ZeroMaskGradientPatch : PatchForward
{
    private readonly Tensor _diff;

    private readonly bool _inPlace;

    // Per group (keyed by its first member): the node its members' probes share in this pass.
    private readonly Dictionary<PatchWrapper, (Tensor Token, GroupMaskGradient.Collector Collector)> _groups = [];

    private ZeroMaskGradientPatch(PatchableModel owner, PatchScope scope, MaskSettings masks, Tensor diff, bool inPlace = false)
        : base(owner, scope, masks)
    {
        _diff = diff;
        _inPlace = inPlace;
    }

    /// <inheritdoc />
    public override PatchForwardMode Mode => PatchForwardMode.ZeroMaskGradient;

    /// <summary>Starts a pass in <paramref name="scope"/> with a new difference buffer <c>patch - curr</c>.</summary>
    public static ZeroMaskGradientPatch Begin(PatchableModel owner, PatchScope scope, MaskSettings masks)
    {
        scope.DiffValid = false; // the shared inference buffer is not written by this pass
        if (scope.TakeAblationsAsDiff(owner.BufferDType) is { } inPlace)
        {
            return new ZeroMaskGradientPatch(owner, scope, masks, inPlace.DetachFromDisposeScope(), inPlace: true); // no second buffer
        }

        var patch = scope.PatchSrcOuts;
        using var noGrad = torch.no_grad();
        var diff = torch.empty(patch.Sizes(), dtype: owner.BufferDType, device: patch.device); // [S, B, T, d]
        diff.copy_(patch);
        if (scope.CurrSrcOuts is { } curr)
        {
            diff.sub_(curr);
        }

        owner.Ledger.TrackUntilPatchEnd(diff); // the probes hold slices of it until the backward pass
        return new ZeroMaskGradientPatch(owner, scope, masks, diff.DetachFromDisposeScope());
    }

    /// <inheritdoc />
    protected override Tensor PatchInput(PatchWrapper destination, Tensor x)
    {
        var dest = destination.Destination!;
        if (destination.Group.Count > 1 && dest.SeqLen is null && dest.HasHeadAxis)
        {
            // A layer's Q, K and V inputs read the same sources: one contraction for the group (GroupMaskGradient).
            var leader = destination.Group[0];
            if (!_groups.TryGetValue(leader, out var group))
            {
                var slice = destination.IncomingSlots(_diff); // [S, B, T, d], handed to the group
                group = GroupMaskGradient.Apply([.. destination.Group.Select(w => w.Mask!)], slice, Owner.ProbeLeftovers);
                _groups[leader] = group;
            }

            var index = IndexIn(destination.Group, destination);
            return MaskGradientProbe.ApplyInGroup(x, group.Token, group.Collector, index, Owner.ProbeLeftovers);
        }

        var diff = destination.IncomingSlots(_diff); // [S, B, T, d...], handed to the probe
        return MaskGradientProbe.Apply(x, destination.Mask!, diff, dest.SeqLen is not null, dest.HasHeadAxis, Owner.ProbeLeftovers);
    }

    private static int IndexIn(IReadOnlyList<PatchWrapper> group, PatchWrapper member)
    {
        for (var i = 0; i < group.Count; i++)
        {
            if (ReferenceEquals(group[i], member))
            {
                return i;
            }
        }

        throw new InvalidOperationException($"'{member.ModuleName}' is not in its own group.");
    }

    /// <inheritdoc />
    protected override void WriteOutput(PatchWrapper source, Tensor output)
    {
        if (_inPlace)
        {
            source.SubtractOutput(_diff, output); // the slot holds the ablation until now
        }
        else
        {
            source.WriteDifference(_diff, Scope.PatchSrcOuts, Scope.CurrSrcOuts, output);
        }
    }

    /// <summary>Releases this pass's handle on the buffer (the probes keep their slices until the backward pass).</summary>
    public override void Dispose()
    {
        _groups.Clear(); // the tokens belong to the pass's dispose scope; autograd keeps what the backward pass needs
        _diff.Dispose();
    }
}
