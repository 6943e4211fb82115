using AutoCircuit.Data;
using AutoCircuit.Engine.Patching;
using AutoCircuit.Evaluation;
using AutoCircuit.Models.Micro;
using AutoCircuit.Patching;
using AutoCircuit.Scores;
using AutoCircuit.Testing;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace AutoCircuit.Host.Tests.Evaluation;

/// <summary>
/// <see cref="CircuitRunner"/>: auto-circuit's <c>tests/test_prune.py</c> outputs through the evaluation API, and the
/// runner's own contract (real counts under ties, tree patch, reversal, restored masks, bad input).
/// </summary>
public sealed class CircuitRunnerTests
{
    /// <summary>Keeps every output (cloned), keyed by circuit index.</summary>
    private sealed class CaptureSink : ICircuitOutputSink, IDisposable
    {
        public Dictionary<int, List<Tensor>> Outputs { get; } = [];

        public IReadOnlyList<int> Patched { get; private set; } = [];

        public int BatchesSeen { get; private set; }

        public void Begin(IReadOnlyList<int> requested, IReadOnlyList<int> patched, int batchCount) => Patched = patched;

        public void BeginBatch(int batchIndex, PromptBatch batch) => BatchesSeen++;

        public void Consume(int circuitIndex, int batchIndex, PromptBatch batch, Tensor output)
        {
            if (!Outputs.TryGetValue(circuitIndex, out var list))
            {
                Outputs[circuitIndex] = list = [];
            }

            list.Add(output.clone().DetachFromDisposeScope());
        }

        public void Dispose()
        {
            foreach (var t in Outputs.Values.SelectMany(l => l))
            {
                t.Dispose();
            }
        }
    }

    // auto-circuit's micro_model_inputs prompt: clean [[3,3],[2,2],[1,1]], corrupt = -clean, answer 1, wrong 0.
    private static PromptBatch TestPruneBatch(int key = 0) => new(
        key,
        torch.tensor(new float[] { 3, 3, 2, 2, 1, 1 }, [1, 3, 2]),
        torch.tensor(new float[] { -3, -3, -2, -2, -1, -1 }, [1, 3, 2]),
        new AnswerSet(torch.tensor(new long[] { 1 }, [1, 1])),
        new AnswerSet(torch.tensor(new long[] { 0 }, [1, 1])));

    private static PruneScores ScoresFor(PatchableModel model, params (string Name, int? Seq, double Score)[] edges)
    {
        var scores = model.NewPruneScores();
        foreach (var (name, seq, score) in edges)
        {
            scores.Set(model.Graph.FindEdge(name, seq) ?? throw new ArgumentException(name), score);
        }

        return scores;
    }

    [Theory]
    [InlineData(null)]
    [InlineData(3)]
    public void Run_TestPruneScenario_ReproducesAutoCircuitOutputs(int? seqLen)
    {
        using var micro = new MicroModel();
        using var model = PatchableModel.Create(micro, new GraphOptions(true, seqLen));
        int? seq = seqLen - 1;
        using var scores = ScoresFor(model, ("B0.1->Resid End", seq, 3.0), ("B0.0->B1.1", seq, 2.0), ("Resid Start->B0.0", seq, 1.0));
        using var batch = TestPruneBatch();
        using var sink = new CaptureSink();

        var real = CircuitRunner.Run(model, [batch], scores, [0, 1, 2, 3], new CircuitRunOptions(), sink);

        // auto-circuit keys its outputs by these counts; its stated outputs are exact in float32 (small integers).
        Assert.Equal([0, 1, 2, 3], real);
        var expected = new[] { new[] { -25f, -49f }, [-19f, -41f], [-13f, -25f], [-9f, -13f] };
        for (var k = 0; k <= 3; k++)
        {
            using var want = torch.tensor(expected[k], [1, 2]);
            TensorAssert.Equal(want, sink.Outputs[k].Single(), $"{k} edges");
        }
    }

    [Fact]
    public void Run_TestPruneSequenceScenario_ReproducesAutoCircuitOutputs()
    {
        using var micro = new MicroModel();
        using var model = PatchableModel.Create(micro, new GraphOptions(true, 3, OutputSlice: OutputSlice.All));
        using var scores = ScoresFor(model, ("B0.1->Resid End", 2, 3.0), ("B0.0->B1.1", 2, 2.0), ("Resid Start->Resid End", 0, 1.0));
        using var batch = TestPruneBatch();
        using var sink = new CaptureSink();
        using var corruptOut = model.Run(batch.Corrupt);

        var real = CircuitRunner.Run(model, [batch], scores, [0, 1, 2, 3], new CircuitRunOptions(), sink);

        Assert.Equal([0, 1, 2, 3], real);
        TensorAssert.Equal(corruptOut, sink.Outputs[0].Single(), "0 edges");
        TensorAssert.Equal(torch.tensor(new float[] { -19, -41 }, [1, 2]), sink.Outputs[1].Single().select(1, 2), "1 edge, position 2");
        TensorAssert.Equal(torch.tensor(new float[] { -13, -25 }, [1, 2]), sink.Outputs[2].Single().select(1, 2), "2 edges, position 2");
        TensorAssert.Equal(torch.tensor(new float[] { -69, -141 }, [1, 2]), sink.Outputs[3].Single().select(1, 0), "3 edges, position 0");
    }

    [Fact]
    public void Run_TiedScores_ReportsEveryTiedEdgeAndPatchesThem()
    {
        using var micro = new MicroModel();
        using var model = PatchableModel.Create(micro, new GraphOptions());
        // Two edges tie for second place: asking for 2 admits 3.
        using var scores = ScoresFor(model, ("B0.1->Resid End", null, 3.0), ("B0.0->B1.1", null, -2.0), ("Resid Start->B0.0", null, 2.0));
        using var batch = TestPruneBatch();
        using var sink = new CaptureSink();

        var real = CircuitRunner.Run(model, [batch], scores, [0, 1, 2, 3, 13], new CircuitRunOptions(), sink);

        Assert.Equal([0, 1, 3, 3, 13], real);
        TensorAssert.Equal(sink.Outputs[3].Single(), sink.Outputs[2].Single(), "2 requested = the 3-edge circuit");
        using var expected3 = torch.tensor(new float[] { -9, -13 }, [1, 2]);
        TensorAssert.Equal(expected3, sink.Outputs[2].Single(), "the 3 edges of test_prune");
    }

    [Fact]
    public void Run_EdgePatchAllEdgesAndTreePatchNone_GiveTheCleanModel()
    {
        using var micro = new MicroModel();
        using var model = PatchableModel.Create(micro, new GraphOptions());
        using var scores = ScoresFor(model, ("B0.1->Resid End", null, 3.0), ("B0.0->B1.1", null, 2.0));
        using var batch = TestPruneBatch();
        using var clean = model.Run(batch.Clean);
        using var corrupt = model.Run(batch.Corrupt);
        using var edgeSink = new CaptureSink();
        using var treeSink = new CaptureSink();
        using var reversedSink = new CaptureSink();
        var n = model.Graph.EdgeCount;

        var edgeReal = CircuitRunner.Run(model, [batch], scores, [0, n], new CircuitRunOptions(PatchType.EdgePatch), edgeSink);
        var treeReal = CircuitRunner.Run(model, [batch], scores, [0, n], new CircuitRunOptions(PatchType.TreePatch), treeSink);
        var reversedReal = CircuitRunner.Run(
            model, [batch], scores, [0, n], new CircuitRunOptions(PatchType.EdgePatch, ReverseCleanCorrupt: true), reversedSink);

        Assert.Equal([0, n], edgeReal);
        Assert.Equal([0, n], treeReal);
        Assert.Equal([0, n], reversedReal);
        TensorAssert.AllClose(corrupt, edgeSink.Outputs[0].Single(), 1e-5, 0, "edge patch, empty circuit = corrupt");
        TensorAssert.AllClose(clean, edgeSink.Outputs[1].Single(), 1e-5, 0, "edge patch, every edge = clean");
        TensorAssert.AllClose(corrupt, treeSink.Outputs[0].Single(), 1e-5, 0, "tree patch, empty circuit = corrupt");
        TensorAssert.AllClose(clean, treeSink.Outputs[1].Single(), 1e-5, 0, "tree patch, every edge = clean");
        TensorAssert.AllClose(clean, reversedSink.Outputs[0].Single(), 1e-5, 0, "reversed edge patch, empty circuit = clean");
        TensorAssert.AllClose(corrupt, reversedSink.Outputs[1].Single(), 1e-5, 0, "reversed edge patch, every edge = corrupt");
    }

    [Fact]
    public void Run_Always_RestoresMasksAndRunsEachBatchOnce()
    {
        using var micro = new MicroModel();
        using var model = PatchableModel.Create(micro, new GraphOptions());
        using var scores = ScoresFor(model, ("B0.1->Resid End", null, 3.0));
        using var b0 = TestPruneBatch(0);
        using var b1 = TestPruneBatch(1);
        model.SetAllMasks(0.25);
        using var sink = new CaptureSink();

        CircuitRunner.Run(model, [b0, b1], scores, [0, 1, 13], new CircuitRunOptions(), sink);

        Assert.Equal(2, sink.BatchesSeen);
        Assert.All(sink.Outputs.Values, list => Assert.Equal(2, list.Count));
        foreach (var mask in model.Masks.Values)
        {
            using var expected = torch.full_like(mask, 0.25);
            TensorAssert.Equal(expected, mask, "mask restored");
        }
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(14)]
    public void Run_CountOutsideGraph_Throws(int count)
    {
        using var micro = new MicroModel();
        using var model = PatchableModel.Create(micro, new GraphOptions());
        using var scores = model.NewPruneScores(1);
        using var batch = TestPruneBatch();
        using var sink = new CaptureSink();

        var e = Assert.Throws<ArgumentException>(() => CircuitRunner.Run(model, [batch], scores, [count], new CircuitRunOptions(), sink));

        Assert.Contains($"Edge count {count} is outside the graph's 0..13 edges", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Run_NaNScores_Throws()
    {
        using var micro = new MicroModel();
        using var model = PatchableModel.Create(micro, new GraphOptions());
        using var scores = ScoresFor(model, ("B0.1->Resid End", null, double.NaN));
        using var batch = TestPruneBatch();
        using var sink = new CaptureSink();

        var e = Assert.Throws<ArgumentException>(() => CircuitRunner.Run(model, [batch], scores, [1], new CircuitRunOptions(), sink));

        Assert.Contains("NaN or infinite", e.Message, StringComparison.Ordinal);
    }
}
