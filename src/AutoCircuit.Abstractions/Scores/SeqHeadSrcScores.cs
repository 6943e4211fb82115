using AutoCircuit.Graph;
using static TorchSharp.torch;

namespace AutoCircuit.Scores;

/// <summary>
/// Scores of a destination with one node per head, one edge per token position: <c>[seq, head, src]</c>.
/// See <see cref="DestinationScores"/>.
/// </summary>
public sealed class SeqHeadSrcScores : DestinationScores
{
    /// <summary>Takes ownership of <paramref name="scores"/>, checking it once.</summary>
    /// <exception cref="ArgumentException">
    /// <paramref name="destination"/> is not <c>[seq, head, src]</c>, or <paramref name="scores"/> is not exactly
    /// its shape with a floating-point type (the message names the destination and both shapes).
    /// </exception>
    public SeqHeadSrcScores(DestinationModule destination, Tensor scores)
        : base(destination, scores, ScoreAxes.Seq | ScoreAxes.Head | ScoreAxes.Src)
    {
    }

    /// <summary>Length of the <c>seq</c> axis (token positions).</summary>
    public int Positions => Destination.SeqLen!.Value;

    /// <summary>Length of the <c>head</c> axis.</summary>
    public int Heads => Destination.HeadCount;

    /// <summary>The scores of the edges at one token position: a <c>[head, src]</c> view.</summary>
    public Tensor Position(int position)
    {
        CheckIndex("position", position, Positions);
        return Tensor.select(0, position);
    }

    /// <summary>The scores of the edges into one head at every position: a <c>[seq, src]</c> view.</summary>
    public Tensor Head(int head)
    {
        CheckIndex("head", head, Heads);
        return Tensor.select(1, head);
    }

    /// <summary>The scores of the edges into one destination node of this module at every position: a <c>[seq, src]</c> view.</summary>
    public Tensor Head(DestNode node) => Head(HeadOf(node));

    /// <summary>The scores of the edges into one head at one position: a <c>[src]</c> view.</summary>
    public Tensor At(int position, int head)
    {
        CheckIndex("position", position, Positions);
        CheckIndex("head", head, Heads);
        return Tensor[position, head];
    }

    /// <inheritdoc />
    public override TResult Match<TResult>(
        Func<SrcScores, TResult> src,
        Func<HeadSrcScores, TResult> headSrc,
        Func<SeqSrcScores, TResult> seqSrc,
        Func<SeqHeadSrcScores, TResult> seqHeadSrc)
    {
        ArgumentNullException.ThrowIfNull(seqHeadSrc);
        return seqHeadSrc(this);
    }
}
