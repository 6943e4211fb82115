using AutoCircuit.Graph;
using static TorchSharp.torch;

namespace AutoCircuit.Scores;

/// <summary>
/// Scores of a destination with one node per head and no token positions: <c>[head, src]</c>
/// (e.g. <c>A1.0.Q</c> .. <c>A1.3.Q</c> at <c>blocks.1.hook_q_input</c>). See <see cref="DestinationScores"/>.
/// </summary>
public sealed class HeadSrcScores : DestinationScores
{
    /// <summary>Takes ownership of <paramref name="scores"/>, checking it once.</summary>
    /// <exception cref="ArgumentException">
    /// <paramref name="destination"/> is not <c>[head, src]</c>, or <paramref name="scores"/> is not exactly its
    /// shape with a floating-point type (the message names the destination and both shapes).
    /// </exception>
    public HeadSrcScores(DestinationModule destination, Tensor scores)
        : base(destination, scores, ScoreAxes.Head | ScoreAxes.Src)
    {
    }

    /// <summary>Length of the <c>head</c> axis.</summary>
    public int Heads => Destination.HeadCount;

    /// <summary>The scores of the edges into one head: a <c>[src]</c> view.</summary>
    public Tensor Head(int head)
    {
        CheckIndex("head", head, Heads);
        return Tensor.select(0, head);
    }

    /// <summary>The scores of the edges into one destination node of this module: a <c>[src]</c> view.</summary>
    public Tensor Head(DestNode node) => Head(HeadOf(node));

    /// <inheritdoc />
    public override TResult Match<TResult>(
        Func<SrcScores, TResult> src,
        Func<HeadSrcScores, TResult> headSrc,
        Func<SeqSrcScores, TResult> seqSrc,
        Func<SeqHeadSrcScores, TResult> seqHeadSrc)
    {
        ArgumentNullException.ThrowIfNull(headSrc);
        return headSrc(this);
    }
}
