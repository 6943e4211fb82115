using System.Text.Json;
using AutoCircuit.Engine;
using AutoCircuit.Graph;

namespace AutoCircuit.Host.IO;

/// <summary>
/// A known circuit for ROC curves (<c>--circuit FILE</c>): a JSON array, or <c>{"edges": [...]}</c>, whose entries are
/// edge names <c>"src->dest"</c> (the edge at every token position, as auto-circuit matches names) or objects
/// <c>{"name": "src->dest", "seq": 2}</c> (one token position).
/// </summary>
internal static class KnownCircuitFile
{
    /// <summary>Reads the file and resolves its edges in <paramref name="graph"/>.</summary>
    /// <exception cref="AutoCircuitException">Missing or malformed file, an unknown edge, or a circuit that is empty or
    /// holds every edge (a ROC curve needs both kinds).</exception>
    public static IReadOnlySet<Edge> Read(string path, ModelGraph graph)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(graph);
        if (!File.Exists(path))
        {
            throw new AutoCircuitException($"{path}: circuit file not found.");
        }

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException e)
        {
            throw new AutoCircuitException($"{path}:{(e.LineNumber ?? 0) + 1}:{(e.BytePositionInLine ?? 0) + 1}: invalid JSON: {e.Message}", e);
        }

        using (doc)
        {
            var root = doc.RootElement;
            var list = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("edges", out var e) ? e : root;
            if (list.ValueKind != JsonValueKind.Array)
            {
                throw new AutoCircuitException($"{path}: expected an array of edge names or {{\"edges\": [...]}}.");
            }

            var edges = new HashSet<Edge>();
            var i = 0;
            foreach (var item in list.EnumerateArray())
            {
                var at = $"{path}: edges[{i++}]";
                if (item.ValueKind == JsonValueKind.String)
                {
                    var name = item.GetString()!;
                    var matches = graph.Edges.Where(x => x.Name == name).ToList();
                    if (matches.Count == 0)
                    {
                        throw new AutoCircuitException($"{at}: '{name}' is not an edge of this model's graph.");
                    }

                    edges.UnionWith(matches);
                }
                else if (item.ValueKind == JsonValueKind.Object
                         && item.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String)
                {
                    int? seq = item.TryGetProperty("seq", out var s) && s.ValueKind == JsonValueKind.Number ? s.GetInt32() : null;
                    var edge = graph.FindEdge(n.GetString()!, seq)
                               ?? throw new AutoCircuitException(
                                   $"{at}: '{n.GetString()}'{(seq is int p ? $" at position {p}" : string.Empty)} is not an edge of " +
                                   "this model's graph" + (graph.SeqLen is null ? "." : " (token positions need \"seq\")."));
                    edges.Add(edge);
                }
                else
                {
                    throw new AutoCircuitException($"{at}: expected an edge name or {{\"name\": ..., \"seq\": ...}}.");
                }
            }

            if (edges.Count == 0 || edges.Count == graph.EdgeCount)
            {
                throw new AutoCircuitException(
                    $"{path}: the circuit has {edges.Count} of the graph's {graph.EdgeCount} edges; a ROC curve needs at least one " +
                    "edge inside it and one outside.");
            }

            return edges;
        }
    }
}
