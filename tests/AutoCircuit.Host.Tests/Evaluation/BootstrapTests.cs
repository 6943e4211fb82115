using AutoCircuit.Data;
using AutoCircuit.Engine.Patching;
using AutoCircuit.Evaluation;
using AutoCircuit.Models.Micro;
using TorchSharp;
using Xunit;

namespace AutoCircuit.Host.Tests.Evaluation;

/// <summary><see cref="Bootstrap"/>: percentiles, determinism, and its place in circuit evaluation.</summary>
public sealed class BootstrapTests
{
    [Fact]
    public void Percentiles_1To101_InterpolateBetweenOrderStatistics()
    {
        var values = Enumerable.Range(1, 101).Select(i => (double)i).Reverse().ToList();
        var iv = Bootstrap.Percentiles(values, 0.95)!.Value;
        Assert.Equal(3.5, iv.Low, 12);
        Assert.Equal(98.5, iv.High, 12);
    }

    [Fact]
    public void Percentiles_MostlyUndefined_IsNull()
    {
        Assert.Null(Bootstrap.Percentiles([double.NaN, double.NaN, 1.0], 0.95));
        Assert.NotNull(Bootstrap.Percentiles([double.NaN, 2.0, 1.0], 0.95));
    }

    [Fact]
    public void Compute_IdenticalPrompts_CollapsesToThePoint()
    {
        // Two circuits (0 and 1 edge of 1), four identical prompts: every resample gives the same values.
        const int stats = 11;
        var data = new double[2 * 4 * stats];
        for (var p = 0; p < 4; p++)
        {
            data[(((0 * 4) + p) * stats) + 4] = -1; // logit diff of the empty circuit
            data[(((1 * 4) + p) * stats) + 4] = 3; // of the full circuit
        }

        var targets = Enumerable.Repeat(new[] { 3.0, 0.5, 0.1 }, 4).SelectMany(x => x).ToArray();
        var results = new[]
        {
            new CircuitResult(0, 0, new Dictionary<string, double>()),
            new CircuitResult(1, 1, new Dictionary<string, double>()),
        };
        var b = Bootstrap.Compute(new PromptStatistics(2, 4, stats, data, targets), results, 1, mib: true, resamples: 50, seed: 1);
        Assert.Equal(new Interval(3, 3), b.Metrics[1]["logit-diff"]);
        Assert.Equal(new Interval(100, 100), b.Metrics[1]["logit-diff-percent"]);

        // MIB on a 1-edge graph: fractions below 1 give 0 edges (faithfulness 0), 1 gives the whole graph (1).
        Assert.Equal(new Interval(0, 0), b.Mib!.Faithfulness[0]);
        Assert.Equal(new Interval(1, 1), b.Mib.Faithfulness[^1]);
        var (cpr, _) = MibProtocol.Areas(MibProtocol.Fractions, [0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        Assert.Equal(cpr, b.Mib.Cpr!.Value.Low, 12);
        Assert.Equal(cpr, b.Mib.Cpr!.Value.High, 12);
    }

    [Fact]
    public void Evaluate_WithBootstrap_KeepsThePointEstimatesAndIsSeeded()
    {
        using var micro = new MicroModel();
        using var model = PatchableModel.Create(micro, new GraphOptions(true, null));
        using var scores = model.NewPruneScores();
        var rng = new Random(5);
        foreach (var e in model.Graph.Edges)
        {
            scores.Set(e, (rng.NextDouble() * 2) - 1);
        }

        // 16 prompts of 3 positions x 2 features, answers alternating.
        var clean = Enumerable.Range(0, 96).Select(i => (float)(((i * 7) % 11) - 5) / 2).ToArray();
        using var batch = new PromptBatch(
            0,
            torch.tensor(clean, [16, 3, 2]),
            torch.tensor(clean.Select(x => -x + 0.5f).ToArray(), [16, 3, 2]),
            new AnswerSet(torch.tensor(Enumerable.Range(0, 16).Select(i => (long)(i % 2)).ToArray(), [16, 1])),
            new AnswerSet(torch.tensor(Enumerable.Range(0, 16).Select(i => (long)((i + 1) % 2)).ToArray(), [16, 1])));
        var sizes = MibProtocol.Sizes(model.Graph.EdgeCount);
        var selection = CircuitSelection.Default;
        var plain = CircuitEvaluator.Evaluate(model, [batch], scores, sizes, selection: selection, protocol: EvaluationProtocol.Mib);
        var a = CircuitEvaluator.Evaluate(
            model, [batch], scores, sizes, selection: selection, protocol: EvaluationProtocol.Mib, bootstrap: 200, bootstrapSeed: 7);
        var again = CircuitEvaluator.Evaluate(
            model, [batch], scores, sizes, selection: selection, protocol: EvaluationProtocol.Mib, bootstrap: 200, bootstrapSeed: 7);
        var other = CircuitEvaluator.Evaluate(
            model, [batch], scores, sizes, selection: selection, protocol: EvaluationProtocol.Mib, bootstrap: 200, bootstrapSeed: 8);

        Assert.Null(plain.Bootstrap);
        Assert.Equal(plain.Mib!.Cpr, a.Mib!.Cpr);
        for (var i = 0; i < plain.Results.Count; i++)
        {
            Assert.Equal(plain.Results[i].Metrics["logit-diff"], a.Results[i].Metrics["logit-diff"]);
        }

        Assert.Equal(200, a.Bootstrap!.Resamples);
        Assert.Equal(sizes.Count, a.Bootstrap.Metrics.Count);
        var ld = a.Bootstrap.Metrics.Select(m => m["logit-diff"]).ToList();
        Assert.All(ld, iv => Assert.True(iv.Low <= iv.High));
        Assert.Equal(ld, again.Bootstrap!.Metrics.Select(m => m["logit-diff"]));
        Assert.NotEqual(ld, other.Bootstrap!.Metrics.Select(m => m["logit-diff"]));
    }
}
