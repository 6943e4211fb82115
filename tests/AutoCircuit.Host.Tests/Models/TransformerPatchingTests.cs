using AutoCircuit.Engine.Hooks;
using AutoCircuit.Engine.Patching;
using AutoCircuit.Models.Transformers;
using AutoCircuit.Testing;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace AutoCircuit.Host.Tests.Models;

/// <summary>The patching engine on transformers: exactness with patching off, full patching, block restarts.</summary>
public sealed class TransformerPatchingTests
{
    // float32 through a few layers, per-head vs fused projections: differences of ~1e-6.
    private const double Atol = 1e-4;

    public static Transformer Model(string kind)
    {
        var config = kind switch
        {
            "gpt2" => new TransformerConfig { Family = TransformerFamily.Gpt2, AttnBias = true, MlpBias = true, DModel = 16, Layers = 3, Heads = 4, DMlp = 32, VocabSize = 50, ContextLength = 16 },
            "gpt2-attn-only" => new TransformerConfig { Family = TransformerFamily.Gpt2, AttnBias = true, MlpBias = true, DModel = 16, Layers = 2, Heads = 2, DMlp = 32, VocabSize = 50, ContextLength = 16, AttnOnly = true },
            "gpt2-parallel" => new TransformerConfig { Family = TransformerFamily.Gpt2, AttnBias = true, MlpBias = true, DModel = 16, Layers = 2, Heads = 2, DMlp = 32, VocabSize = 50, ContextLength = 16, ParallelAttnMlp = true },
            "llama-gqa" => new TransformerConfig { Family = TransformerFamily.Llama, DModel = 16, Layers = 3, Heads = 4, KvHeads = 2, DMlp = 24, VocabSize = 50, ContextLength = 16, TiedEmbeddings = false },
            "llama-gqa-interleaved" => new TransformerConfig { Family = TransformerFamily.Llama, DModel = 16, Layers = 2, Heads = 4, KvHeads = 1, DMlp = 24, VocabSize = 50, ContextLength = 16, RopeInterleaved = true },
            _ => throw new ArgumentException(kind),
        };
        var model = new Transformer(config);
        model.InitializeRandom(7);
        return model;
    }

    public static Tensor Tokens(int seed, int batch = 3, int seq = 6)
    {
        var ids = new long[batch * seq];
        var x = (uint)seed * 2654435761u + 12345u;
        for (var i = 0; i < ids.Length; i++)
        {
            x = (x * 1664525u) + 1013904223u;
            ids[i] = 3 + (x >> 8) % 45;
        }

        return torch.tensor(ids, [batch, seq]);
    }

    public static TheoryData<string, bool, bool, int?> Graphs()
    {
        var data = new TheoryData<string, bool, bool, int?>();
        foreach (var kind in new[] { "gpt2", "gpt2-attn-only", "gpt2-parallel", "llama-gqa", "llama-gqa-interleaved" })
        {
            data.Add(kind, true, true, null);
            data.Add(kind, true, false, null);
            data.Add(kind, false, true, null);
            data.Add(kind, true, true, 6);
        }

        data.Add("gpt2", false, true, 6);
        data.Add("llama-gqa", true, false, 6);
        return data;
    }

    [Theory]
    [MemberData(nameof(Graphs))]
    public void Forward_PatchModeOff_IsBitIdenticalToPlainForward(string kind, bool factorized, bool separateQkv, int? seqLen)
    {
        using var transformer = Model(kind);
        using var tokens = Tokens(1);
        using var plain = transformer.Forward(tokens);

        using var model = PatchableModel.Create(transformer, new GraphOptions(factorized, seqLen, separateQkv));
        model.SetAllMasks(1.0);
        using var wrapped = model.Forward(tokens);

        TensorAssert.Equal(plain, wrapped, $"{kind} patch mode off");
    }

    [Theory]
    [MemberData(nameof(Graphs))]
    public void Forward_AllMasksOneWithCorruptAblation_GivesCorruptOutput(string kind, bool factorized, bool separateQkv, int? seqLen)
    {
        using var transformer = Model(kind);
        using var model = PatchableModel.Create(transformer, new GraphOptions(factorized, seqLen, separateQkv));
        using var clean = Tokens(1);
        using var corrupt = Tokens(2);
        using var expected = model.Forward(corrupt);
        using var cleanOut = model.Forward(clean);
        using var patch = model.SourceAblations(corrupt);
        model.SetAllMasks(1.0);

        using (model.PatchMode(patch))
        {
            using var patched = model.Forward(clean);
            TensorAssert.AllClose(expected, patched, Atol, 0, $"{kind} every edge patched");
        }

        Assert.True((expected - cleanOut).abs().max().ToDouble() > 0.1, "clean and corrupt outputs must differ for the test to mean anything");
    }

    [Theory]
    [InlineData("gpt2")]
    [InlineData("llama-gqa")]
    public void Forward_PatchModeWithZeroMasks_EqualsUnpatched(string kind)
    {
        using var transformer = Model(kind);
        using var model = PatchableModel.Create(transformer, new GraphOptions());
        using var clean = Tokens(1);
        using var plain = model.Forward(clean);
        using var patch = model.SourceAblations(Tokens(2));

        using (model.PatchMode(patch))
        {
            using var patched = model.Forward(clean);
            TensorAssert.AllClose(plain, patched, 1e-5, 0, "zero masks");
        }
    }

    [Theory]
    [InlineData("gpt2")]
    [InlineData("gpt2-parallel")]
    [InlineData("llama-gqa")]
    public void ForwardFromBlock_CapturedInputs_EqualsFullForwardForEveryBlock(string kind)
    {
        using var transformer = Model(kind);
        using var tokens = Tokens(3);
        using var full = transformer.Forward(tokens);

        using var inputs = transformer.CaptureBlockInputs(tokens);
        for (var b = 0; b < transformer.LayerCount; b++)
        {
            using var restarted = transformer.ForwardFromBlock(inputs, b);
            TensorAssert.Equal(full, restarted, $"restart at block {b}");
        }
    }

    [Theory]
    [InlineData("gpt2", true, true)]
    [InlineData("gpt2", true, false)]
    [InlineData("gpt2", false, true)]
    [InlineData("llama-gqa", true, true)]
    [InlineData("llama-gqa", true, false)]
    public void ForwardFromBlock_InPatchModeWithPrefilledSourceOutputs_EqualsFullPatchedForward(string kind, bool factorized, bool separateQkv)
    {
        // ACDC's start_at_layer: only destinations at or after the restart block carry masks, and the
        // clean source outputs are prefilled, so starting at the block gives the full patched output.
        using var transformer = Model(kind);
        using var model = PatchableModel.Create(transformer, new GraphOptions(factorized, null, separateQkv));
        using var clean = Tokens(4);
        using var patch = model.SourceAblations(Tokens(5));
        using var cleanOuts = model.SourceAblations(clean);
        using var inputs = model.CaptureBlockInputs(clean);
        using var gen = new torch.Generator(11);

        for (var b = 0; b < model.LayerCount; b++)
        {
            using (torch.no_grad())
            {
                foreach (var m in model.Graph.DestModules)
                {
                    var mask = model.Masks[m.ModuleName];
                    mask.copy_(model.BlockOf(m) >= b ? torch.rand(mask.shape, generator: gen).gt(0.5).to_type(mask.dtype) : torch.zeros_like(mask));
                }
            }

            using var currFull = cleanOuts.clone();
            using var currRestart = cleanOuts.clone();
            Tensor full, restarted;
            using (model.PatchMode(patch, currFull))
            {
                full = model.Forward(clean);
            }

            using (model.PatchMode(patch, currRestart))
            {
                restarted = model.ForwardFromBlock(inputs, b);
            }

            using (full)
            using (restarted)
            {
                // 1e-5: the full forward recomputes the earlier blocks in patch mode (per-head Q/K/V
                // path), the restart reads their clean outputs (fused path): float32 rounding apart.
                TensorAssert.AllClose(full, restarted, 1e-5, 0, $"{kind} restart at block {b}");
            }
        }
    }

    [Fact]
    public void BlockOf_ModuleNames_GivesTheBlockNumber()
    {
        using var transformer = Model("gpt2");

        Assert.Equal(0, transformer.BlockOf(HookNames.ResidPre(0)));
        Assert.Equal(1, transformer.BlockOf(HookNames.AttnResult(1)));
        Assert.Equal(2, transformer.BlockOf(HookNames.ResidPost(2)));
        Assert.Throws<ArgumentException>(() => transformer.BlockOf(HookNames.QInput(3)));
        Assert.Throws<ArgumentException>(() => transformer.BlockOf("ln_final"));
    }

    /// <summary>The same model with every key/value head copied for the query heads it serves (plain multi-head attention).</summary>
    private static Transformer Ungrouped(Transformer grouped)
    {
        var c = grouped.Config;
        var twin = new Transformer(c with { KvHeads = c.Heads });
        var r = c.GroupSize;
        var weights = grouped.named_parameters().ToDictionary(
            p => p.name,
            p => p.name.EndsWith(".W_K", StringComparison.Ordinal) || p.name.EndsWith(".W_V", StringComparison.Ordinal)
                ? p.parameter.view(c.KvHeads, c.DHead, c.DModel).repeat_interleave(r, 0).reshape(c.Heads * c.DHead, c.DModel)
                : p.parameter.alias());
        twin.LoadWeights(weights, "test");
        return twin;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void GroupedQueryAttention_PlainForward_EqualsMultiHeadTwinWithCopiedKeyValueWeights(bool separateQkv)
    {
        // Grouped K/V equal copied K/V. (With separate Q/K/V the graphs differ, one K/V destination per KV head against
        // one per head, so only the plain forward pass compares.)
        using var grouped = Model("llama-gqa");
        using var twin = Ungrouped(grouped);
        using var clean = Tokens(6);
        using var a = PatchableModel.Create(grouped, new GraphOptions(true, null, separateQkv));
        using var b = PatchableModel.Create(twin, new GraphOptions(true, null, separateQkv));

        using var plainA = a.Forward(clean);
        using var plainB = b.Forward(clean);

        TensorAssert.AllClose(plainB, plainA, 1e-5, 0, "plain forward");
    }

    [Theory]
    [InlineData(null)]
    [InlineData(6)]
    public void GroupedQueryAttention_PerQueryHeadInputsPatched_EqualsMultiHeadTwin(int? seqLen)
    {
        // Per-query-head inputs (hook_attn_in graph, random masks, so heads of one group read different inputs): K/V are
        // computed per query head from its own input with its group's weights, which is what the twin does.
        using var grouped = Model("llama-gqa");
        using var twin = Ungrouped(grouped);
        using var clean = Tokens(6);
        using var corrupt = Tokens(7);
        using var a = PatchableModel.Create(grouped, new GraphOptions(true, seqLen, SeparateQkv: false));
        using var b = PatchableModel.Create(twin, new GraphOptions(true, seqLen, SeparateQkv: false));
        using var plainA = a.Forward(clean);
        using var patchA = a.SourceAblations(corrupt);
        using var patchB = b.SourceAblations(corrupt);
        using var gen = new torch.Generator(5);
        using (torch.no_grad())
        {
            foreach (var (name, mask) in a.Masks)
            {
                using var random = torch.rand(mask.shape, generator: gen).gt(0.5).to_type(mask.dtype);
                mask.copy_(random);
                b.Masks[name].copy_(random);
            }
        }

        using (a.PatchMode(patchA))
        using (b.PatchMode(patchB))
        {
            using var outA = a.Forward(clean);
            using var outB = b.Forward(clean);
            TensorAssert.AllClose(outB, outA, 1e-5, 0, "per-query-head inputs patched");
            Assert.True((outA - plainA).abs().max().ToDouble() > 1e-2, "the patch must change the output");
        }
    }
}
