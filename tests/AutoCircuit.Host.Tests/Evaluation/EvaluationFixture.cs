using System.Text.Json;
using AutoCircuit.Engine.Patching;
using AutoCircuit.Evaluation;
using AutoCircuit.Graph;
using AutoCircuit.Host.Data;
using AutoCircuit.Models.Micro;
using AutoCircuit.Scores;
using AutoCircuit.Testing;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace AutoCircuit.Host.Tests.Evaluation;

/// <summary>
/// Reads tests/Fixtures/auto-circuit/micro_evaluation.json (made by tools/reference/export_evaluation_fixtures.py from
/// auto-circuit's own edge_counts_util, run_circuits, prune metrics, measurements_auc and measure_task_roc).
/// </summary>
internal static class EvaluationFixture
{
    public const string File = "auto-circuit/micro_evaluation.json";

    public static JsonDocument Load() => TestFixtures.Load(File);

    public static TheoryData<int> Indices(string section)
    {
        using var doc = Load();
        var data = new TheoryData<int>();
        for (var i = 0; i < doc.RootElement.GetProperty(section).GetArrayLength(); i++)
        {
            data.Add(i);
        }

        return data;
    }

    public static int? SeqLen(JsonElement s) =>
        s.GetProperty("seq_len").ValueKind == JsonValueKind.Null ? null : s.GetProperty("seq_len").GetInt32();

    /// <summary>The micro model with the scenario's graph; the caller disposes both.</summary>
    public static (MicroModel Micro, PatchableModel Model) Model(JsonElement s)
    {
        var micro = new MicroModel();
        var model = PatchableModel.Create(micro, new GraphOptions(s.GetProperty("factorized").GetBoolean(), SeqLen(s)));
        return (micro, model);
    }

    /// <summary>The scenario's dataset, split and batched as auto-circuit's loader did.</summary>
    public static TaskData Data(JsonElement s)
    {
        var document = DatasetDocument.Parse(JsonSerializer.SerializeToUtf8Bytes(s.GetProperty("dataset")), "fixture");
        var options = new DataOptions(
            s.GetProperty("batch_size").GetInt32(),
            s.GetProperty("train_size").GetInt32(),
            s.GetProperty("test_size").GetInt32(),
            s.GetProperty("shuffle").GetBoolean(),
            s.GetProperty("seed").GetInt64(),
            SeqLen(s) is not null);
        return TaskData.Build(document, options, new NumericPromptEncoder(2), 2, torch.CPU);
    }

    /// <summary>auto-circuit's prune scores (module → nested arrays), as float32 scores of <paramref name="graph"/>.</summary>
    public static PruneScores Scores(JsonElement scores, ModelGraph graph)
    {
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var m in scores.EnumerateObject())
        {
            using var t = TestFixtures.ToTensor(m.Value);
            tensors[m.Name] = t.to_type(ScalarType.Float32);
        }

        return PruneScores.FromTensors(graph, tensors);
    }

    public static EdgeCountRequest Request(JsonElement testCounts) => testCounts.ValueKind switch
    {
        JsonValueKind.Null => EdgeCountRequest.Default,
        JsonValueKind.String => EdgeCountRequest.Parse(testCounts.GetString()!),
        _ => EdgeCountRequest.Of(testCounts.EnumerateArray()
            .Select(i => i.GetProperty("fraction").GetBoolean()
                ? EdgeCountItem.Fraction(i.GetProperty("value").GetDouble())
                : EdgeCountItem.Count(i.GetProperty("value").GetInt32()))
            .ToArray()),
    };

    public static CircuitRunOptions Options(JsonElement s) => new(
        EvaluationNames.ParsePatchType(s.GetProperty("patch_type").GetString()!),
        EvaluationNames.ParseAblation(s.GetProperty("ablation").GetString()!),
        s.GetProperty("reverse").GetBoolean());

    public static List<int> Ints(JsonElement array) => array.EnumerateArray().Select(e => e.GetInt32()).ToList();

    public static List<(double X, double Y)> Points(JsonElement array) =>
        array.EnumerateArray().Select(p => (p[0].GetDouble(), p[1].GetDouble())).ToList();
}
