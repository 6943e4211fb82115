using System.Globalization;
using AutoCircuit.Graph;
using AutoCircuit.Scores;
using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Evaluation;

/// <summary>
/// A set of scores read to the CPU once, in flat score order (<see cref="ModelGraph.FlatEdges"/>), with the edges
/// ranked by <c>|score|</c>: the form reports, exports and comparisons read, never a tensor per edge.
/// </summary>
public sealed class FlatScores
{
    private int[]? _order;

    private FlatScores(ModelGraph graph, float[] values)
    {
        Graph = graph;
        Values = values;
    }

    /// <summary>The graph.</summary>
    public ModelGraph Graph { get; }

    /// <summary>Signed scores in flat order.</summary>
    public IReadOnlyList<float> Values { get; }

    /// <summary>
    /// Flat indices from the largest <c>|score|</c> down; equal <c>|score|</c>s keep flat order (as
    /// <see cref="PruneScores.RankedEdges"/>).
    /// </summary>
    public IReadOnlyList<int> Order => _order ??= Enumerable.Range(0, Values.Count)
        .OrderByDescending(i => MathF.Abs(Values[i])).ThenBy(i => i).ToArray();

    /// <summary>Reads <paramref name="scores"/> to the CPU (one copy).</summary>
    public static FlatScores From(PruneScores scores)
    {
        ArgumentNullException.ThrowIfNull(scores);
        using var scope = torch.NewDisposeScope();
        var flat = scores.Flatten().detach().to_type(ScalarType.Float32).cpu();
        return new FlatScores(scores.Graph, flat.data<float>().ToArray());
    }

    /// <summary>Wraps values already in flat order.</summary>
    /// <exception cref="ArgumentException">Not one value per edge.</exception>
    public static FlatScores FromValues(ModelGraph graph, float[] values)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(values);
        if (values.Length != graph.EdgeCount)
        {
            throw new ArgumentException($"Expected {graph.EdgeCount} scores (one per edge), got {values.Length}.", nameof(values));
        }

        return new FlatScores(graph, values);
    }

    /// <summary>Builds prune scores (CPU, float32) from values in flat order.</summary>
    public PruneScores ToPruneScores()
    {
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var m in Graph.DestModules)
            {
                var offset = (int)Graph.FlatOffset(m);
                var slice = new float[m.EdgeCount];
                for (var i = 0; i < slice.Length; i++)
                {
                    slice[i] = Values[offset + i];
                }

                tensors[m.ModuleName] = torch.tensor(slice, m.MaskShape).DetachFromDisposeScope();
            }

            return PruneScores.FromTensors(Graph, tensors);
        }
        catch
        {
            foreach (var t in tensors.Values)
            {
                t.Dispose();
            }

            throw;
        }
    }

    /// <summary>
    /// Whether each edge (flat order) is in the circuit of size <paramref name="k"/> as circuit evaluation defines it:
    /// every edge whose <c>|score|</c> is at least the k-th largest (ties admit more than k edges; none for k = 0).
    /// </summary>
    public bool[] CircuitOf(int k)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(k, Values.Count);
        var inCircuit = new bool[Values.Count];
        if (k == 0)
        {
            return inCircuit;
        }

        var threshold = MathF.Abs(Values[Order[k - 1]]);
        for (var i = 0; i < inCircuit.Length; i++)
        {
            inCircuit[i] = MathF.Abs(Values[i]) >= threshold;
        }

        return inCircuit;
    }

    /// <summary>Whether each edge (flat order) is among the first <paramref name="k"/> of <see cref="Order"/>: exactly k
    /// edges, ties broken by flat order.</summary>
    public bool[] TopExactly(int k)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(k, Values.Count);
        var inCircuit = new bool[Values.Count];
        for (var r = 0; r < k; r++)
        {
            inCircuit[Order[r]] = true;
        }

        return inCircuit;
    }

    /// <summary>A float as the shortest text that reads back to the same float (invariant culture).</summary>
    public static string Format(float value) => value.ToString("R", CultureInfo.InvariantCulture);
}
