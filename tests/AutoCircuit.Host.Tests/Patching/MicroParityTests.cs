using System.Text.Json;
using AutoCircuit.Engine.Patching;
using AutoCircuit.Host.Data;
using AutoCircuit.Models.Micro;
using AutoCircuit.Patching;
using AutoCircuit.Testing;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace AutoCircuit.Host.Tests.Patching;

/// <summary>
/// The engine against numbers auto-circuit itself computed on the micro model
/// (tests/Fixtures/auto-circuit/micro_graphs_and_patching.json, made by tools/reference), on
/// <see cref="TestDevice.Current"/> (CUDA with AUTOCIRCUIT_TEST_DEVICE=cuda).
/// </summary>
[Trait("Category", "Gpu")]
public sealed class MicroParityTests
{
    // float32 end to end on both sides; the micro model's sums are exact or within a few ulps.
    private const double Atol = 1e-5;
    private const double Rtol = 1e-6;

    public static TheoryData<int> Cases() => new() { 0, 1, 2, 3 };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Graph_MatchesAutoCircuit(int caseIndex)
    {
        using var doc = TestFixtures.Load("auto-circuit/micro_graphs_and_patching.json");
        var c = doc.RootElement.GetProperty("cases")[caseIndex];
        using var micro = new MicroModel();

        using var model = Build(micro, c);

        var g = c.GetProperty("graph");
        var srcs = g.GetProperty("srcs").EnumerateArray()
            .Select(s => $"{s.GetProperty("name").GetString()}|{s.GetProperty("module").GetString()}|{s.GetProperty("layer").GetInt32()}|{s.GetProperty("src_idx").GetInt32()}|{Head(s)}")
            .ToList();
        var ours = model.Graph.Srcs.Select(s => $"{s.Name}|{s.ModuleName}|{s.Layer}|{s.SrcIndex}|{s.HeadIndex?.ToString() ?? "null"}").ToList();
        Assert.Equal(srcs, ours);
        var dests = g.GetProperty("dests").EnumerateArray()
            .Select(d => $"{d.GetProperty("name").GetString()}|{d.GetProperty("module").GetString()}|{d.GetProperty("layer").GetInt32()}|{Head(d)}|{d.GetProperty("min_src_idx").GetInt32()}")
            .Order(StringComparer.Ordinal).ToList();
        var ourDests = model.Graph.Dests.Select(d => $"{d.Name}|{d.ModuleName}|{d.Layer}|{d.HeadIndex?.ToString() ?? "null"}|{d.MinSrcIndex}")
            .Order(StringComparer.Ordinal).ToList();
        Assert.Equal(dests, ourDests);
        foreach (var p in g.GetProperty("mask_shapes").EnumerateObject())
        {
            Assert.Equal(p.Value.EnumerateArray().Select(v => v.GetInt64()).ToArray(), model.Masks[p.Name].shape);
        }

        Assert.Equal(g.GetProperty("mask_shapes").EnumerateObject().Count(), model.Masks.Count);
        Assert.Equal(g.GetProperty("n_edges").GetInt32(), model.Graph.EdgeCount);
        var edges = g.GetProperty("edges").EnumerateArray()
            .Select(e => $"{e[0].GetString()}@{(e[1].ValueKind == JsonValueKind.Null ? "-" : e[1].GetInt32().ToString(System.Globalization.CultureInfo.InvariantCulture))}:{string.Join(",", e[2].EnumerateArray().Select(i => i.GetInt64()))}")
            .Order(StringComparer.Ordinal).ToList();
        var ourEdges = model.Graph.Edges
            .Select(e => $"{e.Name}@{(e.SeqIndex is int s ? s.ToString(System.Globalization.CultureInfo.InvariantCulture) : "-")}:{string.Join(",", e.PatchIndex)}")
            .Order(StringComparer.Ordinal).ToList();
        Assert.Equal(edges, ourEdges);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void SourceAblations_AllSevenTypes_MatchAutoCircuit(int caseIndex)
    {
        using var doc = TestFixtures.Load("auto-circuit/micro_graphs_and_patching.json");
        var c = doc.RootElement.GetProperty("cases")[caseIndex];
        using var micro = new MicroModel();
        using var model = Build(micro, c);
        using var data = Data(c, batchSize: 4);
        using var small = Data(c, batchSize: 2);

        foreach (var type in Enum.GetValues<AblationType>())
        {
            using var expected = TestFixtures.ToTensor(c.GetProperty("src_ablations").GetProperty(type.ToCliName()));
            using var actual = type.IsMeanOverDataset()
                ? model.SourceAblations(small.Train, type)
                : model.SourceAblations(data.Train[0].Clean, type);
            TensorAssert.AllClose(expected, actual, Atol, Rtol, type.ToCliName());
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void PatchedForward_RandomMasks_MatchesAutoCircuit(int caseIndex)
    {
        using var doc = TestFixtures.Load("auto-circuit/micro_graphs_and_patching.json");
        var c = doc.RootElement.GetProperty("cases")[caseIndex];
        using var micro = new MicroModel();
        using var model = Build(micro, c);
        using var data = Data(c, batchSize: 4);
        var batch = data.Train[0];
        using (torch.no_grad())
        {
            foreach (var m in c.GetProperty("masks").EnumerateObject())
            {
                using var values = TestFixtures.ToTensor(m.Value);
                model.Masks[m.Name].copy_(values);
            }
        }

        using var patch = model.SourceAblations(batch.Corrupt);
        Tensor patched;
        using (model.PatchMode(patch))
        using (torch.inference_mode())
        {
            patched = model.Forward(batch.Clean);
        }

        using (patched)
        using (var expected = TestFixtures.ToTensor(c.GetProperty("patched_out")))
        {
            TensorAssert.AllClose(expected, patched, Atol, Rtol, "patched output");
        }

        using var clean = model.Forward(batch.Clean);
        using var expectedClean = TestFixtures.ToTensor(c.GetProperty("clean_out"));
        TensorAssert.AllClose(expectedClean, clean, Atol, Rtol, "clean output");
    }

    private static string Head(JsonElement node) =>
        node.GetProperty("head_idx").ValueKind == JsonValueKind.Null ? "null" : node.GetProperty("head_idx").GetInt32().ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static PatchableModel Build(MicroModel micro, JsonElement c)
    {
        var seq = c.GetProperty("seq_len");
        micro.MoveTo(TestDevice.Current);
        return PatchableModel.Create(micro, new GraphOptions(
            c.GetProperty("factorized").GetBoolean(),
            seq.ValueKind == JsonValueKind.Null ? null : seq.GetInt32()));
    }

    private static TaskData Data(JsonElement c, int batchSize)
    {
        var document = DatasetDocument.Parse(JsonSerializer.SerializeToUtf8Bytes(c.GetProperty("dataset")), "fixture");
        return TaskData.Build(document, new DataOptions(batchSize, 4, 4, Shuffle: false), new NumericPromptEncoder(2), 2, TestDevice.Current);
    }
}
