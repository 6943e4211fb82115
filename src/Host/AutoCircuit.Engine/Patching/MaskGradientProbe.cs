using AutoCircuit.Tensors;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace AutoCircuit.Engine.Patching;

/// <summary>
/// The destination's patch in <see cref="ZeroMaskGradientPatch"/>: with every mask 0 the patched input
/// equals the input, and the gradient of the mask is <c>einsum(grad of the input, patch - curr)</c> (the input is
/// <c>x + mask . diff</c>, so <c>d loss / d mask[h, s] = sum(grad[h] * diff[s])</c>). The forward pass copies the input
/// (the copy makes it depend on the mask); the backward pass hands the input's gradient through unchanged and
/// contracts it with the destination's slice of the difference buffer, read when the backward pass runs (each source
/// writes its slots once per forward pass, and the buffer is fresh for each forward pass).
/// </summary>
/// <remarks>
/// Equals autograd through <c>x + einsum(mask, patch - curr)</c> at mask 0: the forward values are identical, no
/// gradient reaches <c>curr</c> (it would be multiplied by the zero mask), and the mask gradient is the same
/// contraction. It skips the forward einsum and the per-destination subtraction, and autograd saves no
/// <c>[n_src, batch, seq, d]</c> tensors.
/// </remarks>
internal sealed class MaskGradientProbe : SingleTensorFunction<MaskGradientProbe>
{
    /// <inheritdoc />
    public override string Name => "AutoCircuitMaskGradientProbe";

    /// <summary>The probe's output (the input, now depending on the mask).</summary>
    /// <param name="x">The destination's input <c>[B, T, head?, d]</c>.</param>
    /// <param name="mask">The destination's mask (requires grad).</param>
    /// <param name="diff">The difference-buffer slice of the incoming sources, <c>[S, B, T, d]</c> (taken over).</param>
    /// <param name="hasSeq">The mask has a token-position axis.</param>
    /// <param name="hasHeads">The mask (and the input) have a head axis.</param>
    /// <param name="leftovers">Takes the tensors the backward pass hands to libtorch (see <see cref="BackwardLeftovers"/>).</param>
    public static Tensor Apply(Tensor x, Tensor mask, Tensor diff, bool hasSeq, bool hasHeads, BackwardLeftovers leftovers)
    {
        diff.DetachFromDisposeScope();
        return apply(x, mask, new Saved(diff, hasSeq, hasHeads, leftovers));
    }

    /// <summary>
    /// The probe of member <paramref name="index"/> of a group (<see cref="GroupMaskGradient"/>): the same forward copy;
    /// backward, the input's gradient goes to the group's collector, which contracts the whole group's at once.
    /// </summary>
    /// <param name="x">The destination's input <c>[B, T, H, d]</c>.</param>
    /// <param name="token">The group node's output, standing for the group's masks.</param>
    /// <param name="collector">The group's collector.</param>
    /// <param name="index">This destination's place in the group.</param>
    /// <param name="leftovers">Takes the tensors the backward pass hands to libtorch.</param>
    public static Tensor ApplyInGroup(Tensor x, Tensor token, GroupMaskGradient.Collector collector, int index, BackwardLeftovers leftovers) =>
        apply(x, token, new Saved(null, hasSeq: false, hasHeads: true, leftovers) { Group = collector, Index = index, TokenType = token.dtype });

    /// <summary>
    /// <c>d loss / d mask</c> from the input gradient <paramref name="g"/> <c>[B, T, head?, d...]</c> and the differences
    /// <paramref name="diff"/> <c>[S, B, T, d...]</c>: <c>[seq?][head?][S]</c>. One matrix product (batched over positions
    /// with a seq axis); einsum's own plan for this contraction is several times slower on the CPU.
    /// </summary>
    public static Tensor Contract(Tensor g, Tensor diff, bool hasSeq, bool hasHeads)
    {
        ArgumentNullException.ThrowIfNull(g);
        ArgumentNullException.ThrowIfNull(diff);
        var s = diff.size(0);
        using var gh = hasHeads ? g.alias() : g.unsqueeze(2); // [B, T, H, d...] ([B, T, d...] -> [B, T, 1, d...])
        long b = gh.size(0), t = gh.size(1), h = gh.size(2);
        if (!hasSeq)
        {
            using var hm = gh.movedim([2L], [0L]); // [B, T, H, d...] -> [H, B, T, d...]
            using var gm = hm.reshape(h, -1); // [H, B*T*d]
            using var dm = diff.reshape(s, -1); // [S, B*T*d]
            using var dt = dm.t(); // [B*T*d, S]
            using var r = torch.mm(gm, dt); // [H, S]
            return hasHeads ? r.alias() : r.reshape(s); // [H, S], or [1, S] -> [S]
        }

        using var hs = gh.movedim([1L, 2L], [0L, 1L]); // [B, T, H, d...] -> [T, H, B, d...]
        using var gs = hs.reshape(t, h, -1); // [T, H, B*d]
        using var dmv = diff.movedim([2L], [0L]); // [S, B, T, d...] -> [T, S, B, d...]
        using var ds = dmv.reshape(t, s, -1); // [T, S, B*d]
        using var dst = ds.transpose(1, 2); // [T, B*d, S]
        using var rs = torch.bmm(gs, dst); // [T, H, S]
        return hasHeads ? rs.alias() : rs.reshape(t, s); // [T, H, S], or [T, 1, S] -> [T, S]
    }

    /// <inheritdoc />
    public override Tensor forward(AutogradContext ctx, params object[] vars)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ArgumentNullException.ThrowIfNull(vars);
        var saved = (Saved)vars[2];
        ctx.save_data("saved", saved);

        // An undefined incoming gradient stays undefined (no zeros materialised from TorchSharp's output cache, which
        // the engine's dispose scope for the forward pass has already freed).
        ctx.set_materialize_grads(false);
        var x = (Tensor)vars[0];
        if (!saved.HasHeads)
        {
            return x.clone();
        }

        // Heads first in memory, as the other patch modes leave it (the transformer projects each head without a copy).
        using var heads = x.movedim([2L], [0L]); // [B, T, H, d...] -> [H, B, T, d...]
        using var copy = torch.empty(heads.Sizes(), dtype: x.dtype, device: x.device);
        copy.copy_(heads);
        return copy.movedim([0L], [2L]); // [H, B, T, d...] -> [B, T, H, d...]
    }

    /// <inheritdoc />
    public override List<Tensor> backward(AutogradContext ctx, Tensor grad_output)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ArgumentNullException.ThrowIfNull(grad_output);
        var saved = (Saved)ctx.get_data("saved");
        if (saved.Group is { } group)
        {
            if (grad_output.IsInvalid)
            {
                return [null!, null!, null!]; // no gradient reached this destination: zeros in the group's product
            }

            group.Store(saved.Index, grad_output.alias());
            var tokenGrad = torch.zeros([], dtype: saved.TokenType, device: grad_output.device); // the group node runs after
            saved.Leftovers.Add(grad_output);
            saved.Leftovers.Add(tokenGrad);
            return [grad_output, tokenGrad, null!];
        }

        var diff = saved.TakeDiff();
        if (grad_output.IsInvalid)
        {
            diff.Dispose();
            return [null!, null!, null!]; // no gradient reached this destination
        }

        Tensor maskGrad;
        using (diff)
        {
            var g = diff.dtype == grad_output.dtype ? grad_output.alias() : grad_output.to_type(diff.dtype);
            using (g)
            {
                using var contracted = Contract(g, diff, saved.HasSeq, saved.HasHeads);
                maskGrad = contracted.to_type(grad_output.dtype);
            }
        }

        saved.Leftovers.Add(grad_output);
        saved.Leftovers.Add(maskGrad);
        return [grad_output, maskGrad, null!];
    }

    /// <summary>What the backward pass needs (not a tensor argument: no gradient flows to the buffer).</summary>
    private sealed class Saved(Tensor? diff, bool hasSeq, bool hasHeads, BackwardLeftovers leftovers)
    {
        private Tensor? _diff = diff;

        /// <summary>The group this destination's mask gradient is contracted with, if any (then no own slice).</summary>
        public GroupMaskGradient.Collector? Group { get; init; }

        /// <summary>This destination's place in <see cref="Group"/>.</summary>
        public int Index { get; init; }

        /// <summary>The element type of the group's token (the masks').</summary>
        public ScalarType TokenType { get; init; }

        public bool HasSeq { get; } = hasSeq;

        public bool HasHeads { get; } = hasHeads;

        public BackwardLeftovers Leftovers { get; } = leftovers;

        public Tensor TakeDiff()
        {
            var d = _diff ?? throw new InvalidOperationException("The mask-gradient probe's backward pass ran twice (retain_graph is not supported).");
            _diff = null;
            return d;
        }
    }
}
