namespace AutoCircuit.Bench;

/// <summary>Median and spread of repeated measurements (times in milliseconds, or ratios).</summary>
/// <param name="Median">The median.</param>
/// <param name="Min">The smallest value.</param>
/// <param name="Max">The largest value.</param>
/// <param name="Q1">First quartile (linear interpolation).</param>
/// <param name="Q3">Third quartile.</param>
/// <param name="Count">Number of values.</param>
internal sealed record Stat(double Median, double Min, double Max, double Q1, double Q3, int Count)
{
    /// <summary>Statistics of <paramref name="values"/> (at least one).</summary>
    public static Stat Of(IEnumerable<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var v = values.Order().ToArray();
        if (v.Length == 0)
        {
            throw new ArgumentException("No values.", nameof(values));
        }

        return new Stat(Quantile(v, 0.5), v[0], v[^1], Quantile(v, 0.25), Quantile(v, 0.75), v.Length);
    }

    /// <summary>Interquartile range relative to the median (the spread reported next to each number).</summary>
    public double RelativeIqr => Median == 0 ? double.NaN : (Q3 - Q1) / Median;

    private static double Quantile(double[] sorted, double q)
    {
        var pos = q * (sorted.Length - 1);
        var lo = (int)Math.Floor(pos);
        var hi = (int)Math.Ceiling(pos);
        return sorted[lo] + ((sorted[hi] - sorted[lo]) * (pos - lo));
    }
}
