using static TorchSharp.torch;

namespace AutoCircuit.Host.Models;

/// <summary>
/// A destination's mask-gradient probe at mask 0 (edge attribution patching) that the model computes itself: the
/// destination's per-head input stays the model's own activation (every head reads the same one), and the backward
/// pass gives <c>d loss / d mask[h, s] = sum(d loss / d input[h] * diff[s])</c>, the contraction the engine's probe
/// would compute (see <c>MaskGradientProbe</c>), accumulated into the mask's gradient by autograd.
/// </summary>
/// <param name="Mask">The destination's mask <c>[head, src]</c> (requires grad): an input of the model's autograd node.</param>
/// <param name="Diff">The differences of the destination's incoming sources <c>[src, batch, seq, d]</c>: a view the
/// taker owns (and disposes once the backward pass has read it).</param>
/// <param name="DiffStart">The first source slot of <paramref name="Diff"/> (destinations reading the same slots can
/// share one contraction).</param>
internal sealed record HeadInputProbe(Tensor Mask, Tensor Diff, long DiffStart)
{
    /// <summary>Heads of the destination (rows of the mask).</summary>
    public long Heads => Mask.shape[0];

    /// <summary>Incoming sources (columns of the mask).</summary>
    public long Sources => Diff.shape[0];
}
