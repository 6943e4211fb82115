using System.Text.Json;
using AutoCircuit.Engine.Patching;
using AutoCircuit.Host.Data;
using AutoCircuit.Models.Micro;
using AutoCircuit.Testing;
using TorchSharp;
using Xunit;
using ActMag = AutoCircuit.Algorithms.ActivationMagnitude.ActivationMagnitude;

namespace AutoCircuit.Algorithms.Tests.ActivationMagnitude;

/// <summary>
/// Activation magnitude against auto-circuit's own output on the micro model
/// (tests/Fixtures/auto-circuit/micro_activation_magnitude.json: datasets of identical and of
/// differing prompts, several batch sizes, splits and seeds, three graph kinds).
/// </summary>
public sealed class ActivationMagnitudeParityTests
{
    // Both sides compute in float32; means of a few values agree to float rounding.
    private const double Atol = 1e-6;
    private const double Rtol = 1e-6;

    public static TheoryData<int> Scenarios()
    {
        using var doc = TestFixtures.Load("auto-circuit/micro_activation_magnitude.json");
        var data = new TheoryData<int>();
        for (var i = 0; i < doc.RootElement.GetProperty("scenarios").GetArrayLength(); i++)
        {
            data.Add(i);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Scenarios))]
    public void Run_MicroModel_MatchesAutoCircuitOnFactorizedAndCorrectedOnResidual(int index)
    {
        using var doc = TestFixtures.Load("auto-circuit/micro_activation_magnitude.json");
        var s = doc.RootElement.GetProperty("scenarios")[index];
        var factorized = s.GetProperty("factorized").GetBoolean();
        int? seqLen = s.GetProperty("seq_len").ValueKind == JsonValueKind.Null ? null : s.GetProperty("seq_len").GetInt32();
        using var data = BuildData(s, seqLen is not null);
        using var micro = new MicroModel();
        using var model = PatchableModel.Create(micro, new GraphOptions(factorized, data.SeqLen));

        using var scores = new ActMag().Run(new PruneContext { Model = model, TrainBatches = data.Train });

        Assert.Equal(seqLen, data.SeqLen);
        if (s.GetProperty("train_prompts").ValueKind != JsonValueKind.Null)
        {
            Assert.Equal(Indices(s.GetProperty("train_prompts")), data.TrainPromptIndices);
            Assert.Equal(Indices(s.GetProperty("test_prompts")), data.TestPromptIndices);
        }
        var autoCircuit = s.GetProperty("scores");
        if (factorized)
        {
            foreach (var m in autoCircuit.EnumerateObject())
            {
                using var expected = TestFixtures.ToTensor(m.Value);
                TensorAssert.AllClose(expected, scores[m.Name], Atol, Rtol, m.Name);
            }

            return;
        }

        // Residual graph: each destination's true incoming sources (min_src_idx onwards), from
        // auto-circuit's own per-batch source means. auto-circuit itself takes the first n sources.
        var means = s.GetProperty("src_means_per_batch").EnumerateArray()
            .Select(b => b.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToList();
        var differs = false;
        foreach (var module in model.Graph.DestModules)
        {
            var incoming = Enumerable.Range(module.InSrcStart, module.InSrcCount)
                .Select(src => means.Sum(batch => Math.Abs(batch[src]) / means.Count)).ToArray();
            using var row = torch.tensor(incoming);
            using var expected = row.expand(module.MaskShape).contiguous();
            TensorAssert.AllClose(expected, scores[module], Atol, Rtol, $"{module.ModuleName} (corrected)");

            using var theirs = TestFixtures.ToTensor(autoCircuit.GetProperty(module.ModuleName));
            using var gap = (theirs - scores[module].to_type(torch.ScalarType.Float64)).abs().max();
            differs |= module.InSrcStart > 0 && gap.ToDouble() > 1e-3;
        }

        Assert.True(differs, "auto-circuit's residual scores ignore min_src_idx; ours must differ for destinations past layer 1");
    }

    private static TaskData BuildData(JsonElement s, bool tokenPositions)
    {
        var datasetEl = s.GetProperty("dataset");
        DatasetDocument document = datasetEl.TryGetProperty("generator", out _)
            ? ConstantMicroDataset(datasetEl.GetProperty("prompts_count").GetInt32())
            : DatasetDocument.Parse(JsonSerializer.SerializeToUtf8Bytes(datasetEl), "fixture");
        var options = new DataOptions(
            s.GetProperty("batch_size").GetInt32(),
            s.GetProperty("train_size").GetInt32(),
            s.GetProperty("test_size").GetInt32(),
            s.GetProperty("shuffle").GetBoolean(),
            s.GetProperty("seed").GetInt64(),
            tokenPositions);
        return TaskData.Build(document, options, new NumericPromptEncoder(2), 2, torch.CPU);
    }

    /// <summary>auto-circuit's micro_model_inputs.json layout: n identical prompts (built here, not copied).</summary>
    private static DatasetDocument ConstantMicroDataset(int n)
    {
        var prompts = Enumerable.Range(0, n).Select(i => new PromptRecord(
            i,
            PromptInput.FromNumbers([3, 3, 2, 2, 1, 1], [3, 2]),
            PromptInput.FromNumbers([-3, -3, -2, -2, -1, -1], [3, 2]),
            new AnswerList([1], null),
            new AnswerList([0], null))).ToList();
        return DatasetDocument.FromPrompts("constant micro prompts", prompts);
    }

    private static List<int> Indices(JsonElement batches) =>
        batches.EnumerateArray().SelectMany(b => b.EnumerateArray().Select(i => i.GetInt32())).ToList();
}
