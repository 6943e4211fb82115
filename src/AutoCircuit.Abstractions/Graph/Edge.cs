namespace AutoCircuit.Graph;

/// <summary>
/// A directed edge from a source node to a destination node, optionally at one token position
/// (graphs built with a fixed <c>seq_len</c> have one edge per position).
/// </summary>
public sealed record Edge(SrcNode Src, DestNode Dest, int? SeqIndex = null)
{
    /// <summary><c>{src}->{dest}</c>, as in auto-circuit (the position is not part of the name).</summary>
    public string Name => $"{Src.Name}->{Dest.Name}";

    /// <summary>Index of this edge in its destination's mask / score tensor: <c>[seq?][head?][src - min_src]</c>.</summary>
    public long[] PatchIndex
    {
        get
        {
            var idx = new List<long>(3);
            if (SeqIndex is int s)
            {
                idx.Add(s);
            }

            if (Dest.HeadIndex is int h)
            {
                idx.Add(h);
            }

            idx.Add(Src.SrcIndex - Dest.MinSrcIndex);
            return [.. idx];
        }
    }

    /// <inheritdoc />
    public override string ToString() => SeqIndex is int s ? $"{Name}@{s}" : Name;
}
