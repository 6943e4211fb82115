using AutoCircuit.Graph;
using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Engine.Patching;

/// <summary>
/// <see cref="PatchForwardMode.Inference"/>: the patch without gradients, grouped. Equal to auto-circuit's
/// <c>x + einsum(mask, patch[in] - curr[in])</c> (<see cref="ReferencePatch"/>) by linearity; faster because
/// <list type="bullet">
/// <item>each source writes <c>patch - output</c> into its slots of one shared difference buffer, once, instead of
/// every destination subtracting its whole slice of the buffers;</item>
/// <item>destinations that read the same sources and keep heads (a layer's Q, K, V inputs: a <i>group</i>) get their
/// patches from one matrix product over their stacked masks, computed at the first of them; the others add theirs
/// when the model reaches them;</item>
/// <item>the group's <i>extension</i> (the layer's MLP input, which reads the group's sources and later ones) gets its
/// patch over the group's sources from the same product, and adds only the later sources' part;</item>
/// <item>sums are added in place, and destinations the caller declared all-zero
/// (<see cref="PatchableModel.SetActiveDestinations"/>) are skipped (their patch is exactly zero).</item>
/// </list>
/// The difference buffer is the engine's, reused across batches while shapes match. A full pass sets it to the
/// ablations in one copy and each source subtracts its output from its slots; a pass restarted at a block (ACDC) reuses
/// it from the scope's previous pass, each rerun source rewriting its slots with <c>patch - output</c> before a
/// destination reads them. In a
/// scope opened with <see cref="PatchableModel.PatchModeConsuming"/> the caller's ablations are the buffer: each slot
/// holds the ablation until its source runs and subtracts its output in place.
/// </summary>
internal sealed class GroupedInferencePatch : PatchForward
{
    private readonly Tensor _diff;
    private readonly bool[]? _active;

    // Patches computed for a whole group at its first member, waiting for the group's other members (views of the product).
    private readonly Dictionary<PatchWrapper, Tensor> _pendingDeltas = [];

    // An extension's patch over its group's sources (and how many sources that covers), waiting for the extension.
    private readonly Dictionary<PatchWrapper, (Tensor Partial, long Covered)> _pendingPartials = [];

    private readonly bool _ownsDiff; // the caller's ablations, consumed in place (PatchModeConsuming)

    // The whole buffer was set to the ablations when the pass started: each source only subtracts its output.
    private readonly bool _slotsHoldAblations;

    private GroupedInferencePatch(
        PatchableModel owner, PatchScope scope, MaskSettings masks, Tensor diff, bool[]? active, bool ownsDiff = false, bool slotsHoldAblations = false)
        : base(owner, scope, masks)
    {
        _diff = diff;
        _active = active;
        _ownsDiff = ownsDiff;
        _slotsHoldAblations = slotsHoldAblations;
    }

    /// <inheritdoc />
    public override PatchForwardMode Mode => PatchForwardMode.Inference;

    /// <summary>
    /// Starts a pass in <paramref name="scope"/>: fills the difference buffer with <c>patch - curr</c> unless it is still
    /// valid from the previous inference pass.
    /// </summary>
    /// <param name="owner">The engine.</param>
    /// <param name="scope">The patch scope.</param>
    /// <param name="masks">Mask function and dropout.</param>
    /// <param name="active">Per destination module: whether its mask may be non-zero; <c>null</c>: all may be.</param>
    /// <param name="fullPass">Every source runs in this pass: the buffer is set to the ablations in one copy and each
    /// source subtracts its output from its slots (one operation per source instead of a copy and a subtraction).</param>
    public static GroupedInferencePatch Begin(PatchableModel owner, PatchScope scope, MaskSettings masks, bool[]? active, bool fullPass)
    {
        if (scope.TakeAblationsAsDiff(owner.BufferDType) is { } inPlace)
        {
            // The caller's ablations become this one pass's difference buffer: no second buffer, and no later pass.
            scope.InferenceDiff = null;
            scope.DiffValid = false;
            return new GroupedInferencePatch(owner, scope, masks, inPlace, active, ownsDiff: true);
        }

        if (fullPass)
        {
            var buffer = scope.DiffValid && scope.InferenceDiff is { } kept ? kept : owner.ReusableDiffBuffer(scope.PatchSrcOuts);
            using (torch.inference_mode(false))
            using (torch.no_grad())
            {
                buffer.copy_(scope.PatchSrcOuts);
            }

            // Valid after the pass (every source has subtracted its output): a later pass restarted at a block reads it.
            scope.InferenceDiff = buffer;
            scope.DiffValid = true;
            return new GroupedInferencePatch(owner, scope, masks, buffer, active, slotsHoldAblations: true);
        }

        if (!scope.DiffValid || scope.InferenceDiff is null)
        {
            var patch = scope.PatchSrcOuts;
            var diff = owner.ReusableDiffBuffer(patch);
            using var normal = torch.inference_mode(false);
            using var noGrad = torch.no_grad();
            diff.copy_(patch);
            if (scope.CurrSrcOuts is { } curr)
            {
                diff.sub_(curr);
            }

            scope.InferenceDiff = diff;
            scope.DiffValid = true;
        }

        return new GroupedInferencePatch(owner, scope, masks, scope.InferenceDiff, active);
    }

    /// <summary>
    /// Links destinations into groups and extensions (done once, when the engine installs its wrappers): destinations
    /// with heads that read the same sources share a group; a group's extension is the destination without heads that
    /// reads the group's sources and then some, the fewest.
    /// </summary>
    public static void LinkGroups(ModelGraph graph, IReadOnlyDictionary<string, PatchWrapper> destinations)
    {
        foreach (var group in graph.DestModules
                     .Where(m => m.HasHeadAxis)
                     .GroupBy(m => (m.InSrcStart, m.InSrcCount, m.SeqLen)))
        {
            var members = group.Select(m => destinations[m.ModuleName]).ToList();
            foreach (var w in members)
            {
                w.Group = members;
            }
        }

        foreach (var w in destinations.Values.Where(w => w.Group.Count == 0))
        {
            w.Group = [w];
        }

        foreach (var leader in destinations.Values.Where(w => w.Group.Count > 1 && ReferenceEquals(w.Group[0], w)))
        {
            var d = leader.Destination!;
            var extension = graph.DestModules
                .Where(m => !m.HasHeadAxis && m.InSrcStart == d.InSrcStart && m.SeqLen == d.SeqLen && m.InSrcCount > d.InSrcCount)
                .OrderBy(m => m.InSrcCount)
                .FirstOrDefault();
            if (extension is not null)
            {
                foreach (var w in leader.Group)
                {
                    w.Extension = destinations[extension.ModuleName];
                }
            }
        }
    }

    /// <inheritdoc />
    protected override Tensor PatchInput(PatchWrapper destination, Tensor x)
    {
        if (!IsActive(destination))
        {
            return x;
        }

        if (_pendingDeltas.Remove(destination, out var pending))
        {
            using (pending)
            {
                return PatchMath.AddHeadMajor(x, pending, destination.Destination!.HasHeadAxis, inPlace: true);
            }
        }

        if (_pendingPartials.Remove(destination, out var partial))
        {
            using (partial.Partial)
            {
                return ExtendPartial(destination, x, partial.Partial, partial.Covered);
            }
        }

        using var diff = destination.IncomingSlots(_diff); // [S, B, T, d...]
        if (!PatchMath.IsMatrixProduct(destination, Masks))
        {
            using var delta = PatchMath.Contract(destination, Masks, x.size(0), diff); // [B, T, H?, d...]
            return x + delta;
        }

        var grouped = destination.Group.Count > 1 && !Masks.DropoutActive;
        var members = grouped ? destination.Group.Where(IsActive).ToList() : [destination];
        var extension = grouped && destination.Extension is { } e && IsActive(e) ? e : null;
        if (members.Count == 1 && extension is null)
        {
            using var weights = PatchMath.DroppedWeights(destination, Masks, diff.dtype); // [H?, S]
            using var product = PatchMath.HeadMajorProduct(weights, diff); // [H?, B, T, d...]
            return PatchMath.AddHeadMajor(x, product, destination.Destination!.HasHeadAxis, inPlace: true);
        }

        return GroupProduct(destination, x, diff, members, extension);
    }

    /// <summary>
    /// One matrix product for the group: masks stacked along the head axis, <c>[sum of heads (+ 1), S]</c> (the
    /// extension's row is its mask's first <c>S</c> columns); this destination's part is added now, the others' wait.
    /// </summary>
    private Tensor GroupProduct(PatchWrapper destination, Tensor x, Tensor diff, List<PatchWrapper> members, PatchWrapper? extension)
    {
        var parts = members.Select(w => PatchMath.Weights(w, Masks, diff.dtype)).ToList(); // [H_i, S] each
        if (extension is not null)
        {
            using var ext = PatchMath.Weights(extension, Masks, diff.dtype); // [S_ext]
            using var first = ext.narrow(0, 0, diff.size(0)); // [S]
            parts.Add(first.unsqueeze(0)); // [1, S]
        }

        Tensor all;
        using (var stacked = torch.cat(parts, 0)) // [sum of heads (+ 1), S]
        {
            all = PatchMath.HeadMajorProduct(stacked, diff); // [sum of heads (+ 1), B, T, d...]
        }

        foreach (var w in parts)
        {
            w.Dispose();
        }

        using (all)
        {
            if (extension is not null)
            {
                // A later group with the same extension (e.g. attention-only layers, all extended by the output) replaces
                // this partial by one over more sources before the extension runs.
                var row = all.select(0, all.size(0) - 1); // [sum of heads + 1, B, T, d...] -> [B, T, d...]
                if (_pendingPartials.Remove(extension, out var replaced))
                {
                    replaced.Partial.Dispose();
                }

                _pendingPartials[extension] = (row.DetachFromDisposeScope(), diff.size(0));
            }

            Tensor? mine = null;
            long offset = 0;
            foreach (var member in members)
            {
                var heads = member.Destination!.HeadCount;
                var part = all.narrow(0, offset, heads); // [H_i, B, T, d...]
                offset += heads;
                if (ReferenceEquals(member, destination))
                {
                    mine = part;
                }
                else
                {
                    _pendingDeltas[member] = part;
                }
            }

            if (mine is null)
            {
                return x; // only the extension was active (cannot happen: this destination is a member)
            }

            using (mine)
            {
                return PatchMath.AddHeadMajor(x, mine, destination.Destination!.HasHeadAxis, inPlace: true);
            }
        }
    }

    /// <summary>
    /// An extension's patched input: the partial product over the group's sources plus its mask's remaining columns
    /// times the later sources' differences.
    /// </summary>
    private Tensor ExtendPartial(PatchWrapper extension, Tensor x, Tensor partial, long done)
    {
        var dest = extension.Destination!;
        using var rest = _diff.narrow(0, dest.InSrcStart + done, dest.InSrcCount - done); // [S', B, T, d...]
        using var weights = PatchMath.Weights(extension, Masks, rest.dtype); // [S]
        using var tail = weights.narrow(0, done, dest.InSrcCount - done); // [S']
        using var product = PatchMath.HeadMajorProduct(tail, rest); // [B, T, d...]
        product.add_(partial);
        return PatchMath.AddHeadMajor(x, product, dest.HasHeadAxis, inPlace: true);
    }

    /// <inheritdoc />
    protected override void WriteOutput(PatchWrapper source, Tensor output)
    {
        ClearPendingDeltas();
        if (_ownsDiff || _slotsHoldAblations)
        {
            if (Scope.CurrSrcOuts is { } curr)
            {
                source.Write(curr, output); // kept up to date in every mode
            }

            source.SubtractOutput(_diff, output); // the slot holds the ablation until now
        }
        else
        {
            source.WriteDifference(_diff, Scope.PatchSrcOuts, Scope.CurrSrcOuts, output);
        }
    }

    private bool IsActive(PatchWrapper destination) => _active is not { } a || a[destination.Destination!.Index];

    private void ClearPendingDeltas()
    {
        foreach (var t in _pendingDeltas.Values)
        {
            t.Dispose();
        }

        _pendingDeltas.Clear();
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        if (_ownsDiff)
        {
            _diff.Dispose(); // this pass's handle; the storage is the caller's
        }

        ClearPendingDeltas();
        foreach (var (t, _) in _pendingPartials.Values)
        {
            t.Dispose();
        }

        _pendingPartials.Clear();
    }
}
