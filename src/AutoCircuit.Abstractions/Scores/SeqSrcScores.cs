using AutoCircuit.Graph;
using static TorchSharp.torch;

namespace AutoCircuit.Scores;

/// <summary>
/// Scores of a destination with one node, one edge per token position: <c>[seq, src]</c>.
/// See <see cref="DestinationScores"/>.
/// </summary>
public sealed class SeqSrcScores : DestinationScores
{
    /// <summary>Takes ownership of <paramref name="scores"/>, checking it once.</summary>
    /// <exception cref="ArgumentException">
    /// <paramref name="destination"/> is not <c>[seq, src]</c>, or <paramref name="scores"/> is not exactly its
    /// shape with a floating-point type (the message names the destination and both shapes).
    /// </exception>
    public SeqSrcScores(DestinationModule destination, Tensor scores)
        : base(destination, scores, ScoreAxes.Seq | ScoreAxes.Src)
    {
    }

    /// <summary>Length of the <c>seq</c> axis (token positions).</summary>
    public int Positions => Destination.SeqLen!.Value;

    /// <summary>The scores of the edges at one token position: a <c>[src]</c> view.</summary>
    public Tensor Position(int position)
    {
        CheckIndex("position", position, Positions);
        return Tensor.select(0, position);
    }

    /// <inheritdoc />
    public override TResult Match<TResult>(
        Func<SrcScores, TResult> src,
        Func<HeadSrcScores, TResult> headSrc,
        Func<SeqSrcScores, TResult> seqSrc,
        Func<SeqHeadSrcScores, TResult> seqHeadSrc)
    {
        ArgumentNullException.ThrowIfNull(seqSrc);
        return seqSrc(this);
    }
}
