using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Models.Transformers;

/// <summary>
/// Rotary position embeddings (Llama family; Su et al. 2021, RoFormer): queries and keys are rotated pairwise by angles
/// proportional to the token's position, so their dot product depends on the distance between positions only.
/// </summary>
internal static class Rotary
{
    /// <summary>Cosines and sines <c>[B, T, 1, Dh/2]</c> for <paramref name="positions"/> <c>[B, T]</c>.</summary>
    public static (Tensor Cos, Tensor Sin) Tables(Tensor positions, int dHead, double theta, ScalarType dtype)
    {
        using var scope = torch.NewDisposeScope();
        var half = dHead / 2;
        var exponents = torch.arange(0, half, dtype: ScalarType.Float64, device: positions.device) * (2.0 / dHead);
        var invFreq = torch.pow(theta, exponents).reciprocal().to_type(ScalarType.Float32); // [Dh/2]
        var angles = positions.to_type(ScalarType.Float32).unsqueeze(-1) * invFreq; // [B, T, 1] * [Dh/2] = [B, T, Dh/2]
        var cos = angles.cos().to_type(dtype).unsqueeze(2); // [B, T, 1, Dh/2]
        var sin = angles.sin().to_type(dtype).unsqueeze(2); // [B, T, 1, Dh/2]
        return scope.MoveToOuter(cos, sin);
    }

    /// <summary>Rotates queries or keys <c>[B, T, n, Dh]</c> with the tables of <see cref="Tables"/>.</summary>
    /// <param name="x">Queries or keys.</param>
    /// <param name="cos">Cosines <c>[B, T, 1, Dh/2]</c>.</param>
    /// <param name="sin">Sines <c>[B, T, 1, Dh/2]</c>.</param>
    /// <param name="interleaved"><c>true</c>: dimensions (2i, 2i+1) rotate together (llama2.c, Meta); <c>false</c>:
    /// dimensions (i, i + Dh/2) (Hugging Face's "rotate half", whose checkpoints store q/k weights permuted to match).</param>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin, bool interleaved)
    {
        using var scope = torch.NewDisposeScope();
        long b = x.shape[0], t = x.shape[1], n = x.shape[2], dh = x.shape[3], half = dh / 2;
        if (interleaved)
        {
            var pairs = x.view(b, t, n, half, 2); // [B, T, n, Dh/2, 2]
            var (x0, x1) = (pairs.select(-1, 0), pairs.select(-1, 1)); // [B, T, n, Dh/2] each
            var r0 = (x0 * cos) - (x1 * sin);
            var r1 = (x0 * sin) + (x1 * cos);
            return scope.MoveToOuter(torch.stack([r0, r1], -1).view(b, t, n, dh)); // [B, T, n, Dh/2, 2] -> [B, T, n, Dh]
        }

        var (lo, hi) = (x.narrow(-1, 0, half), x.narrow(-1, half, half)); // [B, T, n, Dh/2] each
        var a = (lo * cos) - (hi * sin);
        var c = (hi * cos) + (lo * sin);
        return scope.MoveToOuter(torch.cat([a, c], -1)); // [B, T, n, Dh]
    }
}
