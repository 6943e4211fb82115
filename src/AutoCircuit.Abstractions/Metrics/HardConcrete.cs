using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Metrics;

/// <summary>
/// The HardConcrete distribution (Louizos et al., 2017; constants from Cao et al., 2021, as in
/// auto-circuit): stretch interval (-0.1, 1.1), temperature 2/3.
/// </summary>
public static class HardConcrete
{
    /// <summary>Lower end of the stretch interval.</summary>
    public const double Left = -0.1;

    /// <summary>Upper end of the stretch interval.</summary>
    public const double Right = 1.1;

    /// <summary>Temperature.</summary>
    public const double Temperature = 2.0 / 3.0;

    /// <summary>
    /// Draws one sample per batch element for every mask value: <c>[batch, *mask.shape]</c>
    /// (<c>sample_hard_concrete</c>). Uses torch's global generator.
    /// </summary>
    public static Tensor Sample(Tensor mask, long batchSize)
    {
        ArgumentNullException.ThrowIfNull(mask);
        var repeats = new long[mask.dim() + 1];
        Array.Fill(repeats, 1L);
        repeats[0] = batchSize;
        using var expanded = mask.repeat(repeats);
        using var empty = torch.zeros_like(expanded);
        using var uRaw = empty.uniform_(0.0, 1.0);
        using var u = uRaw.clamp(0.0001, 0.9999);
        using var logU = u.log();
        using var oneMinus = 1 - u;
        using var log1mU = oneMinus.log();
        using var logits = (logU - log1mU + expanded) / Temperature;
        using var s = torch.sigmoid(logits);
        using var sBar = (s * (Right - Left)) + Left;
        return sBar.clamp(0.0, 1.0);
    }
}
