using AutoCircuit.Models.Transformers;

namespace AutoCircuit.Models.Checkpoints;

/// <summary>Special token ids a checkpoint declares (used for padding and generation).</summary>
/// <param name="Bos">Beginning-of-sequence id, if any.</param>
/// <param name="Eos">End-of-sequence id, if any.</param>
/// <param name="Pad">Padding id, if declared.</param>
public sealed record SpecialTokens(long? Bos, long? Eos, long? Pad)
{
    /// <summary>The left-padding rule TransformerLens would use: pad = pad ?? eos; pad doubles as BOS when the ids agree.</summary>
    public TokenPadding? Padding => (Pad ?? Eos) is long pad ? new TokenPadding(pad, pad == Bos) : null;
}
