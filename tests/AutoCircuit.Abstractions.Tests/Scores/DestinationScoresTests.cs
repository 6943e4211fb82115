using AutoCircuit.Scores;
using AutoCircuit.Testing;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace AutoCircuit.Abstractions.Tests.Scores;

/// <summary>The typed score shapes: one kind per destination axes, checked once at construction, no silent broadcast.</summary>
public sealed class DestinationScoresTests
{
    [Fact]
    public void Create_EachDestinationAxes_GivesTheMatchingKind()
    {
        var plain = TinyGraphs.Factorized();
        var seq = TinyGraphs.Factorized(seqLen: 3);

        using var scores = PruneScores.Filled(plain);
        using var seqScores = PruneScores.Filled(seq);

        Assert.Equal(
            [typeof(HeadSrcScores), typeof(SrcScores), typeof(SrcScores)],
            scores.Destinations.Select(d => d.GetType()));
        Assert.Equal(
            [typeof(SeqHeadSrcScores), typeof(SeqSrcScores), typeof(SeqSrcScores)],
            seqScores.Destinations.Select(d => d.GetType()));
        Assert.Equal(["attn1_in", "mlp1_in", "resid_end"], scores.Destinations.Select(d => d.Name));
    }

    [Fact]
    public void Constructor_HeadSrcTensorForSrcDestination_ThrowsNamingDestinationAndBothShapes()
    {
        var mlp = TinyGraphs.Factorized().DestModule(TinyGraphs.Mlp);
        using var headSrc = torch.zeros(2, 4);

        var ex = Assert.Throws<ArgumentException>(() => new SrcScores(mlp, headSrc));

        Assert.StartsWith(
            "Scores for destination 'mlp1_in' must have shape [src=4] but the tensor has shape [2, 4].",
            ex.Message,
            StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_SrcTensorThatWouldBroadcastOverHeads_Throws()
    {
        var heads = TinyGraphs.Factorized().DestModule(TinyGraphs.Heads);
        using var perSource = torch.ones(3);

        var ex = Assert.Throws<ArgumentException>(() => new HeadSrcScores(heads, perSource));

        Assert.Contains("'attn1_in' must have shape [head=2, src=3] but the tensor has shape [3]", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_KindOfOtherAxes_ThrowsNamingTheRightKind()
    {
        var heads = TinyGraphs.Factorized().DestModule(TinyGraphs.Heads);
        using var tensor = torch.zeros(2, 3);

        var ex = Assert.Throws<ArgumentException>(() => new SrcScores(heads, tensor));

        Assert.Contains(
            "Destination 'attn1_in' has axes [head=2, src=3], so its scores are HeadSrcScores, not SrcScores.",
            ex.Message,
            StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_IntegerTensor_ThrowsNamingDtype()
    {
        var mlp = TinyGraphs.Factorized().DestModule(TinyGraphs.Mlp);
        using var ints = torch.zeros(4, dtype: ScalarType.Int64);

        var ex = Assert.Throws<ArgumentException>(() => new SrcScores(mlp, ints));

        Assert.Contains("'mlp1_in' must be a floating-point tensor but are Int64", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Add_TensorOfOtherShape_ThrowsAndLeavesScores()
    {
        using var scores = PruneScores.Filled(TinyGraphs.Factorized(), 1);
        var mlp = scores.For(TinyGraphs.Mlp);
        using var wrong = torch.ones(1, 4);

        Assert.Throws<ArgumentException>(() => mlp.Add(wrong));

        using var expected = torch.ones(4);
        TensorAssert.Equal(expected, mlp.Tensor);
    }

    [Fact]
    public void AddPerSource_RepeatsOverHeadsAndPositions()
    {
        using var scores = PruneScores.Filled(TinyGraphs.Factorized(seqLen: 2));
        var heads = scores.For<SeqHeadSrcScores>(scores.Graph.DestModule(TinyGraphs.Heads));
        using var perSource = torch.tensor(new[] { 1f, 2f, 3f });

        heads.AddPerSource(perSource);

        using var expected = perSource.expand(2, 2, 3);
        TensorAssert.Equal(expected, heads.Tensor);
    }

    [Fact]
    public void AddPerSource_WrongLength_ThrowsNamingDestination()
    {
        using var scores = PruneScores.Filled(TinyGraphs.Factorized());
        using var perGraphSource = torch.ones(4);

        var ex = Assert.Throws<ArgumentException>(() => scores.For(TinyGraphs.Heads).AddPerSource(perGraphSource));

        Assert.Contains("destination 'attn1_in' [head=2, src=3] needs one value per incoming source [src=3]", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddPerGraphSource_ResidualGraph_UsesEachDestinationsOwnSources()
    {
        using var scores = PruneScores.Filled(TinyGraphs.Residual());
        using var perGraphSource = torch.tensor(new[] { 10f, 11f, 12f, 13f });

        foreach (var destination in scores.Destinations)
        {
            destination.AddPerGraphSource(perGraphSource);
        }

        using var heads = torch.tensor(new[] { 11f, 12f, 11f, 12f }, [2, 2]);
        using var mlp = torch.tensor(new[] { 13f });
        TensorAssert.Equal(heads, scores[TinyGraphs.Heads]);
        TensorAssert.Equal(mlp, scores[TinyGraphs.Mlp]);
    }

    [Fact]
    public void AddPerGraphSource_IncomingOnly_ThrowsNamingGraphSourceCount()
    {
        using var scores = PruneScores.Filled(TinyGraphs.Residual());
        using var incoming = torch.ones(2);

        var ex = Assert.Throws<ArgumentException>(() => scores.For(TinyGraphs.Heads).AddPerGraphSource(incoming));

        Assert.Contains("[n_src=4] but the tensor has shape [2]", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EdgeIndexer_EveryEdge_AddressesItsFlatPosition()
    {
        var graph = TinyGraphs.Factorized(seqLen: 2);
        using var scores = PruneScores.Filled(graph);

        foreach (var (edge, i) in graph.FlatEdges.Select((e, i) => (e, i)))
        {
            using var element = scores.For(edge.Dest.ModuleName)[edge];
            element.fill_(i);
        }

        using var flat = scores.Flatten();
        using var expected = torch.arange(graph.EdgeCount, dtype: ScalarType.Float32);
        TensorAssert.Equal(expected, flat);
    }

    [Fact]
    public void EdgeIndexer_EdgeOfAnotherDestination_Throws()
    {
        var graph = TinyGraphs.Factorized();
        using var scores = PruneScores.Filled(graph);
        var intoMlp = graph.EdgesInto(TinyGraphs.Mlp)[0];

        var ex = Assert.Throws<ArgumentException>(() => scores.For(TinyGraphs.Heads)[intoMlp]);

        Assert.Contains("goes into 'mlp1_in', not into destination 'attn1_in'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AxisAccessors_SeqHeadSrc_AreViewsOfTheNamedAxes()
    {
        var graph = TinyGraphs.Factorized(seqLen: 2);
        using var scores = PruneScores.Filled(graph);
        var heads = scores.OfKind<SeqHeadSrcScores>().Single();
        using var values = torch.arange(12, dtype: ScalarType.Float32).reshape(2, 2, 3); // [seq, head, src]
        heads.CopyFrom(values);

        using var position1 = heads.Position(1);
        using var head1 = heads.Head(graph.DestModule(TinyGraphs.Heads).Nodes[1]);
        using var at = heads.At(1, 0);
        using var source2 = heads.Source(graph.Srcs[2]);

        Assert.Equal((2, 2, 3), (heads.Positions, heads.Heads, heads.Sources));
        TensorAssert.Equal(values[1], position1);
        TensorAssert.Equal(values[.., 1], head1);
        TensorAssert.Equal(values[1, 0], at);
        TensorAssert.Equal(values[.., .., 2], source2);
        at.fill_(-1);
        Assert.Equal(-1f, heads.Tensor[1, 0, 2].ToSingle());
    }

    [Fact]
    public void AxisAccessors_IndexOutOfRange_ThrowsNamingAxis()
    {
        using var scores = PruneScores.Filled(TinyGraphs.Factorized());
        var heads = scores.OfKind<HeadSrcScores>().Single();

        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => heads.Head(2));

        Assert.Contains("Destination 'attn1_in' [head=2, src=3] has head 0..1", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Source_NotFeedingDestination_Throws()
    {
        var graph = TinyGraphs.Factorized();
        using var scores = PruneScores.Filled(graph);

        var ex = Assert.Throws<ArgumentException>(() => scores.For(TinyGraphs.Heads).Source(graph.Srcs[3]));

        Assert.Contains("'MLP 0' (index 3) does not feed destination 'attn1_in', whose sources are 0..2", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ForOfKind_OtherKind_ThrowsNamingBoth()
    {
        var graph = TinyGraphs.Factorized();
        using var scores = PruneScores.Filled(graph);

        var ex = Assert.Throws<InvalidOperationException>(() => scores.For<SrcScores>(graph.DestModule(TinyGraphs.Heads)));

        Assert.Equal("Destination 'attn1_in' has axes [head=2, src=3]: its scores are HeadSrcScores, not SrcScores.", ex.Message);
    }

    [Fact]
    public void Match_EachKind_CallsItsFunction()
    {
        using var scores = PruneScores.Filled(TinyGraphs.Factorized(seqLen: 1));
        using var plain = PruneScores.Filled(TinyGraphs.Factorized());

        var kinds = plain.Destinations.Concat(scores.Destinations).Select(d => d.Match(
            src: s => $"src {s.Sources}",
            headSrc: h => $"head-src {h.Heads}x{h.Sources}",
            seqSrc: s => $"seq-src {s.Positions}x{s.Sources}",
            seqHeadSrc: s => $"seq-head-src {s.Positions}x{s.Heads}x{s.Sources}"));

        Assert.Equal(
            ["head-src 2x3", "src 4", "src 4", "seq-head-src 1x2x3", "seq-src 1x4", "seq-src 1x4"],
            kinds);
    }

    [Fact]
    public void FromTensors_WrongShape_ThrowsAndLeavesCallerTensorsUsable()
    {
        var graph = TinyGraphs.Factorized();
        var tensors = new Dictionary<string, Tensor>
        {
            [TinyGraphs.Heads] = torch.zeros(2, 3),
            [TinyGraphs.Mlp] = torch.zeros(2, 4),
            ["resid_end"] = torch.zeros(4),
        };

        var ex = Assert.Throws<ArgumentException>(() => PruneScores.FromTensors(graph, tensors));

        Assert.Contains("'mlp1_in' must have shape [src=4] but the tensor has shape [2, 4]", ex.Message, StringComparison.Ordinal);
        Assert.Equal(6, tensors[TinyGraphs.Heads].numel());
        foreach (var t in tensors.Values)
        {
            t.Dispose();
        }
    }

    [Fact]
    public void Dispose_DisposesTheOwnedTensor()
    {
        var mlp = TinyGraphs.Factorized().DestModule(TinyGraphs.Mlp);
        var tensor = torch.zeros(4);
        var scores = new SrcScores(mlp, tensor);

        scores.Dispose();

        Assert.True(tensor.IsInvalid);
        Assert.Throws<ObjectDisposedException>(() => scores.Tensor);
    }

    [Fact]
    public void FromDestinations_AnyOrder_AssemblesInGraphOrder()
    {
        var graph = TinyGraphs.Factorized();
        var parts = graph.DestModules.Reverse().Select(m => DestinationScores.Filled(m, m.Index)).ToList();

        using var scores = PruneScores.FromDestinations(graph, parts);

        Assert.Equal(graph.DestModules.Select(m => m.ModuleName), scores.Keys);
        Assert.Equal(2f, scores["resid_end"][0].ToSingle());
    }
}
