using System.Text;
using System.Text.Json;
using AutoCircuit.Evaluation;
using AutoCircuit.Graph;

namespace AutoCircuit.Host.Reports;

/// <summary>One algorithm's scores in the explorer.</summary>
/// <param name="Label">Its label in the comparison.</param>
/// <param name="Color">Its colour (the report's colour for it).</param>
/// <param name="Scores">Its ranked scores.</param>
internal sealed record ExplorerAlgorithm(string Label, string Color, FlatScores Scores);

/// <summary>
/// The interactive circuit view of <c>report.html</c>: pan and zoom, an edge-count slider, hover with scores, node search
/// and the difference of two algorithms' circuits. The page stays self-contained and offline: the script and its styles
/// are embedded resources (<c>Reports/Assets/circuit-explorer.js|css</c>) inlined here, and the data (each algorithm's top
/// edges with scores, the nodes, the known circuit) is JSON in a <c>&lt;script type="application/json"&gt;</c>.
/// Node layout and names follow <see cref="CircuitDiagram"/> (a head's Q/K/V inputs are ports of its box).
/// </summary>
internal static class CircuitExplorer
{
    /// <summary>The most edges per algorithm the page carries (the slider's end; the whole graph when it is smaller).</summary>
    public const int DefaultMaxEdges = 500;

    /// <summary>Node boxes drawn for every node up to this many; above it only the nodes of the carried edges.</summary>
    private const int MaxAllNodes = 400;

    private static readonly Lazy<string> Script = new(() => Asset("circuit-explorer.js"));
    private static readonly Lazy<string> Styles = new(() => Asset("circuit-explorer.css"));

    /// <summary>The explorer's styles, for the page's <c>&lt;style&gt;</c>.</summary>
    public static string Css => Styles.Value;

    /// <summary>The explorer's section, or an empty string when no algorithm has scores.</summary>
    /// <param name="algorithms">Algorithms with scores, in the report's order.</param>
    /// <param name="graph">The graph the scores are on.</param>
    /// <param name="seqLabels">Labels of token positions, or <c>null</c>.</param>
    /// <param name="known">The known circuit: its edges are marked.</param>
    /// <param name="initialEdges">The slider's starting value.</param>
    /// <param name="maxEdges">The slider's end (edges carried per algorithm).</param>
    public static string Render(
        IReadOnlyList<ExplorerAlgorithm> algorithms,
        ModelGraph graph,
        IReadOnlyList<string>? seqLabels,
        IReadOnlySet<Edge>? known,
        int initialEdges,
        int maxEdges = DefaultMaxEdges)
    {
        ArgumentNullException.ThrowIfNull(algorithms);
        ArgumentNullException.ThrowIfNull(graph);
        if (algorithms.Count == 0 || graph.EdgeCount == 0)
        {
            return string.Empty;
        }

        var json = DataJson(algorithms, graph, seqLabels, known, initialEdges, maxEdges);
        var sb = new StringBuilder();
        sb.Append("<section class=\"ce\" id=\"ce\">\n<div class=\"ce-controls\">");
        sb.Append("<label>algorithm <select id=\"ce-algo\"></select></label>");
        sb.Append("<label>edges <input type=\"range\" id=\"ce-k\" min=\"1\" step=\"1\"> <output id=\"ce-k-value\"></output></label>");
        sb.Append("<label><input type=\"checkbox\" id=\"ce-diff\"> compare with <select id=\"ce-algo-b\"></select></label>");
        sb.Append("<label>find node <input type=\"search\" id=\"ce-search\" placeholder=\"e.g. A1.0 or MLP 0\"></label>");
        sb.Append("<span id=\"ce-search-count\"></span>");
        sb.Append("<span><button type=\"button\" id=\"ce-zoom-in\" title=\"zoom in\">+</button> ");
        sb.Append("<button type=\"button\" id=\"ce-zoom-out\" title=\"zoom out\">−</button> ");
        sb.Append("<button type=\"button\" id=\"ce-fit\" title=\"show everything\">fit</button></span></div>\n");
        sb.Append("<p><span id=\"ce-status\"></span> <span id=\"ce-diff-summary\"></span></p>\n");
        sb.Append("<div id=\"ce-frame\"><svg id=\"ce-svg\" xmlns=\"http://www.w3.org/2000/svg\" font-family=\"sans-serif\" role=\"img\" ");
        sb.Append("aria-label=\"circuit explorer\"><g id=\"ce-viewport\"><g id=\"ce-bands\"></g><g id=\"ce-edges\"></g><g id=\"ce-nodes\"></g></g></svg>");
        sb.Append("<div id=\"ce-tip\" role=\"tooltip\" hidden></div></div>\n");
        sb.Append("<p class=\"muted\">The k edges of largest |score| of the chosen algorithm (ties broken by graph order), coloured by ");
        sb.Append("sign (blue positive, red negative), as wide as |score|. With <em>compare with</em>: edges in both top-k circuits ");
        sb.Append("in grey, edges only in the first algorithm's in its colour, only in the second's dashed in its colour. Drag to ");
        sb.Append("pan, scroll to zoom; hover an edge or a node for its scores; type a node's name to find it (Enter centres it).");
        if (known is not null)
        {
            sb.Append(" Edges of the known circuit are drawn more opaque and say so when hovered.");
        }

        sb.Append("</p>\n<script type=\"application/json\" id=\"ce-data\">").Append(json).Append("</script>\n");
        sb.Append("<script>\n").Append(Script.Value).Append("</script>\n</section>\n");
        return sb.ToString();
    }

    /// <summary>The data the script reads: nodes, the union of the algorithms' top edges, each algorithm's ranking.</summary>
    internal static string DataJson(
        IReadOnlyList<ExplorerAlgorithm> algorithms,
        ModelGraph graph,
        IReadOnlyList<string>? seqLabels,
        IReadOnlySet<Edge>? known,
        int initialEdges,
        int maxEdges)
    {
        var k = Math.Clamp(maxEdges, 1, graph.EdgeCount);

        // The union of every algorithm's top k, in first-seen order; each algorithm ranks into it.
        var table = new List<int>();
        var slot = new Dictionary<int, int>();
        var rankings = new List<object>();
        foreach (var a in algorithms)
        {
            var top = new List<object[]>();
            foreach (var flat in a.Scores.Order.Take(k))
            {
                if (!slot.TryGetValue(flat, out var id))
                {
                    id = table.Count;
                    slot[flat] = id;
                    table.Add(flat);
                }

                var score = (double)a.Scores.Values[flat];
                // ±∞ and the largest float32 (ACDC's "never removed") go as the strings "Infinity"/"-Infinity", which
                // JSON numbers cannot hold; the page reads them with Number() and draws them at full width.
                object value = double.IsNaN(score) ? 0.0
                    : NumberText.IsMaxFloat(score) || double.IsInfinity(score) ? (score > 0 ? "Infinity" : "-Infinity")
                    : score;
                var text = NumberText.IsMaxFloat(score) || double.IsInfinity(score) ? NumberText.Score(score) : Svg.Format(score, 5);
                top.Add([id, value, text]);
            }

            rankings.Add(new { label = a.Label, color = a.Color, top });
        }

        // Visual nodes as in the static diagram: a source and the destinations of the same component share a box.
        var nodes = new List<(string Key, int Layer)>();
        var byKey = new Dictionary<string, int>(StringComparer.Ordinal);
        int NodeIndex(string key, int layer)
        {
            if (!byKey.TryGetValue(key, out var i))
            {
                i = nodes.Count;
                byKey[key] = i;
                nodes.Add((key, layer));
            }

            return i;
        }

        foreach (var s in graph.Srcs)
        {
            NodeIndex(s.Name, s.Layer);
        }

        foreach (var d in graph.Dests)
        {
            NodeIndex(CircuitDiagram.NodeKey(d).Key, d.Layer);
        }

        var edges = table.Select(flat =>
        {
            var e = graph.FlatEdges[flat];
            var (destKey, port) = CircuitDiagram.NodeKey(e.Dest);
            return new
            {
                src = byKey[e.Src.Name],
                dest = byKey[destKey],
                port = port is char p ? char.ToLowerInvariant(p).ToString() : string.Empty,
                pos = e.SeqIndex,
                name = e.Name,
            };
        }).ToList();
        var used = nodes.Count <= MaxAllNodes
            ? Enumerable.Range(0, nodes.Count).ToList()
            : edges.SelectMany(e => new[] { e.src, e.dest }).Distinct().Order().ToList();
        var knownIds = known is null
            ? null
            : table.Select((flat, id) => (flat, id)).Where(t => known.Contains(graph.FlatEdges[t.flat])).Select(t => t.id).ToList();
        var data = new
        {
            graphEdges = graph.EdgeCount,
            seqLen = graph.SeqLen,
            seqLabels,
            positions = graph.SeqLen is null ? [] : edges.Select(e => e.pos).Distinct().Order().Cast<int?>().ToList(),
            nodes = used.Select(i => new { index = i, key = nodes[i].Key, layer = nodes[i].Layer }).ToList(),
            edges,
            algorithms = rankings,
            known = knownIds,
            maxEdges = k,
            initialEdges = Math.Clamp(initialEdges, 1, k),
            positive = Svg.Positive,
            negative = Svg.Negative,
            zero = Svg.Zero,
        };

        // The default encoder escapes <, > and &, so the JSON cannot close its <script> element.
        return JsonSerializer.Serialize(data);
    }

    private static string Asset(string file)
    {
        var name = $"AutoCircuit.Host.Reports.Assets.{file}";
        using var stream = typeof(CircuitExplorer).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"The report asset {file} is not embedded in {typeof(CircuitExplorer).Assembly.GetName().Name}.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var text = reader.ReadToEnd();
        if (text.Contains("</script", StringComparison.OrdinalIgnoreCase) || text.Contains("</style", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"The report asset {file} would close its own element.");
        }

        return text;
    }
}
