namespace AutoCircuit.Graph;

/// <summary>
/// One destination module (hook point) and its mask: every destination node of the module shares
/// one mask tensor of shape <see cref="MaskShape"/> (<c>[seq?][head?][n_in_src]</c>).
/// </summary>
public sealed class DestinationModule
{
    internal DestinationModule(
        string moduleName, int index, int layer, IReadOnlyList<DestNode> nodes, bool hasHeadAxis,
        int? seqLen, int inSrcStart, int inSrcCount, int graphSourceCount)
    {
        ModuleName = moduleName;
        Index = index;
        Layer = layer;
        Nodes = nodes;
        HasHeadAxis = hasHeadAxis;
        SeqLen = seqLen;
        InSrcStart = inSrcStart;
        InSrcCount = inSrcCount;
        GraphSourceCount = graphSourceCount;
        var shape = new List<long>(3);
        var axes = ScoreAxes.Src;
        if (seqLen is int s)
        {
            shape.Add(s);
            axes |= ScoreAxes.Seq;
        }

        if (hasHeadAxis)
        {
            shape.Add(nodes.Count);
            axes |= ScoreAxes.Head;
        }

        shape.Add(inSrcCount);
        MaskShape = [.. shape];
        Axes = axes;
    }

    /// <summary>Hook point name, e.g. <c>blocks.1.hook_q_input</c>; the key of this module's scores.</summary>
    public string ModuleName { get; }

    /// <summary>Position of the module in <see cref="ModelGraph.DestModules"/>.</summary>
    public int Index { get; }

    /// <summary>Graph layer of the module's nodes.</summary>
    public int Layer { get; }

    /// <summary>The destination nodes of this module, ordered by head index.</summary>
    public IReadOnlyList<DestNode> Nodes { get; }

    /// <summary>Whether the mask has a head axis (the module holds one node per head).</summary>
    public bool HasHeadAxis { get; }

    /// <summary>Number of heads on the head axis (1 when there is no head axis).</summary>
    public int HeadCount => HasHeadAxis ? Nodes.Count : 1;

    /// <summary>Token positions on the seq axis, or <c>null</c> when all positions share one edge.</summary>
    public int? SeqLen { get; }

    /// <summary>First global source index feeding this module (0 in the factorized graph).</summary>
    public int InSrcStart { get; }

    /// <summary>Number of sources feeding this module: the length of the mask's last axis.</summary>
    public int InSrcCount { get; }

    /// <summary>
    /// Number of sources in the whole graph (<c>n_src</c>): the length of a per-source vector such as
    /// the mean of <see cref="Patching.IPatchableModel.SourceAblations(TorchSharp.torch.Tensor, Patching.AblationType)"/>
    /// over all but its first axis. This module's sources are <c>InSrcStart .. InSrcStart + InSrcCount - 1</c> of them.
    /// </summary>
    public int GraphSourceCount { get; }

    /// <summary>Shape of the mask and of the module's prune scores.</summary>
    public long[] MaskShape { get; }

    /// <summary>Which axes <see cref="MaskShape"/> has.</summary>
    public ScoreAxes Axes { get; }

    /// <summary>Number of edges into this module: the element count of the mask.</summary>
    public long EdgeCount => MaskShape.Aggregate(1L, (a, b) => a * b);

    /// <summary>Human-readable axes, e.g. <c>[seq=5, head=4, src=9]</c>.</summary>
    public string DescribeShape()
    {
        var parts = new List<string>(3);
        var i = 0;
        if (SeqLen is not null)
        {
            parts.Add($"seq={MaskShape[i++]}");
        }

        if (HasHeadAxis)
        {
            parts.Add($"head={MaskShape[i++]}");
        }

        parts.Add($"src={MaskShape[i]}");
        return "[" + string.Join(", ", parts) + "]";
    }

    /// <inheritdoc />
    public override string ToString() => $"{ModuleName} {DescribeShape()}";
}
