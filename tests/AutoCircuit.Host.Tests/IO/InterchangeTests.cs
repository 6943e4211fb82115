using System.Text.Json;
using AutoCircuit.Engine;
using AutoCircuit.Evaluation;
using AutoCircuit.Graph;
using AutoCircuit.Host.IO;
using AutoCircuit.Models.Micro;
using AutoCircuit.Models.Transformers;
using AutoCircuit.Scores;
using AutoCircuit.Testing;
using Xunit;

namespace AutoCircuit.Host.Tests.IO;

/// <summary>Exported MIB, auto-circuit, CSV and safetensors files re-import to identical scores.</summary>
public sealed class InterchangeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ac-interchange-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<string, bool, int?> Graphs => new()
    {
        { "micro", true, null },
        { "micro", true, 3 },
        { "micro", false, null },
        { "micro", false, 2 },
        { "gpt2-small", true, null },
        { "llama-gqa", true, null },
    };

    private static ModelGraph Graph(string model, bool factorized, int? seqLen)
    {
        var nodes = model switch
        {
            "micro" => factorized ? new MicroModel().FactorizedNodes(false) : new MicroModel().ResidualNodes(),
            "gpt2-small" => TransformerGraph.Factorized(Gpt2Small, separateQkv: true),
            "llama-gqa" => TransformerGraph.Factorized(Gpt2Small with { Family = TransformerFamily.Llama, KvHeads = 4 }, separateQkv: true),
            _ => throw new ArgumentException(model),
        };
        return ModelGraph.Build(nodes.Srcs, nodes.Dests, factorized, seqLen);
    }

    private static TransformerConfig Gpt2Small => new()
    {
        Family = TransformerFamily.Gpt2,
        DModel = 768,
        Layers = 12,
        Heads = 12,
        DMlp = 3072,
        VocabSize = 50257,
        ContextLength = 1024,
    };

    /// <summary>Arbitrary float32 bit patterns (every finite value: tiny, huge, negative, subnormal, ±0) plus ties.</summary>
    private static PruneScores ArbitraryScores(ModelGraph graph, int seed)
    {
        var rng = new Random(seed);
        var values = new float[graph.EdgeCount];
        for (var i = 0; i < values.Length; i++)
        {
            float v;
            do
            {
                v = BitConverter.Int32BitsToSingle(rng.Next() ^ (rng.Next(2) << 31));
            }
            while (!float.IsFinite(v));
            values[i] = i % 7 == 3 ? values[Math.Max(0, i - 3)] : v; // some exact ties
        }

        values[0] = -0f;
        return FlatScores.FromValues(graph, values).ToPruneScores();
    }

    private string Export(string format, PruneScores scores)
    {
        var flat = FlatScores.From(scores);
        var path = format switch
        {
            "csv" => Path.Combine(_dir, "edges.csv"),
            "mib" => Path.Combine(_dir, "importances.json"),
            "autocircuit" => Path.Combine(_dir, "prune-scores.json"),
            _ => Path.Combine(_dir, "scores.safetensors"),
        };
        switch (format)
        {
            case "csv":
                EdgeListFile.Write(path, flat);
                break;
            case "mib":
                MibCircuitFile.WriteImportances(path, flat, 768);
                break;
            case "autocircuit":
                ScoresInterchange.WriteAutoCircuitJson(path, scores);
                break;
            default:
                ScoresFile.WriteSafetensors(path, "x", scores);
                break;
        }

        return path;
    }

    [Theory]
    [MemberData(nameof(Graphs))]
    public void Export_EveryFormat_ReimportsBitIdentical(string model, bool factorized, int? seqLen)
    {
        var graph = Graph(model, factorized, seqLen);
        using var scores = ArbitraryScores(graph, seed: graph.EdgeCount);

        foreach (var format in new[] { "csv", "mib", "autocircuit", "safetensors" })
        {
            var path = Export(format, scores);

            Assert.Equal(format is "csv" ? ScoresFormat.Csv : format is "mib" ? ScoresFormat.Mib : format is "autocircuit"
                ? ScoresFormat.AutoCircuit : ScoresFormat.Safetensors, ScoresInterchange.Detect(path));
            using var back = ReadRaw(path, graph);
            foreach (var m in graph.DestModules)
            {
                TensorAssert.Equal(scores[m], back.Scores[m], $"{format} {m.ModuleName}");
            }
        }
    }

    /// <summary>Reads a file with format detection, disposing the scores afterwards.</summary>
    private static LoadedScoresHolder ReadRaw(string path, ModelGraph graph) => new(ScoresInterchange.Read(path, graph));

    private sealed class LoadedScoresHolder(LoadedScores loaded) : IDisposable
    {
        public PruneScores Scores => loaded.Scores;

        public void Dispose() => loaded.Scores.Dispose();
    }

    [Fact]
    public void Mib_Gpt2SmallGraph_UsesMibNamesAndConfig()
    {
        var graph = Graph("gpt2-small", true, null);
        using var scores = ArbitraryScores(graph, 1);
        var path = Export("mib", scores);

        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        var root = doc.RootElement;
        var cfg = root.GetProperty("cfg");
        Assert.Equal(12, cfg.GetProperty("n_layers").GetInt32());
        Assert.Equal(12, cfg.GetProperty("n_heads").GetInt32());
        Assert.False(cfg.GetProperty("parallel_attn_mlp").GetBoolean());
        Assert.Equal(768, cfg.GetProperty("d_model").GetInt32());
        var edges = root.GetProperty("edges").EnumerateObject().Select(p => p.Name).ToList();
        Assert.Equal(32491, edges.Count); // MIB's GPT-2 graph has 32,491 edges, as auto-circuit's
        Assert.Contains("input->a0.h0<q>", edges);
        Assert.Contains("a0.h3->a5.h11<v>", edges);
        Assert.Contains("m0->a1.h2<k>", edges);
        Assert.Contains("a11.h11->m11", edges);
        Assert.Contains("m11->logits", edges);
        Assert.Contains("input->logits", edges);
        Assert.DoesNotContain(edges, e => e.Contains(' ', StringComparison.Ordinal) || e.Contains("Resid", StringComparison.Ordinal));
        var nodes = root.GetProperty("nodes").EnumerateObject().Select(p => p.Name).ToList();
        Assert.Equal(["input", "a0.h0"], nodes.Take(2));
        Assert.Equal("logits", nodes[^1]);
        Assert.Equal(1 + (12 * 13) + 1, nodes.Count);
    }

    [Theory]
    [InlineData("micro", true, null, "source 'B0.0' has no MIB name")]
    [InlineData("micro", false, null, "residual graph")]
    [InlineData("gpt2-small", true, 4, "no token positions")]
    [InlineData("llama-gqa", true, null, "grouped K/V head")]
    public void Mib_GraphWithoutMibNames_ExplainsWhy(string model, bool factorized, int? seqLen, string reason)
    {
        var graph = Graph(model, factorized, seqLen);

        var has = MibCircuitFile.HasMibNames(graph, out var why);

        Assert.False(has);
        Assert.Contains(reason, why, StringComparison.Ordinal);
    }

    [Fact]
    public void Mib_FileWithMibNames_OnGraphWithoutThem_FailsNamingTheReason()
    {
        using var scores = ArbitraryScores(Graph("gpt2-small", true, null), 2);
        var path = Export("mib", scores);

        var e = Assert.Throws<AutoCircuitException>(() => ScoresInterchange.Read(path, Graph("gpt2-small", true, 4)));

        Assert.Contains("importances.json", e.Message, StringComparison.Ordinal);
        Assert.Contains("no token positions", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MibCircuits_NineNestedCircuitsOfAtMostEachPercentage_ReimportToTheSameCircuits()
    {
        var graph = Graph("gpt2-small", true, null);
        using var scores = ArbitraryScores(graph, 3);
        var flat = FlatScores.From(scores);
        var folder = Path.Combine(_dir, "ioi_gpt2");

        var files = MibCircuitFile.WriteCircuits(folder, flat, 768);

        Assert.Equal(9, files.Count);
        var sizes = new List<int>();
        foreach (var (file, pct) in files.Zip(MibCircuitFile.CircuitPercentages))
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(folder, file)));
            var inGraph = doc.RootElement.GetProperty("edges").EnumerateObject().Count(p => p.Value.GetProperty("in_graph").GetBoolean());
            Assert.Equal((int)(pct / 100 * graph.EdgeCount), inGraph);
            Assert.True(inGraph <= pct / 100 * graph.EdgeCount);
            sizes.Add(inGraph);
        }

        Assert.Equal([32, 64, 162, 324, 649, 1624, 3249, 6498, 16245], sizes);
        var loaded = ScoresInterchange.Read(folder, graph);
        using var back = loaded.Scores;
        Assert.Equal("ioi_gpt2", loaded.Algorithm);
        var backFlat = FlatScores.From(back);
        foreach (var k in sizes)
        {
            Assert.Equal(flat.TopExactly(k), backFlat.CircuitOf(k));
        }
    }

    [Fact]
    public void Csv_MissingRepeatedOrUnknownEdges_FailWithFileAndLine()
    {
        var graph = Graph("micro", true, null);
        using var scores = ArbitraryScores(graph, 4);
        var path = Export("csv", scores);
        var lines = File.ReadAllLines(path).ToList();

        File.WriteAllLines(path, lines.Take(lines.Count - 1));
        var missing = Assert.Throws<AutoCircuitException>(() => ScoresInterchange.Read(path, graph));
        File.WriteAllLines(path, [.. lines, lines[1]]);
        var repeated = Assert.Throws<AutoCircuitException>(() => ScoresInterchange.Read(path, graph));
        File.WriteAllLines(path, [.. lines.Take(2), "B1.0,B0.0,,1.5", .. lines.Skip(2)]);
        var unknown = Assert.Throws<AutoCircuitException>(() => ScoresInterchange.Read(path, graph));

        Assert.Contains("1 of the graph's 13 edges have no row", missing.Message, StringComparison.Ordinal);
        Assert.Contains($"edges.csv:{lines.Count + 1}: edge", repeated.Message, StringComparison.Ordinal);
        Assert.Contains("is listed again (first on line 2)", repeated.Message, StringComparison.Ordinal);
        Assert.Contains("edges.csv:3: 'B1.0->B0.0' is not an edge", unknown.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Csv_RowsInRankOrderWithPositions_QuotedNamesAndExtraColumnsRead()
    {
        var graph = Graph("micro", true, 2);
        var values = Enumerable.Range(0, graph.EdgeCount).Select(i => (float)((i % 5) - 2) * (i + 1)).ToArray();
        using var scores = FlatScores.FromValues(graph, values).ToPruneScores();
        var path = Export("csv", scores);

        var lines = File.ReadAllLines(path);
        // Another tool's file: an extra first column, quoted names, rows in reverse order.
        var rows = lines.Skip(1).Select((l, i) =>
        {
            var f = l.Split(',');
            return $"{i + 1},\"{f[0]}\",\"{f[1]}\",{f[2]},{f[3]}";
        }).Reverse();
        File.WriteAllLines(path, [$"rank,{lines[0]}", .. rows]);
        using var back = ScoresInterchange.Read(path, graph).Scores;

        Assert.Equal(EdgeListFile.Header, lines[0]);
        var top = FlatScores.From(scores).Order[0];
        Assert.Equal(
            $"{graph.FlatEdges[top].Src.Name},{graph.FlatEdges[top].Dest.Name},{graph.FlatEdges[top].SeqIndex},{FlatScores.Format(values[top])}",
            lines[1]);
        Assert.Equal(values, FlatScores.From(back).Values);
    }

    [Fact]
    public void Read_NonFiniteScores_AreRejected()
    {
        var graph = Graph("micro", true, null);
        var path = Path.Combine(_dir, "nan.csv");
        File.WriteAllLines(path, [EdgeListFile.Header, .. graph.FlatEdges.Select((e, i) => $"{e.Src.Name},{e.Dest.Name},,{(i == 4 ? "NaN" : "1")}")]);

        var e = Assert.Throws<AutoCircuitException>(() => ScoresInterchange.Read(path, graph));

        Assert.Contains("NaN or infinite", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Detect_JsonWithoutCfg_IsAutoCircuit()
    {
        var path = Path.Combine(_dir, "x.json");
        File.WriteAllText(path, """{"output": [1, 2, 3, 4, 5]}""");

        Assert.Equal(ScoresFormat.AutoCircuit, ScoresInterchange.Detect(path));
        Assert.Equal(ScoresFormat.Mib, ScoresInterchange.Detect(_dir));
        Assert.Throws<AutoCircuitException>(() => ScoresInterchange.Detect(Path.Combine(_dir, "missing.json")));
    }

    [Fact]
    public void ParseExports_NamesAndAll()
    {
        Assert.Equal(ScoresExports.Csv | ScoresExports.Mib, ScoresInterchange.ParseExports("csv, mib"));
        Assert.Equal(ScoresExports.None, ScoresInterchange.ParseExports("none"));
        Assert.True(ScoresInterchange.ParseExports("all").HasFlag(ScoresExports.MibCircuits));
        Assert.Throws<AutoCircuitException>(() => ScoresInterchange.ParseExports("csv,pdf"));
        Assert.Equal(ScoresFormat.Csv, ScoresInterchange.ParseFormat("CSV"));
        Assert.Throws<AutoCircuitException>(() => ScoresInterchange.ParseFormat("xml"));
    }
}
