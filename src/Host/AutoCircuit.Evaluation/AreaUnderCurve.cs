namespace AutoCircuit.Evaluation;

/// <summary>
/// auto-circuit's area under a metric-vs-edge-count curve (<c>metrics/area_under_curve.py</c>).
/// </summary>
public static class AreaUnderCurve
{
    /// <summary>auto-circuit's floor on an area (<c>eps</c>), so that areas can be divided by.</summary>
    public const double DefaultEpsilon = 1e-3;

    /// <summary>
    /// auto-circuit's <c>measurements_auc</c>: the trapezoidal area between the curve and its value at 0 edges,
    /// with the points sorted by edge count. With <paramref name="logX"/> the edge counts are replaced by their
    /// base-10 logarithms and the segments that touch 0 edges are left out; with <paramref name="logY"/> values are
    /// floored at <paramref name="yMin"/> and replaced by <c>log10(y) - log10(yMin)</c>. As in auto-circuit the
    /// baseline, the value at 0 edges, is subtracted <em>untransformed</em> even on a logarithmic axis. The result
    /// is at least <paramref name="epsilon"/> (NaN stays NaN).
    /// </summary>
    /// <param name="points">(edge count, metric value) points; one of them must be at 0 edges.</param>
    /// <param name="logX">Logarithmic edge-count axis.</param>
    /// <param name="logY">Logarithmic metric axis.</param>
    /// <param name="yMin">Floor of the logarithmic metric axis (required with <paramref name="logY"/>, positive).</param>
    /// <param name="epsilon">Smallest area returned.</param>
    /// <exception cref="ArgumentException">No points, no point at 0 edges, a negative edge count, or
    /// <paramref name="logY"/> without a positive <paramref name="yMin"/>.</exception>
    public static double Measure(
        IReadOnlyList<(double X, double Y)> points, bool logX, bool logY, double? yMin, double epsilon = DefaultEpsilon)
    {
        ArgumentNullException.ThrowIfNull(points);
        if (points.Count == 0)
        {
            throw new ArgumentException("The area under a curve needs at least one point.", nameof(points));
        }

        if (logY && yMin is not > 0)
        {
            throw new ArgumentException("A logarithmic metric axis needs a positive y_min.", nameof(yMin));
        }

        // Python's sorted is stable: equal edge counts keep their order.
        var sorted = points.Select((p, i) => (p, i)).OrderBy(t => t.p.X).ThenBy(t => t.i).Select(t => t.p).ToList();
        if (sorted[0].X != 0)
        {
            throw new ArgumentException(
                $"The area under a curve is measured from 0 edges, but the smallest edge count is {sorted[0].X}.", nameof(points));
        }

        var baseline = sorted[0].Y;
        var area = 0.0;
        for (var i = 1; i < sorted.Count; i++)
        {
            var (x1, y1) = sorted[i - 1];
            var (x2, y2) = sorted[i];
            if (logY)
            {
                y1 = Math.Max(y1, yMin!.Value);
                y2 = Math.Max(y2, yMin.Value);
            }

            if (logX && (x1 == 0 || x2 == 0))
            {
                continue;
            }

            if (logX)
            {
                if (x1 < 0 || x2 < 0)
                {
                    throw new ArgumentException("Edge counts must not be negative on a logarithmic axis.", nameof(points));
                }

                x1 = Math.Log(x1, 10);
                x2 = Math.Log(x2, 10);
            }

            if (logY)
            {
                y1 = Math.Log(y1, 10) - Math.Log(yMin!.Value, 10);
                y2 = Math.Log(y2, 10) - Math.Log(yMin.Value, 10);
            }

            area += (x2 - x1) * ((y1 - baseline) + (y2 - baseline)) / 2.0;
        }

        // Python's max(area, eps) returns area when it is NaN.
        return double.IsNaN(area) ? area : Math.Max(area, epsilon);
    }

    /// <summary>
    /// <see cref="Measure"/> on <paramref name="metric"/>'s axes, or <c>null</c> where there is no area: fewer than two
    /// points (auto-circuit's <c>algo_measurements_auc</c> skips them), no point at 0 edges (auto-circuit's assertion
    /// fails), or an undefined (NaN or infinite) metric value.
    /// </summary>
    public static double? ForMetric(PruneMetric metric, IReadOnlyList<(double X, double Y)> points)
    {
        ArgumentNullException.ThrowIfNull(metric);
        ArgumentNullException.ThrowIfNull(points);
        if (points.Count < 2 || !points.Any(p => p.X == 0) || points.Any(p => !double.IsFinite(p.Y)))
        {
            return null;
        }

        return Measure(points, metric.LogX, metric.LogY, metric.YMin);
    }

    /// <summary>
    /// The mean of a metric-vs-edge-count curve over its edge counts on a <em>linear</em> axis: the trapezoidal area
    /// between the smallest and the largest count (straight lines between the sizes evaluated, as the curves are drawn)
    /// divided by that range; <c>null</c> with fewer than two distinct counts or an undefined value. Unlike
    /// <see cref="Measure"/> on a logarithmic axis, which leaves out the segments that touch 0 edges, it measures every
    /// curve that runs from 0 to every edge over the same range, whatever sizes its scores' ties allow; the full model's
    /// value everywhere gives that value.
    /// </summary>
    public static double? MeanOverSizes(IReadOnlyList<(double X, double Y)> points)
    {
        ArgumentNullException.ThrowIfNull(points);
        if (points.Any(p => !double.IsFinite(p.X) || !double.IsFinite(p.Y)))
        {
            return null;
        }

        var sorted = points.OrderBy(p => p.X).ToList();
        if (sorted.Count < 2 || sorted[^1].X <= sorted[0].X)
        {
            return null;
        }

        var area = 0.0;
        for (var i = 1; i < sorted.Count; i++)
        {
            area += (sorted[i].X - sorted[i - 1].X) * (sorted[i].Y + sorted[i - 1].Y) / 2.0;
        }

        return area / (sorted[^1].X - sorted[0].X);
    }

    /// <summary>
    /// auto-circuit's normalised area (<c>average_auc_plot</c>): an algorithm's area divided by the random
    /// algorithm's area times the number of tasks; for a metric where lower is better it is mirrored around one
    /// task's unit, <c>1/tasks + (1/tasks - normalised)</c>. Summed over tasks, random scores 1.
    /// </summary>
    public static double NormalizedByRandom(double area, double randomArea, int taskCount = 1, bool lowerBetter = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(taskCount, 1);
        var normalized = area / (randomArea * taskCount);
        if (lowerBetter)
        {
            var unit = 1.0 / taskCount;
            normalized = unit + (unit - normalized);
        }

        return normalized;
    }
}
