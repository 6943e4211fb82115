using AutoCircuit.Graph;
using AutoCircuit.Metrics;
using AutoCircuit.Patching;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace AutoCircuit.Engine.Patching;

/// <summary>
/// The hook installed at one graph module (auto-circuit's <c>PatchWrapperImpl</c>): one class for
/// sources and destinations, since most modules are both. A destination adds
/// <c>einsum(mask, patch_src_outs[in] - curr_src_outs[in])</c> to the activation in patch mode; a
/// source then writes the activation into its slots of the shared source-output buffer. With patch
/// mode off and no recording it returns its input unchanged (not even copied).
/// </summary>
/// <remarks>
/// How the patch is computed depends on the forward pass's <see cref="PatchForwardMode"/> (chosen once per forward
/// pass by <see cref="PatchableModel"/>): the three modes compute the same values; none reads a tensor back to the
/// host.
/// </remarks>
internal sealed class PatchWrapper
{
    private readonly PatchableModel _owner;
    private readonly string _einsum;
    private readonly string _einsumSampled;

    public PatchWrapper(PatchableModel owner, string moduleName, SourceModule? src, DestinationModule? dest, Device device, ScalarType dtype)
    {
        _owner = owner;
        ModuleName = moduleName;
        Source = src;
        Destination = dest;
        if (src is { HeadDim: int hd } && hd != 2)
        {
            throw new ArgumentException($"Source module '{moduleName}' keeps heads on axis {hd}; the engine expects [batch, seq, head, d].");
        }

        if (dest is not null)
        {
            if (dest.HasHeadAxis && dest.Nodes[0].HeadDim != 2)
            {
                throw new ArgumentException($"Destination module '{moduleName}' keeps heads on axis {dest.Nodes[0].HeadDim}; the engine expects [batch, seq, head, d].");
            }

            Mask = new Parameter(torch.zeros(dest.MaskShape, dtype: dtype, device: device), requires_grad: false);
            Mask.DetachFromDisposeScope();

            // Mask axes [seq?][head?][src] against the buffer slice [src, batch, seq, d...].
            var seq = dest.SeqLen is null ? string.Empty : "t";
            var head = dest.HasHeadAxis ? "h" : string.Empty;
            _einsum = $"{seq}{head}s,sbt...->bt{head}...";
            _einsumSampled = $"b{seq}{head}s,sbt...->bt{head}...";
        }
        else
        {
            _einsum = _einsumSampled = string.Empty;
        }
    }

    public string ModuleName { get; }

    public SourceModule? Source { get; }

    public DestinationModule? Destination { get; }

    /// <summary>The destination's mask parameter (null for pure sources).</summary>
    public Parameter? Mask { get; }

    /// <summary>
    /// Destinations that read exactly the same sources and keep heads (e.g. a layer's Q, K and V inputs): in
    /// <see cref="PatchForwardMode.Inference"/> their patches are one einsum over the concatenated masks. Contains this
    /// wrapper; a single element when there is nothing to share.
    /// </summary>
    public IReadOnlyList<PatchWrapper> Group { get; set; } = [];

    /// <summary>A destination without heads that reads this group's sources first (see <see cref="PatchState.PendingPartials"/>).</summary>
    public PatchWrapper? Extension { get; set; }

    public Tensor Apply(Tensor x)
    {
        var state = _owner.State;
        if (state.PatchSrcOuts is not null && Destination is not null)
        {
            x = state.Mode switch
            {
                PatchForwardMode.Inference => state.Active is { } active && !active[Destination.Index] ? x : InferencePatched(x, state),
                PatchForwardMode.ZeroMaskGradient => MaskGradientProbe.Apply(x, Mask!, DiffSlice(state), Destination.SeqLen is not null, Destination.HasHeadAxis),
                _ => AutogradPatched(x, state),
            };
        }

        if (state.Capture is { } capture)
        {
            x = capture(ModuleName, x);
        }

        if (Source is not null && state.PatchSrcOuts is not null)
        {
            WritePatched(state, x);
        }
        else if (Source is not null && state.Recording)
        {
            _owner.Record(this, x);
        }

        return x;
    }

    /// <summary>Whether the patch is one matrix product (no token-position axis, no per-prompt sampled masks).</summary>
    private bool IsMatrixProduct(PatchState state) =>
        Destination!.SeqLen is null && state.MaskFunction != MaskFunction.HardConcrete;

    /// <summary>
    /// auto-circuit's computation: <c>x + einsum(mask, patch[in] - curr[in])</c>, differentiable in the mask, the
    /// activations and the buffers.
    /// </summary>
    private Tensor AutogradPatched(Tensor x, PatchState state)
    {
        var dest = Destination!;
        using var patch = state.PatchSrcOuts!.narrow(0, dest.InSrcStart, dest.InSrcCount);
        using var curr = state.CurrSrcOuts!.narrow(0, dest.InSrcStart, dest.InSrcCount);
        using var diff = patch - curr; // [S, B, T, d...]
        _owner.Ledger.TrackUntilPatchEnd(diff);
        if (!IsMatrixProduct(state) || _owner.PatchOptions.ReferencePatching)
        {
            using var delta = Contract(state, x.shape[0], diff);
            return x + delta;
        }

        using var weights = DroppedWeights(state, diff.dtype);
        using var product = HeadMajorProduct(weights, diff); // [H?, B, T, d...]
        return AddHeadMajor(x, product, inPlace: false);
    }

    /// <summary>
    /// The patched input from the shared difference buffer: the whole group's patch is one matrix product, computed at
    /// the group's first member and handed to the others.
    /// </summary>
    private Tensor InferencePatched(Tensor x, PatchState state)
    {
        if (state.PendingDeltas.Remove(this, out var pending))
        {
            using (pending)
            {
                return AddHeadMajor(x, pending, inPlace: true);
            }
        }

        if (state.PendingPartials.Remove(this, out var partial))
        {
            using (partial.Partial)
            {
                return ExtendPartial(x, partial.Partial, partial.Covered, state);
            }
        }

        using var diff = DiffSlice(state);
        if (!IsMatrixProduct(state))
        {
            using var delta = Contract(state, x.shape[0], diff);
            return x + delta;
        }

        var grouped = Group.Count > 1 && !(state.Dropout > 0 && state.Training);
        var members = grouped
            ? Group.Where(w => state.Active is not { } a || a[w.Destination!.Index]).ToList()
            : [this];
        var extension = grouped && Extension is { } e && (state.Active is not { } act || act[e.Destination!.Index]) ? e : null;
        if (members.Count == 1 && extension is null)
        {
            using var weights = DroppedWeights(state, diff.dtype);
            using var product = HeadMajorProduct(weights, diff);
            return AddHeadMajor(x, product, inPlace: true);
        }

        // One matrix product for the group: masks stacked along the head axis, [sum of heads (+ 1), src]; the extension's
        // row is its mask's first src columns.
        var parts = members.Select(w => w.Weights(state, diff.dtype)).ToList();
        if (extension is not null)
        {
            using var ext = extension.Weights(state, diff.dtype);
            parts.Add(ext.narrow(0, 0, diff.shape[0]).unsqueeze(0));
        }

        Tensor all;
        using (var stacked = torch.cat(parts, 0))
        {
            all = HeadMajorProduct(stacked, diff); // [sum of heads, B, T, d...]
        }

        foreach (var w in parts)
        {
            w.Dispose();
        }

        using (all)
        {
            Tensor? mine = null;
            long offset = 0;
            if (extension is not null)
            {
                var row = all.select(0, all.shape[0] - 1); // [B, T, d...]
                state.PendingPartials[extension] = (row.DetachFromDisposeScope(), diff.shape[0]);
            }

            foreach (var member in members)
            {
                var heads = member.Destination!.HeadCount;
                var part = all.narrow(0, offset, heads);
                offset += heads;
                if (ReferenceEquals(member, this))
                {
                    mine = part;
                }
                else
                {
                    state.PendingDeltas[member] = part;
                }
            }

            if (mine is null)
            {
                return x; // only the extension was active (cannot happen: this destination is a member)
            }

            using (mine)
            {
                return AddHeadMajor(x, mine, inPlace: true);
            }
        }
    }

    /// <summary>
    /// An extension's patched input: the partial product over the group's sources plus its mask's remaining columns
    /// times the later sources' differences.
    /// </summary>
    private Tensor ExtendPartial(Tensor x, Tensor partial, long done, PatchState state)
    {
        var dest = Destination!;
        using var rest = state.DiffSrcOuts!.narrow(0, dest.InSrcStart + done, dest.InSrcCount - done); // [S', B, T, d...]
        using var weights = Weights(state, rest.dtype);
        using var tail = weights.narrow(0, done, dest.InSrcCount - done);
        using var product = HeadMajorProduct(tail, rest); // [B, T, d...]
        product.add_(partial);
        return AddHeadMajor(x, product, inPlace: true);
    }

    /// <summary>
    /// <c>weights @ diff</c> as one matrix product: <paramref name="weights"/> <c>[H, S]</c> (or <c>[S]</c> without heads),
    /// <paramref name="diff"/> <c>[S, B, T, d...]</c>; the result is <c>[H, B, T, d...]</c> (or <c>[B, T, d...]</c>),
    /// heads first in memory.
    /// </summary>
    private static Tensor HeadMajorProduct(Tensor weights, Tensor diff)
    {
        var s = diff.shape[0];
        var rest = diff.shape.Skip(1).ToArray();
        using var flat = diff.reshape(s, -1); // [S, B*T*d]
        using var product = torch.matmul(weights, flat); // [H, B*T*d] or [B*T*d]
        return weights.dim() == 1 ? product.view(rest) : product.view([weights.shape[0], .. rest]);
    }

    /// <summary>
    /// <paramref name="x"/> <c>[B, T, H, d...]</c> (or <c>[B, T, d...]</c>) plus a head-major product: the sum keeps heads
    /// first in memory (the transformer then projects each head without copying), returned as <c>[B, T, H, d...]</c>.
    /// </summary>
    private Tensor AddHeadMajor(Tensor x, Tensor product, bool inPlace)
    {
        inPlace &= product.dtype == x.dtype; // half-precision buffers: the sum is in the model's dtype
        if (!Destination!.HasHeadAxis)
        {
            if (inPlace)
            {
                product.add_(x);
                return product.alias(); // the caller disposes its handle to the product
            }

            return product + x;
        }

        using var xm = x.movedim([2L], [0L]); // [H, B, T, d...], a view
        if (inPlace)
        {
            product.add_(xm);
            return product.movedim([0L], [2L]);
        }

        using var sum = product + xm;
        return sum.movedim([0L], [2L]);
    }

    /// <summary>The mask function of the weights, with dropout while training, in <paramref name="dtype"/>.</summary>
    private Tensor DroppedWeights(PatchState state, ScalarType dtype)
    {
        var w = Weights(state, dtype);
        if (state.Dropout > 0 && state.Training)
        {
            using (w)
            {
                return torch.nn.functional.dropout(w, state.Dropout, training: true);
            }
        }

        return w;
    }

    /// <summary>This destination's mask after the mask function (not sampled), <c>[seq?][head?][src]</c>.</summary>
    private Tensor Weights(PatchState state, ScalarType dtype)
    {
        var w = state.MaskFunction == MaskFunction.Sigmoid ? torch.sigmoid(Mask!) : Mask!.alias();
        if (w.dtype == dtype)
        {
            return w;
        }

        using (w)
        {
            return w.to_type(dtype);
        }
    }

    /// <summary><c>einsum(mask function(mask), diff)</c> for this destination, with sampling and dropout.</summary>
    private Tensor Contract(PatchState state, long batchSize, Tensor diff)
    {
        Tensor weights;
        var sampled = false;
        switch (state.MaskFunction)
        {
            case MaskFunction.HardConcrete:
                weights = HardConcrete.Sample(Mask!, batchSize); // [B, seq?, head?, S]
                sampled = true;
                break;
            case MaskFunction.Sigmoid:
                weights = torch.sigmoid(Mask!);
                break;
            default:
                weights = Mask!.alias();
                break;
        }

        if (weights.dtype != diff.dtype)
        {
            using var full = weights;
            weights = full.to_type(diff.dtype);
        }

        using (weights)
        {
            if (state.Dropout > 0 && state.Training)
            {
                using var dropped = torch.nn.functional.dropout(weights, state.Dropout, training: true);
                return torch.einsum(sampled ? _einsumSampled : _einsum, dropped, diff);
            }

            return torch.einsum(sampled ? _einsumSampled : _einsum, weights, diff);
        }
    }

    /// <summary>The difference buffer's slots of this destination's incoming sources, <c>[S, B, T, d...]</c> (a view).</summary>
    private Tensor DiffSlice(PatchState state) =>
        state.DiffSrcOuts!.narrow(0, Destination!.InSrcStart, Destination.InSrcCount);

    /// <summary>Writes this source's output in patch mode (the buffers the forward pass's mode reads).</summary>
    private void WritePatched(PatchState state, Tensor output)
    {
        state.PendingDeltas.Clear();
        if (state.Mode == PatchForwardMode.Autograd)
        {
            Write(state.CurrSrcOuts!, output);
            state.DiffValid = false; // the difference buffer no longer matches curr for this slot
            return;
        }

        // No gradient flows through the buffers in these modes: diff[slots] = patch[slots] - output.
        using var noGrad = torch.no_grad();
        if (state.CurrSrcOuts is not null)
        {
            Write(state.CurrSrcOuts!, output);
        }

        var src = Source!;
        using var diff = state.DiffSrcOuts!.narrow(0, src.SrcStart, src.Count);
        using var patch = state.PatchSrcOuts!.narrow(0, src.SrcStart, src.Count);
        using var outs = src.HeadDim is null ? output.unsqueeze(0) : output.movedim([2L], [0L]); // [n, B, T, d]
        diff.copy_(patch);
        diff.sub_(outs);
    }

    /// <summary>Writes this source module's output into its slots of <paramref name="buffer"/>.</summary>
    public void Write(Tensor buffer, Tensor output)
    {
        var src = Source!;
        if (src.HeadDim is null)
        {
            using var slot = buffer.select(0, src.SrcStart);
            slot.copy_(output);
        }
        else
        {
            using var slots = buffer.narrow(0, src.SrcStart, src.Count);
            using var heads = output.movedim([2L], [0L]); // [H, B, T, d]
            slots.copy_(heads);
        }
    }
}
