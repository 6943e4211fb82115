using AutoCircuit.Graph;
using static TorchSharp.torch;

namespace AutoCircuit.Scores;

/// <summary>
/// Scores of a destination with one node and no token positions: <c>[src]</c>, one score per incoming
/// source (e.g. <c>MLP 1</c>, <c>Resid End</c>). See <see cref="DestinationScores"/>.
/// </summary>
public sealed class SrcScores : DestinationScores
{
    /// <summary>Takes ownership of <paramref name="scores"/>, checking it once.</summary>
    /// <exception cref="ArgumentException">
    /// <paramref name="destination"/> has a head or seq axis, or <paramref name="scores"/> is not exactly
    /// <c>[src]</c> of floating-point type (the message names the destination and both shapes).
    /// </exception>
    public SrcScores(DestinationModule destination, Tensor scores)
        : base(destination, scores, ScoreAxes.Src)
    {
    }

    /// <inheritdoc />
    public override TResult Match<TResult>(
        Func<SrcScores, TResult> src,
        Func<HeadSrcScores, TResult> headSrc,
        Func<SeqSrcScores, TResult> seqSrc,
        Func<SeqHeadSrcScores, TResult> seqHeadSrc)
    {
        ArgumentNullException.ThrowIfNull(src);
        return src(this);
    }
}
