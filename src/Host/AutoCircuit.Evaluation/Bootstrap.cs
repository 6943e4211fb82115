namespace AutoCircuit.Evaluation;

/// <summary>
/// Every prompt's statistics from <see cref="PruneMetricsSink.PerPrompt"/>, on the host: <see cref="Stats"/> is
/// <c>[circuits, prompts, statistics]</c> row-major, <see cref="Targets"/> <c>[prompts, 3]</c> (the full model's logit,
/// prob and logprob difference on the clean input).
/// </summary>
public sealed record PromptStatistics(int Circuits, int Prompts, int StatCount, double[] Stats, double[] Targets)
{
    /// <summary>Statistic <paramref name="stat"/> of prompt <paramref name="prompt"/> in circuit <paramref name="circuit"/>.</summary>
    public double At(int circuit, int prompt, int stat) => Stats[(((circuit * Prompts) + prompt) * StatCount) + stat];
}

/// <summary>A two-sided percentile interval.</summary>
/// <param name="Low">The lower percentile.</param>
/// <param name="High">The upper percentile.</param>
public readonly record struct Interval(double Low, double High);

/// <summary>Bootstrap intervals of an evaluation.</summary>
/// <param name="Resamples">Number of resamples of the prompts.</param>
/// <param name="Seed">The seed of the resampling.</param>
/// <param name="Level">The interval's coverage (0.95: the 2.5th and 97.5th percentiles).</param>
/// <param name="Metrics">Per circuit result, each metric's interval (absent where fewer than half the resamples give a
/// finite value).</param>
/// <param name="Auc">Each metric's area's interval, or <c>null</c>.</param>
/// <param name="Mib">The MIB measures' intervals, under the MIB protocol.</param>
public sealed record BootstrapResult(
    int Resamples,
    long Seed,
    double Level,
    IReadOnlyList<IReadOnlyDictionary<string, Interval>> Metrics,
    IReadOnlyDictionary<string, Interval?> Auc,
    MibIntervals? Mib);

/// <summary>Bootstrap intervals of the MIB measures.</summary>
/// <param name="Faithfulness">Per fraction, or <c>null</c> where undefined.</param>
/// <param name="Cpr">CPR's interval, or <c>null</c>.</param>
/// <param name="Cmd">CMD's interval, or <c>null</c>.</param>
public sealed record MibIntervals(IReadOnlyList<Interval?> Faithfulness, Interval? Cpr, Interval? Cmd);

/// <summary>
/// Percentile bootstrap over prompts: the test prompts are resampled with replacement (seeded), every metric is recomputed
/// from the resampled prompts' statistics for every circuit (means over prompts; percentages as the ratio of means, as
/// the metrics define them), then each metric's area and, under the MIB protocol, faithfulness, CPR and CMD; the interval
/// is the pair of percentiles (linear interpolation between order statistics) of the resampled values.
/// </summary>
/// <remarks>The point estimates stay those of the evaluation (auto-circuit averages batch means; with equal batches that
/// is the mean over prompts these resamples use).</remarks>
public static class Bootstrap
{

    /// <summary>Computes the intervals.</summary>
    /// <param name="data">Every prompt's statistics (circuits in the order of <paramref name="results"/>).</param>
    /// <param name="results">The evaluation's results (requested sizes and real edge counts).</param>
    /// <param name="edgeCount">Edges in the graph.</param>
    /// <param name="mib">Whether to add the MIB measures (the results must hold <see cref="MibProtocol.Sizes"/>).</param>
    /// <param name="resamples">Number of resamples (e.g. 1000).</param>
    /// <param name="seed">Seed of the resampling.</param>
    /// <param name="level">Coverage, in (0, 1).</param>
    public static BootstrapResult Compute(
        PromptStatistics data, IReadOnlyList<CircuitResult> results, int edgeCount, bool mib, int resamples, long seed, double level = 0.95)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(results);
        ArgumentOutOfRangeException.ThrowIfLessThan(resamples, 1);
        if (data.Circuits != results.Count)
        {
            throw new ArgumentException($"{data.Circuits} circuits of statistics for {results.Count} results.", nameof(data));
        }

        var rng = new Random(unchecked((int)seed ^ (int)(seed >> 32)));
        var metricKeys = PruneMetric.All.Select(m => m.Key).ToArray();
        var perMetric = new double[results.Count][][]; // [circuit][metric][resample]
        for (var c = 0; c < results.Count; c++)
        {
            perMetric[c] = metricKeys.Select(_ => new double[resamples]).ToArray();
        }

        var auc = metricKeys.Select(_ => new double[resamples]).ToArray();
        var mibSizes = mib ? MibProtocol.Fractions.Select(f => MibProtocol.SizeOf(f, edgeCount)).ToArray() : [];
        var faith = mibSizes.Select(_ => new double[resamples]).ToArray();
        var cpr = new double[resamples];
        var cmd = new double[resamples];
        var p = data.Prompts;
        var idx = new int[p];
        var sums = new double[data.StatCount];
        for (var r = 0; r < resamples; r++)
        {
            for (var i = 0; i < p; i++)
            {
                idx[i] = rng.Next(p);
            }

            var t = new double[3];
            foreach (var i in idx)
            {
                for (var j = 0; j < 3; j++)
                {
                    t[j] += data.Targets[(i * 3) + j];
                }
            }

            for (var j = 0; j < 3; j++)
            {
                t[j] /= p;
            }

            var resampled = new List<CircuitResult>(results.Count);
            for (var c = 0; c < results.Count; c++)
            {
                Array.Clear(sums);
                foreach (var i in idx)
                {
                    for (var s = 0; s < data.StatCount; s++)
                    {
                        sums[s] += data.At(c, i, s);
                    }
                }

                var values = PruneStatistics.Metrics(s => sums[s] / p, sums[PruneStatistics.CleanKl] / p, sums[PruneStatistics.CorruptKl] / p, t);
                for (var m = 0; m < metricKeys.Length; m++)
                {
                    perMetric[c][m][r] = values[metricKeys[m]];
                }

                resampled.Add(results[c] with { Metrics = values });
            }

            var seen = new HashSet<int>();
            var distinct = resampled.Where(x => seen.Add(x.Edges)).ToList();
            for (var m = 0; m < metricKeys.Length; m++)
            {
                var metric = PruneMetric.All[m];
                auc[m][r] = AreaUnderCurve.ForMetric(metric, distinct.Select(x => ((double)x.Edges, x.Metrics[metric.Key])).ToList())
                            ?? double.NaN;
            }

            if (mib)
            {
                var measured = MibProtocol.Measure(resampled, edgeCount, t[0]);
                for (var f = 0; f < mibSizes.Length; f++)
                {
                    faith[f][r] = measured.Faithfulness[f];
                }

                cpr[r] = measured.Cpr;
                cmd[r] = measured.Cmd;
            }
        }

        var metrics = results.Select((_, c) => (IReadOnlyDictionary<string, Interval>)metricKeys
                .Select((k, m) => (k, Iv: Percentiles(perMetric[c][m], level)))
                .Where(x => x.Iv is not null)
                .ToDictionary(x => x.k, x => x.Iv!.Value, StringComparer.Ordinal))
            .ToList();
        var aucIntervals = metricKeys.Select((k, m) => (k, Iv: Percentiles(auc[m], level)))
            .ToDictionary(x => x.k, x => x.Iv, StringComparer.Ordinal);
        var mibIntervals = mib
            ? new MibIntervals(faith.Select(f => Percentiles(f, level)).ToList(), Percentiles(cpr, level), Percentiles(cmd, level))
            : null;
        return new BootstrapResult(resamples, seed, level, metrics, aucIntervals, mibIntervals);
    }

    /// <summary>
    /// The <c>(1 − level) / 2</c> and <c>(1 + level) / 2</c> percentiles of the finite values (linear interpolation
    /// between order statistics, as numpy's default), or <c>null</c> when fewer than half the values are finite.
    /// </summary>
    public static Interval? Percentiles(IReadOnlyList<double> values, double level)
    {
        ArgumentNullException.ThrowIfNull(values);
        var finite = values.Where(double.IsFinite).Order().ToArray();
        if (finite.Length == 0 || finite.Length * 2 < values.Count)
        {
            return null;
        }

        return new Interval(Quantile(finite, (1 - level) / 2), Quantile(finite, (1 + level) / 2));
    }

    /// <summary>The q-quantile of sorted values, interpolating linearly between order statistics.</summary>
    public static double Quantile(IReadOnlyList<double> sorted, double q)
    {
        ArgumentNullException.ThrowIfNull(sorted);
        var pos = q * (sorted.Count - 1);
        var lo = (int)Math.Floor(pos);
        var hi = Math.Min(lo + 1, sorted.Count - 1);
        return sorted[lo] + ((pos - lo) * (sorted[hi] - sorted[lo]));
    }
}
