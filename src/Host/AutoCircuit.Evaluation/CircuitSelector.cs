using AutoCircuit.Engine;

namespace AutoCircuit.Evaluation;

/// <summary>One circuit chosen by the selection stage.</summary>
/// <param name="Requested">The requested size k.</param>
/// <param name="InCircuit">Per edge in flat score order, whether it is in the circuit.</param>
/// <param name="Edges">Edges in the circuit (after pruning and node expansion): MIB's weighted edge count, each edge
/// weighing one.</param>
/// <param name="Nodes">Components the circuit touches.</param>
public sealed record SelectedCircuit(int Requested, bool[] InCircuit, int Edges, int Nodes);

/// <summary>
/// The circuit-selection stage: turns a set of scores and a list of sizes into explicit edge sets, by top-k or greedy,
/// on the signed or absolute score, optionally pruned and expanded to node level (see <see cref="CircuitSelection"/>).
/// Runs on the CPU over the flat scores, once per set of scores.
/// </summary>
internal static class CircuitSelector
{
    /// <summary>The circuits of <paramref name="sizes"/> (same order).</summary>
    /// <param name="scores">The scores, in flat order.</param>
    /// <param name="sizes">Requested sizes, each in <c>0..n_edges</c>.</param>
    /// <param name="selection">The selection; unresolved defaults are taken as auto-circuit's (absolute, not pruned).</param>
    /// <param name="topology">The graph's structure (built from <paramref name="scores"/>' graph when <c>null</c>).</param>
    /// <exception cref="AutoCircuitException">NaN or infinite scores, or a size outside the graph.</exception>
    public static IReadOnlyList<SelectedCircuit> Select(
        FlatScores scores, IReadOnlyList<int> sizes, CircuitSelection selection, CircuitTopology? topology = null)
    {
        ArgumentNullException.ThrowIfNull(scores);
        ArgumentNullException.ThrowIfNull(sizes);
        ArgumentNullException.ThrowIfNull(selection);
        topology ??= CircuitTopology.Of(scores.Graph);
        var n = scores.Values.Count;
        var absolute = selection.Absolute ?? true;
        var keys = new double[n];
        for (var i = 0; i < n; i++)
        {
            var v = (double)scores.Values[i];
            if (!double.IsFinite(v))
            {
                throw new AutoCircuitException("The scores contain NaN or infinite values: circuits cannot be ranked.");
            }

            keys[i] = absolute ? Math.Abs(v) : v;
        }

        foreach (var k in sizes)
        {
            if (k < 0 || k > n)
            {
                throw new AutoCircuitException($"edge count {k} is outside the graph's 0..{n} edges.");
            }
        }

        int[]? order = null;
        var result = new List<SelectedCircuit>(sizes.Count);
        foreach (var k in sizes)
        {
            bool[] inCircuit;
            if (selection.Method == SelectionMethod.Greedy)
            {
                inCircuit = topology.Greedy(keys, k);
            }
            else
            {
                order ??= RankDescending(keys);
                inCircuit = new bool[n];
                for (var r = 0; r < k; r++)
                {
                    inCircuit[order[r]] = true;
                }
            }

            if (selection.Level == CircuitLevel.Node)
            {
                topology.ExpandToNodes(inCircuit);
            }

            if (selection.Prune == true)
            {
                topology.Prune(inCircuit);
            }

            var nodes = topology.Components(inCircuit).Count(x => x);
            result.Add(new SelectedCircuit(k, inCircuit, inCircuit.Count(x => x), nodes));
        }

        return result;
    }

    /// <summary>Edge indices from the largest key down; equal keys keep flat order.</summary>
    public static int[] RankDescending(IReadOnlyList<double> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var order = Enumerable.Range(0, keys.Count).ToArray();
        Array.Sort(order, (a, b) => keys[a] != keys[b] ? keys[b].CompareTo(keys[a]) : a.CompareTo(b));
        return order;
    }
}
