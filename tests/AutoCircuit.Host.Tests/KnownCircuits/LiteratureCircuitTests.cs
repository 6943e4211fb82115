using System.Text.Json;
using AutoCircuit.Evaluation;
using AutoCircuit.Graph;
using AutoCircuit.Host.IO;
using AutoCircuit.Host.Tasks;
using AutoCircuit.Host.Tasks.KnownCircuits;
using AutoCircuit.Host.Tests.Models;
using AutoCircuit.Models.Checkpoints;
using AutoCircuit.Models.Transformers;
using AutoCircuit.Tool.Cli;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace AutoCircuit.Host.Tests.KnownCircuits;

/// <summary>
/// The circuits from the literature shipped with the ioi and greater-than tasks: their heads are the papers', their
/// edges are what auto-circuit's definitions give on GPT-2 small's graph, and ground-truth scores exactly them on a
/// GPT-2-small-shaped model with random weights (12 layers of 12 heads, small width; nothing downloaded).
/// </summary>
[Collection(nameof(SeededCollection))]
public sealed class LiteratureCircuitTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ac-known-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>GPT-2 small's shape (12 × 12, an MLP per layer) at width 24: the graph is GPT-2 small's.</summary>
    private static TransformerConfig Gpt2SmallShaped(int vocab = 50257) => new()
    {
        Family = TransformerFamily.Gpt2,
        DModel = 24,
        Layers = 12,
        Heads = 12,
        DMlp = 48,
        VocabSize = vocab,
        ContextLength = 64,
    };

    private static ModelGraph Graph(TransformerConfig config)
    {
        var nodes = TransformerGraph.Factorized(config, separateQkv: true);
        return ModelGraph.Build(nodes.Srcs, nodes.Dests, factorized: true);
    }

    private static LiteratureCircuit Circuit(string key) => key == "ioi" ? LiteratureCircuits.Ioi : LiteratureCircuits.GreaterThan;

    /// <summary>A Hugging Face GPT-2 folder of GPT-2 small's shape with seeded random weights and GPT-2's vocabulary size,
    /// so the built-in GPT-2 tokenizer makes the task's prompts.</summary>
    private string WriteGpt2SmallShaped()
    {
        var folder = Path.Combine(_dir, "gpt2-small-shaped");
        Directory.CreateDirectory(folder);
        var c = Gpt2SmallShaped();
        File.WriteAllText(Path.Combine(folder, "config.json"), JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["model_type"] = "gpt2",
            ["n_layer"] = c.Layers,
            ["n_head"] = c.Heads,
            ["n_embd"] = c.DModel,
            ["n_inner"] = c.DMlp,
            ["vocab_size"] = c.VocabSize,
            ["n_positions"] = c.ContextLength,
            ["activation_function"] = "gelu_new",
            ["layer_norm_epsilon"] = 1e-5,
            ["bos_token_id"] = 50256,
            ["eos_token_id"] = 50256,
        }));
        using var scope = torch.NewDisposeScope();
        var generator = new torch.Generator(7);
        Tensor R(params long[] shape) => torch.randn(shape, generator: generator) * 0.2f;
        long d = c.DModel, m = c.DMlp;
        var w = new List<KeyValuePair<string, Tensor>>
        {
            new("wte.weight", R(c.VocabSize, d)), new("wpe.weight", R(c.ContextLength, d)),
            new("ln_f.weight", torch.ones(d)), new("ln_f.bias", torch.zeros(d)),
        };
        for (var l = 0; l < c.Layers; l++)
        {
            var p = $"h.{l}.";
            w.AddRange(
            [
                new(p + "ln_1.weight", torch.ones(d)), new(p + "ln_1.bias", torch.zeros(d)),
                new(p + "attn.c_attn.weight", R(d, 3 * d)), new(p + "attn.c_attn.bias", R(3 * d)),
                new(p + "attn.c_proj.weight", R(d, d)), new(p + "attn.c_proj.bias", R(d)),
                new(p + "ln_2.weight", torch.ones(d)), new(p + "ln_2.bias", torch.zeros(d)),
                new(p + "mlp.c_fc.weight", R(d, m)), new(p + "mlp.c_fc.bias", R(m)),
                new(p + "mlp.c_proj.weight", R(m, d)), new(p + "mlp.c_proj.bias", R(d)),
            ]);
        }

        Safetensors.Write(Path.Combine(folder, "model.safetensors"), w);
        return folder;
    }

    [Fact]
    public void Gpt2SmallGraph_HasAutoCircuitsEdgeCount() =>
        Assert.Equal(32491, Graph(Gpt2SmallShaped()).EdgeCount);

    [Theory]
    [InlineData("ioi", 771)]
    [InlineData("greater-than", 235)]
    public void Derive_OnGpt2SmallsGraph_GivesExactlyTheShippedEdges(string key, int count)
    {
        var circuit = Circuit(key);
        var graph = Graph(Gpt2SmallShaped());

        var derived = circuit.Derive(graph);

        Assert.Equal(key, circuit.Key);
        Assert.Equal(count, circuit.Edges.Count);
        Assert.Equal(count, circuit.Edges.Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(circuit.Edges.Order(StringComparer.Ordinal), derived.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Ioi_GroupsAreTheHeadsOfWangEtAl()
    {
        var groups = LiteratureCircuits.Ioi.Groups;

        Assert.Equal(["A9.9", "A10.0", "A9.6"], groups["name mover"]);
        Assert.Equal(["A10.7", "A11.10"], groups["negative name mover"]);
        Assert.Equal(["A7.3", "A7.9", "A8.6", "A8.10"], groups["s-inhibition"]);
        Assert.Equal(["A5.5", "A5.8", "A5.9", "A6.9"], groups["induction"]);
        Assert.Equal(["A0.1", "A0.10", "A3.0"], groups["duplicate token"]);
        Assert.Equal(["A2.2", "A4.11"], groups["previous token"]);
        Assert.Equal(["A10.10", "A10.6", "A10.2", "A10.1", "A11.2", "A9.7", "A9.0", "A11.9"], groups["backup name mover"]);
        Assert.Equal(26, groups.Values.Sum(g => g.Count));
    }

    [Fact]
    public void GreaterThan_GroupsAreAcdcsVersionOfHannaEtAl()
    {
        var groups = LiteratureCircuits.GreaterThan.Groups;

        Assert.Equal(["A5.5", "A6.1", "A6.9", "A7.10", "A8.11", "A9.1"], groups["mid attns"]);
        Assert.Equal(["MLP 8", "MLP 9", "MLP 10", "MLP 11"], groups["late mlps"]);
        Assert.Equal(["MLP 0", "MLP 1", "MLP 2", "MLP 3"], groups["early mlps"]);
        Assert.Equal(["A0.1"], groups["attn 0.1"]);
        Assert.Equal(["A0.3", "A0.5"], groups["attn 0.3 0.5"]);
        Assert.Contains(LiteratureCircuits.GreaterThan.Notes, n => n.Contains("5.1, 5.5, 6.9, 7.10, 8.8, 8.11, 9.1", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("ioi", "arXiv:2211.00593", "redwoodresearch/Easy-Transformer", "ioi_official.py")]
    [InlineData("greater-than", "arXiv:2305.00586", "hannamw/gpt2-greater-than", "greaterthan_official.py")]
    public void Files_CiteThePaperTheAuthorsCodeAndAutoCircuit(string key, string paper, string code, string autoCircuit)
    {
        var sources = string.Join("\n", Circuit(key).Sources);

        Assert.Contains(paper, sources, StringComparison.Ordinal);
        Assert.Contains(code, sources, StringComparison.Ordinal);
        Assert.Contains(autoCircuit, sources, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ioi", new[] { "A9.9->Resid End", "Resid Start->A9.9.K", "A7.3->A9.9.Q", "MLP 8->A9.9.Q", "A2.2->A5.5.V", "MLP 11->Resid End" },
        new[] { "A9.9->A10.0.Q", "A0.1->A9.9.K", "Resid Start->A9.9.Q", "A5.5->A9.9.Q" })]
    [InlineData("greater-than", new[] { "MLP 3->A5.5.K", "MLP 4->A5.5.Q", "A9.1->MLP 9", "A0.1->MLP 0", "MLP 0->MLP 8", "A9.1->Resid End" },
        new[] { "MLP 4->A5.5.K", "A5.5->Resid Start", "A5.1->MLP 8", "A8.8->Resid End", "MLP 9->A9.1.Q" })]
    public void Derive_FollowsTheRule(string key, string[] inside, string[] outside)
    {
        var edges = Circuit(key).Edges.ToHashSet(StringComparer.Ordinal);

        Assert.All(inside, e => Assert.Contains(e, edges));
        Assert.All(outside, e => Assert.DoesNotContain(e, edges));
    }

    [Fact]
    public void ShippedFile_IsACircuitFileForDashDashCircuit()
    {
        var path = Path.Combine(_dir, "ioi.json");
        using (var stream = typeof(LiteratureCircuits).Assembly.GetManifestResourceStream("AutoCircuit.Host.Tasks.KnownCircuits.ioi-gpt2-small.json")!)
        using (var file = File.Create(path))
        {
            stream.CopyTo(file);
        }

        var edges = KnownCircuitFile.Read(path, Graph(Gpt2SmallShaped()));

        Assert.Equal(771, edges.Count);
    }

    [Fact]
    public void TaskKnownCircuit_OnlyForGpt2SmallsShape()
    {
        using var small = new LoadedModel(new Transformer(Gpt2SmallShaped(vocab: 100)), "small", new AutoCircuit.Host.Data.NumericPromptEncoder(null), null);
        using var other = ModelCatalog.Load(ModelFixtures.Folder("gpt2-random"), CPU);
        var llamaShape = Gpt2SmallShaped(vocab: 100) with { Family = TransformerFamily.Llama };
        using var llama = new LoadedModel(new Transformer(llamaShape), "llama", new AutoCircuit.Host.Data.NumericPromptEncoder(null), null);

        Assert.Equal(771, IoiTask.Definition.KnownCircuit!(small)!.Count);
        Assert.Equal(235, GreaterThanTask.Definition.KnownCircuit!(small)!.Count);
        Assert.Null(IoiTask.Definition.KnownCircuit(other));
        Assert.Null(IoiTask.Definition.KnownCircuit(llama));
        Assert.Null(IoiTask.TokenDefinition.KnownCircuit);
    }

    [Theory]
    [InlineData("ioi")]
    [InlineData("greater-than")]
    public async Task Run_TaskOnGpt2SmallShapedModel_GroundTruthScoresExactlyTheKnownEdges(string task)
    {
        var model = WriteGpt2SmallShaped();
        var outDir = Path.Combine(_dir, "run-" + task);
        using var output = new StringWriter();
        using var error = new StringWriter();

        var code = await CommandLine.InvokeAsync(
            ["run", "--model", model, "--task", task, "-a", "ground-truth", "--batch-size", "4", "--train-size", "4", "--test-size", "4",
             "--edges", "0,10", "--patch-type", "edge", "--device", "cpu", "--out", outDir],
            output,
            error);

        Assert.True(code == 0, error.ToString());
        var graph = Graph(Gpt2SmallShaped());
        var loaded = ScoresFile.ReadJson(Path.Combine(outDir, "scores", "ground-truth.json"), graph);
        using var scores = loaded.Scores;
        var flat = FlatScores.From(scores);
        var ones = Enumerable.Range(0, flat.Values.Count).Where(i => flat.Values[i] == 1f).Select(i => graph.FlatEdges[i].Name).ToHashSet(StringComparer.Ordinal);
        Assert.Equal(Circuit(task).Edges.Order(StringComparer.Ordinal), ones.Order(StringComparer.Ordinal));
        Assert.All(flat.Values, v => Assert.True(v is 0f or 1f));
        Assert.Contains($"{Circuit(task).Edges.Count} edges (task {task})", File.ReadAllText(Path.Combine(outDir, "report.html")), StringComparison.Ordinal);
    }
}
