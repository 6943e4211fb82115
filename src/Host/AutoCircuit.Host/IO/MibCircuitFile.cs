using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using AutoCircuit.Engine;
using AutoCircuit.Evaluation;
using AutoCircuit.Graph;
using AutoCircuit.Models.Checkpoints;

namespace AutoCircuit.Host.IO;

/// <summary>
/// The circuit-localization track of MIB (the Mechanistic Interpretability Benchmark, Mueller et al. 2025): the JSON
/// graph files of its EAP-IG code (<c>Graph.to_json</c> / <c>from_json</c>):
/// <c>{"cfg": {"n_layers", "n_heads", "parallel_attn_mlp", "d_model"}, "nodes": {"input": {"in_graph": true}, ...},
/// "edges": {"input->a0.h0&lt;q&gt;": {"score": 0.1, "in_graph": true}, ..., "m11->logits": {...}}}</c>.
/// A submission is one folder per task and model (<c>&lt;task&gt;_&lt;model&gt;</c>, e.g. <c>ioi_gpt2</c>) holding
/// either one file of importance scores (<c>importances.json</c>) or nine binary circuits of at most 0.1, 0.2, 0.5, 1, 2,
/// 5, 10, 20 and 50 % of the edges.
/// </summary>
/// <remarks>
/// <para>Names: <c>Resid Start</c> is <c>input</c>, <c>A{l}.{h}</c> is <c>a{l}.h{h}</c>, <c>MLP {l}</c> is <c>m{l}</c>,
/// <c>Resid End</c> is <c>logits</c>, and an edge into <c>A{l}.{h}.Q</c> is <c>…->a{l}.h{h}&lt;q&gt;</c>. MIB's graph is
/// auto-circuit's factorized transformer graph with separate Q/K/V inputs and MLPs, without token positions, so only
/// such graphs have MIB names. Other graphs (the micro model, residual graphs, token positions, grouped K/V heads,
/// attention-only models) are written in the same layout with our node names and
/// <c>"cfg": {"autocircuit_graph": {...}}</c>; such a file is not a valid MIB submission, but reads back here.</para>
/// <para>The binary circuits keep the scores too (MIB's <c>from_json</c> reads <c>score</c> unconditionally): circuit
/// p holds exactly <c>int(p/100 · n_edges)</c> edges, the first of the ranking (ties broken by graph order), and a node
/// is in the graph when an in-graph edge touches it. MIB does not fix the circuit files' names; ours are
/// <c>circuit-&lt;p&gt;pct.json</c>.</para>
/// </remarks>
internal static partial class MibCircuitFile
{
    /// <summary>The file name of importance scores in a submission folder.</summary>
    public const string ImportancesFileName = "importances.json";

    /// <summary>The edge percentages of MIB's binary circuits.</summary>
    public static IReadOnlyList<double> CircuitPercentages { get; } = [0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50];

    /// <summary>The file name of the binary circuit of <paramref name="percent"/> % of the edges.</summary>
    public static string CircuitFileName(double percent) =>
        $"circuit-{percent.ToString("0.###", CultureInfo.InvariantCulture)}pct.json";

    /// <summary>How many edges MIB's circuit of <paramref name="percent"/> % holds (<c>int(pct · n)</c>).</summary>
    public static int CircuitSize(double percent, int edgeCount) => (int)(percent / 100 * edgeCount);

    /// <summary>Whether the graph has MIB's names, and why not.</summary>
    public static bool HasMibNames(ModelGraph graph, out string reason)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var naming = MibNaming.TryCreate(graph, out reason);
        return naming is not null;
    }

    /// <summary>Writes importance scores (every edge in the graph, with its score).</summary>
    /// <param name="path">The file.</param>
    /// <param name="scores">The scores.</param>
    /// <param name="dModel">The model's width for <c>cfg.d_model</c> (MIB's loader needs it), when known.</param>
    public static void WriteImportances(string path, FlatScores scores, int? dModel)
    {
        ArgumentNullException.ThrowIfNull(scores);
        Write(path, scores, null, dModel);
    }

    /// <summary>Writes MIB's nine binary circuits into <paramref name="directory"/>.</summary>
    /// <returns>The file names, in increasing size.</returns>
    public static IReadOnlyList<string> WriteCircuits(string directory, FlatScores scores, int? dModel)
    {
        ArgumentNullException.ThrowIfNull(scores);
        Directory.CreateDirectory(directory);
        var names = new List<string>();
        foreach (var p in CircuitPercentages)
        {
            var name = CircuitFileName(p);
            Write(Path.Combine(directory, name), scores, scores.TopExactly(CircuitSize(p, scores.Values.Count)), dModel);
            names.Add(name);
        }

        return names;
    }

    /// <summary>
    /// Reads a MIB graph file, or a submission folder: its <c>importances.json</c>, or else every JSON graph in it read
    /// as binary circuits, each edge scored by the number of circuits that hold it (nested circuits keep their order).
    /// </summary>
    /// <exception cref="AutoCircuitException">Not a MIB graph, names that are not this model's graph, missing or extra
    /// edges, a config that does not match.</exception>
    public static LoadedScores Read(string path, ModelGraph graph)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(graph);
        if (Directory.Exists(path))
        {
            var importances = Path.Combine(path, ImportancesFileName);
            if (File.Exists(importances))
            {
                var loaded = ReadFile(importances, graph, binary: false);
                return loaded with { Algorithm = Paths.LastName(path) };
            }

            var files = Directory.GetFiles(path, "*.json").Order(StringComparer.Ordinal).ToList();
            if (files.Count == 0)
            {
                throw new AutoCircuitException($"{path}: a MIB folder holds {ImportancesFileName} or the circuits' .json files; found neither.");
            }

            var counts = new float[graph.EdgeCount];
            foreach (var f in files)
            {
                using var one = ReadFile(f, graph, binary: true).Scores;
                var flat = FlatScores.From(one);
                for (var i = 0; i < counts.Length; i++)
                {
                    counts[i] += flat.Values[i];
                }
            }

            return new LoadedScores(
                Paths.LastName(path),
                new Dictionary<string, JsonElement>(),
                FlatScores.FromValues(graph, counts).ToPruneScores());
        }

        var file = ReadFile(path, graph, binary: false);
        var stem = Path.GetFileNameWithoutExtension(path);
        return stem == Path.GetFileNameWithoutExtension(ImportancesFileName)
            ? file with { Algorithm = Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(path))) ?? stem }
            : file;
    }

    /// <summary>Whether a parsed JSON document looks like a MIB graph (<c>cfg</c> and <c>edges</c> objects).</summary>
    public static bool IsMibDocument(JsonElement root) =>
        root.ValueKind == JsonValueKind.Object
        && root.TryGetProperty("cfg", out var c) && c.ValueKind == JsonValueKind.Object
        && root.TryGetProperty("edges", out var e) && e.ValueKind == JsonValueKind.Object;

    private static void Write(string path, FlatScores scores, bool[]? inGraph, int? dModel, Dictionary<string, double>? nodeScores = null)
    {
        var graph = scores.Graph;
        var naming = MibNaming.TryCreate(graph, out _);
        var edges = graph.FlatEdges;
        using var fs = File.Create(path);
        using var w = new Utf8JsonWriter(fs);
        w.WriteStartObject();
        w.WriteStartObject("cfg");
        if (naming is not null)
        {
            w.WriteNumber("n_layers", naming.Layers);
            w.WriteNumber("n_heads", naming.Heads);
            w.WriteBoolean("parallel_attn_mlp", naming.ParallelAttnMlp);
            if (dModel is int d)
            {
                w.WriteNumber("d_model", d);
            }
        }
        else
        {
            w.WriteStartObject(GenericKey);
            w.WriteBoolean("factorized", graph.IsFactorized);
            if (graph.SeqLen is int s)
            {
                w.WriteNumber("seq_len", s);
            }
            else
            {
                w.WriteNull("seq_len");
            }

            w.WriteNumber("edges", graph.EdgeCount);
            w.WriteEndObject();
        }

        w.WriteEndObject();

        var touched = new HashSet<string>(StringComparer.Ordinal);
        if (inGraph is not null)
        {
            for (var i = 0; i < edges.Count; i++)
            {
                if (inGraph[i])
                {
                    touched.Add(naming?.Src(edges[i].Src) ?? edges[i].Src.Name);
                    touched.Add(naming?.DestNode(edges[i].Dest) ?? edges[i].Dest.Name);
                }
            }
        }

        w.WriteStartObject("nodes");
        foreach (var node in NodeNames(graph, naming))
        {
            w.WriteStartObject(node);
            var always = naming is not null && node is "input" or "logits";
            w.WriteBoolean("in_graph", inGraph is null || always || touched.Contains(node));
            if (nodeScores is not null && nodeScores.TryGetValue(node, out var nodeScore))
            {
                w.WritePropertyName("score");
                w.WriteRawValue(FlatScores.Format((float)nodeScore));
            }

            w.WriteEndObject();
        }

        w.WriteEndObject();
        w.WriteStartObject("edges");
        for (var i = 0; i < edges.Count; i++)
        {
            w.WriteStartObject(naming?.Edge(edges[i]) ?? GenericEdgeName(edges[i]));
            w.WritePropertyName("score");
            w.WriteRawValue(FlatScores.Format(scores.Values[i]));
            w.WriteBoolean("in_graph", inGraph?[i] ?? true);
            w.WriteEndObject();
        }

        w.WriteEndObject();
        w.WriteEndObject();
    }

    private const string GenericKey = "autocircuit_graph";

    private static IEnumerable<string> NodeNames(ModelGraph graph, MibNaming? naming)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var s in graph.Srcs)
        {
            var n = naming?.Src(s) ?? s.Name;
            if (seen.Add(n))
            {
                yield return n;
            }
        }

        foreach (var d in graph.Dests)
        {
            var n = naming?.DestNode(d) ?? d.Name;
            if (seen.Add(n))
            {
                yield return n;
            }
        }
    }

    private static string GenericEdgeName(Edge e) => e.SeqIndex is int p ? $"{e.Name}@{p}" : e.Name;

    private static LoadedScores ReadFile(string path, ModelGraph graph, bool binary)
    {
        if (!File.Exists(path))
        {
            throw new AutoCircuitException($"{path}: scores file not found.");
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
            if (!IsMibDocument(root))
            {
                throw new AutoCircuitException($"{path}: not a MIB graph file (expected an object with \"cfg\" and \"edges\").");
            }

            var cfg = root.GetProperty("cfg");
            Dictionary<string, int> index;
            if (cfg.TryGetProperty(GenericKey, out var generic))
            {
                CheckGeneric(path, generic, graph);
                index = graph.FlatEdges.Select((e, i) => (GenericEdgeName(e), i)).ToDictionary(t => t.Item1, t => t.i, StringComparer.Ordinal);
            }
            else
            {
                var naming = MibNaming.TryCreate(graph, out var reason)
                             ?? throw new AutoCircuitException(
                                 $"{path}: the file uses MIB's transformer names, which this model's graph does not have: {reason}.");
                CheckConfig(path, cfg, naming);
                index = graph.FlatEdges.Select((e, i) => (naming.Edge(e), i)).ToDictionary(t => t.Item1, t => t.i, StringComparer.Ordinal);
            }

            var values = new float[graph.EdgeCount];
            var seen = new bool[graph.EdgeCount];
            foreach (var p in root.GetProperty("edges").EnumerateObject())
            {
                if (!index.TryGetValue(p.Name, out var i))
                {
                    throw new AutoCircuitException($"{path}: edges.{p.Name} is not an edge of this model's graph ({graph.EdgeCount} edges).");
                }

                if (p.Value.ValueKind != JsonValueKind.Object)
                {
                    throw new AutoCircuitException($"{path}: edges.{p.Name}: expected {{\"score\": ..., \"in_graph\": ...}}.");
                }

                seen[i] = true;
                if (binary)
                {
                    if (!p.Value.TryGetProperty("in_graph", out var g) || g.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                    {
                        throw new AutoCircuitException($"{path}: edges.{p.Name}.in_graph: expected true or false.");
                    }

                    values[i] = g.ValueKind == JsonValueKind.True ? 1f : 0f;
                }
                else if (p.Value.TryGetProperty("score", out var s) && s.ValueKind == JsonValueKind.Number)
                {
                    values[i] = s.GetSingle();
                }
                else
                {
                    throw new AutoCircuitException(
                        $"{path}: edges.{p.Name} has no numeric score (a binary circuit? give the folder of circuits instead).");
                }
            }

            var missing = Array.IndexOf(seen, false);
            if (missing >= 0)
            {
                throw new AutoCircuitException(
                    $"{path}: {seen.Count(s => !s)} of the graph's {graph.EdgeCount} edges are missing, e.g. " +
                    $"{index.First(kv => kv.Value == missing).Key}.");
            }

            return new LoadedScores(
                Path.GetFileNameWithoutExtension(path),
                new Dictionary<string, JsonElement>(),
                FlatScores.FromValues(graph, values).ToPruneScores());
        }
    }

    private static void CheckGeneric(string path, JsonElement generic, ModelGraph graph)
    {
        var factorized = generic.TryGetProperty("factorized", out var f) && f.ValueKind == JsonValueKind.True;
        int? seqLen = generic.TryGetProperty("seq_len", out var s) && s.ValueKind == JsonValueKind.Number ? s.GetInt32() : null;
        if (factorized != graph.IsFactorized || seqLen != graph.SeqLen)
        {
            static string Describe(bool fact, int? seq) =>
                $"{(fact ? "factorized" : "residual")}{(seq is int n ? $", {n} token positions" : string.Empty)}";
            throw new AutoCircuitException(
                $"{path}: the scores are of a {Describe(factorized, seqLen)} graph; this run's graph is " +
                $"{Describe(graph.IsFactorized, graph.SeqLen)} (see --graph and --token-positions).");
        }
    }

    private static void CheckConfig(string path, JsonElement cfg, MibNaming naming)
    {
        void Expect(string key, int expected)
        {
            if (cfg.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number && v.GetInt32() != expected)
            {
                throw new AutoCircuitException($"{path}: cfg.{key} is {v.GetInt32()}, but this model has {expected}.");
            }
        }

        Expect("n_layers", naming.Layers);
        Expect("n_heads", naming.Heads);
        if (cfg.TryGetProperty("parallel_attn_mlp", out var p) && p.ValueKind is JsonValueKind.True or JsonValueKind.False
            && p.GetBoolean() != naming.ParallelAttnMlp)
        {
            throw new AutoCircuitException(
                $"{path}: cfg.parallel_attn_mlp is {p.GetBoolean().ToString().ToLowerInvariant()}, but this model's is " +
                $"{naming.ParallelAttnMlp.ToString().ToLowerInvariant()}.");
        }
    }

    [GeneratedRegex(@"^A(\d+)\.(\d+)$", RegexOptions.CultureInvariant)]
    private static partial Regex HeadPattern();

    [GeneratedRegex(@"^A(\d+)\.(\d+)\.([QKV])$", RegexOptions.CultureInvariant)]
    private static partial Regex HeadInputPattern();

    [GeneratedRegex(@"^MLP (\d+)$", RegexOptions.CultureInvariant)]
    private static partial Regex MlpPattern();

    /// <summary>The translation of a graph's names to MIB's, when it has them.</summary>
    private sealed class MibNaming
    {
        private readonly Dictionary<string, string> _srcs = new(StringComparer.Ordinal);
        private readonly Dictionary<string, (string Node, string? Qkv)> _dests = new(StringComparer.Ordinal);

        public int Layers { get; private set; }

        public int Heads { get; private set; }

        public bool ParallelAttnMlp { get; private set; }

        public string Src(SrcNode node) => _srcs[node.Name];

        public string DestNode(DestNode node) => _dests[node.Name].Node;

        public (string Node, string? Qkv) Dest(DestNode node) => _dests[node.Name];

        public string Edge(Edge edge)
        {
            var (node, qkv) = _dests[edge.Dest.Name];
            return qkv is null ? $"{_srcs[edge.Src.Name]}->{node}" : $"{_srcs[edge.Src.Name]}->{node}<{qkv}>";
        }

        public static MibNaming? TryCreate(ModelGraph graph, out string reason)
        {
            if (!graph.IsFactorized)
            {
                reason = "MIB's graph is the factorized graph, this is the residual graph";
                return null;
            }

            if (graph.SeqLen is not null)
            {
                reason = "MIB's graph has no token positions";
                return null;
            }

            var n = new MibNaming();
            var layers = new HashSet<int>();
            var mlps = new HashSet<int>();
            var heads = 0;
            var attnLayer = new Dictionary<int, int>();
            var mlpLayer = new Dictionary<int, int>();
            foreach (var s in graph.Srcs)
            {
                if (s.Name == "Resid Start")
                {
                    n._srcs[s.Name] = "input";
                }
                else if (HeadPattern().Match(s.Name) is { Success: true } h)
                {
                    var l = int.Parse(h.Groups[1].Value, CultureInfo.InvariantCulture);
                    layers.Add(l);
                    heads = Math.Max(heads, int.Parse(h.Groups[2].Value, CultureInfo.InvariantCulture) + 1);
                    attnLayer[l] = s.Layer;
                    n._srcs[s.Name] = $"a{l}.h{h.Groups[2].Value}";
                }
                else if (MlpPattern().Match(s.Name) is { Success: true } m)
                {
                    var l = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
                    mlps.Add(l);
                    mlpLayer[l] = s.Layer;
                    n._srcs[s.Name] = $"m{l}";
                }
                else
                {
                    reason = $"source '{s.Name}' has no MIB name (MIB's graphs are transformers: input, a<l>.h<h>, m<l>)";
                    return null;
                }
            }

            foreach (var d in graph.Dests)
            {
                if (d.Name == "Resid End")
                {
                    n._dests[d.Name] = ("logits", null);
                }
                else if (HeadInputPattern().Match(d.Name) is { Success: true } h)
                {
                    n._dests[d.Name] = ($"a{h.Groups[1].Value}.h{h.Groups[2].Value}", h.Groups[3].Value.ToLowerInvariant());
                }
                else if (MlpPattern().Match(d.Name) is { Success: true } m)
                {
                    n._dests[d.Name] = ($"m{m.Groups[1].Value}", null);
                }
                else
                {
                    reason = d.Name.Contains(".KV", StringComparison.Ordinal)
                        ? $"destination '{d.Name}' is a grouped K/V head; MIB ungroups K/V per query head"
                        : $"destination '{d.Name}' has no MIB name (MIB's attention heads have separate q/k/v inputs: " +
                          "use the default --graph factorized with separate Q/K/V)";
                    return null;
                }
            }

            if (layers.Count == 0 || !mlps.SetEquals(layers) || layers.Min() != 0 || layers.Max() != layers.Count - 1)
            {
                reason = "MIB's graph has attention heads and an MLP in every layer";
                return null;
            }

            n.Layers = layers.Count;
            n.Heads = heads;
            n.ParallelAttnMlp = layers.All(l => attnLayer[l] == mlpLayer[l]);
            reason = string.Empty;
            return n;
        }
    }
}
