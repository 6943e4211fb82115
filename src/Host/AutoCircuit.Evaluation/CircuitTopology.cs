using AutoCircuit.Graph;

namespace AutoCircuit.Evaluation;

/// <summary>
/// The node structure circuit selection needs, over the edges in flat score order (<see cref="ModelGraph.FlatEdges"/>):
/// which component each edge leaves and which component it enters. A component is a source node (an attention head's
/// output, an MLP, the embeddings); a destination node belongs to the component whose input it is: the source of the
/// same name (<c>MLP 0</c>) or the name without its last part (<c>A0.3.Q</c> → <c>A0.3</c>). A destination with no such
/// source (<c>Resid End</c>: the logits) is always in the circuit, as EAP-IG's logits node; a source that no destination
/// feeds (<c>Resid Start</c>: the input) always counts as reached, as EAP-IG's input node.
/// </summary>
/// <remarks>Token positions do not split components: a component is in when any of its edges, at any position, is.</remarks>
internal sealed class CircuitTopology
{
    private readonly int[] _edgeSrc;
    private readonly int[] _edgeDest;
    private readonly int[][] _destComponents;
    private readonly bool[] _isInput;
    private readonly int[][] _edgesIntoComponent;

    private CircuitTopology(ModelGraph? graph, int[] edgeSrc, int[] edgeDest, int[][] destComponents, bool[] isInput)
    {
        Graph = graph;
        _edgeSrc = edgeSrc;
        _edgeDest = edgeDest;
        _destComponents = destComponents;
        _isInput = isInput;
        var into = Enumerable.Range(0, isInput.Length).Select(_ => new List<int>()).ToArray();
        for (var e = 0; e < edgeSrc.Length; e++)
        {
            foreach (var c in destComponents[edgeDest[e]])
            {
                into[c].Add(e);
            }
        }

        _edgesIntoComponent = into.Select(l => l.ToArray()).ToArray();
    }

    /// <summary>The graph; <c>null</c> for a structure built from arrays.</summary>
    public ModelGraph? Graph { get; }

    /// <summary>Number of edges (flat order).</summary>
    public int EdgeCount => _edgeSrc.Length;

    /// <summary>Number of components (source nodes).</summary>
    public int ComponentCount => _isInput.Length;

    /// <summary>Builds the structure of <paramref name="graph"/>.</summary>
    public static CircuitTopology Of(ModelGraph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var srcByName = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var s in graph.Srcs)
        {
            srcByName.TryAdd(s.Name, s.SrcIndex);
        }

        var destIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        var destComponents = new int[graph.Dests.Count][];
        var isInput = Enumerable.Repeat(true, graph.Srcs.Count).ToArray();
        for (var d = 0; d < graph.Dests.Count; d++)
        {
            var name = graph.Dests[d].Name;
            destIndex.TryAdd(name, d);
            int[] components = [];
            if (srcByName.TryGetValue(name, out var same))
            {
                components = [same];
            }
            else if (name.LastIndexOf('.') is > 0 and var dot && srcByName.TryGetValue(name[..dot], out var owner))
            {
                components = [owner];
            }

            destComponents[d] = components;
            foreach (var c in components)
            {
                isInput[c] = false;
            }
        }

        var flat = graph.FlatEdges;
        var edgeSrc = new int[flat.Count];
        var edgeDest = new int[flat.Count];
        for (var e = 0; e < flat.Count; e++)
        {
            edgeSrc[e] = flat[e].Src.SrcIndex;
            edgeDest[e] = destIndex[flat[e].Dest.Name];
        }

        return new CircuitTopology(graph, edgeSrc, edgeDest, destComponents, isInput);
    }

    /// <summary>Builds a structure from raw arrays (tests and parity fixtures): per edge its source component and its
    /// destination's components (empty: the logits, always in).</summary>
    /// <param name="componentCount">Number of components.</param>
    /// <param name="edgeSrc">Per edge, the component it leaves.</param>
    /// <param name="edgeDestComponents">Per edge, the components its destination belongs to.</param>
    public static CircuitTopology FromArrays(int componentCount, int[] edgeSrc, int[][] edgeDestComponents)
    {
        ArgumentNullException.ThrowIfNull(edgeSrc);
        ArgumentNullException.ThrowIfNull(edgeDestComponents);
        if (edgeSrc.Length != edgeDestComponents.Length)
        {
            throw new ArgumentException("One destination per edge is needed.", nameof(edgeDestComponents));
        }

        var isInput = Enumerable.Repeat(true, componentCount).ToArray();
        foreach (var c in edgeDestComponents.SelectMany(x => x))
        {
            isInput[c] = false;
        }

        return new CircuitTopology(null, edgeSrc, Enumerable.Range(0, edgeSrc.Length).ToArray(), edgeDestComponents, isInput);
    }

    /// <summary>
    /// EAP-IG's <c>Graph.prune</c>, to a fixed point: a component stays when it has an outgoing edge in the circuit and
    /// an incoming one (the input always counts as having one); an edge stays when the component it leaves stays and the
    /// component it enters stays (the logits always do); repeated until no edge is dropped. Changes
    /// <paramref name="inCircuit"/> in place.
    /// </summary>
    /// <returns>The number of edges left.</returns>
    public int Prune(bool[] inCircuit)
    {
        CheckLength(inCircuit);
        var n = ComponentCount;
        var hasOut = new bool[n];
        var hasIn = new bool[n];
        var alive = new bool[n];
        while (true)
        {
            Array.Clear(hasOut);
            Array.Copy(_isInput, hasIn, n);
            for (var e = 0; e < inCircuit.Length; e++)
            {
                if (!inCircuit[e])
                {
                    continue;
                }

                hasOut[_edgeSrc[e]] = true;
                foreach (var c in _destComponents[_edgeDest[e]])
                {
                    hasIn[c] = true;
                }
            }

            for (var c = 0; c < n; c++)
            {
                alive[c] = hasOut[c] && hasIn[c];
            }

            var changed = false;
            for (var e = 0; e < inCircuit.Length; e++)
            {
                if (inCircuit[e] && !(alive[_edgeSrc[e]] && DestAlive(e, alive)))
                {
                    inCircuit[e] = false;
                    changed = true;
                }
            }

            if (!changed)
            {
                return inCircuit.Count(x => x);
            }
        }
    }

    /// <summary>
    /// The node-level circuit of an edge set: a component is in when any of its edges (in or out) is; the circuit is
    /// then every edge from a component that is in to a component that is in (or to the logits). Changes
    /// <paramref name="inCircuit"/> in place.
    /// </summary>
    public void ExpandToNodes(bool[] inCircuit)
    {
        var nodes = Components(inCircuit);
        for (var e = 0; e < inCircuit.Length; e++)
        {
            inCircuit[e] = nodes[_edgeSrc[e]] && DestAlive(e, nodes);
        }
    }

    /// <summary>Which components an edge set touches (an edge touches the component it leaves and the one it enters).</summary>
    public bool[] Components(bool[] inCircuit)
    {
        CheckLength(inCircuit);
        var nodes = new bool[ComponentCount];
        for (var e = 0; e < inCircuit.Length; e++)
        {
            if (inCircuit[e])
            {
                nodes[_edgeSrc[e]] = true;
                foreach (var c in _destComponents[_edgeDest[e]])
                {
                    nodes[c] = true;
                }
            }
        }

        return nodes;
    }

    /// <summary>
    /// EAP-IG's <c>apply_greedy</c>: starting from the edges into the logits, repeatedly take the candidate edge of
    /// largest key; when the component it leaves joins the circuit, the edges into that component become candidates.
    /// Equal keys are taken in flat order. Stops early when no candidate is left.
    /// </summary>
    /// <param name="keys">Per edge, the ranking key (the score, or its absolute value).</param>
    /// <param name="k">Number of edges.</param>
    public bool[] Greedy(IReadOnlyList<double> keys, int k)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (keys.Count != EdgeCount)
        {
            throw new ArgumentException($"Expected {EdgeCount} keys, got {keys.Count}.", nameof(keys));
        }

        var inCircuit = new bool[EdgeCount];
        var queued = new bool[EdgeCount];
        var joined = new bool[ComponentCount];
        var queue = new PriorityQueue<int, (double Key, int Index)>(Comparer<(double Key, int Index)>.Create(
            static (a, b) => a.Key != b.Key ? b.Key.CompareTo(a.Key) : a.Index.CompareTo(b.Index)));
        for (var e = 0; e < EdgeCount; e++)
        {
            if (_destComponents[_edgeDest[e]].Length == 0)
            {
                queued[e] = true;
                queue.Enqueue(e, (keys[e], e));
            }
        }

        var taken = 0;
        while (taken < k && queue.TryDequeue(out var edge, out _))
        {
            inCircuit[edge] = true;
            taken++;
            var parent = _edgeSrc[edge];
            if (joined[parent])
            {
                continue;
            }

            joined[parent] = true;
            foreach (var e in _edgesIntoComponent[parent])
            {
                if (!queued[e])
                {
                    queued[e] = true;
                    queue.Enqueue(e, (keys[e], e));
                }
            }
        }

        return inCircuit;
    }

    private bool DestAlive(int edge, bool[] alive)
    {
        var components = _destComponents[_edgeDest[edge]];
        if (components.Length == 0)
        {
            return true;
        }

        foreach (var c in components)
        {
            if (alive[c])
            {
                return true;
            }
        }

        return false;
    }

    private void CheckLength(bool[] inCircuit)
    {
        ArgumentNullException.ThrowIfNull(inCircuit);
        if (inCircuit.Length != EdgeCount)
        {
            throw new ArgumentException($"Expected one flag per edge ({EdgeCount}), got {inCircuit.Length}.", nameof(inCircuit));
        }
    }
}
