using AutoCircuit.Engine.Hooks;
using AutoCircuit.Models.Micro;
using AutoCircuit.Models.Transformers;
using Xunit;

namespace AutoCircuit.Host.Tests.Models;

/// <summary>
/// The hook-point names are TransformerLens' and auto-circuit's, written out here once (the only place outside
/// <see cref="HookNames"/>): known circuits, score files and papers refer to them.
/// </summary>
public sealed class HookNamesTests
{
    [Fact]
    public void TransformerNames_AreTransformerLensNames()
    {
        Assert.Equal("blocks.0.hook_resid_pre", HookNames.ResidPre(0));
        Assert.Equal("blocks.3.hook_resid_mid", HookNames.ResidMid(3));
        Assert.Equal("blocks.11.hook_resid_post", HookNames.ResidPost(11));
        Assert.Equal("blocks.2.hook_attn_in", HookNames.AttnIn(2));
        Assert.Equal("blocks.2.hook_q_input", HookNames.QInput(2));
        Assert.Equal("blocks.2.hook_k_input", HookNames.QkvInput(2, 'K'));
        Assert.Equal("blocks.2.hook_v_input", HookNames.VInput(2));
        Assert.Equal("blocks.1.attn.hook_result", HookNames.AttnResult(1));
        Assert.Equal("blocks.1.attn.hook_pattern", HookNames.AttnPattern(1));
        Assert.Equal("blocks.4.hook_mlp_in", HookNames.MlpIn(4));
        Assert.Equal("blocks.4.hook_mlp_out", HookNames.MlpOut(4));
        Assert.Equal(2, HookNames.HeadAxis);
    }

    [Fact]
    public void MicroNames_AreAutoCircuitModuleNames()
    {
        Assert.Equal("input", HookNames.Micro.Input);
        Assert.Equal("output", HookNames.Micro.Output);
        Assert.Equal("blocks.1.head_inputs", HookNames.Micro.HeadInputs(1));
        Assert.Equal("blocks.0.head_outputs", HookNames.Micro.HeadOutputs(0));
        Assert.Equal("resids.1", HookNames.Micro.Resid(1));
    }

    [Theory]
    [InlineData("blocks.0.hook_resid_pre", true, 0)]
    [InlineData("blocks.12.attn.hook_result", true, 12)]
    [InlineData("blocks.3", false, -1)]
    [InlineData("blocks..hook_q_input", false, -1)]
    [InlineData("blocks.-1.hook_q_input", false, -1)]
    [InlineData("resids.0", false, -1)]
    [InlineData("ln_final", false, -1)]
    public void TryGetBlock_Names_ParsesTheBlockNumberOfBlockNamesOnly(string name, bool found, int block)
    {
        var ok = HookNames.TryGetBlock(name, out var parsed);

        Assert.Equal((found, block), (ok, ok ? parsed : -1));
    }

    [Fact]
    public void Models_RegisterTheirHookPointsUnderHookNames()
    {
        var config = new TransformerConfig
        {
            Family = TransformerFamily.Gpt2,
            DModel = 8,
            Layers = 2,
            Heads = 2,
            DMlp = 8,
            VocabSize = 10,
            ContextLength = 4,
        };
        using var transformer = new Transformer(config);
        using var micro = new MicroModel();

        var expected = Enumerable.Range(0, 2).SelectMany(l => new[]
        {
            HookNames.ResidPre(l), HookNames.AttnIn(l), HookNames.QInput(l), HookNames.KInput(l), HookNames.VInput(l),
            HookNames.AttnResult(l), HookNames.AttnPattern(l), HookNames.ResidMid(l), HookNames.MlpIn(l), HookNames.MlpOut(l),
            HookNames.ResidPost(l),
        });
        string[] expectedMicro =
        [
            HookNames.Micro.Input, HookNames.Micro.HeadInputs(0), HookNames.Micro.HeadOutputs(0), HookNames.Micro.Resid(0),
            HookNames.Micro.HeadInputs(1), HookNames.Micro.HeadOutputs(1), HookNames.Micro.Resid(1), HookNames.Micro.Output,
        ];

        Assert.Equal(expected.Order(StringComparer.Ordinal), transformer.HookPoints.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(expectedMicro.Order(StringComparer.Ordinal), micro.HookPoints.Keys.Order(StringComparer.Ordinal));
    }
}
