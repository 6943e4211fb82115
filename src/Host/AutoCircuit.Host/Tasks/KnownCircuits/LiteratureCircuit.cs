using System.Text.Json;
using AutoCircuit.Engine;
using AutoCircuit.Graph;

namespace AutoCircuit.Host.Tasks.KnownCircuits;

/// <summary>One connection of a head-level circuit: which group feeds which inputs of which group.</summary>
/// <param name="From">A group, or <c>input</c> (Resid Start).</param>
/// <param name="To">A group, or <c>output</c> (Resid End).</param>
/// <param name="Inputs">The Q/K/V inputs of the destination heads (<c>"QKV"</c>, <c>"Q"</c>, <c>"KV"</c>), all three when absent.</param>
/// <param name="ThroughMlps">Whether the MLPs between the two groups join the connection (see <see cref="LiteratureCircuit.EdgeRule"/>).</param>
internal sealed record CircuitConnection(string From, string To, string? Inputs, bool ThroughMlps);

/// <summary>
/// A circuit from the literature, shipped with its task as a JSON file (<c>Tasks/KnownCircuits/*.json</c>, embedded): the
/// sources it is taken from, its head groups, the connections between them, the rule that turns these into edges of our
/// graph, and the resulting edge list (which <c>--circuit FILE</c> reads as it is, see <see cref="IO.KnownCircuitFile"/>).
/// <see cref="Derive"/> recomputes the edges from the groups and connections; a test keeps the two equal.
/// </summary>
internal sealed record LiteratureCircuit
{
    /// <summary>The task key.</summary>
    public required string Key { get; init; }

    /// <summary>A one-line title.</summary>
    public required string Title { get; init; }

    /// <summary>Citations: the paper (section, figure), the authors' code, auto-circuit's definition.</summary>
    public required IReadOnlyList<string> Sources { get; init; }

    /// <summary>Where versions of the circuit differ, and why this one.</summary>
    public required IReadOnlyList<string> Notes { get; init; }

    /// <summary>Head groups by name: nodes <c>A{layer}.{head}</c> and <c>MLP {layer}</c>.</summary>
    public required IReadOnlyDictionary<string, IReadOnlyList<string>> Groups { get; init; }

    /// <summary>The connections between groups.</summary>
    public required IReadOnlyList<CircuitConnection> Connections { get; init; }

    /// <summary>How the connections become edges, in words.</summary>
    public required string EdgeRule { get; init; }

    /// <summary>The edges (<c>src-&gt;dest</c>) on the factorized graph of GPT-2 small with separate Q/K/V inputs.</summary>
    public required IReadOnlyList<string> Edges { get; init; }

    /// <summary>Reads a circuit file.</summary>
    /// <exception cref="AutoCircuitException">A missing field, an unknown group, a node that is neither a head nor an MLP.</exception>
    public static LiteratureCircuit Parse(Stream json, string source)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            string Text(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String
                ? v.GetString()!
                : throw new AutoCircuitException($"{source}: \"{name}\" is missing or not a string.");
            IReadOnlyList<string> Strings(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Array
                ? v.EnumerateArray().Select(x => x.GetString() ?? throw new AutoCircuitException($"{source}: \"{name}\" holds a non-string.")).ToList()
                : throw new AutoCircuitException($"{source}: \"{name}\" is missing or not an array.");

            var groups = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
            foreach (var g in root.GetProperty("groups").EnumerateObject())
            {
                var nodes = g.Value.EnumerateArray().Select(n => n.GetString()!).ToList();
                foreach (var node in nodes)
                {
                    _ = Node.Parse(node, source);
                }

                groups[g.Name] = nodes;
            }

            var connections = new List<CircuitConnection>();
            foreach (var c in root.GetProperty("connections").EnumerateArray())
            {
                var connection = new CircuitConnection(
                    Text(c, "from"),
                    Text(c, "to"),
                    c.TryGetProperty("inputs", out var i) ? i.GetString() : null,
                    c.TryGetProperty("through_mlps", out var t) && t.GetBoolean());
                foreach (var end in new[] { connection.From, connection.To })
                {
                    if (end is not ("input" or "output") && !groups.ContainsKey(end))
                    {
                        throw new AutoCircuitException($"{source}: a connection names the group '{end}', which \"groups\" does not define.");
                    }
                }

                if (connection.Inputs is { } letters && (letters.Length == 0 || letters.Any(l => l is not ('Q' or 'K' or 'V'))))
                {
                    throw new AutoCircuitException($"{source}: \"inputs\": \"{letters}\" is not a combination of Q, K and V.");
                }

                connections.Add(connection);
            }

            return new LiteratureCircuit
            {
                Key = Text(root, "key"),
                Title = Text(root, "title"),
                Sources = Strings(root, "sources"),
                Notes = root.TryGetProperty("notes", out _) ? Strings(root, "notes") : [],
                Groups = groups,
                Connections = connections,
                EdgeRule = Text(root, "edge_rule"),
                Edges = Strings(root, "edges"),
            };
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new AutoCircuitException($"{source}: not a known-circuit file ({e.Message}).", e);
        }
    }

    /// <summary>
    /// The edges of <paramref name="graph"/> that the groups and connections define (see <see cref="EdgeRule"/>): for each
    /// connection every source to every destination that is an edge of the graph; sources are the <c>from</c> group's nodes
    /// (<c>input</c>: Resid Start), destinations the <c>to</c> group's nodes (a head's listed Q/K/V inputs; <c>output</c>:
    /// Resid End); with <see cref="CircuitConnection.ThroughMlps"/> the MLPs from the first layer of <c>from</c> (0 for
    /// <c>input</c>) up to, not including, the last layer of <c>to</c> (every layer for <c>output</c>) join both ends, as
    /// auto-circuit's <c>ioi_true_edges</c> does. Names are auto-circuit's, so this works on any graph with them (token
    /// positions are ignored).
    /// </summary>
    public IReadOnlySet<string> Derive(ModelGraph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var existing = graph.Edges.Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
        var layers = graph.Srcs.Where(s => s.Name.StartsWith('A') || s.Name.StartsWith("MLP ", StringComparison.Ordinal))
            .Select(s => Node.Parse(s.Name, "graph").Layer).DefaultIfEmpty(-1).Max() + 1;
        var edges = new HashSet<string>(StringComparer.Ordinal);
        foreach (var c in Connections)
        {
            var sources = c.From == "input" ? ["Resid Start"] : Groups[c.From].ToList();
            var dests = c.To == "output"
                ? ["Resid End"]
                : Groups[c.To].SelectMany(n => Node.Parse(n, Key).Head is null ? [n] : (c.Inputs ?? "QKV").Select(l => $"{n}.{l}")).ToList();
            if (c.ThroughMlps)
            {
                var first = c.From == "input" ? 0 : Groups[c.From].Min(n => Node.Parse(n, Key).Layer);
                var last = c.To == "output" ? layers : Groups[c.To].Max(n => Node.Parse(n, Key).Layer);
                for (var l = first; l < last; l++)
                {
                    sources.Add($"MLP {l}");
                    dests.Add($"MLP {l}");
                }
            }

            foreach (var s in sources)
            {
                foreach (var d in dests)
                {
                    var name = $"{s}->{d}";
                    if (existing.Contains(name))
                    {
                        edges.Add(name);
                    }
                }
            }
        }

        return edges;
    }

    /// <summary>A node of a group: <c>A{layer}.{head}</c> or <c>MLP {layer}</c>.</summary>
    private readonly record struct Node(int Layer, int? Head)
    {
        public static Node Parse(string name, string source)
        {
            if (name.StartsWith("MLP ", StringComparison.Ordinal) && int.TryParse(name[4..], System.Globalization.CultureInfo.InvariantCulture, out var mlp))
            {
                return new Node(mlp, null);
            }

            var dot = name.IndexOf('.', StringComparison.Ordinal);
            if (name.StartsWith('A') && dot > 1 &&
                int.TryParse(name[1..dot], System.Globalization.CultureInfo.InvariantCulture, out var layer) &&
                int.TryParse(name[(dot + 1)..], System.Globalization.CultureInfo.InvariantCulture, out var head))
            {
                return new Node(layer, head);
            }

            throw new AutoCircuitException($"{source}: '{name}' is neither a head (A<layer>.<head>) nor an MLP (MLP <layer>).");
        }
    }
}
