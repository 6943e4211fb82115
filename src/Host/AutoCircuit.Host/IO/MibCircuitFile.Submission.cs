using System.Collections;
using System.Globalization;
using System.Text.RegularExpressions;
using AutoCircuit.Engine;
using AutoCircuit.Evaluation;
using TorchSharp;
using TorchSharp.PyBridge;

namespace AutoCircuit.Host.IO;

/// <summary>
/// MIB submission folders (<c>--export mib-submission</c>): one folder per task and model named
/// <c>&lt;task&gt;_&lt;model&gt;</c> (e.g. <c>ioi_gpt2</c>, <c>arc-easy_llama3</c>), holding the importance scores as
/// EAP-IG's <c>Graph.to_json</c> and <c>Graph.to_pt</c> write them, at the edge level and at the node level.
/// </summary>
/// <remarks>
/// <para><c>importances.pt</c> is what EAP-IG's <c>Graph.from_pt</c> and MIB's <c>load_graph_from_pt</c> read with
/// <c>torch.load</c>: a dict <c>{"cfg": {"n_layers", "n_heads", "parallel_attn_mlp", "d_model"}, "src_nodes": [...],
/// "dst_nodes": [...], "edges_scores": float32 [n_forward, n_backward], "edges_in_graph": bool [n_forward, n_backward],
/// "nodes_in_graph": bool [n_forward]}</c> (and <c>"nodes_scores"</c>: float32 [n_forward] at the node level), in
/// EAP-IG's index order: forward (source) <c>input</c> = 0, <c>a{l}.h{h}</c> = 1 + l(H+1) + h, <c>m{l}</c> =
/// 1 + l(H+1) + H; backward (destination) <c>a{l}.h{h}&lt;q|k|v&gt;</c> = l(3H+1) + {0,1,2}·H + h, <c>m{l}</c> =
/// l(3H+1) + 3H, <c>logits</c> the last. Pairs that are not edges (a later source into an earlier destination) score 0
/// and are not in the graph. It is written by TorchSharp.PyBridge's pickler (<c>torch.save</c>'s zip format).</para>
/// <para>Node scores: a source node's score is the sum of the scores of its outgoing edges. For gradient attributions
/// (EAP, EAP-IG) this is the node's own attribution, since the gradient at a node's output is the sum of the gradients
/// at the inputs it writes to. The <c>logits</c> node has no score (MIB's loader skips it).</para>
/// </remarks>
internal static partial class MibCircuitFile
{
    /// <summary>The <c>.pt</c> file name of importance scores in a submission folder.</summary>
    public const string ImportancesPtFileName = "importances.pt";

    /// <summary>MIB's short names of its models (<c>MODEL_NAME_TO_FULLNAME</c> in <c>MIB_circuit_track/utils.py</c>).</summary>
    private static readonly Dictionary<string, string> MibModels = new(StringComparer.OrdinalIgnoreCase)
    {
        ["gpt2"] = "gpt2",
        ["gpt2-small"] = "gpt2",
        ["openai-community/gpt2"] = "gpt2",
        ["Qwen/Qwen2.5-0.5B"] = "qwen2.5",
        ["google/gemma-2-2b"] = "gemma2",
        ["meta-llama/Llama-3.1-8B"] = "llama3",
    };

    [GeneratedRegex(@"[^a-z0-9.\-]+", RegexOptions.CultureInvariant)]
    private static partial Regex NotInModelName();

    /// <summary>
    /// The model part of a submission folder's name: MIB's short name for its models given by Hugging Face name
    /// (<c>gpt2</c>, <c>qwen2.5</c>, <c>gemma2</c>, <c>llama3</c>), else the last part of the name or path, lower case.
    /// </summary>
    public static string SubmissionModelName(string model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var name = model.Split('@')[0].TrimEnd('/', '\\');
        if (MibModels.TryGetValue(name, out var mib))
        {
            return mib;
        }

        var last = Path.GetFileName(name);
        var clean = NotInModelName().Replace((last.Length > 0 ? last : name).ToLowerInvariant(), "-").Trim('-');
        return clean.Length > 0 ? clean : "model";
    }

    /// <summary>A submission folder's name, <c>&lt;task&gt;_&lt;model&gt;</c> (MIB writes <c>_</c> in task names as <c>-</c>).</summary>
    public static string SubmissionFolderName(string task, string model)
    {
        ArgumentNullException.ThrowIfNull(task);
        return $"{task.Trim().ToLowerInvariant().Replace('_', '-')}_{SubmissionModelName(model)}";
    }

    /// <summary>
    /// Writes <c>edge/&lt;folder&gt;/importances.{json,pt}</c> and <c>node/&lt;folder&gt;/importances.{json,pt}</c> under
    /// <paramref name="directory"/>: <c>edge</c> and <c>node</c> are each a directory to upload as one MIB submission.
    /// </summary>
    /// <returns>The files written, relative to <paramref name="directory"/>.</returns>
    /// <exception cref="AutoCircuitException">The graph does not have MIB's names (see <see cref="HasMibNames"/>), or
    /// the model's width is unknown.</exception>
    public static IReadOnlyList<string> WriteSubmission(string directory, FlatScores scores, int? dModel, string folder)
    {
        ArgumentNullException.ThrowIfNull(scores);
        var naming = MibNaming.TryCreate(scores.Graph, out var reason)
                     ?? throw new AutoCircuitException($"--export mib-submission: {reason}; MIB submissions are of its transformer graph.");
        var width = dModel ?? throw new AutoCircuitException("--export mib-submission: the model's width (d_model) is unknown; MIB's files need it.");
        var nodes = NodeScores(scores, naming);
        var files = new List<string>();
        foreach (var level in new[] { "edge", "node" })
        {
            var rel = Path.Combine(level, folder);
            Directory.CreateDirectory(Path.Combine(directory, rel));
            var nodeScores = level == "node" ? nodes : null;
            Write(Path.Combine(directory, rel, ImportancesFileName), scores, null, width, nodeScores);
            WritePt(Path.Combine(directory, rel, ImportancesPtFileName), scores, naming, width, nodeScores);
            files.Add(Path.Combine(rel, ImportancesFileName));
            files.Add(Path.Combine(rel, ImportancesPtFileName));
        }

        return files;
    }

    /// <summary>Each source node's score (MIB name → the sum of its outgoing edges' scores).</summary>
    private static Dictionary<string, double> NodeScores(FlatScores scores, MibNaming naming)
    {
        var sums = scores.Graph.Srcs.Select(naming.Src).Distinct().ToDictionary(n => n, _ => 0.0, StringComparer.Ordinal);
        var edges = scores.Graph.FlatEdges;
        for (var i = 0; i < edges.Count; i++)
        {
            sums[naming.Src(edges[i].Src)] += scores.Values[i];
        }

        return sums;
    }

    /// <summary>EAP-IG's forward (source) index of a MIB node name.</summary>
    private static int ForwardIndex(string node, int heads)
    {
        if (node == "input")
        {
            return 0;
        }

        if (node[0] == 'm')
        {
            return 1 + (Layer(node[1..]) * (heads + 1)) + heads;
        }

        var dot = node.IndexOf('.', StringComparison.Ordinal);
        return 1 + (Layer(node[1..dot]) * (heads + 1)) + Layer(node[(dot + 2)..]);
    }

    /// <summary>EAP-IG's backward (destination) index of a MIB node name and its q/k/v input.</summary>
    private static int BackwardIndex(string node, string? qkv, int layers, int heads)
    {
        if (node == "logits")
        {
            return layers * ((3 * heads) + 1);
        }

        if (node[0] == 'm')
        {
            return (Layer(node[1..]) * ((3 * heads) + 1)) + (3 * heads);
        }

        var dot = node.IndexOf('.', StringComparison.Ordinal);
        return (Layer(node[1..dot]) * ((3 * heads) + 1)) + ("qkv".IndexOf(qkv![0], StringComparison.Ordinal) * heads) + Layer(node[(dot + 2)..]);
    }

    private static int Layer(string digits) => int.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture);

    /// <summary>The source nodes in EAP-IG's forward order (<c>Graph.to_pt</c>'s <c>src_nodes</c>).</summary>
    private static List<string> SrcNodeNames(int layers, int heads)
    {
        var names = new List<string> { "input" };
        for (var l = 0; l < layers; l++)
        {
            names.AddRange(Enumerable.Range(0, heads).Select(h => $"a{l}.h{h}"));
            names.Add($"m{l}");
        }

        return names;
    }

    /// <summary>The destinations in EAP-IG's backward order (<c>Graph.get_dst_nodes</c>).</summary>
    private static List<string> DstNodeNames(int layers, int heads)
    {
        var names = new List<string>();
        for (var l = 0; l < layers; l++)
        {
            foreach (var letter in "qkv")
            {
                names.AddRange(Enumerable.Range(0, heads).Select(h => $"a{l}.h{h}<{letter}>"));
            }

            names.Add($"m{l}");
        }

        names.Add("logits");
        return names;
    }

    private static void WritePt(string path, FlatScores scores, MibNaming naming, int dModel, Dictionary<string, double>? nodeScores)
    {
        int layers = naming.Layers, heads = naming.Heads;
        var nForward = 1 + (layers * (heads + 1));
        var nBackward = (layers * ((3 * heads) + 1)) + 1;
        var edgeScores = new float[nForward * nBackward];
        var edgeIn = new bool[nForward * nBackward];
        var edges = scores.Graph.FlatEdges;
        for (var i = 0; i < edges.Count; i++)
        {
            var (dest, qkv) = naming.Dest(edges[i].Dest);
            var at = (ForwardIndex(naming.Src(edges[i].Src), heads) * nBackward) + BackwardIndex(dest, qkv, layers, heads);
            edgeScores[at] = scores.Values[i];
            edgeIn[at] = true;
        }

        var srcNodes = SrcNodeNames(layers, heads);
        using var scope = torch.NewDisposeScope();
        var dict = new Hashtable
        {
            ["cfg"] = new Hashtable
            {
                ["n_layers"] = layers,
                ["n_heads"] = heads,
                ["parallel_attn_mlp"] = naming.ParallelAttnMlp,
                ["d_model"] = dModel,
            },
            ["src_nodes"] = new ArrayList(srcNodes),
            ["dst_nodes"] = new ArrayList(DstNodeNames(layers, heads)),
            ["edges_scores"] = torch.tensor(edgeScores, [nForward, nBackward], torch.float32),
            ["edges_in_graph"] = torch.tensor(edgeIn, [nForward, nBackward]),
            ["nodes_in_graph"] = torch.ones(nForward, torch.@bool),
        };
        if (nodeScores is not null)
        {
            var values = new float[nForward];
            foreach (var (node, score) in nodeScores)
            {
                values[ForwardIndex(node, heads)] = (float)score;
            }

            dict["nodes_scores"] = torch.tensor(values, torch.float32);
        }

        using var stream = File.Create(path);
        PyTorchPickler.PickleStateDict(stream, dict);
    }
}
