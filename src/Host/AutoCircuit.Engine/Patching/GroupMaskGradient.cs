using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace AutoCircuit.Engine.Patching;

/// <summary>
/// The mask gradients of a group of destinations that read the same sources (a layer's Q, K and V inputs) as one matrix
/// product in <see cref="ZeroMaskGradientPatch"/>: <c>[heads of all members, B·T·d] x [B·T·d, S]</c>, which reads the
/// group's slice of the difference buffer once instead of once per member.
/// </summary>
/// <remarks>
/// The group's masks enter autograd through this node, whose output is a 0-d token each member's
/// <see cref="MaskGradientProbe"/> takes in place of its mask. In the backward pass each probe hands its input gradient to
/// the group's <see cref="Collector"/> and passes a zero gradient to the token; autograd runs this node's backward only
/// after every probe that reached the loss has run (the token feeds them all), and it contracts the collected gradients
/// with the differences and returns each member's mask gradient, as the probes' own contraction would (a member whose
/// input got no gradient gets zeros). So <c>mask.grad</c> and <c>autograd.grad</c> see the same values as with one
/// contraction per destination.
/// </remarks>
internal sealed class GroupMaskGradient : SingleTensorFunction<GroupMaskGradient>
{
    /// <inheritdoc />
    public override string Name => "AutoCircuitGroupMaskGradient";

    /// <summary>The group's node: its token (the members' probes take it as their mask) and its collector.</summary>
    /// <param name="masks">The members' masks, <c>[H_i, S]</c> each (require grad).</param>
    /// <param name="diff">The group's slice of the difference buffer, <c>[S, B, T, d]</c> (taken over).</param>
    /// <param name="leftovers">Takes the tensors the backward pass hands to libtorch.</param>
    public static (Tensor Token, Collector Collector) Apply(IReadOnlyList<Tensor> masks, Tensor diff, BackwardLeftovers leftovers)
    {
        ArgumentNullException.ThrowIfNull(masks);
        diff.DetachFromDisposeScope();
        var collector = new Collector(diff, masks.Select(m => m.size(0)).ToArray(), leftovers);
        var vars = new object[masks.Count + 1];
        for (var i = 0; i < masks.Count; i++)
        {
            vars[i] = masks[i];
        }

        vars[^1] = collector;
        return (apply(vars), collector);
    }

    /// <inheritdoc />
    public override Tensor forward(AutogradContext ctx, params object[] vars)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ArgumentNullException.ThrowIfNull(vars);
        ctx.save_data("collector", vars[^1]);
        ctx.set_materialize_grads(false);
        var first = (Tensor)vars[0];
        return torch.zeros([], dtype: first.dtype, device: first.device);
    }

    /// <inheritdoc />
    public override List<Tensor> backward(AutogradContext ctx, Tensor grad_output)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        var collector = (Collector)ctx.get_data("collector");
        if (grad_output is { IsInvalid: false })
        {
            collector.Leftovers.Add(grad_output); // the probes' zeros, summed: not read
        }

        var grads = collector.Contract();
        var result = new List<Tensor>(grads.Count + 1);
        result.AddRange(grads);
        result.Add(null!); // the collector
        return result;
    }

    /// <summary>The members' input gradients, gathered during the backward pass, and the group's differences.</summary>
    internal sealed class Collector(Tensor diff, long[] heads, BackwardLeftovers leftovers)
    {
        private readonly Tensor?[] _grads = new Tensor?[heads.Length];
        private Tensor? _diff = diff;

        /// <summary>Takes the tensors the backward pass hands to libtorch.</summary>
        public BackwardLeftovers Leftovers { get; } = leftovers;

        /// <summary>The gradient of member <paramref name="index"/>'s input, <c>[B, T, H, d]</c> (taken over).</summary>
        public void Store(int index, Tensor grad)
        {
            lock (_grads)
            {
                if (_grads[index] is not null)
                {
                    grad.Dispose();
                    throw new InvalidOperationException("The mask-gradient probe's backward pass ran twice (retain_graph is not supported).");
                }

                _grads[index] = grad;
            }
        }

        /// <summary>
        /// Each member's mask gradient, <c>[H_i, S]</c>: one product of the stacked input gradients (heads first, zeros for
        /// a member without one) with the differences; null for every member when none got a gradient.
        /// </summary>
        public List<Tensor> Contract()
        {
            Tensor?[] grads;
            Tensor diff;
            lock (_grads)
            {
                diff = _diff ?? throw new InvalidOperationException("The group's mask gradients were contracted twice (retain_graph is not supported).");
                _diff = null;
                grads = [.. _grads];
                Array.Clear(_grads);
            }

            using (diff)
            {
                if (grads.All(g => g is null))
                {
                    return [.. heads.Select(_ => (Tensor)null!)];
                }

                using var scope = torch.NewDisposeScope();
                var s = diff.size(0);
                var rows = new Tensor[grads.Length];
                var dtype = grads.First(g => g is not null)!.dtype;
                for (var i = 0; i < grads.Length; i++)
                {
                    if (grads[i] is { } g)
                    {
                        using var typed = g.dtype == diff.dtype ? g.alias() : g.to_type(diff.dtype);
                        using var headsFirst = typed.movedim([2L], [0L]); // [B, T, H, d] -> [H, B, T, d]
                        rows[i] = headsFirst.reshape(heads[i], -1); // [H, B*T*d]
                    }
                    else
                    {
                        rows[i] = torch.zeros(heads[i], diff.numel() / s, dtype: diff.dtype, device: diff.device);
                    }
                }

                var stacked = torch.cat(rows, 0); // [sum of heads, B*T*d]
                using var flat = diff.reshape(s, -1); // [S, B*T*d]
                var all = torch.mm(stacked, flat.t()).to_type(dtype); // [sum of heads, S]
                var result = new List<Tensor>(grads.Length);
                long offset = 0;
                foreach (var h in heads)
                {
                    var part = all.narrow(0, offset, h).MoveToOuterDisposeScope(); // [H_i, S]
                    offset += h;
                    Leftovers.Add(part);
                    result.Add(part);
                }

                foreach (var g in grads)
                {
                    if (g is not null)
                    {
                        Leftovers.Add(g);
                    }
                }

                return result;
            }
        }
    }
}
