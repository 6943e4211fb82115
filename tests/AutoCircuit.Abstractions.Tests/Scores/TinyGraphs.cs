using AutoCircuit.Graph;

namespace AutoCircuit.Abstractions.Tests.Scores;

/// <summary>
/// A four-source graph with every destination kind: <c>attn1_in</c> has two heads, <c>mlp1_in</c> and
/// <c>resid_end</c> one node each. Factorized: <c>attn1_in</c> is <c>[head=2, src=3]</c>, the others <c>[src=4]</c>.
/// </summary>
internal static class TinyGraphs
{
    public const string Heads = "attn1_in";
    public const string Mlp = "mlp1_in";

    private static readonly SrcNode[] Sources =
    [
        new("Resid Start", "embed", 0, 0),
        new("A0.0", "attn0", 1, 1, HeadIndex: 0, HeadDim: 2),
        new("A0.1", "attn0", 1, 2, HeadIndex: 1, HeadDim: 2),
        new("MLP 0", "mlp0", 2, 3),
    ];

    public static ModelGraph Factorized(int? seqLen = null) => ModelGraph.Build(
        Sources,
        [
            new DestNode("A1.0", Heads, 2, HeadIndex: 0, HeadDim: 2),
            new DestNode("A1.1", Heads, 2, HeadIndex: 1, HeadDim: 2),
            new DestNode("MLP 1", Mlp, 3),
            new DestNode("Resid End", "resid_end", 4),
        ],
        factorized: true,
        seqLen);

    /// <summary>Residual: <c>attn1_in</c> reads sources 1..2 (<c>[head=2, src=2]</c>), <c>mlp1_in</c> source 3 (<c>[src=1]</c>).</summary>
    public static ModelGraph Residual() => ModelGraph.Build(
        Sources,
        [
            new DestNode("A1.0", Heads, 2, HeadIndex: 0, HeadDim: 2, MinSrcIndex: 1),
            new DestNode("A1.1", Heads, 2, HeadIndex: 1, HeadDim: 2, MinSrcIndex: 1),
            new DestNode("MLP 1", Mlp, 3, MinSrcIndex: 3),
        ],
        factorized: false);
}
