using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace AutoCircuit.Testing;

/// <summary>Tensor comparisons with stated tolerances and readable failures.</summary>
public static class TensorAssert
{
    /// <summary>
    /// Asserts <c>|actual - expected| &lt;= atol + rtol * |expected|</c> elementwise, with equal shapes.
    /// </summary>
    public static void AllClose(Tensor expected, Tensor actual, double atol, double rtol = 0, string? what = null)
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentNullException.ThrowIfNull(actual);
        var label = what is null ? string.Empty : what + ": ";
        Assert.True(
            expected.shape.SequenceEqual(actual.shape),
            $"{label}shape [{string.Join(", ", actual.shape)}] != expected [{string.Join(", ", expected.shape)}]");
        using var e = expected.detach().to_type(ScalarType.Float64).cpu();
        using var a = actual.detach().to_type(ScalarType.Float64).cpu();
        using var diff = (a - e).abs();
        using var tol = (e.abs() * rtol) + atol;
        using var bad = diff.gt(tol);
        if (bad.any().ToBoolean())
        {
            var ev = e.flatten().data<double>().ToArray();
            var av = a.flatten().data<double>().ToArray();
            var idx = Enumerable.Range(0, ev.Length).First(i => Math.Abs(av[i] - ev[i]) > atol + (rtol * Math.Abs(ev[i])));
            Assert.Fail($"{label}element {idx} (flat) is {av[idx]:R}, expected {ev[idx]:R} (atol {atol}, rtol {rtol}); " +
                        $"max |diff| {diff.max().ToDouble():G4}");
        }
    }

    /// <summary>Asserts bitwise equality of two tensors of the same dtype.</summary>
    public static void Equal(Tensor expected, Tensor actual, string? what = null)
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentNullException.ThrowIfNull(actual);
        Assert.True(expected.dtype == actual.dtype, $"{what}: dtype {actual.dtype} != {expected.dtype}");
        Assert.True(
            expected.shape.SequenceEqual(actual.shape),
            $"{what}: shape [{string.Join(", ", actual.shape)}] != expected [{string.Join(", ", expected.shape)}]");
        using var e = expected.detach().cpu().contiguous();
        using var a = actual.detach().cpu().contiguous();
        var eb = e.bytes.ToArray();
        var ab = a.bytes.ToArray();
        Assert.True(eb.AsSpan().SequenceEqual(ab), $"{what}: tensors are not bitwise equal");
    }
}
