using AutoCircuit.Algorithms.Tests.Exact;
using AutoCircuit.Engine.Patching;
using AutoCircuit.Models.Micro;
using AutoCircuit.Models.Toy;
using AutoCircuit.Patching;
using AutoCircuit.Testing;
using TorchSharp;
using Xunit;

namespace AutoCircuit.Algorithms.Tests.Interventions;

/// <summary>
/// The SDK capability the EAP-IG algorithms, exact and information flow routes build on
/// (<see cref="IActivationIntervention"/>, the engine's PatchableModel.Interventions.cs).
/// </summary>
public sealed class ActivationInterventionTests
{
    [Fact]
    public void ForwardWithIntervention_Identity_IsThePlainForwardAndSeesEveryModuleInOrder()
    {
        var (toy, _) = ToyModel.Load();
        using var _ = toy;
        using var model = PatchableModel.Create(toy, new GraphOptions());
        var batch = ExactTests.ToyBatches(1)[0];
        using var __ = batch;
        var seen = new List<string>();

        using var plain = model.Forward(batch.Clean);
        using var hooked = model.ForwardWithIntervention(batch.Clean, (name, x) =>
        {
            seen.Add(name);
            return x;
        });

        TensorAssert.Equal(plain, hooked, "identity intervention");
        var modules = model.Graph.SrcModules.Select(m => m.ModuleName).Concat(model.Graph.DestModules.Select(m => m.ModuleName));
        Assert.Equal(modules.Distinct().Order(), seen.Order());
        Assert.Equal("blocks.0.hook_resid_pre", seen[0]);
        Assert.Equal("blocks.1.hook_resid_post", seen[^1]);
    }

    [Fact]
    public void ForwardWithIntervention_InputReplacedByCorruptOne_IsTheCorruptRun()
    {
        // clean-corrupted and eap-ig-inputs rely on this: replacing Resid Start (token + position embedding) by the
        // corrupt prompts' is running on the corrupt prompts.
        var (toy, _) = ToyModel.Load();
        using var _ = toy;
        using var model = PatchableModel.Create(toy, new GraphOptions());
        var batch = ExactTests.ToyBatches(1)[0];
        using var __ = batch;
        using var corruptOuts = model.SourceAblations(batch.Corrupt, AblationType.Resample);

        using var corrupt = model.Forward(batch.Corrupt);
        using var replaced = model.ForwardWithIntervention(batch.Clean, (name, x) =>
            name == "blocks.0.hook_resid_pre" ? corruptOuts[0].alias() : x);

        TensorAssert.AllClose(corrupt, replaced, 1e-6, 1e-6, "corrupt run");
        using var clean = model.Forward(batch.Clean);
        Assert.True((clean - corrupt).abs().max().ToDouble() > 1e-2, "clean and corrupt outputs differ");
    }

    [Fact]
    public void ForwardWithIntervention_WrongShapeOrPatchMode_Throws()
    {
        using var micro = new MicroModel();
        using var model = PatchableModel.Create(micro, new GraphOptions());
        using var input = torch.ones(2, 3, 2);

        var wrong = Assert.Throws<InvalidOperationException>(() =>
            model.ForwardWithIntervention(input, (name, x) => name == "output" ? x.sum(0L) : x));
        Assert.Contains("'output' returned [3, 2]", wrong.Message, StringComparison.Ordinal);

        using var patch = model.SourceAblations(input);
        using (model.PatchMode(patch))
        {
            Assert.Throws<InvalidOperationException>(() => model.ForwardWithIntervention(input, (_, x) => x));
        }

        using var after = model.ForwardWithIntervention(input, (_, x) => x); // the failed call left no hook behind
        using var plain = model.Forward(input);
        TensorAssert.Equal(plain, after, "after the failures");
    }
}
