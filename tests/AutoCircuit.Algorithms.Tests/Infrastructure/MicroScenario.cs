using System.Globalization;
using System.Text.Json;
using AutoCircuit.Engine.Patching;
using AutoCircuit.Graph;
using AutoCircuit.Host.Algorithms;
using AutoCircuit.Host.Data;
using AutoCircuit.Models.Micro;
using AutoCircuit.Scores;
using AutoCircuit.Testing;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace AutoCircuit.Algorithms.Tests;

/// <summary>
/// One scenario of an algorithm fixture exported by tools/reference/export_algorithm_fixtures.py: the
/// micro model with its graph, the train batches of the scenario's dataset and split, and auto-circuit's scores.
/// </summary>
public sealed class MicroScenario : IDisposable
{
    private static readonly Lazy<AlgorithmCatalog> Catalog = new(AlgorithmCatalog.BuiltIn);

    private MicroScenario(
        JsonDocument document, JsonElement scenario, TaskData data, MicroModel micro, PatchableModel model)
    {
        Document = document;
        Element = scenario;
        Data = data;
        Micro = micro;
        Model = model;
    }

    /// <summary>The scenario's JSON.</summary>
    public JsonElement Element { get; }

    /// <summary>The train/test split.</summary>
    public TaskData Data { get; }

    /// <summary>The unwrapped micro model.</summary>
    public MicroModel Micro { get; }

    /// <summary>The patchable micro model.</summary>
    public PatchableModel Model { get; }

    /// <summary>The graph.</summary>
    public ModelGraph Graph => Model.Graph;

    private JsonDocument Document { get; }

    /// <summary>Indices of a fixture's scenarios, for <c>MemberData</c>.</summary>
    public static TheoryData<int> Indices(string fixture)
    {
        using var doc = TestFixtures.Load(fixture);
        var data = new TheoryData<int>();
        for (var i = 0; i < doc.RootElement.GetProperty("scenarios").GetArrayLength(); i++)
        {
            data.Add(i);
        }

        return data;
    }

    /// <summary>
    /// Loads scenario <paramref name="index"/> of <paramref name="fixture"/> and builds its model and data on
    /// <paramref name="device"/> (default CPU; deterministic scenarios pass <see cref="TestDevice.Current"/>).
    /// </summary>
    public static MicroScenario Load(string fixture, int index, Device? device = null)
    {
        device ??= torch.CPU;
        var doc = TestFixtures.Load(fixture);
        var s = doc.RootElement.GetProperty("scenarios")[index];
        var datasetJson = doc.RootElement.GetProperty("datasets").GetProperty(s.GetProperty("dataset").GetString()!);
        var document = DatasetDocument.Parse(JsonSerializer.SerializeToUtf8Bytes(datasetJson), "fixture");
        var seqEl = s.GetProperty("seq_len");
        int? seqLen = seqEl.ValueKind == JsonValueKind.Null ? null : seqEl.GetInt32();
        var options = new DataOptions(
            s.GetProperty("batch_size").GetInt32(),
            s.GetProperty("train_size").GetInt32(),
            s.GetProperty("test_size").GetInt32(),
            s.GetProperty("shuffle").GetBoolean(),
            s.GetProperty("seed").GetInt64(),
            seqLen is not null);
        var data = TaskData.Build(document, options, new NumericPromptEncoder(2), 2, device);
        var micro = new MicroModel();
        micro.MoveTo(device);
        var graph = new GraphOptions(s.GetProperty("factorized").GetBoolean(), data.SeqLen);
        var model = PatchableModel.Create(micro, graph);
        return new MicroScenario(doc, s, data, micro, model);
    }

    /// <summary>A micro model on the varied fixture dataset without a fixture scenario.</summary>
    public static MicroScenario Varied(bool factorized, bool tokenPositions, int batchSize = 2, int trainSize = 6) =>
        Custom("auto-circuit/micro_mask_gradient.json", "varied-20", factorized, tokenPositions, batchSize, trainSize);

    /// <summary>A micro model on a named dataset of a fixture file.</summary>
    public static MicroScenario Custom(
        string fixture, string dataset, bool factorized, bool tokenPositions, int batchSize, int trainSize)
    {
        var doc = TestFixtures.Load(fixture);
        var datasetJson = doc.RootElement.GetProperty("datasets").GetProperty(dataset);
        var document = DatasetDocument.Parse(JsonSerializer.SerializeToUtf8Bytes(datasetJson), "fixture");
        var options = new DataOptions(batchSize, trainSize, 4, true, 42, tokenPositions);
        var data = TaskData.Build(document, options, new NumericPromptEncoder(2), 2, torch.CPU);
        var micro = new MicroModel();
        var model = PatchableModel.Create(micro, new GraphOptions(factorized, data.SeqLen));
        return new MicroScenario(doc, doc.RootElement, data, micro, model);
    }

    /// <summary>The scenario's options (kebab-case name → spec text).</summary>
    public Dictionary<string, string> Options =>
        Element.GetProperty("options").EnumerateObject()
            .ToDictionary(p => p.Name, p => p.Value.GetString()!, StringComparer.Ordinal);

    /// <summary>The torch seed auto-circuit was run with.</summary>
    public long TorchSeed => Element.GetProperty("torch_seed").GetInt64();

    /// <summary>A context over the train batches.</summary>
    public PruneContext Context(IReadOnlySet<Edge>? knownEdges = null, Action<string>? log = null) =>
        new() { Model = Model, TrainBatches = Data.Train, KnownEdges = knownEdges, Log = log ?? (_ => { }) };

    /// <summary>Binds options through the generated registry, as the command line does.</summary>
    public static IPruneAlgorithm Create(string key, IReadOnlyDictionary<string, string> options)
    {
        Assert.True(Catalog.Value.TryGet(key, out var entry), $"algorithm '{key}' is not registered");
        return entry.Descriptor.Create(options).Algorithm;
    }

    /// <summary>auto-circuit's scores of this scenario (module → float64 tensor; "inf" → +inf).</summary>
    public Dictionary<string, Tensor> ExpectedScores() =>
        Element.GetProperty("scores").EnumerateObject()
            .ToDictionary(p => p.Name, p => ToTensor(p.Value), StringComparer.Ordinal);

    /// <summary>Edges by (name, position) pairs as the fixture lists them (position -1 or null = none).</summary>
    public HashSet<Edge> EdgesOf(JsonElement list)
    {
        var edges = new HashSet<Edge>();
        foreach (var item in list.EnumerateArray())
        {
            var name = item[0].GetString()!;
            int? seq = item[1].ValueKind == JsonValueKind.Null || item[1].GetInt32() < 0 ? null : item[1].GetInt32();
            edges.Add(Graph.FindEdge(name, seq)
                ?? throw new InvalidOperationException($"fixture edge {name}@{seq} is not in the graph"));
        }

        return edges;
    }

    /// <summary>Asserts every module's scores equal auto-circuit's within <c>atol + rtol·|expected|</c>.</summary>
    public void AssertScores(PruneScores actual, double atol, double rtol)
    {
        var expected = ExpectedScores();
        try
        {
            Assert.Equal(Graph.DestModules.Select(m => m.ModuleName).Order(), expected.Keys.Order());
            foreach (var (module, e) in expected)
            {
                TensorAssert.AllClose(e, actual[module], atol, rtol, module);
            }
        }
        finally
        {
            foreach (var t in expected.Values)
            {
                t.Dispose();
            }
        }
    }

    /// <summary>A nested JSON array of numbers (or "inf") as a float64 tensor.</summary>
    public static Tensor ToTensor(JsonElement element)
    {
        var values = new List<double>();
        var shape = new List<long>();
        Walk(element, 0, shape, values);
        return torch.tensor(values.ToArray(), [.. shape], dtype: ScalarType.Float64);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Model.Dispose();
        Micro.Dispose();
        Data.Dispose();
        Document.Dispose();
    }

    private static void Walk(JsonElement el, int depth, List<long> shape, List<double> values)
    {
        if (el.ValueKind == JsonValueKind.Number)
        {
            values.Add(el.GetDouble());
            return;
        }

        if (el.ValueKind == JsonValueKind.String)
        {
            var text = el.GetString()!;
            values.Add(text == "inf" ? double.PositiveInfinity : double.Parse(text, CultureInfo.InvariantCulture));
            return;
        }

        if (depth == shape.Count)
        {
            shape.Add(el.GetArrayLength());
        }

        foreach (var c in el.EnumerateArray())
        {
            Walk(c, depth + 1, shape, values);
        }
    }
}
