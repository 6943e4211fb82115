namespace AutoCircuit.Evaluation;

/// <summary>
/// The statistics <see cref="PruneMetricsSink"/> measures per circuit (per batch, or per prompt for
/// <see cref="PruneMetricsSink.PerPrompt"/>), in this order, and the one formula that turns their means into the
/// fourteen prune metrics, shared by the evaluation (<see cref="PruneMetricsSink.Results"/>) and the bootstrap
/// (<see cref="Bootstrap.Compute"/>).
/// </summary>
internal static class PruneStatistics
{
    public const int AnswerLogit = 0;
    public const int WrongAnswerLogit = 1;
    public const int AnswerProb = 2;
    public const int AnswerLogprob = 3;
    public const int LogitDiff = 4;
    public const int ProbDiff = 5;
    public const int LogprobDiff = 6;
    public const int Correct = 7;
    public const int CorrectBeatsWrong = 8;
    public const int CleanKl = 9;
    public const int CorruptKl = 10;
    public const int Count = 11;

    /// <summary>The fourteen metrics (keys: <see cref="PruneMetric.Key"/>).</summary>
    /// <param name="mean">The mean of a statistic (<see cref="AnswerLogit"/> … <see cref="CorrectBeatsWrong"/>).</param>
    /// <param name="cleanKl">The mean clean KL divergence per prompt.</param>
    /// <param name="corruptKl">The mean corrupt KL divergence per prompt.</param>
    /// <param name="targets">The full model's mean logit, prob and logprob difference on the clean input.</param>
    /// <remarks>Numerical error can make a KL divergence slightly negative: auto-circuit clamps at 0. Percentages are the
    /// circuit's mean difference over the full model's, times 100.</remarks>
    public static Dictionary<string, double> Metrics(Func<int, double> mean, double cleanKl, double corruptKl, ReadOnlySpan<double> targets) =>
        new(StringComparer.Ordinal)
        {
            [PruneMetric.CleanKlDiv.Key] = Math.Max(cleanKl, 0),
            [PruneMetric.CorruptKlDiv.Key] = Math.Max(corruptKl, 0),
            [PruneMetric.AnswerProb.Key] = mean(AnswerProb),
            [PruneMetric.AnswerLogit.Key] = mean(AnswerLogit),
            [PruneMetric.WrongAnswerLogit.Key] = mean(WrongAnswerLogit),
            [PruneMetric.AnswerLogprob.Key] = mean(AnswerLogprob),
            [PruneMetric.LogitDiff.Key] = mean(LogitDiff),
            [PruneMetric.ProbDiff.Key] = mean(ProbDiff),
            [PruneMetric.LogprobDiff.Key] = mean(LogprobDiff),
            [PruneMetric.LogitDiffPercent.Key] = mean(LogitDiff) / targets[0] * 100,
            [PruneMetric.ProbDiffPercent.Key] = mean(ProbDiff) / targets[1] * 100,
            [PruneMetric.LogprobDiffPercent.Key] = mean(LogprobDiff) / targets[2] * 100,
            [PruneMetric.CorrectAnswerPercent.Key] = mean(Correct) * 100,
            [PruneMetric.CorrectAnswerGreaterThanIncorrectPercent.Key] = mean(CorrectBeatsWrong) * 100,
        };
}
