using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace AutoCircuit.Models.Transformers;

/// <summary>
/// Products of an activation with a weight matrix that may be stored in a narrower dtype than the model computes in
/// (<c>--weight-dtype</c>: a bfloat16 checkpoint mapped from its file, computed in float32). Where the dtypes agree each
/// product is the plain op, so a model without a storage dtype of its own computes exactly as before. Where they
/// differ, the weight is converted as it is used (in row chunks for the large unembedding), and under autograd the
/// product is one node (<see cref="MixedProduct"/>) that saves the stored weight, not its converted copy: a plain
/// <c>F.linear(x, w.to(float32))</c> would keep every layer's float32 copy alive until the backward pass, i.e. the
/// whole model in float32 (32 GB for an 8B model), which is what the storage dtype exists to avoid.
/// </summary>
/// <remarks>Values are those of the same product on a float32 copy of the weights: converting bfloat16 or float16 to
/// float32 is exact, and the op is the same (the chunked unembedding computes each logit as the same dot product).</remarks>
internal static class StoredWeights
{
    /// <summary>Weights with more elements than this are converted in row chunks of at most this many (256 MB as float32).</summary>
    internal const long ChunkElements = 64L << 20;

    // One conversion buffer per thread, device and dtype, grown to the largest weight (or chunk) converted: each product
    // converts into it instead of allocating. Fresh allocations of this size are mapped pages that the kernel zeroes on
    // first touch and unmaps on free: with them, half of a run's CPU time was system time (Qwen2.5-0.5B, ACDC).
    // Products are synchronous on the CPU and stream-ordered on CUDA, and no op keeps its weight operand (the autograd
    // node below saves the stored weight), so a product may reuse the buffer as soon as the previous one returns.
    [ThreadStatic]
    private static Dictionary<(DeviceType, int, ScalarType), Tensor>? t_buffers;

    /// <summary><c>x [..., in] · w[out, in]ᵀ (+ bias)</c>: <see cref="F.linear"/>.</summary>
    public static Tensor Linear(Tensor x, Tensor w, Tensor? bias)
    {
        if (w.dtype == x.dtype)
        {
            return F.linear(x, w, bias);
        }

        using var y = Product(WeightProduct.Linear, x, w);
        return bias is null ? y.alias() : y + bias;
    }

    /// <summary><c>einsum(equation, x, w)</c>, the weight the second operand.</summary>
    public static Tensor Einsum(string equation, Tensor x, Tensor w) =>
        w.dtype == x.dtype ? torch.einsum(equation, x, w) : Product(WeightProduct.Einsum(equation), x, w);

    /// <summary><c>bmm(x [m, n, in], w [m, out, in]ᵀ)</c>: <c>[m, n, out]</c>.</summary>
    public static Tensor BatchedLinear(Tensor x, Tensor w) =>
        w.dtype == x.dtype ? torch.bmm(x, w.transpose(1, 2)) : Product(WeightProduct.BatchedLinear, x, w);

    /// <summary>Rows of <paramref name="table"/> at <paramref name="ids"/> (flat), in <paramref name="dtype"/>.</summary>
    public static Tensor Rows(Tensor table, Tensor ids, ScalarType dtype)
    {
        if (table.dtype == dtype)
        {
            return table.index_select(0, ids);
        }

        using var rows = table.index_select(0, ids);
        return rows.to_type(dtype);
    }

    /// <summary>
    /// <paramref name="w"/> converted to <paramref name="dtype"/> in this thread's buffer: a view, valid until the next
    /// conversion on this thread (dispose the view; the buffer stays).
    /// </summary>
    internal static Tensor Convert(Tensor w, ScalarType dtype)
    {
        var buffers = t_buffers ??= [];
        var key = (w.device_type, w.device_index, dtype);
        var n = w.numel();
        if (!buffers.TryGetValue(key, out var buffer) || buffer.numel() < n)
        {
            buffer?.Dispose();
            buffers.Remove(key);
            // A normal tensor even when first needed in inference mode: an inference tensor could not be written
            // outside it (a gradient pass after an inference pass on this thread).
            using (torch.inference_mode(false))
            {
                buffer = torch.empty(n, dtype: dtype, device: w.device);
            }

            buffer.DetachFromDisposeScope();
            buffers[key] = buffer;
        }

        using var noGrad = torch.no_grad();
        using var flat = buffer.narrow(0, 0, n);
        var view = flat.view(w.shape);
        view.copy_(w);
        return view;
    }

    private static Tensor Product(WeightProduct kind, Tensor x, Tensor w)
    {
        if (!torch.is_grad_enabled() || (!x.requires_grad && !w.requires_grad))
        {
            return kind.Converted(x, w);
        }

        return MixedProduct.apply(x, w, kind);
    }

    /// <summary>
    /// One product under autograd with the weight converted inside: forward and backward each convert the stored weight
    /// again, so the graph holds the stored weight (the file's pages) rather than a float32 copy. The gradient of the
    /// weight is computed only when it requires one (frozen models never do).
    /// </summary>
    internal sealed class MixedProduct : autograd.SingleTensorFunction<MixedProduct>
    {
        public override string Name => "StoredWeightProduct";

        public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
        {
            var (x, w, kind) = ((Tensor)vars[0], (Tensor)vars[1], (WeightProduct)vars[2]);
            ctx.save_for_backward([w.requires_grad ? x : null!, w]);
            ctx.save_data("kind", kind);
            ctx.save_data("weightGrad", w.requires_grad);
            ctx.save_data("inputGrad", x.requires_grad);
            ctx.set_materialize_grads(false); // an output without a gradient gets none back, rather than zeros
            return kind.Converted(x, w);
        }

        public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
        {
            if (grad_output is null || grad_output.IsInvalid)
            {
                return [null!, null!, null!];
            }

            var saved = ctx.get_saved_variables();
            var (x, w) = (saved[0], saved[1]);
            var kind = (WeightProduct)ctx.get_data("kind");
            using var scope = torch.NewDisposeScope();
            var gx = (bool)ctx.get_data("inputGrad") ? scope.MoveToOuter(kind.InputGradient(grad_output, w)) : null;
            Tensor? gw = null;
            if ((bool)ctx.get_data("weightGrad"))
            {
                using var g = kind.WeightGradient(grad_output, x);
                gw = scope.MoveToOuter(g.to_type(w.dtype));
            }

            return [gx!, gw!, null!];
        }
    }

    /// <summary>A kind of product: its value with the weight converted, and its two gradients.</summary>
    internal abstract class WeightProduct
    {
        public static readonly WeightProduct Linear = new LinearProduct(ChunkElements);

        public static readonly WeightProduct BatchedLinear = new BatchedLinearProduct();

        public static WeightProduct Einsum(string equation) => new EinsumProduct(equation);

        /// <summary><see cref="Linear"/> converting at most <paramref name="chunkElements"/> weights at a time (tests use small chunks).</summary>
        public static WeightProduct LinearInChunks(long chunkElements) => new LinearProduct(chunkElements);

        /// <summary>The product with <paramref name="w"/> converted to <paramref name="x"/>'s dtype.</summary>
        public abstract Tensor Converted(Tensor x, Tensor w);

        /// <summary>The gradient of the input for the output's gradient <paramref name="g"/> (weight converted to g's dtype).</summary>
        public abstract Tensor InputGradient(Tensor g, Tensor w);

        /// <summary>The gradient of the weight (in the compute dtype) for <paramref name="g"/> and the input <paramref name="x"/>.</summary>
        public abstract Tensor WeightGradient(Tensor g, Tensor x);
    }

    private sealed class LinearProduct(long chunkElements) : WeightProduct
    {
        public override Tensor Converted(Tensor x, Tensor w)
        {
            var rows = ChunkRows(w);
            if (rows >= w.size(0))
            {
                using var wc = Convert(w, x.dtype);
                return F.linear(x, wc);
            }

            using var scope = torch.NewDisposeScope();
            var parts = new List<Tensor>();
            for (long start = 0; start < w.size(0); start += rows)
            {
                using var part = w.narrow(0, start, Math.Min(rows, w.size(0) - start));
                using var wc = Convert(part, x.dtype);
                parts.Add(F.linear(x, wc)); // [..., rows]
            }

            return scope.MoveToOuter(torch.cat(parts, -1)); // [..., out]
        }

        public override Tensor InputGradient(Tensor g, Tensor w)
        {
            using var scope = torch.NewDisposeScope();
            var rows = ChunkRows(w);
            Tensor? sum = null;
            for (long start = 0; start < w.size(0); start += rows)
            {
                var n = Math.Min(rows, w.size(0) - start);
                using var rowsOfW = w.narrow(0, start, n);
                using var wc = Convert(rowsOfW, g.dtype); // [n, in]
                using var part = torch.matmul(g.narrow(-1, start, n), wc); // [..., in]
                sum = sum is null ? part.clone() : sum.add_(part);
            }

            return scope.MoveToOuter(sum!);
        }

        public override Tensor WeightGradient(Tensor g, Tensor x)
        {
            using var scope = torch.NewDisposeScope();
            var gf = g.reshape(-1, g.shape[^1]); // [N, out]
            var xf = x.to_type(g.dtype).reshape(-1, x.shape[^1]); // [N, in]
            return scope.MoveToOuter(gf.t().mm(xf)); // [out, in]
        }

        private long ChunkRows(Tensor w)
        {
            var perRow = Math.Max(1L, w.numel() / Math.Max(1L, w.size(0)));
            return w.numel() <= chunkElements ? w.size(0) : Math.Max(1L, chunkElements / perRow);
        }
    }

    private sealed class BatchedLinearProduct : WeightProduct
    {
        public override Tensor Converted(Tensor x, Tensor w)
        {
            using var wc = Convert(w, x.dtype);
            using var wt = wc.transpose(1, 2);
            return torch.bmm(x, wt); // [m, n, in] x [m, in, out]
        }

        public override Tensor InputGradient(Tensor g, Tensor w)
        {
            using var wc = Convert(w, g.dtype);
            return torch.bmm(g, wc); // [m, n, out] x [m, out, in]
        }

        public override Tensor WeightGradient(Tensor g, Tensor x)
        {
            using var xc = x.to_type(g.dtype);
            using var gt = g.transpose(1, 2);
            return torch.bmm(gt, xc); // [m, out, n] x [m, n, in]
        }
    }

    /// <summary>
    /// <c>einsum("X,W->Y")</c>; its gradients are <c>einsum("Y,W->X")</c> and <c>einsum("X,Y->W")</c>, valid since
    /// every index of the input appears in the output or the weight, and every index of the weight in one of the others.
    /// </summary>
    private sealed class EinsumProduct : WeightProduct
    {
        private readonly string _equation;
        private readonly string _inputGradient;
        private readonly string _weightGradient;

        public EinsumProduct(string equation)
        {
            var arrow = equation.Split("->");
            var operands = arrow[0].Split(',');
            if (arrow.Length != 2 || operands.Length != 2 || operands.Any(o => o.Contains('.', StringComparison.Ordinal)))
            {
                throw new ArgumentException($"A weight product needs an equation 'x,w->y' without ellipses; got '{equation}'.", nameof(equation));
            }

            var (x, w, y) = (operands[0].Trim(), operands[1].Trim(), arrow[1].Trim());
            if (x.Any(c => !y.Contains(c, StringComparison.Ordinal) && !w.Contains(c, StringComparison.Ordinal))
                || w.Any(c => !y.Contains(c, StringComparison.Ordinal) && !x.Contains(c, StringComparison.Ordinal)))
            {
                throw new ArgumentException($"'{equation}': an index of an operand appears in neither other term.", nameof(equation));
            }

            _equation = $"{x},{w}->{y}";
            _inputGradient = $"{y},{w}->{x}";
            _weightGradient = $"{x},{y}->{w}";
        }

        public override Tensor Converted(Tensor x, Tensor w)
        {
            using var wc = Convert(w, x.dtype);
            return torch.einsum(_equation, x, wc);
        }

        public override Tensor InputGradient(Tensor g, Tensor w)
        {
            using var wc = Convert(w, g.dtype);
            return torch.einsum(_inputGradient, g, wc);
        }

        public override Tensor WeightGradient(Tensor g, Tensor x)
        {
            using var xc = x.to_type(g.dtype);
            return torch.einsum(_weightGradient, xc, g);
        }
    }
}
