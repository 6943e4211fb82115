using static TorchSharp.torch;

namespace AutoCircuit.Tensors;

/// <summary>
/// A tensor's sizes, read one axis at a time. TorchSharp's <c>shape</c> and <c>size()</c> hand native code a callback
/// that allocates the array, and marshalling that callback costs microseconds per call, as much as a small operation;
/// <c>dim()</c> and <c>size(i)</c> are plain native calls. Code that runs per pass, per destination or per edge reads
/// sizes through these (the hot-path tests check it).
/// </summary>
public static class TensorSizes
{
    /// <summary>The sizes of <paramref name="tensor"/>, as <c>shape</c> gives them.</summary>
    public static long[] Sizes(this Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        var sizes = new long[tensor.dim()];
        for (var i = 0; i < sizes.Length; i++)
        {
            sizes[i] = tensor.size(i);
        }

        return sizes;
    }

    /// <summary>Whether <paramref name="a"/> and <paramref name="b"/> have the same sizes.</summary>
    public static bool SameSizes(Tensor a, Tensor b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var n = a.dim();
        if (b.dim() != n)
        {
            return false;
        }

        for (var i = 0; i < n; i++)
        {
            if (a.size(i) != b.size(i))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Whether <paramref name="tensor"/> has the sizes <paramref name="sizes"/>.</summary>
    public static bool HasSizes(this Tensor tensor, IReadOnlyList<long> sizes)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        ArgumentNullException.ThrowIfNull(sizes);
        if (tensor.dim() != sizes.Count)
        {
            return false;
        }

        for (var i = 0; i < sizes.Count; i++)
        {
            if (tensor.size(i) != sizes[i])
            {
                return false;
            }
        }

        return true;
    }
}
