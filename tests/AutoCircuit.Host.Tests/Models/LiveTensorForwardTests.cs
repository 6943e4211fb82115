using AutoCircuit.Engine.Hooks;
using AutoCircuit.Models.Micro;
using AutoCircuit.Models.Toy;
using AutoCircuit.Models.Transformers;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace AutoCircuit.Host.Tests.Models;

/// <summary>
/// Tensor ownership in the models: a module runs in its own dispose scope and hands back only its result, so a forward
/// pass called with no dispose scope of the caller's leaves exactly one tensor alive, its result; a hook gets a tensor
/// it must not dispose and returns one the model then owns. Counted with TorchSharp's per-thread statistics
/// (<see cref="DisposeScopeManager.Statistics"/>): tensors created minus tensors disposed on this thread, so finalizers
/// and tests on other threads do not touch the count.
/// </summary>
public sealed class LiveTensorForwardTests
{
    private const int Forwards = 3;

    public static TheoryData<string> Models =>
        new() { "toy", "gpt2", "gpt2-attn-only", "gpt2-parallel", "llama-gqa", "llama-gqa-interleaved", "micro" };

    public static TheoryData<string> Transformers =>
        new() { "toy", "gpt2", "gpt2-parallel", "llama-gqa", "llama-gqa-interleaved" };

    private static long Live => DisposeScopeManager.Statistics.TensorStatistics.ThreadTotalLiveCount;

    [Theory]
    [MemberData(nameof(Models))]
    public void Forward_NoCallerScope_LeavesOnlyItsResult(string kind)
    {
        var (model, input) = Build(kind);
        using var _ = model;
        using var __ = input;

        AssertOnlyResultsStayAlive(() => model.Forward(input), kind);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Forward_InferenceMode_LeavesOnlyItsResult(string kind)
    {
        var (model, input) = Build(kind);
        using var _ = model;
        using var __ = input;
        using var inference = torch.inference_mode();

        AssertOnlyResultsStayAlive(() => model.Forward(input), kind + " (inference mode)");
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Forward_HooksReturningNewTensors_ModelDisposesThem(string kind)
    {
        var (model, input) = Build(kind);
        using var _ = model;
        using var __ = input;
        foreach (var hook in model.HookPoints.Values)
        {
            // A hook does not dispose its input and returns a new tensor: the model owns (and disposes) what it returns.
            hook.Hook = x => x * 1.0;
        }

        AssertOnlyResultsStayAlive(() => model.Forward(input), kind + " (every hook point returns a new tensor)");
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Forward_HooksReturningTheirInput_ModelDisposesNothingTwice(string kind)
    {
        var (model, input) = Build(kind);
        using var _ = model;
        using var __ = input;
        foreach (var hook in model.HookPoints.Values)
        {
            hook.Hook = x => x;
        }

        AssertOnlyResultsStayAlive(() => model.Forward(input), kind + " (identity hooks)");
    }

    [Theory]
    [MemberData(nameof(Transformers))]
    public void ForwardFromBlock_NoCallerScope_LeavesOnlyItsResult(string kind)
    {
        var (model, input) = Build(kind);
        using var _ = model;
        using var __ = input;
        var transformer = (Transformer)model;
        var inputs = transformer.CaptureBlockInputs(input);

        AssertOnlyResultsStayAlive(() => transformer.ForwardFromBlock(inputs, 1), kind + " (from block 1)");
    }

    [Theory]
    [MemberData(nameof(Transformers))]
    public void Forward_WithPrefixCache_LeavesOnlyItsResult(string kind)
    {
        var (model, input) = Build(kind);
        using var _ = model;
        using var __ = input;
        var transformer = (Transformer)model;
        using var prefixTokens = input.narrow(1, 0, 2); // [B, 2]
        using var tail = input.narrow(1, 2, input.shape[1] - 2); // [B, T - 2]
        using var cache = transformer.BuildPrefixCache(prefixTokens);

        AssertOnlyResultsStayAlive(() => transformer.Forward(tail, cache), kind + " (after a cached prefix)");
    }

    [Fact]
    public void LiveCount_ForgottenTemporary_IsCounted()
    {
        // The instrument itself: a tensor nobody disposes shows up in the count.
        using var x = torch.ones(2, 3);

        var before = Live;
        var leaked = x * 2.0;
        var after = Live;
        leaked.Dispose();

        Assert.Equal(1, after - before);
        Assert.Equal(before, Live);
    }

    /// <summary>
    /// After a warm-up pass, runs <paramref name="forward"/> <see cref="Forwards"/> times keeping the results: each pass
    /// must add exactly one live tensor (its result) and, once the results are disposed, nothing may remain.
    /// </summary>
    private static void AssertOnlyResultsStayAlive(Func<Tensor> forward, string what)
    {
        forward().Dispose();
        var baseline = Live;
        var results = new List<Tensor>();
        var alive = new List<long>();
        for (var i = 0; i < Forwards; i++)
        {
            results.Add(forward());
            alive.Add(Live - baseline);
        }

        foreach (var r in results)
        {
            r.Dispose();
        }

        var remaining = Live - baseline;
        var expected = Enumerable.Range(1, Forwards).Select(i => (long)i).ToList();
        Assert.True(
            alive.SequenceEqual(expected) && remaining == 0,
            $"{what}: live tensors after each of {Forwards} forwards [{string.Join(", ", alive)}] (expected [{string.Join(", ", expected)}]: "
            + $"the results only); {remaining} still alive after disposing the results "
            + $"({(remaining + Forwards) / (double)Forwards:0.#} tensors per forward).");
    }

    private static (IHookedModel Model, Tensor Input) Build(string kind)
    {
        if (kind == "micro")
        {
            var vectors = torch.tensor(new float[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 }, [2, 3, 2]); // [B, T, 2]
            return (new MicroModel(), vectors);
        }

        var model = kind == "toy" ? ToyModel.Load().Model : TransformerPatchingTests.Model(kind);
        return (model, TransformerPatchingTests.Tokens(1)); // [3, 6], ids 3..47
    }
}
