using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Models.Transformers;

/// <summary>
/// Rotary position embeddings (Su et al. 2021, RoFormer): queries and keys are rotated pairwise by angles
/// proportional to the token's position, so their dot product depends on the distance between positions only.
/// Frequencies follow Hugging Face's <c>modeling_rope_utils.py</c> in float32, including its <c>rope_scaling</c>
/// methods (<see cref="RopeScaling"/>); tools/reference/FAMILIES.md states each in a few lines.
/// </summary>
internal static class Rotary
{
    /// <summary>
    /// Cosines and sines <c>[B, T, 1, r/2]</c> for <paramref name="positions"/> <c>[B, T]</c>, already multiplied by
    /// the scaling's attention factor (yarn), with <paramref name="rotaryDim"/> = r rotated dimensions.
    /// </summary>
    /// <param name="positions">Token positions.</param>
    /// <param name="rotaryDim">Rotated dimensions per head.</param>
    /// <param name="theta">Base.</param>
    /// <param name="scaling">Frequency scaling, or <c>null</c>.</param>
    /// <param name="context">The model's context length (<c>max_position_embeddings</c>), which dynamic and yarn read.</param>
    /// <param name="dtype">Type of the tables (the compute dtype; the angles are float32).</param>
    public static (Tensor Cos, Tensor Sin) Tables(Tensor positions, int rotaryDim, double theta, RopeScaling? scaling, int context, ScalarType dtype)
    {
        using var scope = torch.NewDisposeScope();

        // Dynamic NTK looks at the longest position of this forward pass (Hugging Face: max(position_ids) + 1).
        var seqLen = scaling?.Type == RopeScalingType.Dynamic && positions.numel() > 0 ? positions.max().ToInt64() + 1 : 0;
        var (invFreq, attentionFactor) = InverseFrequencies(rotaryDim, theta, scaling, context, seqLen, positions.device); // [r/2]
        var angles = positions.to_type(ScalarType.Float32).unsqueeze(-1) * invFreq; // [B, T, 1] * [r/2] = [B, T, r/2]
        var cos = angles.cos();
        var sin = angles.sin();
        if (attentionFactor != 1.0)
        {
            (cos, sin) = (cos * attentionFactor, sin * attentionFactor);
        }

        return scope.MoveToOuter(cos.to_type(dtype).unsqueeze(2), sin.to_type(dtype).unsqueeze(2)); // [B, T, 1, r/2] each
    }

    /// <summary>
    /// The inverse frequencies <c>[r/2]</c> (float32) and the attention factor of a rotary embedding over
    /// <paramref name="dim"/> dimensions; <paramref name="seqLen"/> is the forward pass's length (dynamic only).
    /// </summary>
    public static (Tensor InvFreq, double AttentionFactor) InverseFrequencies(
        int dim, double theta, RopeScaling? scaling, int context, long seqLen, Device? device = null)
    {
        using var scope = torch.NewDisposeScope();
        switch (scaling)
        {
            case null:
                return (scope.MoveToOuter(Default(theta, dim, device)), 1.0);

            case { Type: RopeScalingType.Linear }:
                return (scope.MoveToOuter(Default(theta, dim, device) / scaling.Factor), 1.0);

            case { Type: RopeScalingType.Dynamic }:
                {
                    // The base grows once the sequence outgrows the trained context; shorter passes use the plain table.
                    var f = scaling.Factor;
                    var b = seqLen > context ? theta * Math.Pow((f * seqLen / context) - (f - 1), dim / (dim - 2.0)) : theta;
                    return (scope.MoveToOuter(Default(b, dim, device)), 1.0);
                }

            case { Type: RopeScalingType.Yarn }:
                return Yarn(dim, theta, scaling, context, device, scope);

            case { Type: RopeScalingType.Llama3 }:
                {
                    // Wavelengths shorter than Lo/high are kept, longer than Lo/low divided by the factor, smoothed between.
                    var inv = Default(theta, dim, device);
                    double f = scaling.Factor, lo = scaling.LowFreqFactor!.Value, hi = scaling.HighFreqFactor!.Value;
                    double old = scaling.OriginalContext!.Value;
                    var wavelen = (2 * Math.PI) / inv; // [r/2], float32 as Hugging Face
                    var scaled = torch.where(wavelen.gt(old / lo), inv / f, inv);
                    var smooth = ((old / wavelen) - lo) / (hi - lo);
                    var smoothed = ((1 - smooth) * scaled / f) + (smooth * scaled);
                    var medium = wavelen.lt(old / hi).logical_not() & wavelen.gt(old / lo).logical_not();
                    return (scope.MoveToOuter(torch.where(medium, smoothed, scaled)), 1.0);
                }

            default:
                throw new ArgumentException($"Unknown rope scaling {scaling}.", nameof(scaling));
        }
    }

    /// <summary>Rotates queries or keys <c>[B, T, n, Dh]</c> with the tables of <see cref="Tables"/>: the first r
    /// dimensions rotate, the rest pass unchanged (GPT-NeoX's partial rotary).</summary>
    /// <param name="x">Queries or keys.</param>
    /// <param name="cos">Cosines <c>[B, T, 1, r/2]</c>.</param>
    /// <param name="sin">Sines <c>[B, T, 1, r/2]</c>.</param>
    /// <param name="interleaved"><c>true</c>: dimensions (2i, 2i+1) rotate together (llama2.c, Meta); <c>false</c>:
    /// dimensions (i, i + r/2) (Hugging Face's "rotate half", whose checkpoints store q/k weights permuted to match).</param>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin, bool interleaved)
    {
        using var scope = torch.NewDisposeScope();
        long b = x.size(0), t = x.size(1), n = x.size(2), dh = x.size(3), half = cos.size(3), r = 2 * half;
        var rot = r == dh ? x : x.narrow(-1, 0, r); // [B, T, n, r]
        Tensor rotated;
        if (interleaved)
        {
            var pairs = rot.reshape(b, t, n, half, 2); // [B, T, n, r/2, 2]
            var (x0, x1) = (pairs.select(-1, 0), pairs.select(-1, 1)); // [B, T, n, r/2] each
            var r0 = (x0 * cos) - (x1 * sin);
            var r1 = (x0 * sin) + (x1 * cos);
            rotated = torch.stack([r0, r1], -1).view(b, t, n, r); // [B, T, n, r/2, 2] -> [B, T, n, r]
        }
        else
        {
            var (lo, hi) = (rot.narrow(-1, 0, half), rot.narrow(-1, half, half)); // [B, T, n, r/2] each
            var a = (lo * cos) - (hi * sin);
            var c = (hi * cos) + (lo * sin);
            rotated = torch.cat([a, c], -1); // [B, T, n, r]
        }

        return scope.MoveToOuter(r == dh ? rotated : torch.cat([rotated, x.narrow(-1, r, dh - r)], -1)); // [B, T, n, Dh]
    }

    /// <summary><c>1 / theta^(2i/dim)</c>, <c>i &lt; dim/2</c>, in float32 as Hugging Face computes it.</summary>
    private static Tensor Default(double theta, int dim, Device? device)
    {
        using var exponents = torch.arange(0, dim, 2, dtype: ScalarType.Int64, device: device).to_type(ScalarType.Float32) / dim;
        using var powers = torch.pow(theta, exponents);
        return powers.reciprocal(); // [dim/2]
    }

    /// <summary>YaRN: a ramp between extrapolated (kept) and interpolated (divided) frequencies, and an attention factor.</summary>
    private static (Tensor, double) Yarn(int dim, double theta, RopeScaling s, int context, Device? device, DisposeScope scope)
    {
        var f = s.Factor;
        var orig = s.OriginalContext ?? context;
        static double Mscale(double scale, double m) => scale <= 1 ? 1.0 : (0.1 * m * Math.Log(scale)) + 1.0;
        var attention = s.AttentionFactor ?? (s.Mscale is { } ms && ms != 0 && s.MscaleAllDim is { } ma && ma != 0
            ? Mscale(f, ms) / Mscale(f, ma)
            : Mscale(f, 1));

        double DimOf(double rotations) => dim * Math.Log(orig / (rotations * 2 * Math.PI)) / (2 * Math.Log(theta));
        double low = DimOf(s.BetaFast ?? 32), high = DimOf(s.BetaSlow ?? 1);
        if (s.Truncate)
        {
            (low, high) = (Math.Floor(low), Math.Ceiling(high));
        }

        (low, high) = (Math.Max(low, 0), Math.Min(high, dim - 1));
        if (low == high)
        {
            high += 0.001; // Hugging Face's guard against a zero-width ramp
        }

        var ramp = ((torch.arange(dim / 2, dtype: ScalarType.Float32, device: device) - low) / (high - low)).clamp(0, 1); // [dim/2]
        using var exponents = torch.arange(0, dim, 2, dtype: ScalarType.Int64, device: device).to_type(ScalarType.Float32) / dim;
        var posFreqs = torch.pow(theta, exponents); // [dim/2]
        var extrapolation = 1 - ramp;
        var inv = ((1.0 / (f * posFreqs)) * (1 - extrapolation)) + ((1.0 / posFreqs) * extrapolation);
        return (scope.MoveToOuter(inv), attention);
    }
}
