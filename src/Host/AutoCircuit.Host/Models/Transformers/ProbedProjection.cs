using AutoCircuit.Host.Patching;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;
using F = TorchSharp.torch.nn.functional;

namespace AutoCircuit.Host.Models.Transformers;

/// <summary>
/// Attention projections whose per-head inputs are mask-gradient probes at mask 0 (<see cref="HeadInputProbe"/>):
/// the forward pass is the plain one (one norm of the residual, one <c>F.linear</c> per projection, the output
/// concatenated), and the backward pass computes what the engine's probes on per-head copies of the residual would
/// give: each head's input gradient <c>d loss / d x_h = norm backward(x, dy_h W_h)</c>, their contraction with the
/// probe's differences (the mask gradients; one matrix product for the projections that read the same sources) and
/// their sum (the residual's gradient).
/// </summary>
/// <remarks>
/// At mask 0 every per-head input equals the residual, so the forward values are exactly the plain forward's. The norm's
/// backward pass is linear in the output's gradient at a fixed input, so all heads go through it at once with the
/// input's statistics. Only for frozen weights (no gradient reaches the norm or the projections).
/// </remarks>
internal sealed class ProbedProjection : SingleTensorFunction<ProbedProjection>
{
    /// <inheritdoc />
    public override string Name => "AutoCircuitProbedProjection";

    /// <summary>
    /// The concatenated projections <c>[B, T, sum of heads * dh]</c> of the normalised residual <paramref name="x"/>
    /// <c>[B, T, d]</c>; the probes' differences are taken over.
    /// </summary>
    public static Tensor Apply(Tensor x, Norm norm, IReadOnlyList<Part> parts, long headSize)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(norm);
        ArgumentNullException.ThrowIfNull(parts);
        var vars = new object[parts.Count + 2];
        vars[0] = x;
        for (var i = 0; i < parts.Count; i++)
        {
            vars[i + 1] = parts[i].Probe.Mask;
        }

        vars[^1] = new Saved(norm, parts, headSize, x.requires_grad);
        return apply(vars);
    }

    /// <inheritdoc />
    public override Tensor forward(AutogradContext ctx, params object[] vars)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ArgumentNullException.ThrowIfNull(vars);
        var saved = (Saved)vars[^1];
        ctx.save_data("saved", saved);
        var x = (Tensor)vars[0];
        using var normed = saved.Norm.forward(x); // [B, T, d]
        var (scale, normalized) = saved.Norm.Statistics(x);
        saved.Keep(scale, normalized);
        var outs = saved.Parts.Select(p => F.linear(normed, p.Weight, p.Bias)).ToList(); // [B, T, m * dh] each
        try
        {
            return outs.Count == 1 ? outs[0].alias() : torch.cat(outs, -1);
        }
        finally
        {
            foreach (var o in outs)
            {
                o.Dispose();
            }
        }
    }

    /// <inheritdoc />
    public override List<Tensor> backward(AutogradContext ctx, Tensor grad_output)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ArgumentNullException.ThrowIfNull(grad_output);
        var saved = (Saved)ctx.get_data("saved");
        var (scale, normalized) = saved.Take();
        var parts = saved.Parts;
        var result = new List<Tensor>(parts.Count + 2);
        try
        {
            long b = grad_output.shape[0], t = grad_output.shape[1], dh = saved.HeadSize;
            var n = parts.Sum(p => p.Probe.Heads);
            var d = normalized.shape[^1];
            Tensor headGrads; // [N, B*T, d]: d loss / d (each head's input)
            using (var dy = grad_output.reshape(b * t, n, dh))
            using (var dyh = dy.transpose(0, 1)) // [N, B*T, dh]
            using (var wh = parts.Count == 1 ? parts[0].Weight.view(n, dh, d) : torch.cat(parts.Select(p => p.Weight.view(p.Probe.Heads, dh, d)).ToList(), 0))
            using (var normedGrads = torch.bmm(dyh, wh)) // [N, B*T, d]: d loss / d norm(x_h)
            using (var scaleRows = scale.view(b * t, 1))
            using (var normalizedRows = normalized.view(b * t, d))
            {
                headGrads = saved.Norm.InputGradient(scaleRows, normalizedRows, normedGrads);
            }

            using (headGrads)
            {
                if (saved.XRequiresGrad)
                {
                    using var total = headGrads.sum(0L); // [B*T, d]: the residual's gradient through every probed head
                    result.Add(total.view(b, t, d));
                }
                else
                {
                    result.Add(null!);
                }

                AddMaskGradients(result, headGrads, parts, b, t, grad_output.dtype);
            }

            result.Add(null!);
            return result;
        }
        finally
        {
            scale.Dispose();
            normalized.Dispose();
            foreach (var p in parts)
            {
                p.Probe.Diff.Dispose();
            }
        }
    }

    /// <summary>
    /// The mask gradients of <paramref name="parts"/> from the heads' input gradients <c>[N, B*T, d]</c>: one matrix
    /// product per run of parts that read the same source slots (a layer's Q, K and V inputs).
    /// </summary>
    private static void AddMaskGradients(List<Tensor> result, Tensor headGrads, IReadOnlyList<Part> parts, long b, long t, ScalarType dtype)
    {
        long row = 0;
        for (var i = 0; i < parts.Count;)
        {
            var first = parts[i].Probe;
            var j = i;
            long rows = 0;
            while (j < parts.Count && parts[j].Probe.DiffStart == first.DiffStart && parts[j].Probe.Sources == first.Sources)
            {
                rows += parts[j].Probe.Heads;
                j++;
            }

            var diff = first.Diff;
            using var run = headGrads.narrow(0, row, rows); // [rows, B*T, d], heads first
            using var perHead = run.view(rows, b, t, -1).movedim([0L], [2L]); // [B, T, rows, d], a view
            using var g = perHead.dtype == diff.dtype ? perHead.alias() : perHead.to_type(diff.dtype);
            using var contracted = MaskGradientProbe.Contract(g, diff, hasSeq: false, hasHeads: true); // [rows, S]
            using var grads = contracted.to_type(dtype);
            long offset = 0;
            for (var k = i; k < j; k++)
            {
                var heads = parts[k].Probe.Heads;
                using var mine = grads.narrow(0, offset, heads);
                result.Add(mine.clone());
                offset += heads;
            }

            row += rows;
            i = j;
        }
    }

    /// <summary>One projection: its weight <c>[m * dh, d]</c>, bias <c>[m * dh]</c> and its heads' probe (mask <c>[m, S]</c>).</summary>
    internal sealed record Part(Tensor Weight, Tensor? Bias, HeadInputProbe Probe);

    /// <summary>What the backward pass needs (not tensor arguments: no gradient flows to them).</summary>
    private sealed class Saved(Norm norm, IReadOnlyList<Part> parts, long headSize, bool xRequiresGrad)
    {
        private Tensor? _scale;
        private Tensor? _normalized;

        public Norm Norm { get; } = norm;

        public IReadOnlyList<Part> Parts { get; } = parts;

        public long HeadSize { get; } = headSize;

        public bool XRequiresGrad { get; } = xRequiresGrad;

        public void Keep(Tensor scale, Tensor normalized)
        {
            _scale = scale.DetachFromDisposeScope();
            _normalized = normalized.DetachFromDisposeScope();
        }

        public (Tensor Scale, Tensor Normalized) Take()
        {
            var s = _scale ?? throw new InvalidOperationException("The probed projection's backward pass ran twice (retain_graph is not supported).");
            var n = _normalized!;
            _scale = null;
            _normalized = null;
            return (s, n);
        }
    }
}
