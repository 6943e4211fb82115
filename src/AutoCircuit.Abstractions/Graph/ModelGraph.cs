namespace AutoCircuit.Graph;

/// <summary>
/// The computational graph of a patchable model: source nodes, destination nodes, the modules
/// that hold them and every edge, built with auto-circuit's rules (<c>graph_utils.graph_edges</c>
/// and <c>make_model_patchable</c>).
/// </summary>
/// <remarks>
/// <para>Factorized graph: every source feeds every destination of a later layer. Residual graph:
/// only sources of the previous layer feed a destination.</para>
/// <para>Orders are deterministic (auto-circuit keeps sets): sources by <see cref="SrcNode.SrcIndex"/>;
/// destination modules by layer, then in the order the model lists them; edges by token position
/// (none, or 0..seq_len-1), then destination module, then head, then source index.</para>
/// </remarks>
public sealed class ModelGraph
{
    private readonly Dictionary<string, DestinationModule> _destByName;
    private Dictionary<(string Name, int? Seq), Edge>? _edgeByName; // built on first use: names are made per edge
    private Dictionary<string, IReadOnlyList<Edge>>? _edgesByModule; // built on first use
    private Edge[]? _flatEdges;
    private long[]? _flatOffsets;

    private ModelGraph(
        IReadOnlyList<SrcNode> srcs, IReadOnlyList<DestNode> dests, IReadOnlyList<SourceModule> srcModules,
        IReadOnlyList<DestinationModule> destModules, IReadOnlyList<Edge> edges, bool factorized, int? seqLen)
    {
        Srcs = srcs;
        Dests = dests;
        SrcModules = srcModules;
        DestModules = destModules;
        Edges = edges;
        IsFactorized = factorized;
        SeqLen = seqLen;
        _destByName = destModules.ToDictionary(m => m.ModuleName, StringComparer.Ordinal);
    }

    /// <summary>Source nodes ordered by <see cref="SrcNode.SrcIndex"/> (0..n_src-1).</summary>
    public IReadOnlyList<SrcNode> Srcs { get; }

    /// <summary>Destination nodes in module order, then head order.</summary>
    public IReadOnlyList<DestNode> Dests { get; }

    /// <summary>Source modules ordered by their first source index.</summary>
    public IReadOnlyList<SourceModule> SrcModules { get; }

    /// <summary>Destination modules (one mask each) in graph order.</summary>
    public IReadOnlyList<DestinationModule> DestModules { get; }

    /// <summary>Every edge, in the documented order.</summary>
    public IReadOnlyList<Edge> Edges { get; }

    /// <summary>Number of edges (<c>n_edges</c>).</summary>
    public int EdgeCount => Edges.Count;

    /// <summary>Whether this is the factorized graph (edge patching) or the residual graph (node patching).</summary>
    public bool IsFactorized { get; }

    /// <summary>Token positions when each position has its own edges, else <c>null</c>.</summary>
    public int? SeqLen { get; }

    /// <summary>The destination module with the given hook point name.</summary>
    /// <exception cref="KeyNotFoundException">No destination module has that name.</exception>
    public DestinationModule DestModule(string moduleName) =>
        _destByName.TryGetValue(moduleName, out var m)
            ? m
            : throw new KeyNotFoundException(
                $"'{moduleName}' is not a destination module of this graph; known: {string.Join(", ", _destByName.Keys)}");

    /// <summary>Whether a destination module with this name exists.</summary>
    public bool TryGetDestModule(string moduleName, out DestinationModule module) =>
        _destByName.TryGetValue(moduleName, out module!);

    /// <summary>The edges into one destination module, in graph order.</summary>
    public IReadOnlyList<Edge> EdgesInto(string moduleName) =>
        (_edgesByModule ??= Edges.GroupBy(e => e.Dest.ModuleName, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => (IReadOnlyList<Edge>)[.. g], StringComparer.Ordinal))
        .TryGetValue(moduleName, out var list) ? list : [];

    /// <summary>
    /// Every edge in <em>flat score order</em>: destination modules in graph order, each module's
    /// mask elements row-major (<c>[seq?][head?][src]</c>). This is the order of
    /// <c>PruneScores.Flatten()</c>; it differs from <see cref="Edges"/> when there is a seq axis.
    /// </summary>
    public IReadOnlyList<Edge> FlatEdges => _flatEdges ??= BuildFlatEdges();

    /// <summary>Offset of a destination module's first element in flat score order.</summary>
    public long FlatOffset(DestinationModule module)
    {
        ArgumentNullException.ThrowIfNull(module);
        _flatOffsets ??= BuildFlatOffsets();
        return _flatOffsets[module.Index];
    }

    /// <summary>Finds an edge by name (<c>src->dest</c>) and token position.</summary>
    public Edge? FindEdge(string name, int? seqIndex = null) =>
        (_edgeByName ??= BuildEdgeIndex()).TryGetValue((name, seqIndex), out var e) ? e : null;

    private Dictionary<(string Name, int? Seq), Edge> BuildEdgeIndex()
    {
        var index = new Dictionary<(string, int?), Edge>(Edges.Count);
        foreach (var e in Edges)
        {
            index.TryAdd((e.Name, e.SeqIndex), e);
        }

        return index;
    }

    private long[] BuildFlatOffsets()
    {
        var offsets = new long[DestModules.Count];
        long acc = 0;
        foreach (var m in DestModules)
        {
            offsets[m.Index] = acc;
            acc += m.EdgeCount;
        }

        return offsets;
    }

    private Edge[] BuildFlatEdges()
    {
        var flat = new Edge[Edges.Count];
        foreach (var e in Edges)
        {
            var m = _destByName[e.Dest.ModuleName];
            var idx = e.PatchIndex;
            long pos = 0;
            for (var i = 0; i < idx.Length; i++)
            {
                pos = (pos * m.MaskShape[i]) + idx[i];
            }

            flat[FlatOffset(m) + pos] = e;
        }

        return flat;
    }

    /// <summary>
    /// Builds the graph from a model's nodes with auto-circuit's rules.
    /// </summary>
    /// <param name="srcs">Source nodes; their <see cref="SrcNode.SrcIndex"/> must be 0..n-1 and
    /// contiguous within each module.</param>
    /// <param name="dests">Destination nodes in the model's module order.</param>
    /// <param name="factorized">Factorized (every earlier layer) or residual (previous layer only).</param>
    /// <param name="seqLen">Token positions for per-position edges, or <c>null</c>.</param>
    public static ModelGraph Build(
        IEnumerable<SrcNode> srcs, IEnumerable<DestNode> dests, bool factorized, int? seqLen = null)
    {
        ArgumentNullException.ThrowIfNull(srcs);
        ArgumentNullException.ThrowIfNull(dests);
        if (seqLen is <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(seqLen), seqLen, "seq_len must be positive.");
        }

        var srcList = SortedSources(srcs);

        // Source modules in order of their first source (sources are sorted by index), each a contiguous run.
        var srcGroups = new Dictionary<string, List<SrcNode>>(StringComparer.Ordinal);
        var srcOrder = new List<string>();
        foreach (var s in srcList)
        {
            if (!srcGroups.TryGetValue(s.ModuleName, out var group))
            {
                srcGroups[s.ModuleName] = group = [];
                srcOrder.Add(s.ModuleName);
            }

            group.Add(s);
        }

        var srcModules = new List<SourceModule>(srcOrder.Count);
        foreach (var name in srcOrder)
        {
            var nodes = srcGroups[name];
            var start = nodes[0].SrcIndex;
            if (nodes[^1].SrcIndex - start + 1 != nodes.Count)
            {
                throw new ArgumentException($"Sources of module '{name}' are not contiguous.", nameof(srcs));
            }

            var headDim = nodes[0].HeadDim;
            foreach (var node in nodes)
            {
                if (node.HeadDim != headDim)
                {
                    throw new ArgumentException($"Sources of module '{name}' disagree on head_dim.", nameof(srcs));
                }
            }

            srcModules.Add(new SourceModule(name, nodes, start, headDim));
        }

        var destInput = dests.ToList();
        var moduleOrder = new List<string>();
        var destGroups = new Dictionary<string, List<DestNode>>(StringComparer.Ordinal);
        foreach (var d in destInput)
        {
            if (!destGroups.TryGetValue(d.ModuleName, out var list))
            {
                destGroups[d.ModuleName] = list = [];
                moduleOrder.Add(d.ModuleName);
            }

            list.Add(d);
        }

        // Stable sort by layer keeps the model's order within a layer.
        var orderedModules = moduleOrder.Select((name, i) => (Name: name, Index: i, destGroups[name][0].Layer)).ToArray();
        Array.Sort(orderedModules, (a, b) => a.Layer != b.Layer ? a.Layer.CompareTo(b.Layer) : a.Index.CompareTo(b.Index));

        var destModules = new List<DestinationModule>(orderedModules.Length);
        var orderedDests = new List<DestNode>(destInput.Count);
        foreach (var (name, _, layer) in orderedModules)
        {
            var nodes = StableByHead(destGroups[name]);
            var headDim = nodes[0].HeadDim;
            for (var i = 0; i < nodes.Count; i++)
            {
                if (nodes[i].Layer != layer || nodes[i].HeadDim != headDim)
                {
                    throw new ArgumentException($"Destination nodes of module '{name}' disagree on layer or head_dim.", nameof(dests));
                }
            }

            for (var i = 0; headDim is not null && i < nodes.Count; i++)
            {
                if (nodes[i].HeadIndex != i)
                {
                    throw new ArgumentException($"Head indices of module '{name}' must be 0..{nodes.Count - 1}.", nameof(dests));
                }
            }

            int nIn = 0, nIgnore = 0;
            foreach (var s in srcList)
            {
                if (factorized ? s.Layer < layer : s.Layer + 1 == layer)
                {
                    nIn++;
                }
                else if (!factorized && s.Layer + 1 < layer)
                {
                    nIgnore++;
                }
            }

            if (!factorized)
            {
                foreach (var node in nodes)
                {
                    if (node.MinSrcIndex != nIgnore)
                    {
                        throw new ArgumentException(
                            $"Destination '{nodes[0].Name}' has min_src_idx {nodes[0].MinSrcIndex} but its first incoming source is {nIgnore}.",
                            nameof(dests));
                    }
                }
            }

            destModules.Add(new DestinationModule(
                name, destModules.Count, layer, nodes, headDim is not null, seqLen, nIgnore, nIn, srcList.Count));
            orderedDests.AddRange(nodes);
        }

        var edges = new List<Edge>();
        var positions = seqLen is int n ? Enumerable.Range(0, n).Select(i => (int?)i) : [null];
        foreach (var seq in positions)
        {
            foreach (var module in destModules)
            {
                foreach (var d in module.Nodes)
                {
                    foreach (var s in srcList)
                    {
                        var connected = factorized ? s.Layer < d.Layer : s.Layer + 1 == d.Layer;
                        if (connected)
                        {
                            edges.Add(new Edge(s, d, seq));
                        }
                    }
                }
            }
        }

        return new ModelGraph(srcList, orderedDests, srcModules, destModules, edges, factorized, seqLen);
    }

    /// <summary>The sources in index order; their indices must be exactly 0..n-1.</summary>
    private static List<SrcNode> SortedSources(IEnumerable<SrcNode> srcs)
    {
        var input = srcs as IReadOnlyCollection<SrcNode> ?? [.. srcs];
        var slots = new SrcNode?[input.Count];
        var placed = true;
        foreach (var s in input)
        {
            if (s.SrcIndex < 0 || s.SrcIndex >= slots.Length || slots[s.SrcIndex] is not null)
            {
                placed = false;
                break;
            }

            slots[s.SrcIndex] = s;
        }

        if (placed)
        {
            return [.. slots.Select(s => s!)];
        }

        // Duplicates or gaps: name the first index out of place, in sorted order.
        var sorted = input.OrderBy(s => s.SrcIndex).ToList();
        for (var i = 0; i < sorted.Count; i++)
        {
            if (sorted[i].SrcIndex != i)
            {
                throw new ArgumentException(
                    $"Source indices must be 0..{sorted.Count - 1} without gaps; found {sorted[i].SrcIndex} at {i}.", nameof(srcs));
            }
        }

        return sorted; // unreachable: n distinct indices in 0..n-1 fill every slot
    }

    /// <summary>A module's destination nodes ordered by head (stable; nodes without a head count as head 0).</summary>
    private static List<DestNode> StableByHead(List<DestNode> nodes)
    {
        var sorted = new List<DestNode>(nodes);
        for (var i = 1; i < sorted.Count; i++)
        {
            var node = sorted[i];
            var j = i - 1;
            while (j >= 0 && (sorted[j].HeadIndex ?? 0) > (node.HeadIndex ?? 0))
            {
                sorted[j + 1] = sorted[j];
                j--;
            }

            sorted[j + 1] = node;
        }

        return sorted;
    }
}
