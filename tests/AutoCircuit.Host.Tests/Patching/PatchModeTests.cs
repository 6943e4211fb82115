using AutoCircuit.Engine.Patching;
using AutoCircuit.Models.Micro;
using AutoCircuit.Patching;
using AutoCircuit.Testing;
using TorchSharp;
using Xunit;

namespace AutoCircuit.Host.Tests.Patching;

public sealed class PatchModeTests
{
    private static torch.Tensor Input() => torch.tensor(
        new float[] { 3, 3, 2, 2, 1, 1, 0.5f, -1, 2, 0.25f, -3, 1.5f }, [2, 3, 2]);

    [Theory]
    [InlineData(true, null)]
    [InlineData(true, 3)]
    [InlineData(false, null)]
    [InlineData(false, 3)]
    public void Forward_PatchModeOff_IsBitIdenticalToUnwrappedModel(bool factorized, int? seqLen)
    {
        using var micro = new MicroModel();
        using var input = Input();
        using var plain = micro.Forward(input);

        using var model = PatchableModel.Create(micro, new GraphOptions(factorized, seqLen));
        model.SetAllMasks(1.0); // masks only act in patch mode
        using var wrapped = model.Forward(input);

        TensorAssert.Equal(plain, wrapped, "patch mode off");
    }

    [Fact]
    public void Forward_PatchModeOnWithZeroMasks_EqualsUnpatched()
    {
        using var micro = new MicroModel();
        using var model = PatchableModel.Create(micro, new GraphOptions());
        using var input = Input();
        using var plain = model.Forward(input);
        using var patch = torch.randn(model.Graph.Srcs.Count, 2, 3, 2);

        using (model.PatchMode(patch))
        {
            using var patched = model.Forward(input);
            TensorAssert.AllClose(plain, patched, 0, 0, "zero masks");
        }
    }

    [Fact]
    public void Forward_AllMasksOneWithCorruptAblation_GivesCorruptOutput()
    {
        // Patching every edge of the factorized graph with the corrupt run's activations reproduces the corrupt output.
        using var micro = new MicroModel();
        using var model = PatchableModel.Create(micro, new GraphOptions());
        using var clean = Input();
        using var corrupt = -clean;
        using var expected = model.Forward(corrupt);
        using var patch = model.SourceAblations(corrupt);
        model.SetAllMasks(1.0);

        using (model.PatchMode(patch))
        {
            using var patched = model.Forward(clean);
            TensorAssert.AllClose(expected, patched, 1e-4, 1e-6, "all edges patched");
        }
    }

    [Fact]
    public void PatchMode_Disposed_RestoresUnpatchedBehaviour()
    {
        using var micro = new MicroModel();
        using var model = PatchableModel.Create(micro, new GraphOptions());
        using var input = Input();
        using var plain = model.Forward(input);
        using var patch = torch.randn(model.Graph.Srcs.Count, 2, 3, 2);
        model.SetAllMasks(1.0);
        using (model.PatchMode(patch))
        {
            using var patched = model.Forward(input);
            Assert.True((plain - patched).abs().max().ToDouble() > 1.0, "patching with masks of 1 must change the output");
        }

        using var after = model.Forward(input);

        TensorAssert.Equal(plain, after, "after the scope");
    }

    [Fact]
    public void TrainMaskMode_Backward_GivesMaskGradsAndNoParameterGrads()
    {
        using var micro = new MicroModel();
        using var model = PatchableModel.Create(micro, new GraphOptions());
        using var clean = Input();
        using var corrupt = -clean;
        using var patch = model.SourceAblations(corrupt);

        using (model.TrainMaskMode())
        using (model.PatchMode(patch))
        {
            using var loss = model.Run(clean).sum();
            loss.backward();
        }

        Assert.All(model.Masks.Values, m => Assert.NotNull(m.grad));
        Assert.Contains(model.Masks.Values, m => m.grad!.abs().sum().ToDouble() > 0);
        Assert.All(micro.parameters(), p => Assert.Null(p.grad));
        Assert.All(model.Masks.Values, m => Assert.False(m.requires_grad));
    }

    [Fact]
    public void MaskFunctionMode_Sigmoid_AppliesSigmoidToMasks()
    {
        using var micro = new MicroModel();
        using var model = PatchableModel.Create(micro, new GraphOptions());
        using var clean = Input();
        using var corrupt = -clean;
        using var patch = model.SourceAblations(corrupt);
        model.SetAllMasks(0.0);
        torch.Tensor viaSigmoid;
        using (model.MaskFunctionMode(MaskFunction.Sigmoid))
        using (model.PatchMode(patch))
        {
            viaSigmoid = model.Forward(clean);
        }

        model.SetAllMasks(0.5);
        using (viaSigmoid)
        using (model.PatchMode(patch))
        {
            using var direct = model.Forward(clean);
            TensorAssert.AllClose(direct, viaSigmoid, 1e-5, 1e-6, "sigmoid(0) = 0.5");
        }
    }

    [Fact]
    public void MaskFunctionMode_HardConcrete_SamplesPerBatchElementWithinUnitInterval()
    {
        using var micro = new MicroModel();
        using var model = PatchableModel.Create(micro, new GraphOptions());
        using var clean = Input();
        using var corrupt = -clean;
        using var patch = model.SourceAblations(corrupt);
        using var cleanOut = model.Forward(clean);
        using var corruptOut = model.Forward(corrupt);
        torch.random.manual_seed(3);
        model.SetAllMasks(100.0); // HardConcrete of a huge logit is 1 everywhere

        using (model.MaskFunctionMode(MaskFunction.HardConcrete))
        using (model.PatchMode(patch))
        {
            using var saturated = model.Forward(clean);
            TensorAssert.AllClose(corruptOut, saturated, 1e-4, 1e-6, "mask of 1 everywhere");
            model.SetAllMasks(-100.0);
            using var closed = model.Forward(clean);
            TensorAssert.AllClose(cleanOut, closed, 1e-4, 1e-6, "mask of 0 everywhere");
        }
    }
}
