using AutoCircuit.Host.Models.Loading;
using AutoCircuit.Host.Models.Transformers;
using AutoCircuit.Testing;
using TorchSharp;
using Xunit;

namespace AutoCircuit.Host.Tests.Models;

/// <summary>
/// Logits against an independent PyTorch implementation (tools/reference/gpt2_llama_reference.py)
/// on checkpoints written by that script. Tolerance 1e-4 absolute: float32 with different
/// summation orders (fused vs per-head projections) differs by ~1e-6 on these sizes.
/// </summary>
public sealed class TransformerParityTests
{
    private const double Atol = 1e-4;

    public static TheoryData<string> RandomModels => new() { "gpt2-random", "gpt2-random-bin", "llama-random" };

    [Theory]
    [MemberData(nameof(RandomModels))]
    public void Forward_RandomCheckpoint_MatchesReferenceLogits(string name)
    {
        var folder = ModelFixtures.Folder(name);
        using var model = name.StartsWith("gpt2", StringComparison.Ordinal)
            ? Gpt2Checkpoint.Load(folder).Model
            : LlamaCheckpoint.LoadHuggingFace(folder).Model;
        using var reference = ModelFixtures.Reference(name);

        foreach (var c in reference.RootElement.GetProperty("cases").EnumerateArray())
        {
            using var tokens = ModelFixtures.Ids(c.GetProperty("tokens"));
            using var expected = TestFixtures.ToTensor(c.GetProperty("logits"));
            if (c.TryGetProperty("pad_id", out var pad))
            {
                Assert.Equal(new TokenPadding(pad.GetInt64(), c.GetProperty("pad_is_bos").GetBoolean()), model.Padding);
            }

            using var _ = torch.inference_mode();
            using var logits = model.Forward(tokens);

            TensorAssert.AllClose(expected, logits, Atol, 0, $"{name} {c.GetProperty("name").GetString()}");
        }
    }
}
