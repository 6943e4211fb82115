using System.Globalization;
using System.Text;
using AutoCircuit.Evaluation;
using AutoCircuit.Graph;

namespace AutoCircuit.Host.Reports;

/// <summary>
/// A circuit drawn as SVG by our own layout (no Graphviz, no script): the model's nodes in columns by layer (within a
/// column by head, then module), one band per token position for graphs with token positions (labelled with the
/// dataset's <c>seq_labels</c>), and the top-k edges as curves from source to destination, coloured by the sign of
/// the score (auto-circuit's convention: blue positive, red negative) and as wide as <c>|score|</c> relative to the
/// largest drawn. A destination that is one of a head's Q/K/V inputs is drawn as that head's box, the edge ending at
/// the top (q), middle (k) or bottom (v) of its left side. Edges of the known circuit carry a black dot at their middle.
/// Hovering an edge or node shows its name and score.
/// </summary>
public static class CircuitDiagram
{
    private const double FontSize = 11;
    private const double BoxHeight = 20;
    private const double RowHeightLarge = 28;
    private const double BandGap = 18;
    private const double BandHeader = 20;
    private const double HeaderHeight = 66;
    private const int MaxFaintNodes = 400;

    /// <summary>Renders the top <paramref name="topK"/> edges of <paramref name="scores"/>.</summary>
    /// <param name="scores">The ranked scores.</param>
    /// <param name="topK">How many edges to draw (the first of the ranking; ties broken by graph order).</param>
    /// <param name="title">Title above the diagram.</param>
    /// <param name="seqLabels">Labels of token positions, or <c>null</c>.</param>
    /// <param name="known">The known circuit: its drawn edges get a dark outline.</param>
    public static string Render(FlatScores scores, int topK, string title, IReadOnlyList<string>? seqLabels = null, IReadOnlySet<Edge>? known = null)
    {
        ArgumentNullException.ThrowIfNull(scores);
        ArgumentNullException.ThrowIfNull(title);
        var graph = scores.Graph;
        var k = Math.Clamp(topK, 0, graph.EdgeCount);
        var drawn = scores.Order.Take(k).Select(i => (Edge: graph.FlatEdges[i], Score: scores.Values[i], Rank: 0)).ToList();
        drawn = drawn.Select((d, r) => d with { Rank = r + 1 }).ToList();

        // Visual nodes: a source and the destinations of the same component share a box.
        var nodes = new List<VisualNode>();
        var byKey = new Dictionary<string, VisualNode>(StringComparer.Ordinal);
        VisualNode NodeFor(string key, int layer)
        {
            if (!byKey.TryGetValue(key, out var n))
            {
                n = new VisualNode(key, layer, nodes.Count);
                byKey[key] = n;
                nodes.Add(n);
            }

            return n;
        }

        foreach (var s in graph.Srcs)
        {
            NodeFor(s.Name, s.Layer);
        }

        foreach (var d in graph.Dests)
        {
            NodeFor(NodeKey(d).Key, d.Layer);
        }

        var layers = nodes.Select(n => n.Layer).Distinct().Order().ToList();
        var columns = layers.Select(l => nodes.Where(n => n.Layer == l).ToList()).ToList();
        var involved = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (e, _, _) in drawn)
        {
            involved.Add(e.Src.Name);
            involved.Add(NodeKey(e.Dest).Key);
        }

        var showAll = nodes.Count <= MaxFaintNodes;
        if (!showAll)
        {
            columns = columns.Select(c => c.Where(n => involved.Contains(n.Key)).ToList()).Where(c => c.Count > 0).ToList();
        }

        var rows = columns.Count == 0 ? 1 : columns.Max(c => c.Count);

        // Small graphs get more room between rows and columns, so that their few edges separate; deep models less, and
        // each column is as wide as its own longest name, so that a 5-layer transformer (12 columns) fits a page: the
        // SVG also scales down to its container (max-width: 100%), never scrolling the output off-screen.
        var rowHeight = rows <= 4 ? 40 : RowHeightLarge;
        var columnGap = columns.Count <= 8 ? 90 : columns.Count <= 12 ? 52 : 40;
        var widths = columns.Select(c => Math.Max(44, c.Max(n => Svg.TextWidth(n.Key, FontSize)) + 14)).ToList();
        var lefts = new List<double>();
        var left = 0.0;
        foreach (var w in widths)
        {
            lefts.Add(left);
            left += w + columnGap;
        }
        var positions = graph.SeqLen is null
            ? new List<int?> { null }
            : drawn.Select(d => d.Edge.SeqIndex).Distinct().OrderBy(p => p).ToList();
        if (positions.Count == 0)
        {
            positions.Add(graph.SeqLen is null ? null : 0);
        }

        var labelWidth = graph.SeqLen is null ? 16 : Math.Max(90, positions.Max(p => Svg.TextWidth(PositionLabel(p, seqLabels), 12)) + 24);
        var bandHeight = BandHeader + (rows * rowHeight);
        var width = labelWidth + left - columnGap + 24;
        var legend = $"top {drawn.Count} of {graph.EdgeCount} edges by |score|; width ∝ |score| (largest {NumberText.Score(MaxAbs(drawn))})";
        width = Math.Max(width, Math.Max(8 + Svg.TextWidth(legend, 11) + 8, known is null ? 200 : 350));
        var height = HeaderHeight + (positions.Count * (bandHeight + BandGap));

        // Node centres: a column's nodes are centred vertically in the band (so a lone MLP or residual node sits in the
        // middle of its layer's heads).
        var place = new Dictionary<(string Key, int? Pos), (double X, double Y, int Column, double BandMid)>();
        for (var b = 0; b < positions.Count; b++)
        {
            var bandTop = HeaderHeight + (b * (bandHeight + BandGap)) + BandHeader;
            var bandMid = bandTop + (rows * rowHeight / 2);
            for (var c = 0; c < columns.Count; c++)
            {
                var x = labelWidth + lefts[c];
                var offset = (rows - columns[c].Count) * rowHeight / 2;
                for (var r = 0; r < columns[c].Count; r++)
                {
                    place[(columns[c][r].Key, positions[b])] = (x, bandTop + offset + (r * rowHeight) + (rowHeight / 2), c, bandMid);
                }
            }
        }

        var maxAbs = drawn.Count == 0 ? 0 : drawn.Max(d => MathF.Abs(d.Score));
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture,
            $"<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"diagram\" width=\"{Svg.N(width)}\" height=\"{Svg.N(height)}\" " +
            $"viewBox=\"0 0 {Svg.N(width)} {Svg.N(height)}\" preserveAspectRatio=\"xMinYMin meet\" " +
            $"style=\"max-width:100%;height:auto\" font-family=\"sans-serif\" role=\"img\">");
        sb.Append(CultureInfo.InvariantCulture, $"<title>{Svg.Escape(title)}</title>");
        sb.Append(CultureInfo.InvariantCulture, $"<rect width=\"{Svg.N(width)}\" height=\"{Svg.N(height)}\" fill=\"#fff\"/>");
        Svg.Text(sb, 8, 18, title, "font-size=\"14\" font-weight=\"bold\"");
        Svg.Text(sb, 8, 36, legend, "font-size=\"11\" fill=\"#444\"");
        const double legendX = 8;
        const double ly = 50; // the swatches' line, under the text
        sb.Append(CultureInfo.InvariantCulture,
            $"<line x1=\"{Svg.N(legendX)}\" y1=\"{Svg.N(ly - 4)}\" x2=\"{Svg.N(legendX + 22)}\" y2=\"{Svg.N(ly - 4)}\" stroke=\"{Svg.Positive}\" stroke-width=\"4\"/>");
        Svg.Text(sb, legendX + 26, ly, "positive", "font-size=\"11\"");
        sb.Append(CultureInfo.InvariantCulture,
            $"<line x1=\"{Svg.N(legendX + 82)}\" y1=\"{Svg.N(ly - 4)}\" x2=\"{Svg.N(legendX + 104)}\" y2=\"{Svg.N(ly - 4)}\" stroke=\"{Svg.Negative}\" stroke-width=\"4\"/>");
        Svg.Text(sb, legendX + 108, ly, "negative", "font-size=\"11\"");
        if (known is not null)
        {
            sb.Append(CultureInfo.InvariantCulture,
                $"<circle cx=\"{Svg.N(legendX + 176)}\" cy=\"{Svg.N(ly - 4)}\" r=\"2.6\" fill=\"#000\"/>");
            Svg.Text(sb, legendX + 184, ly, "edge of the known circuit", "font-size=\"11\"");
        }

        // Bands: background and label.
        for (var b = 0; b < positions.Count; b++)
        {
            var top = HeaderHeight + (b * (bandHeight + BandGap));
            if (graph.SeqLen is not null)
            {
                sb.Append(CultureInfo.InvariantCulture,
                    $"<rect x=\"4\" y=\"{Svg.N(top)}\" width=\"{Svg.N(width - 8)}\" height=\"{Svg.N(bandHeight)}\" rx=\"6\" fill=\"#f6f7f9\"/>");
                Svg.Text(sb, 12, top + (bandHeight / 2) + 4, PositionLabel(positions[b], seqLabels), "font-size=\"12\" font-weight=\"bold\"");
            }

            for (var c = 0; c < columns.Count; c++)
            {
                if (b == 0)
                {
                    var x = labelWidth + lefts[c] + (widths[c] / 2);
                    Svg.Text(sb, x, top + 13, $"layer {(layers.Count == columns.Count ? layers[c] : columns[c][0].Layer)}",
                        "font-size=\"10\" fill=\"#777\" text-anchor=\"middle\"");
                }
            }
        }

        // Edges, weakest first so the strongest are on top.
        sb.Append("<g fill=\"none\" stroke-linecap=\"round\">");
        foreach (var (edge, score, rank) in drawn.OrderBy(d => MathF.Abs(d.Score)).ThenByDescending(d => d.Rank))
        {
            var (destKey, port) = NodeKey(edge.Dest);
            if (!place.TryGetValue((edge.Src.Name, edge.SeqIndex), out var a) || !place.TryGetValue((destKey, edge.SeqIndex), out var z))
            {
                continue;
            }

            var x1 = a.X + widths[a.Column];
            var y1 = a.Y;
            var x2 = z.X;
            var y2 = z.Y + (port switch { 'Q' => -6, 'V' => 6, _ => 0 });
            var dx = Math.Max(30, (x2 - x1) * 0.45);

            // An edge that skips layers arcs away from the straight line (longer spans arc further), so that the chain
            // of edges between the nodes of one row does not collapse into one line.
            var span = z.Column - a.Column;
            var bow = span < 2 ? 0 : Math.Min((rows * rowHeight / 2) + (BandHeader / 2), 12 + (12 * (span - 1)));
            var up = Math.Min(y1, y2) <= a.BandMid ? -1 : 1;
            var cy1 = y1 + (up * bow);
            var cy2 = y2 + (up * bow);
            var w = maxAbs == 0 ? 1 : 0.8 + (6.2 * MathF.Abs(score) / maxAbs);
            var color = score > 0 ? Svg.Positive : score < 0 ? Svg.Negative : Svg.Zero;
            var tip = $"#{rank} {edge}{(port is null ? string.Empty : $" ({char.ToLowerInvariant(port.Value)} input)")}: score {NumberText.Score(score)}" +
                      (known?.Contains(edge) == true ? " (in the known circuit)" : string.Empty);
            var path = $"M{Svg.N(x1)},{Svg.N(y1)} C{Svg.N(x1 + dx)},{Svg.N(cy1)} {Svg.N(x2 - dx)},{Svg.N(cy2)} {Svg.N(x2)},{Svg.N(y2)}";
            sb.Append(CultureInfo.InvariantCulture,
                $"<path d=\"{path}\" stroke=\"{color}\" stroke-opacity=\"0.7\" stroke-width=\"{Svg.N(w)}\"><title>{Svg.Escape(tip)}</title></path>");
            if (known?.Contains(edge) == true)
            {
                // Known-circuit edges carry a black dot at their middle (the curve at t = 1/2); the colour stays the sign.
                var mx = (x1 + (3 * (x1 + dx)) + (3 * (x2 - dx)) + x2) / 8;
                var my = (y1 + (3 * cy1) + (3 * cy2) + y2) / 8;
                sb.Append(CultureInfo.InvariantCulture,
                    $"<circle class=\"known\" cx=\"{Svg.N(mx)}\" cy=\"{Svg.N(my)}\" r=\"2.6\" fill=\"#000\" stroke=\"#fff\" stroke-width=\"0.8\">" +
                    $"<title>{Svg.Escape(tip)}</title></circle>");
            }
        }

        sb.Append("</g>");

        // Nodes on top; ports that receive a drawn edge are marked.
        var ports = new HashSet<(string, int?, char)>();
        foreach (var (edge, _, _) in drawn)
        {
            if (NodeKey(edge.Dest) is (var key, char p))
            {
                ports.Add((key, edge.SeqIndex, p));
            }
        }

        sb.Append(CultureInfo.InvariantCulture, $"<g font-size=\"{Svg.N(FontSize)}\" text-anchor=\"middle\">");
        foreach (var ((key, pos), (x, y, column, _)) in place)
        {
            var boxWidth = widths[column];
            var on = involved.Contains(key) && drawn.Any(d => d.Edge.SeqIndex == pos && (d.Edge.Src.Name == key || NodeKey(d.Edge.Dest).Key == key));
            sb.Append(CultureInfo.InvariantCulture,
                $"<g><title>{Svg.Escape(key + (pos is int pp ? $" @ {PositionLabel(pp, seqLabels)}" : string.Empty))}</title>" +
                $"<rect x=\"{Svg.N(x)}\" y=\"{Svg.N(y - (BoxHeight / 2))}\" width=\"{Svg.N(boxWidth)}\" height=\"{Svg.N(BoxHeight)}\" rx=\"4\" " +
                $"fill=\"{(on ? "#fffdf3" : "#fafafa")}\" stroke=\"{(on ? "#333" : "#d0d0d0")}\" stroke-width=\"{(on ? "1.4" : "1")}\"/>");
            Svg.Text(sb, x + (boxWidth / 2), y + 4, key, on ? string.Empty : "fill=\"#b0b0b0\"");
            foreach (var p in "QKV")
            {
                if (ports.Contains((key, pos, p)))
                {
                    var py = y + (p switch { 'Q' => -6, 'V' => 6, _ => 0 }) + 3;
                    Svg.Text(sb, x + 6, py, char.ToLowerInvariant(p).ToString(), "font-size=\"8\" fill=\"#555\"");
                }
            }

            sb.Append("</g>");
        }

        sb.Append("</g></svg>");
        return sb.ToString();
    }

    private static float MaxAbs(List<(Edge Edge, float Score, int Rank)> drawn) =>
        drawn.Count == 0 ? 0 : drawn.Max(d => MathF.Abs(d.Score));

    /// <summary>The box a destination is drawn in, and its Q/K/V port (<c>A1.0.Q</c> is head <c>A1.0</c>'s q input).</summary>
    internal static (string Key, char? Port) NodeKey(DestNode dest)
    {
        var name = dest.Name;
        if (dest.HeadIndex is not null && name.Length > 2 && name[^2] == '.' && name[^1] is 'Q' or 'K' or 'V')
        {
            return (name[..^2], name[^1]);
        }

        return (name, null);
    }

    private static string PositionLabel(int? position, IReadOnlyList<string>? labels) =>
        position is not int p ? "all positions"
        : labels is not null && p < labels.Count ? $"{p}: {labels[p]}"
        : $"position {p}";

    private sealed record VisualNode(string Key, int Layer, int Order);
}
