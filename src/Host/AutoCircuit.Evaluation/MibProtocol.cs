namespace AutoCircuit.Evaluation;

/// <summary>The MIB circuit track's measures of one set of scores (<c>--protocol mib</c>).</summary>
/// <param name="Metric">The task metric faithfulness is computed from (a <see cref="PruneMetric.Key"/>).</param>
/// <param name="Fractions">The fractions of the edges, in increasing order.</param>
/// <param name="Requested">Per fraction, the circuit size asked for: <c>int(fraction × n_edges)</c>.</param>
/// <param name="Faithfulness">Per fraction, <c>(circuit − empty) / (full − empty)</c> of the metric; NaN when the full
/// model and the empty circuit score the same.</param>
/// <param name="WeightedEdgeCount">Per fraction, the edges left in the circuit after selection and pruning.</param>
/// <param name="Cpr">Area under the faithfulness curve over the fraction axis (trapezoids): higher is better.</param>
/// <param name="Cmd">Area under <c>|1 − faithfulness|</c> over the fraction axis: lower is better.</param>
/// <param name="Full">The metric on the full model (the clean run).</param>
/// <param name="Empty">The metric of the empty circuit (every edge ablated).</param>
public sealed record MibResult(
    string Metric,
    IReadOnlyList<double> Fractions,
    IReadOnlyList<int> Requested,
    IReadOnlyList<double> Faithfulness,
    IReadOnlyList<int> WeightedEdgeCount,
    double Cpr,
    double Cmd,
    double Full,
    double Empty);

/// <summary>
/// The MIB circuit track's evaluation protocol (<c>MIB_circuit_track/evaluation.py</c>,
/// <c>evaluate_area_under_curve</c>): circuits of fixed fractions of the edges, faithfulness normalised between the empty
/// circuit and the full model, and the two areas over the fraction axis, CPR and CMD.
/// </summary>
public static class MibProtocol
{
    /// <summary>The task metric faithfulness is computed from.</summary>
    public static PruneMetric Metric => PruneMetric.LogitDiff;

    /// <summary>MIB's fractions of the edges.</summary>
    public static IReadOnlyList<double> Fractions { get; } = [.001, .002, .005, .01, .02, .05, .1, .2, .5, 1];

    /// <summary>The size of a fraction's circuit: <c>int(fraction × n_edges)</c>, as MIB computes it.</summary>
    public static int SizeOf(double fraction, int edgeCount) => (int)(fraction * edgeCount);

    /// <summary>The distinct circuit sizes the protocol evaluates: 0 (the empty circuit) and every fraction's size.</summary>
    public static List<int> Sizes(int edgeCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(edgeCount);
        return Fractions.Select(f => SizeOf(f, edgeCount)).Prepend(0).Distinct().Order().ToList();
    }

    /// <summary>
    /// CPR and CMD as <c>evaluation.py</c> computes them: for each pair of neighbouring fractions, a trapezoid of width
    /// <c>x₂ − x₁</c> and height the mean of the two faithfulness values (CPR), or of their distances from 1 (CMD).
    /// </summary>
    /// <param name="fractions">The x values, in order.</param>
    /// <param name="faithfulness">One faithfulness value per fraction.</param>
    /// <param name="logScale">Take the trapezoids over <c>log(x)</c> instead (MIB's <c>log_scale</c>).</param>
    public static (double Cpr, double Cmd) Areas(IReadOnlyList<double> fractions, IReadOnlyList<double> faithfulness, bool logScale = false)
    {
        ArgumentNullException.ThrowIfNull(fractions);
        ArgumentNullException.ThrowIfNull(faithfulness);
        if (fractions.Count != faithfulness.Count)
        {
            throw new ArgumentException($"{fractions.Count} fractions but {faithfulness.Count} faithfulness values.", nameof(faithfulness));
        }

        double cpr = 0, cmd = 0;
        for (var i = 0; i + 1 < fractions.Count; i++)
        {
            var x1 = logScale ? Math.Log(fractions[i]) : fractions[i];
            var x2 = logScale ? Math.Log(fractions[i + 1]) : fractions[i + 1];
            var f1 = faithfulness[i];
            var f2 = faithfulness[i + 1];
            cmd += (x2 - x1) * ((Math.Abs(1.0 - f1) + Math.Abs(1.0 - f2)) / 2);
            cpr += (x2 - x1) * ((f1 + f2) / 2);
        }

        return (cpr, cmd);
    }

    /// <summary>Faithfulness: <c>(circuit − empty) / (full − empty)</c>.</summary>
    public static double Faithfulness(double circuit, double empty, double full) => (circuit - empty) / (full - empty);

    /// <summary>
    /// The protocol's measures from an evaluation of <see cref="Sizes"/> (every fraction's size and 0 among its results)
    /// and the full model's value of <see cref="Metric"/>.
    /// </summary>
    /// <exception cref="ArgumentException">A size the evaluation did not measure.</exception>
    public static MibResult Measure(IReadOnlyList<CircuitResult> results, int edgeCount, double full)
    {
        ArgumentNullException.ThrowIfNull(results);
        CircuitResult At(int k) => results.FirstOrDefault(r => r.Requested == k)
                                   ?? throw new ArgumentException($"The evaluation has no circuit of {k} edges.", nameof(results));
        var key = Metric.Key;
        var empty = At(0).Metrics[key];
        var requested = Fractions.Select(f => SizeOf(f, edgeCount)).ToList();
        var faithfulness = requested.Select(k => Faithfulness(At(k).Metrics[key], empty, full)).ToList();
        var weighted = requested.Select(k => At(k).Edges).ToList();
        var (cpr, cmd) = Areas(Fractions, faithfulness);
        return new MibResult(key, Fractions, requested, faithfulness, weighted, cpr, cmd, full, empty);
    }
}
