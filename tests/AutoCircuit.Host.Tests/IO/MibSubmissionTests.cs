using System.Collections;
using System.Text.Json;
using AutoCircuit.Engine;
using AutoCircuit.Evaluation;
using AutoCircuit.Graph;
using AutoCircuit.Host.IO;
using AutoCircuit.Host.Tests.Models;
using AutoCircuit.Models.Micro;
using AutoCircuit.Models.Transformers;
using TorchSharp;
using TorchSharp.PyBridge;
using Xunit;

namespace AutoCircuit.Host.Tests.IO;

/// <summary>
/// MIB submission folders (<c>--export mib-submission</c>): <c>importances.json</c> and <c>importances.pt</c> at the
/// edge and node level, as EAP-IG's <c>Graph.to_json</c> / <c>to_pt</c> write them and <c>from_json</c> / <c>from_pt</c>
/// (MIB's <c>circuit_loading.py</c>) read them; the .pt read back by TorchSharp.PyBridge and by PyTorch.
/// </summary>
[Collection(nameof(SeededCollection))]
public sealed class MibSubmissionTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ac-mibsub-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static ModelGraph Transformer(int layers, int heads)
    {
        var config = new TransformerConfig
        {
            Family = TransformerFamily.Gpt2,
            DModel = 16 * heads,
            Layers = layers,
            Heads = heads,
            DMlp = 64,
            VocabSize = 50,
            ContextLength = 32,
        };
        var nodes = TransformerGraph.Factorized(config, separateQkv: true);
        return ModelGraph.Build(nodes.Srcs, nodes.Dests, true, null);
    }

    private static FlatScores Scores(ModelGraph graph, int seed)
    {
        var rng = new Random(seed);
        return FlatScores.FromValues(graph, Enumerable.Range(0, graph.EdgeCount).Select(_ => (float)((rng.NextDouble() * 2) - 1)).ToArray());
    }

    /// <summary>MIB edge name → score, and node name → score where given, from an importances.json.</summary>
    private static (Dictionary<string, double> Edges, Dictionary<string, double> Nodes) ReadJson(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        var edges = doc.RootElement.GetProperty("edges").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetProperty("score").GetDouble());
        var nodes = doc.RootElement.GetProperty("nodes").EnumerateObject()
            .Where(p => p.Value.TryGetProperty("score", out _))
            .ToDictionary(p => p.Name, p => p.Value.GetProperty("score").GetDouble());
        return (edges, nodes);
    }

    [Fact]
    public void WriteSubmission_EdgeAndNodeFoldersNamedTaskModel_WithJsonAndPt()
    {
        var scores = Scores(Transformer(2, 3), 1);

        var files = MibCircuitFile.WriteSubmission(_dir, scores, 48, MibCircuitFile.SubmissionFolderName("ioi", "gpt2"));

        Assert.Equal(
            ["edge/ioi_gpt2/importances.json", "edge/ioi_gpt2/importances.pt", "node/ioi_gpt2/importances.json", "node/ioi_gpt2/importances.pt"],
            files.Select(f => f.Replace('\\', '/')));
        Assert.All(files, f => Assert.True(File.Exists(Path.Combine(_dir, f)), f));
        var (edgeLevel, edgeNodes) = ReadJson(Path.Combine(_dir, "edge/ioi_gpt2/importances.json"));
        var (nodeLevel, nodeNodes) = ReadJson(Path.Combine(_dir, "node/ioi_gpt2/importances.json"));
        Assert.Equal(scores.Graph.EdgeCount, edgeLevel.Count);
        Assert.Equal(edgeLevel, nodeLevel);
        Assert.Empty(edgeNodes); // edge level: nodes carry in_graph only
        Assert.Equal(1 + (2 * 4), nodeNodes.Count); // input, 3 heads and an MLP per layer; logits has no score
        Assert.DoesNotContain("logits", nodeNodes.Keys);
        foreach (var (node, score) in nodeNodes)
        {
            var sum = edgeLevel.Where(e => e.Key.StartsWith(node + "->", StringComparison.Ordinal)).Sum(e => e.Value);
            Assert.Equal(sum, score, 1e-5);
        }
    }

    [Fact]
    public void Pt_PyBridgeRoundTrip_EapIgLayoutAndEveryEdgeScoreAtItsIndex()
    {
        var scores = Scores(Transformer(2, 3), 2);
        MibCircuitFile.WriteSubmission(_dir, scores, 48, "ioi_gpt2");
        var (json, jsonNodes) = ReadJson(Path.Combine(_dir, "node/ioi_gpt2/importances.json"));

        using var scope = torch.NewDisposeScope();
        var d = PyTorchUnpickler.UnpickleStateDict(Path.Combine(_dir, "node/ioi_gpt2/importances.pt"));

        var cfg = (Hashtable)d["cfg"]!;
        Assert.Equal((2, 3, false, 48), ((int)cfg["n_layers"]!, (int)cfg["n_heads"]!, (bool)cfg["parallel_attn_mlp"]!, (int)cfg["d_model"]!));
        var src = ((ArrayList)d["src_nodes"]!).Cast<string>().ToList();
        var dst = ((ArrayList)d["dst_nodes"]!).Cast<string>().ToList();
        // EAP-IG's orders (graph.py): sources input, a0.h0..a0.h2, m0, a1.h0, ...; destinations q, k, v of each head, then the MLP, per layer, then logits.
        Assert.Equal(["input", "a0.h0", "a0.h1", "a0.h2", "m0", "a1.h0", "a1.h1", "a1.h2", "m1"], src);
        Assert.Equal(["a0.h0<q>", "a0.h1<q>", "a0.h2<q>", "a0.h0<k>", "a0.h1<k>", "a0.h2<k>", "a0.h0<v>", "a0.h1<v>", "a0.h2<v>", "m0"], dst.Take(10));
        Assert.Equal((21, "logits"), (dst.Count, dst[^1]));
        var edgeScores = (torch.Tensor)d["edges_scores"]!;
        var inGraph = (torch.Tensor)d["edges_in_graph"]!;
        Assert.Equal([9L, 21L], edgeScores.shape);
        Assert.Equal((torch.ScalarType.Float32, torch.ScalarType.Bool), (edgeScores.dtype, inGraph.dtype));
        Assert.Equal(json.Count, inGraph.sum().ToInt64());
        var values = edgeScores.data<float>().ToArray();
        var flags = inGraph.data<bool>().ToArray();
        foreach (var (name, score) in json)
        {
            var parts = name.Split("->");
            Assert.Contains(parts[1], dst);
            var at = (src.IndexOf(parts[0]) * dst.Count) + dst.IndexOf(parts[1]);
            Assert.True(flags[at], name);
            Assert.Equal((float)score, values[at]);
        }

        Assert.Equal(0f, values.Where((_, i) => !flags[i]).Select(Math.Abs).DefaultIfEmpty(0f).Max()); // not edges: 0
        var nodeScores = ((torch.Tensor)d["nodes_scores"]!).data<float>().ToArray();
        Assert.Equal(src.Count, nodeScores.Length);
        Assert.All(jsonNodes, kv => Assert.Equal((float)kv.Value, nodeScores[src.IndexOf(kv.Key)]));
        Assert.All(((torch.Tensor)d["nodes_in_graph"]!).data<bool>().ToArray(), Assert.True);

        var edgeLevel = PyTorchUnpickler.UnpickleStateDict(Path.Combine(_dir, "edge/ioi_gpt2/importances.pt"));
        Assert.False(edgeLevel.ContainsKey("nodes_scores"));
        Assert.Equal(values, ((torch.Tensor)edgeLevel["edges_scores"]!).data<float>().ToArray());
    }

    /// <summary>
    /// Reads the .pt with PyTorch as MIB's <c>load_graph_from_pt</c> does (<c>torch.load</c>, weights only when this
    /// torch has it, its required keys) and checks every edge of the JSON at EAP-IG's own index formulas
    /// (<c>Graph._forward_index</c> / <c>_backward_index</c>, written out in the script).
    /// </summary>
    [PythonTorchFact]
    public void Pt_TorchLoad_ReadsWhatMibsLoaderNeeds_ScoresEqualTheJson()
    {
        var scores = Scores(Transformer(3, 2), 3);
        MibCircuitFile.WriteSubmission(_dir, scores, 32, "ioi_gpt2");
        var script = Path.Combine(_dir, "check.py");
        File.WriteAllText(script, """
            import json, sys, torch
            pt, js = sys.argv[1], sys.argv[2]
            try:
                d = torch.load(pt, map_location="cpu", weights_only=True)
            except TypeError:
                d = torch.load(pt, map_location="cpu")
            required = ['cfg', 'src_nodes', 'dst_nodes', 'edges_scores', 'edges_in_graph', 'nodes_in_graph']
            cfg = d['cfg']
            L, H = cfg['n_layers'], cfg['n_heads']
            def fwd(n):
                if n == 'input':
                    return 0
                if n[0] == 'm':
                    return 1 + int(n[1:]) * (H + 1) + H
                l, h = n.split('.')
                return 1 + int(l[1:]) * (H + 1) + int(h[1:])
            def bwd(n):
                if n == 'logits':
                    return -1
                qkv = None
                if n.endswith('>'):
                    n, qkv = n[:-3], n[-2]
                if n[0] == 'm':
                    return int(n[1:]) * (3 * H + 1) + 3 * H
                l, h = n.split('.')
                return int(l[1:]) * (3 * H + 1) + 'qkv'.index(qkv) * H + int(h[1:])
            def f32(x):
                # the JSON holds the shortest text of each float32 score
                return torch.tensor(x, dtype=torch.float32).item()
            g = json.load(open(js))
            edge_diff = 0.0
            all_in = True
            for name, e in g['edges'].items():
                s, t = name.split('->')
                edge_diff = max(edge_diff, abs(d['edges_scores'][fwd(s), bwd(t)].item() - f32(e['score'])))
                all_in = all_in and bool(d['edges_in_graph'][fwd(s), bwd(t)])
            node_diff = 0.0
            for name, n in g['nodes'].items():
                if 'score' in n:
                    node_diff = max(node_diff, abs(d['nodes_scores'][fwd(name)].item() - f32(n['score'])))
            print(json.dumps({
                'missing': [k for k in required if k not in d],
                'cfg': cfg,
                'n_forward': 1 + L * (H + 1), 'n_backward': L * (3 * H + 1) + 1,
                'shape': list(d['edges_scores'].shape), 'in_shape': list(d['edges_in_graph'].shape),
                'dtypes': [str(d['edges_scores'].dtype), str(d['edges_in_graph'].dtype), str(d['nodes_in_graph'].dtype)],
                'in_graph': int(d['edges_in_graph'].sum()), 'edges': len(g['edges']),
                'edge_diff': edge_diff, 'all_in': all_in, 'node_diff': node_diff,
                'node_scores': 'nodes_scores' in d, 'src_nodes': d['src_nodes'], 'dst_last': d['dst_nodes'][-1],
            }))
            """);

        foreach (var level in new[] { "edge", "node" })
        {
            var folder = Path.Combine(_dir, level, "ioi_gpt2");
            var (code, stdout, stderr) = PythonTorch.Run(
                PythonTorch.Interpreter!, [script, Path.Combine(folder, "importances.pt"), Path.Combine(folder, "importances.json")], TimeSpan.FromMinutes(2));
            Assert.True(code == 0, stderr);
            using var r = JsonDocument.Parse(stdout);
            var o = r.RootElement;
            Assert.Equal(0, o.GetProperty("missing").GetArrayLength());
            var cfg = o.GetProperty("cfg");
            Assert.Equal(
                (3, 2, false, 32),
                (cfg.GetProperty("n_layers").GetInt32(), cfg.GetProperty("n_heads").GetInt32(), cfg.GetProperty("parallel_attn_mlp").GetBoolean(),
                 cfg.GetProperty("d_model").GetInt32()));
            Assert.Equal("[10, 22]", o.GetProperty("shape").GetRawText()); // n_forward = 1 + 3·3, n_backward = 3·7 + 1
            Assert.Equal("[10, 22]", o.GetProperty("in_shape").GetRawText());
            Assert.Equal("""["torch.float32", "torch.bool", "torch.bool"]""", o.GetProperty("dtypes").GetRawText());
            Assert.Equal(scores.Graph.EdgeCount, o.GetProperty("in_graph").GetInt32());
            Assert.Equal(scores.Graph.EdgeCount, o.GetProperty("edges").GetInt32());
            Assert.True(o.GetProperty("all_in").GetBoolean());
            Assert.Equal(0.0, o.GetProperty("edge_diff").GetDouble()); // the same float32 in both files
            Assert.Equal(level == "node", o.GetProperty("node_scores").GetBoolean());
            Assert.Equal(0.0, o.GetProperty("node_diff").GetDouble());
            Assert.Equal("input", o.GetProperty("src_nodes")[0].GetString());
            Assert.Equal("logits", o.GetProperty("dst_last").GetString());
        }
    }

    [Theory]
    [InlineData("ioi", "gpt2", "ioi_gpt2")]
    [InlineData("arithmetic_addition", "meta-llama/Llama-3.1-8B", "arithmetic-addition_llama3")]
    [InlineData("arc-easy", "google/gemma-2-2b@main", "arc-easy_gemma2")]
    [InlineData("mcqa", "Qwen/Qwen2.5-0.5B", "mcqa_qwen2.5")]
    [InlineData("ioi", "/models/fake-gpt2/", "ioi_fake-gpt2")]
    [InlineData("greater-than", "My Model", "greater-than_my-model")]
    public void SubmissionFolderName_TaskUnderscoreModel_WithMibsModelNames(string task, string model, string expected) =>
        Assert.Equal(expected, MibCircuitFile.SubmissionFolderName(task, model));

    [Fact]
    public void ParseExports_MibSubmissionByName_NotInAll()
    {
        Assert.Equal(ScoresExports.Mib | ScoresExports.MibSubmission, ScoresInterchange.ParseExports("mib,mib-submission"));
        Assert.False(ScoresInterchange.ParseExports("all").HasFlag(ScoresExports.MibSubmission));
    }

    [Fact]
    public void WriteSubmission_GraphWithoutMibNames_SaysWhy()
    {
        var nodes = new MicroModel().FactorizedNodes(false);
        var graph = ModelGraph.Build(nodes.Srcs, nodes.Dests, true, null);

        var e = Assert.Throws<AutoCircuitException>(() => MibCircuitFile.WriteSubmission(_dir, Scores(graph, 4), 2, "x_y"));

        Assert.StartsWith("--export mib-submission: source 'B0.0' has no MIB name", e.Message, StringComparison.Ordinal);
    }

    [SharedModelFact("fake-gpt2/model.safetensors")]
    public async Task Run_MibTaskWithMibSubmissionExport_WritesTheFoldersForTheTaskAndModel()
    {
        var rows = Path.Combine(_dir, "ioi.jsonl");
        File.WriteAllLines(rows, Enumerable.Range(0, 8).Select(i =>
            JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["prompt"] = $"When Mary and John went to the store number {i}, John gave a drink to",
                ["metadata"] = new Dictionary<string, string> { ["indirect_object"] = "Mary", ["subject"] = "John", ["random_c"] = "Paul" },
                ["s2_io_flip_counterfactual"] = new Dictionary<string, string> { ["prompt"] = $"When Mary and John went to the store number {i}, Mary gave a drink to" },
            })));
        var outDir = Path.Combine(_dir, "run");
        using var output = new StringWriter();
        using var error = new StringWriter();

        var code = await AutoCircuit.Tool.Cli.CommandLine.InvokeAsync(
            ["run", "--model", ModelFixtures.Shared("fake-gpt2")!, "--dataset", rows, "--mib-task", "ioi", "-a", "eap", "--batch-size", "2",
             "--train-size", "4", "--test-size", "4", "--export", "mib-submission", "--no-progress", "--out", outDir],
            output,
            error);

        Assert.True(code == 0, error.ToString());
        Assert.Contains("MIB ioi rows: 8 of 8 kept, corrupted prompts from s2_io_flip_counterfactual.", error.ToString(), StringComparison.Ordinal);
        var folder = Path.Combine(outDir, "exports", "eap", "mib-submission");
        foreach (var level in new[] { "edge", "node" })
        {
            Assert.True(File.Exists(Path.Combine(folder, level, "ioi_fake-gpt2", "importances.json")), level);
            Assert.True(File.Exists(Path.Combine(folder, level, "ioi_fake-gpt2", "importances.pt")), level);
        }

        using var run = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "run.json")));
        Assert.Contains(
            run.RootElement.GetProperty("algorithms")[0].GetProperty("files").EnumerateArray().Select(f => f.GetString()!.Replace('\\', '/')),
            f => f == "exports/eap/mib-submission/node/ioi_fake-gpt2/importances.pt");
    }

    [Fact]
    public async Task Run_MibSubmissionOnAGraphWithoutMibNames_FailsBeforeScoring()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();

        var code = await AutoCircuit.Tool.Cli.CommandLine.InvokeAsync(
            ["run", "--model", "micro", "-a", "random", "--export", "mib-submission", "--no-progress", "--out", Path.Combine(_dir, "micro")],
            output,
            error);

        Assert.Equal(1, code);
        Assert.Contains("--export mib-submission: source 'B0.0' has no MIB name", error.ToString(), StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_dir, "micro", "scores")));
    }
}
