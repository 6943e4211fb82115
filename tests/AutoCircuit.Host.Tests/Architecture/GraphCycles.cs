namespace AutoCircuit.Host.Tests.Architecture;

/// <summary>Cycles of a directed graph: one shortest cycle per strongly connected component (Tarjan), as a path.</summary>
internal static class GraphCycles
{
    /// <summary>
    /// One cycle per strongly connected component of more than one node (self-loops are ignored: a namespace may use
    /// itself), each as its node path with the first node repeated at the end; ordinal order, so messages are stable.
    /// </summary>
    public static IReadOnlyList<IReadOnlyList<string>> Find(IReadOnlyDictionary<string, IReadOnlySet<string>> edges)
    {
        ArgumentNullException.ThrowIfNull(edges);
        var nodes = edges.Keys.Concat(edges.Values.SelectMany(v => v)).Distinct().Order(StringComparer.Ordinal).ToList();
        IEnumerable<string> Next(string n) =>
            edges.TryGetValue(n, out var to) ? to.Where(t => t != n).Order(StringComparer.Ordinal) : [];

        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var low = new Dictionary<string, int>(StringComparer.Ordinal);
        var stack = new Stack<string>();
        var onStack = new HashSet<string>(StringComparer.Ordinal);
        var components = new List<List<string>>();

        void Connect(string v)
        {
            index[v] = low[v] = index.Count;
            stack.Push(v);
            onStack.Add(v);
            foreach (var w in Next(v))
            {
                if (!index.ContainsKey(w))
                {
                    Connect(w);
                    low[v] = Math.Min(low[v], low[w]);
                }
                else if (onStack.Contains(w))
                {
                    low[v] = Math.Min(low[v], index[w]);
                }
            }

            if (low[v] == index[v])
            {
                var component = new List<string>();
                string w;
                do
                {
                    w = stack.Pop();
                    onStack.Remove(w);
                    component.Add(w);
                }
                while (w != v);
                components.Add(component);
            }
        }

        foreach (var n in nodes.Where(n => !index.ContainsKey(n)))
        {
            Connect(n);
        }

        return components
            .Where(c => c.Count > 1)
            .Select(c => ShortestCycle(c.Min(StringComparer.Ordinal)!, c.ToHashSet(StringComparer.Ordinal), Next))
            .OrderBy(c => c[0], StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>Breadth-first from <paramref name="start"/> inside its component back to itself.</summary>
    private static List<string> ShortestCycle(string start, HashSet<string> component, Func<string, IEnumerable<string>> next)
    {
        var parent = new Dictionary<string, string>(StringComparer.Ordinal);
        var queue = new Queue<string>([start]);
        while (queue.Count > 0)
        {
            var v = queue.Dequeue();
            foreach (var w in next(v).Where(component.Contains))
            {
                if (w == start)
                {
                    var path = new List<string> { start };
                    for (var x = v; x != start; x = parent[x])
                    {
                        path.Add(x);
                    }

                    path.Add(start);
                    path.Reverse();
                    return path;
                }

                if (parent.TryAdd(w, v))
                {
                    queue.Enqueue(w);
                }
            }
        }

        throw new InvalidOperationException($"{start} is in a strongly connected component but on no cycle.");
    }
}
