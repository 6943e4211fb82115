using System.Globalization;
using System.Text;
using AutoCircuit.Engine;
using AutoCircuit.Evaluation;
using AutoCircuit.Graph;

namespace AutoCircuit.Host.IO;

/// <summary>
/// Scores as an edge list: a CSV with the header <c>src,dest,position,score</c> and one row per edge, in rank order
/// (largest <c>|score|</c> first). <c>position</c> is the token position, empty when every position shares the edge.
/// Scores are written as the shortest text that reads back to the same float32, so a file re-imports to identical
/// scores. Reading takes the columns by name (others, e.g. a <c>rank</c> column, are ignored), quoted fields
/// (RFC 4180), and rows in any order; every edge of the graph must appear exactly once.
/// </summary>
internal static class EdgeListFile
{
    /// <summary>The header written.</summary>
    public const string Header = "src,dest,position,score";

    /// <summary>The CSV text of <paramref name="scores"/>.</summary>
    public static string ToCsv(FlatScores scores)
    {
        ArgumentNullException.ThrowIfNull(scores);
        var edges = scores.Graph.FlatEdges;
        var sb = new StringBuilder(Header.Length + (edges.Count * 32));
        sb.Append(Header).Append('\n');
        foreach (var i in scores.Order)
        {
            var e = edges[i];
            sb.Append(Quote(e.Src.Name)).Append(',').Append(Quote(e.Dest.Name)).Append(',');
            if (e.SeqIndex is int p)
            {
                sb.Append(p.ToString(CultureInfo.InvariantCulture));
            }

            sb.Append(',').Append(FlatScores.Format(scores.Values[i])).Append('\n');
        }

        return sb.ToString();
    }

    /// <summary>Writes the CSV file.</summary>
    public static void Write(string path, FlatScores scores) =>
        File.WriteAllText(path, ToCsv(scores), new UTF8Encoding(false));

    /// <summary>Reads an edge-list CSV as scores of <paramref name="graph"/>.</summary>
    /// <exception cref="AutoCircuitException">A missing column, an unknown, repeated or missing edge, a bad number;
    /// the message names the file and line.</exception>
    public static LoadedScores Read(string path, ModelGraph graph)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(graph);
        if (!File.Exists(path))
        {
            throw new AutoCircuitException($"{path}: scores file not found.");
        }

        var lines = File.ReadAllLines(path);
        if (lines.Length == 0 || lines[0].Trim().Length == 0)
        {
            throw new AutoCircuitException($"{path}:1: empty file; expected the header {Header}.");
        }

        var header = Split(path, 1, lines[0]).Select(h => h.Trim().ToLowerInvariant()).ToList();
        int Column(string name)
        {
            var c = header.IndexOf(name);
            return c >= 0
                ? c
                : throw new AutoCircuitException($"{path}:1: no '{name}' column (expected the header {Header}; found {lines[0]}).");
        }

        var src = Column("src");
        var dest = Column("dest");
        var position = header.IndexOf("position");
        var score = Column("score");
        if (position < 0 && graph.SeqLen is not null)
        {
            throw new AutoCircuitException(
                $"{path}:1: no 'position' column, but the graph has an edge per token position ({graph.SeqLen} positions).");
        }

        var flatIndex = new Dictionary<Edge, int>(graph.EdgeCount);
        for (var i = 0; i < graph.FlatEdges.Count; i++)
        {
            flatIndex[graph.FlatEdges[i]] = i;
        }

        var values = new float[graph.EdgeCount];
        var seenAt = new int[graph.EdgeCount];
        for (var l = 1; l < lines.Length; l++)
        {
            var lineNo = l + 1;
            if (lines[l].Trim().Length == 0)
            {
                continue;
            }

            var fields = Split(path, lineNo, lines[l]);
            var needed = new[] { src, dest, score, position }.Max();
            if (fields.Count <= needed)
            {
                throw new AutoCircuitException($"{path}:{lineNo}: {fields.Count} fields; the header has {header.Count}.");
            }

            int? seq = null;
            if (position >= 0 && fields[position].Trim().Length > 0)
            {
                if (!int.TryParse(fields[position].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var p))
                {
                    throw new AutoCircuitException($"{path}:{lineNo}: position '{fields[position]}' is not a token position.");
                }

                seq = p;
            }

            var name = $"{fields[src]}->{fields[dest]}";
            var edge = graph.FindEdge(name, seq)
                       ?? throw new AutoCircuitException(
                           $"{path}:{lineNo}: '{name}'{(seq is int s ? $" at position {s}" : string.Empty)} is not an edge of this model's graph" +
                           (graph.SeqLen is int n && seq is null ? $" (it has an edge per token position: give a position 0..{n - 1})." :
                               graph.SeqLen is null && seq is not null ? " (it has no token positions: leave position empty)." : "."));
            if (!float.TryParse(fields[score].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var v))
            {
                throw new AutoCircuitException($"{path}:{lineNo}: score '{fields[score]}' is not a number.");
            }

            var index = flatIndex[edge];
            if (seenAt[index] != 0)
            {
                throw new AutoCircuitException($"{path}:{lineNo}: edge {edge} is listed again (first on line {seenAt[index]}).");
            }

            seenAt[index] = lineNo;
            values[index] = v;
        }

        var missing = Array.IndexOf(seenAt, 0);
        if (missing >= 0)
        {
            var count = seenAt.Count(s => s == 0);
            throw new AutoCircuitException(
                $"{path}: {count} of the graph's {graph.EdgeCount} edges have no row, e.g. {graph.FlatEdges[missing]}; " +
                "an edge list must score every edge.");
        }

        return new LoadedScores(
            Path.GetFileNameWithoutExtension(path),
            new Dictionary<string, System.Text.Json.JsonElement>(),
            FlatScores.FromValues(graph, values).ToPruneScores());
    }

    private static string Quote(string field) =>
        field.IndexOfAny([',', '"', '\n', '\r']) < 0 ? field : "\"" + field.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    private static List<string> Split(string path, int lineNo, string line)
    {
        var fields = new List<string>();
        var sb = new StringBuilder();
        var i = 0;
        while (true)
        {
            sb.Clear();
            if (i < line.Length && line[i] == '"')
            {
                i++;
                while (true)
                {
                    if (i >= line.Length)
                    {
                        throw new AutoCircuitException($"{path}:{lineNo}: unterminated quoted field.");
                    }

                    if (line[i] == '"')
                    {
                        if (i + 1 < line.Length && line[i + 1] == '"')
                        {
                            sb.Append('"');
                            i += 2;
                            continue;
                        }

                        i++;
                        break;
                    }

                    sb.Append(line[i++]);
                }
            }
            else
            {
                while (i < line.Length && line[i] != ',')
                {
                    sb.Append(line[i++]);
                }
            }

            fields.Add(sb.ToString());
            if (i >= line.Length)
            {
                return fields;
            }

            if (line[i] != ',')
            {
                throw new AutoCircuitException($"{path}:{lineNo}: unexpected '{line[i]}' after a quoted field.");
            }

            i++;
        }
    }
}
