using AutoCircuit.Graph;
using AutoCircuit.Scores;
using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Evaluation;

/// <summary>A receiver operating characteristic of a score ranking against a known circuit.</summary>
/// <param name="Points">(false positive rate, true positive rate) points: (0, 0) first, then one per circuit size
/// (in increasing size), then (1, 1).</param>
/// <param name="EdgeCounts">The requested circuit size of each point between the first and the last.</param>
/// <param name="Auc">Trapezoidal area under <see cref="Points"/>.</param>
/// <param name="PessimisticAuc">Area under the step curve auto-circuit's <c>roc_plot</c> draws (horizontal, then
/// vertical: tied edges count as false positives first).</param>
public sealed record RocCurve(IReadOnlyList<(double Fpr, double Tpr)> Points, IReadOnlyList<int> EdgeCounts, double Auc, double PessimisticAuc);

/// <summary>
/// auto-circuit's <c>measure_task_roc</c>: sweeps the top-k circuits of a score ranking and compares each with a
/// known circuit. A circuit of size k holds every edge with <c>|score| &gt;= threshold_k</c>, as in circuit evaluation.
/// </summary>
public static class Roc
{
    /// <summary>Measures the ROC curve (and its areas) of <paramref name="scores"/> against <paramref name="known"/>.</summary>
    /// <param name="scores">The ranking.</param>
    /// <param name="known">The known circuit's edges (edges of the scores' graph).</param>
    /// <param name="allEdges">Every size <c>0..n_edges</c> instead of auto-circuit's default sizes for the scores.</param>
    /// <exception cref="ArgumentException">The known circuit is empty or holds every edge (auto-circuit divides by zero),
    /// or names an edge that is not in the graph.</exception>
    public static RocCurve Measure(PruneScores scores, IReadOnlySet<Edge> known, bool allEdges = false)
    {
        ArgumentNullException.ThrowIfNull(scores);
        ArgumentNullException.ThrowIfNull(known);
        var graph = scores.Graph;
        var flatEdges = graph.FlatEdges;
        var isKnown = new bool[flatEdges.Count];
        var inGraph = 0;
        for (var i = 0; i < flatEdges.Count; i++)
        {
            isKnown[i] = known.Contains(flatEdges[i]);
            inGraph += isKnown[i] ? 1 : 0;
        }

        if (inGraph != known.Count)
        {
            var stray = known.First(e => !flatEdges.Contains(e));
            throw new ArgumentException($"The known circuit's edge {stray} is not an edge of the scores' graph.", nameof(known));
        }

        var nOfficial = known.Count;
        var nComplement = graph.EdgeCount - nOfficial;
        if (nOfficial == 0 || nComplement == 0)
        {
            throw new ArgumentException(
                $"A ROC curve needs a known circuit with at least one edge and at least one edge outside it; it has {nOfficial} " +
                $"of the graph's {graph.EdgeCount} edges.",
                nameof(known));
        }

        if (scores.HasNonFinite())
        {
            throw new ArgumentException("The scores contain NaN or infinite values: edges cannot be ranked.", nameof(scores));
        }

        var counts = EdgeCountSweep.Compute(graph.EdgeCount, allEdges ? EdgeCountRequest.All : null, allEdges ? null : scores);
        var (truePositives, admitted) = TruePositives(scores, isKnown, counts);

        var points = new List<(double, double)>(counts.Count + 2) { (0.0, 0.0) };
        for (var i = 0; i < counts.Count; i++)
        {
            var tp = truePositives[i];
            var fp = admitted[i] - tp;
            points.Add(((double)fp / nComplement, (double)tp / nOfficial));
        }

        points.Add((1.0, 1.0));
        double auc = 0, pessimistic = 0;
        for (var i = 1; i < points.Count; i++)
        {
            var (x1, y1) = points[i - 1];
            var (x2, y2) = points[i];
            auc += (x2 - x1) * (y1 + y2) / 2;
            pessimistic += (x2 - x1) * y1;
        }

        return new RocCurve(points, counts, auc, pessimistic);
    }

    /// <summary>For each size: the true positives and the number of edges admitted (<c>|score| &gt;= threshold</c>).</summary>
    private static (long[] TruePositives, long[] Admitted) TruePositives(PruneScores scores, bool[] isKnown, List<int> counts)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var flat = scores.Flatten().abs();
        var device = flat.device;
        var n = flat.size(0);
        var (desc, order) = flat.sort(descending: true);
        var knownFlat = torch.tensor(isKnown, device: device);
        var knownCum = knownFlat.index_select(0, order).to_type(ScalarType.Int64).cumsum(0);
        var ks = torch.tensor(counts.Select(k => (long)k).ToArray(), device: device);
        var thr = desc.index_select(0, (ks - 1).clamp_min(0));
        thr = torch.where(ks.eq(0), torch.full_like(thr, double.PositiveInfinity), thr);

        // Every edge tied with the k-th is admitted, so the admitted edges are a prefix of the sorted order.
        var admitted = n - torch.searchsorted(desc.flip(0), thr, right: false);
        var paddedCum = torch.cat([torch.zeros(1, dtype: ScalarType.Int64, device: device), knownCum], 0);
        var tp = paddedCum.index_select(0, admitted);
        var tpCpu = tp.cpu();
        var admittedCpu = admitted.to_type(ScalarType.Int64).cpu();
        return (tpCpu.data<long>().ToArray(), admittedCpu.data<long>().ToArray());
    }
}
