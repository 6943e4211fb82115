using System.Text.Json;
using AutoCircuit.Evaluation;
using AutoCircuit.Graph;
using AutoCircuit.Models.Transformers;
using Xunit;

namespace AutoCircuit.Host.Tests.Evaluation;

/// <summary>
/// Circuit selection and MIB's areas against tools/reference/mib_selection_reference.py (tests/Fixtures/mib/selection.json),
/// a plain-Python transcription of EAP-IG's <c>apply_topn</c>, <c>apply_greedy</c> and <c>Graph.prune</c> and of
/// <c>evaluation.py</c>'s area loop, on random graphs of EAP-IG's layout (built here with our transformer graph of the
/// same shape) and fixed faithfulness values.
/// </summary>
public sealed class CircuitSelectionParityTests
{
    private static readonly Lazy<JsonDocument> Fixture = new(() =>
        JsonDocument.Parse(File.ReadAllText(Repository.File("tests", "Fixtures", "mib", "selection.json"))));

    public static TheoryData<int> Graphs() => Indices("graphs");

    public static TheoryData<int> AreaCases() => Indices("areas");

    [Theory]
    [MemberData(nameof(Graphs))]
    public void Prune_RandomEdgeSets_KeepsEapIgsEdges(int index)
    {
        var (g, graph, topology) = Load(index);
        foreach (var c in g.GetProperty("prune").EnumerateArray())
        {
            var inCircuit = Flags(graph, c.GetProperty("edges"));
            var left = topology.Prune(inCircuit);
            var expected = Names(c.GetProperty("pruned"));
            Assert.True(expected.SetEquals(Kept(graph, inCircuit)), $"case with {c.GetProperty("edges").GetArrayLength()} edges");
            Assert.Equal(expected.Count, left);
        }
    }

    [Theory]
    [MemberData(nameof(Graphs))]
    public void Select_TopKAndGreedy_KeepEapIgsEdges(int index)
    {
        var (g, graph, topology) = Load(index);
        var values = new float[graph.EdgeCount];
        foreach (var p in g.GetProperty("scores").EnumerateObject())
        {
            values[FlatIndex(graph, Ours(p.Name))] = (float)p.Value.GetDouble();
        }

        var scores = FlatScores.FromValues(graph, values);
        var checkedCases = 0;
        foreach (var s in g.GetProperty("selections").EnumerateArray())
        {
            var k = s.GetProperty("k").GetInt32();
            var absolute = s.GetProperty("absolute").GetBoolean();
            foreach (var (method, prune, key) in new[]
                     {
                         (SelectionMethod.TopK, false, "topn"), (SelectionMethod.TopK, true, "topn_pruned"),
                         (SelectionMethod.Greedy, false, "greedy"), (SelectionMethod.Greedy, true, "greedy_pruned"),
                     })
            {
                var selected = CircuitSelector.Select(scores, [k], new CircuitSelection(method, absolute, prune), topology).Single();
                var expected = Names(s.GetProperty(key));
                Assert.True(
                    expected.SetEquals(Kept(graph, selected.InCircuit)),
                    $"{key}, k = {k}, absolute = {absolute}: expected [{string.Join(", ", expected.Order())}], got " +
                    $"[{string.Join(", ", Kept(graph, selected.InCircuit).Order())}]");
                Assert.Equal(expected.Count, selected.Edges);
                checkedCases++;
            }
        }

        Assert.True(checkedCases >= 8);
    }

    [Theory]
    [MemberData(nameof(AreaCases))]
    public void Areas_FixtureCase_MatchEvaluationPy(int index)
    {
        var root = Fixture.Value.RootElement;
        var c = root.GetProperty("areas")[index];
        var fractions = root.GetProperty("percentages").EnumerateArray().Select(x => x.GetDouble()).ToArray();
        var faithfulness = c.GetProperty("faithfulness").EnumerateArray().Select(x => x.GetDouble()).ToArray();
        var (cpr, cmd) = MibProtocol.Areas(fractions, faithfulness, c.GetProperty("log_scale").GetBoolean());

        // The same float64 operations in the same order: equal to the last bit (12 digits stated for safety).
        Assert.Equal(c.GetProperty("cpr").GetDouble(), cpr, 12);
        Assert.Equal(c.GetProperty("cmd").GetDouble(), cmd, 12);
    }

    [Fact]
    public void Fractions_AreMibs()
    {
        var root = Fixture.Value.RootElement;
        Assert.Equal(root.GetProperty("percentages").EnumerateArray().Select(x => x.GetDouble()), MibProtocol.Fractions);
    }

    private static (JsonElement G, ModelGraph Graph, CircuitTopology Topology) Load(int index)
    {
        var g = Fixture.Value.RootElement.GetProperty("graphs")[index];
        var heads = g.GetProperty("n_heads").GetInt32();
        var config = new TransformerConfig
        {
            Family = TransformerFamily.Gpt2,
            DModel = 4 * heads,
            Layers = g.GetProperty("n_layers").GetInt32(),
            Heads = heads,
            DMlp = 16,
            VocabSize = 10,
            ContextLength = 8,
            ParallelAttnMlp = g.GetProperty("parallel_attn_mlp").GetBoolean(),
        };
        var nodes = TransformerGraph.Factorized(config, separateQkv: true);
        var graph = ModelGraph.Build(nodes.Srcs, nodes.Dests, factorized: true);
        Assert.Equal(g.GetProperty("edge_count").GetInt32(), graph.EdgeCount);
        return (g, graph, CircuitTopology.Of(graph));
    }

    /// <summary>EAP-IG's edge name (<c>a0.h1->a1.h0&lt;q&gt;</c>) as ours (<c>A0.1->A1.0.Q</c>).</summary>
    private static string Ours(string eapIg)
    {
        var parts = eapIg.Split("->");
        var child = parts[1];
        string? letter = null;
        if (child.EndsWith('>'))
        {
            letter = child[^2..^1].ToUpperInvariant();
            child = child[..^3];
        }

        var dest = Node(child);
        return $"{Node(parts[0])}->{(letter is null ? dest : $"{dest}.{letter}")}";
    }

    private static string Node(string name) => name switch
    {
        "input" => "Resid Start",
        "logits" => "Resid End",
        _ when name[0] == 'm' => $"MLP {name[1..]}",
        _ => $"A{name[1..].Replace(".h", ".", StringComparison.Ordinal)}",
    };

    private static int FlatIndex(ModelGraph graph, string name)
    {
        var edge = graph.FindEdge(name) ?? throw new InvalidOperationException($"No edge {name} in our graph.");
        for (var i = 0; i < graph.FlatEdges.Count; i++)
        {
            if (ReferenceEquals(graph.FlatEdges[i], edge))
            {
                return i;
            }
        }

        throw new InvalidOperationException($"{name} is not in flat order.");
    }

    private static bool[] Flags(ModelGraph graph, JsonElement names)
    {
        var flags = new bool[graph.EdgeCount];
        foreach (var n in names.EnumerateArray())
        {
            flags[FlatIndex(graph, Ours(n.GetString()!))] = true;
        }

        return flags;
    }

    private static HashSet<string> Names(JsonElement names) => names.EnumerateArray().Select(n => Ours(n.GetString()!)).ToHashSet();

    private static HashSet<string> Kept(ModelGraph graph, bool[] flags) =>
        Enumerable.Range(0, flags.Length).Where(i => flags[i]).Select(i => graph.FlatEdges[i].Name).ToHashSet();

    private static TheoryData<int> Indices(string key)
    {
        var data = new TheoryData<int>();
        var n = JsonDocument.Parse(File.ReadAllText(Repository.File("tests", "Fixtures", "mib", "selection.json")))
            .RootElement.GetProperty(key).GetArrayLength();
        for (var i = 0; i < n; i++)
        {
            data.Add(i);
        }

        return data;
    }
}
