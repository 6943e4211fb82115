using AutoCircuit.Engine.Patching;
using AutoCircuit.Models.Transformers;
using AutoCircuit.Testing;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace AutoCircuit.Host.Tests.Models;

/// <summary>Left padding and the shared-prefix key/value cache (auto-circuit's tail_divergence).</summary>
public sealed class PrefixCacheAndPaddingTests
{
    // Cached and uncached runs do the same arithmetic on different tensor shapes: float32 rounding.
    private const double Atol = 1e-5;

    private static Tensor Rows(params long[][] rows) =>
        torch.tensor(rows.SelectMany(r => r).ToArray(), [rows.Length, rows[0].Length]);

    [Theory]
    [InlineData("gpt2", 49L, true)]
    [InlineData("llama-gqa", 2L, false)]
    [InlineData("llama-gqa-interleaved", 2L, false)]
    public void Forward_LeftPadded_RealPositionsEqualTheUnpaddedRun(string kind, long pad, bool padIsBos)
    {
        using var model = TransformerPatchingTests.Model(kind);
        model.Padding = new TokenPadding(pad, padIsBos);
        const long bos = 1;
        long[] prompt = padIsBos ? [pad, 7, 8, 9] : [bos, 7, 8, 9];
        using var padded = Rows([pad, pad, .. prompt], [5, 6, 10, 11, 12, 13]);
        using var alone = Rows(prompt);

        using var _ = torch.inference_mode();
        using var batch = model.Forward(padded);
        using var single = model.Forward(alone);

        TensorAssert.AllClose(single[0], batch[0].narrow(0, 2, 4), Atol, 0, "padded row at its real positions");
        using var unpaddedRow = model.Forward(Rows([5, 6, 10, 11, 12, 13]));
        TensorAssert.AllClose(unpaddedRow[0], batch[1], Atol, 0, "the unpadded row of the batch");
    }

    [Fact]
    public void Forward_WithoutPaddingRule_AttendsToLeadingPadTokens()
    {
        using var model = TransformerPatchingTests.Model("gpt2");
        using var padded = Rows([49, 49, 49, 7, 8, 9]);
        using var alone = Rows([49, 7, 8, 9]);
        using var _ = torch.inference_mode();

        model.Padding = null;
        using var unmasked = model.Forward(padded);
        model.Padding = new TokenPadding(49, true);
        using var masked = model.Forward(padded);
        using var single = model.Forward(alone);

        TensorAssert.AllClose(single[0], masked[0].narrow(0, 2, 4), Atol, 0, "masked");
        Assert.True((unmasked[0, -1] - masked[0, -1]).abs().max().ToDouble() > 1e-3, "the pad tokens must matter without the rule");
    }

    public static TheoryData<string> Kinds => new() { "gpt2", "llama-gqa", "llama-gqa-interleaved" };

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Forward_WithPrefixCache_EqualsUncachedRunAtTailPositions(string kind)
    {
        using var model = TransformerPatchingTests.Model(kind);
        model.Padding = new TokenPadding(49, kind == "gpt2");
        // Row 1 is left-padded inside the prefix.
        using var all = Rows([1, 20, 21, 22, 30, 31, 32], [49, 49, 1, 22, 33, 34, 35]);
        const int p = 4;
        using var prefix = all.narrow(1, 0, p);
        using var tail = all.narrow(1, p, 3);

        using var _ = torch.no_grad();
        using var full = model.Forward(all);
        using var cache = model.BuildPrefixCache(prefix);
        using var cached = model.Forward(tail, cache);
        Tensor attached;
        using (model.AttachPrefixCache(cache))
        {
            attached = model.Forward(tail);
        }

        using (attached)
        {
            TensorAssert.AllClose(full.narrow(1, p, 3), cached, Atol, 0, $"{kind} cached prefix");
            TensorAssert.Equal(cached, attached, "attached cache");
        }
    }

    [Theory]
    [InlineData("gpt2", true)]
    [InlineData("llama-gqa", true)]
    [InlineData("llama-gqa", false)]
    public void PatchMode_WithPrefixCache_AllEdgesPatchedGivesCorruptTailOutput(string kind, bool separateQkv)
    {
        using var transformer = TransformerPatchingTests.Model(kind);
        using var prefix = Rows([1, 20, 21, 22], [1, 23, 24, 25]);
        using var cache = transformer.BuildPrefixCache(prefix);
        using var attach = transformer.AttachPrefixCache(cache);
        using var model = PatchableModel.Create(transformer, new GraphOptions(SeqLen: 3, SeparateQkv: separateQkv));
        using var clean = Rows([30, 31, 32], [33, 34, 35]);
        using var corrupt = Rows([40, 41, 42], [43, 44, 45]);
        using var expected = model.Forward(corrupt);
        using var patch = model.SourceAblations(corrupt);
        model.SetAllMasks(1.0);

        using (model.PatchMode(patch))
        {
            using var patched = model.Forward(clean);
            TensorAssert.AllClose(expected, patched, 1e-4, 0, $"{kind} every edge of the tails patched");
        }

        using var uncachedCorrupt = transformer.Forward(torch.cat([prefix, corrupt], 1), prefix: null);
        TensorAssert.AllClose(uncachedCorrupt.narrow(1, 4, 3), expected, Atol, 0, "the cached run is the uncached run's tail");
    }

    [Fact]
    public void BuildPrefixCache_RunsNoHooks()
    {
        using var transformer = TransformerPatchingTests.Model("gpt2");
        using var model = PatchableModel.Create(transformer, new GraphOptions());
        using var prefix = Rows([1, 20, 21]);
        using var patch = torch.randn(model.Graph.Srcs.Count, 1, 3, 16);
        model.SetAllMasks(1.0);

        PrefixCache inPatchMode;
        using (model.PatchMode(patch))
        {
            inPatchMode = transformer.BuildPrefixCache(prefix);
        }

        using (inPatchMode)
        using (var plain = transformer.BuildPrefixCache(prefix))
        using (var tail = Rows([5, 6]))
        using (var a = transformer.Forward(tail, inPatchMode))
        using (var b = transformer.Forward(tail, plain))
        {
            TensorAssert.Equal(b, a, "a prefix cache is never patched");
        }
    }
}
