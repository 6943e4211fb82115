using AutoCircuit.Evaluation;
using AutoCircuit.Graph;
using AutoCircuit.Scores;
using static TorchSharp.torch;

namespace AutoCircuit.Testing;

/// <summary>
/// Assertions on an algorithm's scores: they fit the graph (one floating-point tensor of each destination's mask
/// shape, finite), and they agree with a reference (top-k overlap and rank correlation). Failures throw
/// <see cref="ScoreAssertionException"/> with what was expected and found.
/// </summary>
public static class ScoreAssert
{
    /// <summary>
    /// Asserts that <paramref name="scores"/> has exactly the destinations of <paramref name="graph"/>, each a
    /// floating-point tensor of the destination's mask shape (<c>[seq?][head?][src]</c>) typed as its axes call for
    /// (<see cref="SrcScores"/>, <see cref="HeadSrcScores"/>, <see cref="SeqSrcScores"/>, <see cref="SeqHeadSrcScores"/>),
    /// with no NaN or infinite score.
    /// </summary>
    /// <exception cref="ScoreAssertionException">A destination is missing or extra, or a shape, type or value is wrong.</exception>
    public static void HasGraphShapes(PruneScores scores, ModelGraph graph)
    {
        ArgumentNullException.ThrowIfNull(scores);
        ArgumentNullException.ThrowIfNull(graph);
        var expected = graph.DestModules.Select(m => m.ModuleName).ToList();
        var actual = scores.Keys.ToList();
        var missing = expected.Except(actual, StringComparer.Ordinal).ToList();
        var extra = actual.Except(expected, StringComparer.Ordinal).ToList();
        if (missing.Count > 0 || extra.Count > 0)
        {
            throw new ScoreAssertionException(
                "The scores do not have the graph's destinations" +
                (missing.Count > 0 ? $"; missing: {string.Join(", ", missing)}" : string.Empty) +
                (extra.Count > 0 ? $"; not in the graph: {string.Join(", ", extra)}" : string.Empty) + ".");
        }

        foreach (var module in graph.DestModules)
        {
            var destination = scores.For(module.ModuleName);
            var tensor = destination.Tensor;
            if (!tensor.shape.SequenceEqual(module.MaskShape))
            {
                throw new ScoreAssertionException(
                    $"Scores of '{module.ModuleName}' have shape [{string.Join(", ", tensor.shape)}]; the graph's mask is " +
                    $"{module.DescribeShape()}.");
            }

            if (!tensor.is_floating_point())
            {
                throw new ScoreAssertionException($"Scores of '{module.ModuleName}' are {tensor.dtype}, not a floating-point tensor.");
            }

            if (destination.Axes != module.Axes)
            {
                throw new ScoreAssertionException(
                    $"Scores of '{module.ModuleName}' are {DestinationScores.KindName(destination.Axes)}; the graph's destination " +
                    $"calls for {DestinationScores.KindName(module.Axes)}.");
            }
        }

        AllFinite(scores);
    }

    /// <summary>Asserts that no score is NaN or infinite, naming the first destination that has one.</summary>
    /// <exception cref="ScoreAssertionException">A NaN or infinite score.</exception>
    public static void AllFinite(PruneScores scores)
    {
        ArgumentNullException.ThrowIfNull(scores);
        foreach (var destination in scores.Destinations)
        {
            using var scope = NewDisposeScope();
            var bad = destination.Tensor.isfinite().logical_not();
            var count = bad.sum().item<long>();
            if (count > 0)
            {
                throw new ScoreAssertionException(
                    $"Scores of '{destination.Name}' hold {count} NaN or infinite value(s) of {destination.Tensor.numel()}.");
            }
        }
    }

    /// <summary>
    /// Measures how much <paramref name="actual"/> agrees with <paramref name="reference"/> (scores of the same graph):
    /// the overlap of their top-<paramref name="k"/> circuits by <c>|score|</c> and Spearman's rank correlation of
    /// <c>|score|</c> over every edge (as <c>compare</c> reports it).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> outside <c>1..edges</c>.</exception>
    /// <exception cref="ScoreAssertionException">The scores belong to graphs with different edges.</exception>
    public static ScoreAgreement Agreement(PruneScores actual, PruneScores reference, int k)
    {
        ArgumentNullException.ThrowIfNull(actual);
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(k, actual.EdgeCount);
        var a = FlatScores.From(actual);
        var values = FlatValues(reference, actual.Graph);
        var b = FlatScores.FromValues(actual.Graph, values);
        var pair = Evaluation.Agreement.Measure([("actual", a), ("reference", b)], [k]).Pairs[0];
        var overlap = pair.TopK[0];
        return new ScoreAgreement(k, overlap.Shared, Math.Min(1.0, (double)overlap.Shared / k), overlap.Jaccard, pair.Spearman);
    }

    /// <summary>
    /// Asserts that <paramref name="actual"/> agrees with <paramref name="reference"/>: at least
    /// <paramref name="minTopKOverlap"/> of the reference's top-<paramref name="k"/> edges are among the actual top
    /// <paramref name="k"/>, and (when given) Spearman's rank correlation is at least <paramref name="minSpearman"/>.
    /// </summary>
    /// <returns>The measured agreement, for the test's log.</returns>
    /// <exception cref="ScoreAssertionException">Less agreement than asked for (the message gives both numbers and the
    /// reference's top edges that were missed).</exception>
    public static ScoreAgreement AgreesWith(
        PruneScores actual, PruneScores reference, int k, double minTopKOverlap = 1.0, double? minSpearman = null)
    {
        ArgumentNullException.ThrowIfNull(actual);
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentOutOfRangeException.ThrowIfLessThan(minTopKOverlap, 0.0);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minTopKOverlap, 1.0);
        var agreement = Agreement(actual, reference, k);
        var failures = new List<string>();
        if (agreement.TopKOverlap < minTopKOverlap)
        {
            var mine = actual.RankedEdges(k).Select(e => e.Edge.ToString()).ToHashSet(StringComparer.Ordinal);
            var missed = reference.RankedEdges(k).Select(e => e.Edge.ToString()).Where(e => !mine.Contains(e)).Take(10);
            failures.Add($"top-{k} overlap {agreement.TopKOverlap:0.###} < {minTopKOverlap:0.###} (the reference's top edges " +
                         $"missing: {string.Join(", ", missed)})");
        }

        if (minSpearman is double min && !(agreement.Spearman >= min))
        {
            failures.Add($"Spearman {(agreement.Spearman is double s ? s.ToString("0.####", System.Globalization.CultureInfo.InvariantCulture) : "undefined")} < {min}");
        }

        if (failures.Count > 0)
        {
            throw new ScoreAssertionException($"The scores do not agree with the reference: {string.Join("; ", failures)}. Measured: {agreement}.");
        }

        return agreement;
    }

    /// <summary>The reference's values in the flat order of <paramref name="graph"/>, matching destinations by name.</summary>
    private static float[] FlatValues(PruneScores reference, ModelGraph graph)
    {
        if (ReferenceEquals(reference.Graph, graph))
        {
            return [.. FlatScores.From(reference).Values];
        }

        HasGraphShapes(reference, graph);
        using var scope = NewDisposeScope();
        var parts = graph.DestModules.Select(m => reference[m.ModuleName].detach().to(CPU).to_type(ScalarType.Float32).flatten()).ToArray();
        return cat(parts, 0).data<float>().ToArray();
    }
}
