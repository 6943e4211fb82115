using System.Text.Json;
using AutoCircuit.Engine.Hooks;
using AutoCircuit.Engine.Patching;
using AutoCircuit.Graph;
using AutoCircuit.Models.Transformers;
using AutoCircuit.Testing;
using Xunit;

namespace AutoCircuit.Host.Tests.Models;

/// <summary>
/// Transformer graphs against auto-circuit's own <c>graph_edges</c> on TransformerLens configs
/// (tests/Fixtures/auto-circuit/transformer_graphs.json, exported by
/// tools/reference/export_transformer_graph_fixtures.py), built from configs alone (no weights).
/// </summary>
public sealed class TransformerGraphTests
{
    private static TransformerConfig Config(JsonElement cfg) => new()
    {
        Family = TransformerFamily.Gpt2,
        DModel = 4 * cfg.GetProperty("n_heads").GetInt32(),
        Layers = cfg.GetProperty("n_layers").GetInt32(),
        Heads = cfg.GetProperty("n_heads").GetInt32(),
        DMlp = 16,
        VocabSize = 10,
        ContextLength = 8,
        AttnOnly = cfg.TryGetProperty("attn_only", out var a) && a.GetBoolean(),
        ParallelAttnMlp = cfg.TryGetProperty("parallel", out var p) && p.GetBoolean(),
    };

    private static readonly string[] Configs = ["small", "attn-only", "parallel", "gpt2-small"];

    private static readonly string[] Graphs = ["factorized_separate_qkv", "factorized_attn_in", "residual"];

    /// <summary>The (config, graph) pairs of the fixture for which auto-circuit built a graph, or for which it refused.</summary>
    private static List<(string Config, string Graph)> FixtureCases(bool refused)
    {
        using var fixture = TestFixtures.Load("auto-circuit/transformer_graphs.json");
        return Configs.SelectMany(c => Graphs.Select(g => (Config: c, Graph: g)))
            .Where(x => fixture.RootElement.GetProperty(x.Config).GetProperty(x.Graph).TryGetProperty("error", out _) == refused)
            .ToList();
    }

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var (config, graph) in FixtureCases(refused: false))
        {
            data.Add(config, graph);
        }

        return data;
    }

    [Fact]
    public void Fixture_TheOnlyGraphAutoCircuitRefuses_IsTheParallelResidualOne()
    {
        // Left out of Graph_FromConfig_MatchesAutoCircuit: auto-circuit asserts not parallel_attn_mlp for the residual
        // graph. We build it (Residual_ParallelAttnMlp_IsBuilt); every other pair is compared.
        Assert.Equal([("parallel", "residual")], FixtureCases(refused: true));
        Assert.Equal(Configs.Length * Graphs.Length - 1, Cases().Count());
    }

    private static GraphNodes Nodes(TransformerConfig config, string graph) => graph switch
    {
        "factorized_separate_qkv" => TransformerGraph.Factorized(config, separateQkv: true),
        "factorized_attn_in" => TransformerGraph.Factorized(config, separateQkv: false),
        _ => TransformerGraph.Residual(config),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Graph_FromConfig_MatchesAutoCircuit(string configName, string graph)
    {
        using var fixture = TestFixtures.Load("auto-circuit/transformer_graphs.json");
        var entry = fixture.RootElement.GetProperty(configName);
        var config = Config(entry.GetProperty("config"));
        var expected = entry.GetProperty(graph);

        var nodes = Nodes(config, graph);
        var factorized = graph != "residual";
        var g = ModelGraph.Build(nodes.Srcs, nodes.Dests, factorized);
        var g3 = ModelGraph.Build(nodes.Srcs, nodes.Dests, factorized, seqLen: 3);

        Assert.Equal(expected.GetProperty("n_srcs").GetInt32(), nodes.Srcs.Count);
        Assert.Equal(expected.GetProperty("n_dests").GetInt32(), nodes.Dests.Count);
        Assert.Equal(expected.GetProperty("n_edges").GetInt32(), g.EdgeCount);
        Assert.Equal(expected.GetProperty("n_edges_seq3").GetInt32(), g3.EdgeCount);
        if (expected.TryGetProperty("srcs", out var srcs))
        {
            var actualSrcs = nodes.Srcs.OrderBy(s => s.SrcIndex)
                .Select(s => $"{s.Name}|{s.ModuleName}|{s.Layer}|{s.SrcIndex}|{s.HeadIndex}|{s.HeadDim}");
            var expectedSrcs = srcs.EnumerateArray().Select(s =>
                $"{s.GetProperty("name").GetString()}|{s.GetProperty("module").GetString()}|{s.GetProperty("layer").GetInt32()}|" +
                $"{s.GetProperty("src_idx").GetInt32()}|{Int(s.GetProperty("head_idx"))}|{Int(s.GetProperty("head_dim"))}");
            Assert.Equal(expectedSrcs, actualSrcs);

            var actualDests = nodes.Dests.OrderBy(d => d.Layer).ThenBy(d => d.ModuleName, StringComparer.Ordinal).ThenBy(d => d.HeadIndex ?? 0)
                .Select(d => $"{d.Name}|{d.ModuleName}|{d.Layer}|{d.HeadIndex}|{d.HeadDim}|{d.MinSrcIndex}");
            var expectedDests = expected.GetProperty("dests").EnumerateArray().Select(d =>
                $"{d.GetProperty("name").GetString()}|{d.GetProperty("module").GetString()}|{d.GetProperty("layer").GetInt32()}|" +
                $"{Int(d.GetProperty("head_idx"))}|{Int(d.GetProperty("head_dim"))}|{d.GetProperty("min_src_idx").GetInt32()}");
            Assert.Equal(expectedDests, actualDests);
        }
    }

    private static string Int(JsonElement e) => e.ValueKind == JsonValueKind.Null ? string.Empty : e.GetInt32().ToString(System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public void Factorized_Gpt2SmallShape_Has32491Edges()
    {
        var config = new TransformerConfig
        {
            Family = TransformerFamily.Gpt2,
            DModel = 768,
            Layers = 12,
            Heads = 12,
            DMlp = 3072,
            VocabSize = 50257,
            ContextLength = 1024,
        };

        var nodes = TransformerGraph.Factorized(config, separateQkv: true);
        var graph = ModelGraph.Build(nodes.Srcs, nodes.Dests, factorized: true);

        Assert.Equal(32491, graph.EdgeCount);
        Assert.Equal(157, graph.Srcs.Count);
        Assert.Equal(445, graph.Dests.Count);
    }

    [Theory]
    [InlineData(2, 4, 2, false)]
    [InlineData(3, 6, 3, false)]
    [InlineData(3, 8, 2, true)]
    [InlineData(2, 4, 1, false)]
    public void Factorized_GroupedQueryAttention_KvDestinationsPerKvHead(int layers, int heads, int kvHeads, bool attnOnly)
    {
        var config = new TransformerConfig
        {
            Family = TransformerFamily.Llama,
            DModel = 4 * heads,
            Layers = layers,
            Heads = heads,
            KvHeads = kvHeads,
            DMlp = 8,
            VocabSize = 10,
            ContextLength = 8,
            AttnOnly = attnOnly,
        };

        var nodes = TransformerGraph.Factorized(config, separateQkv: true);
        var graph = ModelGraph.Build(nodes.Srcs, nodes.Dests, factorized: true);

        // Sources: Resid Start, then per block H heads (+ MLP). Destinations per block: H queries,
        // G keys, G values (+ MLP one layer later), then Resid End; each reads every earlier source.
        var mlp = attnOnly ? 0 : 1;
        long expected = 0;
        for (var l = 0; l < layers; l++)
        {
            var before = 1 + (l * (heads + mlp));
            expected += (heads + (2 * kvHeads)) * before;
            expected += mlp * (before + heads);
        }

        expected += 1 + (layers * (heads + mlp));
        Assert.Equal(expected, graph.EdgeCount);
        var k = graph.DestModule(HookNames.KInput(1));
        Assert.Equal(kvHeads, k.HeadCount);
        Assert.Equal(1 + (heads + mlp), k.InSrcCount);
        Assert.Equal(heads, graph.DestModule(HookNames.QInput(1)).HeadCount);
        Assert.Equal(
            Enumerable.Range(0, kvHeads).Select(g => $"A1.KV{g}.V"),
            graph.DestModule(HookNames.VInput(1)).Nodes.Select(n => n.Name));
    }

    [Fact]
    public void Factorized_WithoutGrouping_KeepsAutoCircuitKvNames()
    {
        var config = new TransformerConfig { Family = TransformerFamily.Llama, DModel = 8, Layers = 1, Heads = 2, DMlp = 8, VocabSize = 10, ContextLength = 8 };

        var names = TransformerGraph.Factorized(config, separateQkv: true).Dests.Select(d => d.Name);

        Assert.Equal(["A0.0.Q", "A0.1.Q", "A0.0.K", "A0.1.K", "A0.0.V", "A0.1.V", "MLP 0", "Resid End"], names);
    }

    [Fact]
    public void Residual_ParallelAttnMlp_IsBuilt()
    {
        // auto-circuit asserts not parallel_attn_mlp here (the fixture records the AssertionError);
        // we build it: Resid Post reads the block input, every head and the MLP, all in one layer.
        var config = new TransformerConfig
        {
            Family = TransformerFamily.Gpt2,
            DModel = 8,
            Layers = 2,
            Heads = 2,
            DMlp = 8,
            VocabSize = 10,
            ContextLength = 8,
            ParallelAttnMlp = true,
        };

        var nodes = TransformerGraph.Residual(config);
        var graph = ModelGraph.Build(nodes.Srcs, nodes.Dests, factorized: false);

        Assert.Equal(["Resid Start", "A0.0", "A0.1", "MLP 0", "Resid Post 0", "A1.0", "A1.1", "MLP 1"], graph.Srcs.Select(s => s.Name));
        Assert.Equal(["Resid Post 0", "Resid End"], graph.Dests.Select(d => d.Name));
        Assert.Equal(8, graph.EdgeCount);
        Assert.Equal(4, graph.DestModule(HookNames.ResidPost(1)).InSrcStart);
    }

    [Fact]
    public void PatchableModel_GroupedTransformer_MaskShapesFollowKvHeads()
    {
        var config = new TransformerConfig
        {
            Family = TransformerFamily.Llama,
            DModel = 16,
            Layers = 2,
            Heads = 4,
            KvHeads = 2,
            DMlp = 8,
            VocabSize = 10,
            ContextLength = 8,
        };
        using var transformer = new Transformer(config);

        using var model = PatchableModel.Create(transformer, new GraphOptions(SeqLen: 3));

        Assert.Equal([3L, 4, 1], model.Masks[HookNames.QInput(0)].shape);
        Assert.Equal([3L, 2, 1], model.Masks[HookNames.KInput(0)].shape);
        Assert.Equal([3L, 2, 6], model.Masks[HookNames.VInput(1)].shape);
        Assert.Equal([3L, 11], model.Masks[HookNames.ResidPost(1)].shape);
    }
}
