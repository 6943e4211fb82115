using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using AutoCircuit.Tensors;
using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Engine.Patching;

/// <summary>
/// The patch's matrix product <c>C[M, N] = W[M, S] x D[S, N]</c> on the CPU (float32, AVX2 and FMA), for the shape
/// patching has and BLAS handles badly: few rows (a layer's stacked masks, M = 12..40), a short inner axis (the sources,
/// S = 14..160 at GPT-2 small) and a very long output axis (N = batch x tokens x d_model, 50k..200k).
/// </summary>
/// <remarks>
/// <para>MKL runs this shape at 25..60 GFLOP/s on a 2-core AMD EPYC, against 160 GFLOP/s for the model's own products
/// (issue 17): each source's row of <c>D</c> lies <c>N</c> floats after the previous one, so a block of columns touches
/// <c>S</c> far-apart pages, which neither the hardware prefetcher nor its packing copes with. This kernel copies a chunk of
/// columns of all <c>S</c> rows (each row's part read front to back, which the prefetcher follows) into 16-column
/// strips that lie one after the other, then multiplies six rows of <c>W</c> at a time by each strip with twelve
/// 8-wide accumulators in registers; the strip stays in the level-1/2 cache for all row blocks. Measured against
/// libtorch's <c>mm</c> on that machine, 2 threads: 1.7..2.7x at batch 8 x 32 and 0.9..2.4x at 4 x 16 (see
/// docs/performance.md).</para>
/// <para>Each output is the sum over sources in source order, one fused multiply-add per source, as BLAS sums it on this
/// shape; the tests compare the two (rtol 1e-5). Chunks of columns are spread over the intra-op threads libtorch is set to
/// (<see cref="PassThreads"/>), taken dynamically so a core busy with other work does fewer.</para>
/// </remarks>
internal static unsafe class PatchProductKernel
{
    private const int RowBlock = 6; // rows of W per micro-kernel: 12 accumulators + 2 strip loads + 1 broadcast = 15 registers
    private const int Strip = 16; // columns per micro-kernel: two 8-wide vectors
    private const long PanelBytes = 128 * 1024; // the packed panel of one chunk: about a core's level-2 cache share

    /// <summary>Whether this machine can run the kernel (x86 with AVX2 and FMA).</summary>
    public static bool Supported => Avx2.IsSupported && Fma.IsSupported;

    [ThreadStatic]
    private static int t_products;

    /// <summary>
    /// Off: every product goes to libtorch. <c>AUTOCIRCUIT_PATCH_KERNEL=0</c> turns it off for a process; settable for
    /// measurements that alternate the two in one process.
    /// </summary>
    public static bool Enabled { get; set; } = Environment.GetEnvironmentVariable("AUTOCIRCUIT_PATCH_KERNEL") != "0";

    /// <summary>Products this thread has run in the kernel (tests check that a pass took it).</summary>
    public static int ProductsOnThisThread => t_products;

    /// <summary>
    /// <c>weights @ diff</c> as <see cref="PatchMath.HeadMajorProduct"/> computes it (<c>[M, S] x [S, ...] -> [M, ...]</c>),
    /// or <c>null</c> where the kernel does not apply: not float32 on the CPU, gradients to record, fewer than six rows,
    /// or too little work to be worth it (libtorch is as fast there).
    /// </summary>
    /// <param name="weights">The stacked masks, <c>[M, S]</c>.</param>
    /// <param name="diff">The sources' differences, <c>[S, B, T, d...]</c>, contiguous.</param>
    public static Tensor? TryMultiply(Tensor weights, Tensor diff) =>
        TryMultiply(weights, diff, torch.get_num_threads(), PassThreads.SplitWork);

    /// <summary>
    /// <see cref="TryMultiply(Tensor, Tensor)"/> on up to <paramref name="threads"/> threads, for products of at least
    /// <paramref name="minWork"/> multiply-adds.
    /// </summary>
    internal static Tensor? TryMultiply(Tensor weights, Tensor diff, int threads, long minWork)
    {
        if (!Enabled || !Supported || weights.dim() != 2 || diff.dim() < 2
            || weights.dtype != ScalarType.Float32 || diff.dtype != ScalarType.Float32
            || weights.device_type != DeviceType.CPU || diff.device_type != DeviceType.CPU
            || (torch.is_grad_enabled() && (weights.requires_grad || diff.requires_grad))
            || !diff.is_contiguous())
        {
            return null;
        }

        long m = weights.size(0), k = weights.size(1), s = diff.size(0);
        var n = diff.numel() / Math.Max(1, s);
        if (k != s || m < RowBlock || k == 0 || n < Strip || m * k * n < minWork || m > int.MaxValue || k > int.MaxValue)
        {
            return null;
        }

        using var w = weights.is_contiguous() ? weights.alias() : weights.contiguous();
        var shape = diff.Sizes();
        shape[0] = m;
        var result = torch.empty(shape, ScalarType.Float32, diff.device); // [M, B, T, d...]
        Multiply(Pointer(w), (int)m, (int)k, Pointer(diff), n, Pointer(result), threads);
        t_products++;
        return result;
    }

    /// <summary>
    /// <c>C = A x B</c> for row-major <paramref name="a"/> <c>[m, k]</c>, <paramref name="b"/> <c>[k, n]</c> and
    /// <paramref name="c"/> <c>[m, n]</c>, on up to <paramref name="threads"/> threads.
    /// </summary>
    internal static void Multiply(float* a, int m, int k, float* b, long n, float* c, int threads)
    {
        var blocks = m / RowBlock;
        var packedA = ArrayPool<float>.Shared.Rent(Math.Max(1, blocks * k * RowBlock));
        try
        {
            fixed (float* p = packedA)
            {
                // A's row blocks with the six rows of each source together: the micro-kernel reads them in order.
                for (var block = 0; block < blocks; block++)
                {
                    for (var kk = 0; kk < k; kk++)
                    {
                        for (var r = 0; r < RowBlock; r++)
                        {
                            p[(((long)block * k) + kk) * RowBlock + r] = a[((long)block * RowBlock + r) * k + kk];
                        }
                    }
                }

                var width = Math.Clamp(PanelBytes / (sizeof(float) * (long)k) / Strip * Strip, 256, 8192);
                var chunks = (n + width - 1) / width;
                var job = new Job((nint)p, (nint)a, m, k, (nint)b, n, (nint)c, width);
                if (threads <= 1 || chunks == 1)
                {
                    var panel = ArrayPool<float>.Shared.Rent((int)(k * width));
                    try
                    {
                        for (long i = 0; i < chunks; i++)
                        {
                            job.Run(i, panel);
                        }
                    }
                    finally
                    {
                        ArrayPool<float>.Shared.Return(panel);
                    }

                    return;
                }

                Parallel.For(
                    0L,
                    chunks,
                    new ParallelOptions { MaxDegreeOfParallelism = threads },
                    () => ArrayPool<float>.Shared.Rent((int)(k * width)),
                    (i, _, panel) =>
                    {
                        job.Run(i, panel);
                        return panel;
                    },
                    panel => ArrayPool<float>.Shared.Return(panel));
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(packedA);
        }
    }

    /// <summary>The address of a contiguous CPU tensor's first element (any size: the span covers one element).</summary>
    private static float* Pointer(Tensor t)
    {
        using var flat = t.view(-1);
        using var first = flat.narrow(0, 0, 1);
        return (float*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(first.bytes));
    }

    /// <summary>One product, split into chunks of <see cref="Width"/> columns (addresses as integers: captured by lambdas).</summary>
    private readonly record struct Job(nint PackedA, nint A, int M, int K, nint B, long N, nint C, long Width)
    {
        /// <summary>Columns <c>[i * Width, (i + 1) * Width)</c> of C, packing B's part into <paramref name="panel"/>.</summary>
        public void Run(long i, float[] panel)
        {
            var n0 = i * Width;
            var n1 = Math.Min(N, n0 + Width);
            fixed (float* q = panel)
            {
                Chunk((float*)PackedA, (float*)A, M, K, (float*)B, N, (float*)C, n0, n1, q);
            }
        }
    }

    private static void Chunk(float* packedA, float* a, int m, int k, float* b, long n, float* c, long n0, long n1, float* panel)
    {
        var blocks = m / RowBlock;
        var strips = (int)((n1 - n0) / Strip);

        // Pack: strip t holds columns [n0 + 16t, n0 + 16t + 16) of all k rows, row after row.
        for (var kk = 0; kk < k; kk++)
        {
            var src = b + (kk * n) + n0;
            var dst = panel + ((long)kk * Strip);
            for (var t = 0; t < strips; t++)
            {
                Avx.Store(dst, Avx.LoadVector256(src));
                Avx.Store(dst + 8, Avx.LoadVector256(src + 8));
                src += Strip;
                dst += (long)k * Strip;
            }
        }

        for (var t = 0; t < strips; t++)
        {
            var strip = panel + ((long)t * k * Strip);
            var column = n0 + ((long)t * Strip);
            for (var block = 0; block < blocks; block++)
            {
                SixRows(packedA + ((long)block * k * RowBlock), k, strip, c + ((long)block * RowBlock * n) + column, n);
            }

            for (var r = blocks * RowBlock; r < m; r++)
            {
                OneRow(a + ((long)r * k), k, strip, c + (r * n) + column);
            }
        }

        // Columns past the last whole strip (d_model not a multiple of 16): the same sums, one at a time.
        for (var j = n0 + ((long)strips * Strip); j < n1; j++)
        {
            for (var r = 0; r < m; r++)
            {
                var sum = 0f;
                for (var kk = 0; kk < k; kk++)
                {
                    sum = MathF.FusedMultiplyAdd(a[((long)r * k) + kk], b[(kk * n) + j], sum);
                }

                c[(r * n) + j] = sum;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SixRows(float* a, int k, float* b, float* c, long ldc)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (var kk = 0; kk < k; kk++)
        {
            var b0 = Avx.LoadVector256(b);
            var b1 = Avx.LoadVector256(b + 8);
            b += Strip;
            var a0 = Vector256.Create(a[0]);
            c00 = Fma.MultiplyAdd(a0, b0, c00);
            c01 = Fma.MultiplyAdd(a0, b1, c01);
            var a1 = Vector256.Create(a[1]);
            c10 = Fma.MultiplyAdd(a1, b0, c10);
            c11 = Fma.MultiplyAdd(a1, b1, c11);
            var a2 = Vector256.Create(a[2]);
            c20 = Fma.MultiplyAdd(a2, b0, c20);
            c21 = Fma.MultiplyAdd(a2, b1, c21);
            var a3 = Vector256.Create(a[3]);
            c30 = Fma.MultiplyAdd(a3, b0, c30);
            c31 = Fma.MultiplyAdd(a3, b1, c31);
            var a4 = Vector256.Create(a[4]);
            c40 = Fma.MultiplyAdd(a4, b0, c40);
            c41 = Fma.MultiplyAdd(a4, b1, c41);
            var a5 = Vector256.Create(a[5]);
            c50 = Fma.MultiplyAdd(a5, b0, c50);
            c51 = Fma.MultiplyAdd(a5, b1, c51);
            a += RowBlock;
        }

        Avx.Store(c, c00);
        Avx.Store(c + 8, c01);
        c += ldc;
        Avx.Store(c, c10);
        Avx.Store(c + 8, c11);
        c += ldc;
        Avx.Store(c, c20);
        Avx.Store(c + 8, c21);
        c += ldc;
        Avx.Store(c, c30);
        Avx.Store(c + 8, c31);
        c += ldc;
        Avx.Store(c, c40);
        Avx.Store(c + 8, c41);
        c += ldc;
        Avx.Store(c, c50);
        Avx.Store(c + 8, c51);
    }

    private static void OneRow(float* a, int k, float* b, float* c)
    {
        Vector256<float> c0 = default, c1 = default;
        for (var kk = 0; kk < k; kk++)
        {
            var av = Vector256.Create(a[kk]);
            c0 = Fma.MultiplyAdd(av, Avx.LoadVector256(b), c0);
            c1 = Fma.MultiplyAdd(av, Avx.LoadVector256(b + 8), c1);
            b += Strip;
        }

        Avx.Store(c, c0);
        Avx.Store(c + 8, c1);
    }
}
