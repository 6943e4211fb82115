namespace AutoCircuit.Evaluation;

/// <summary>
/// One of auto-circuit's prune metrics (<c>metrics/prune_metrics/prune_metrics.py</c>): how a circuit's
/// output is measured, and the axes auto-circuit plots it (and takes its area under the curve) on.
/// </summary>
/// <param name="Key">Our key: auto-circuit's key in kebab-case, e.g. <c>logit-diff</c>.</param>
/// <param name="AutoCircuitKey">auto-circuit's key, e.g. <c>Logit Diff</c>.</param>
/// <param name="Name">Display name.</param>
/// <param name="LogX">Whether the edge-count axis is logarithmic (all of auto-circuit's metrics).</param>
/// <param name="LogY">Whether the metric axis is logarithmic.</param>
/// <param name="LowerBetter">Whether lower values are better.</param>
/// <param name="YMin">Floor of a logarithmic metric axis.</param>
public sealed record PruneMetric(
    string Key, string AutoCircuitKey, string Name, bool LogX, bool LogY, bool LowerBetter, double? YMin)
{
    /// <summary>KL divergence of the circuit from the full model on the clean input.</summary>
    public static PruneMetric CleanKlDiv { get; } =
        new("clean-kl-div", "Clean KL Div", "KL Divergence", true, true, true, 1e-2);

    /// <summary>KL divergence of the circuit from the full model on the corrupt input.</summary>
    public static PruneMetric CorruptKlDiv { get; } =
        new("corrupt-kl-div", "Corrupt KL Div", "KL Divergence", true, true, false, 1e-6);

    /// <summary>Mean probability of the correct answers.</summary>
    public static PruneMetric AnswerProb { get; } =
        new("answer-prob", "Answer Prob", "Answer Probability", true, false, false, null);

    /// <summary>Mean logit of the correct answers.</summary>
    public static PruneMetric AnswerLogit { get; } =
        new("answer-logit", "Answer Logit", "Answer Logit", true, false, false, null);

    /// <summary>Mean logit of the wrong answers.</summary>
    public static PruneMetric WrongAnswerLogit { get; } =
        new("wrong-answer-logit", "Wrong Answer Logit", "Wrong Answer Logit", true, false, false, null);

    /// <summary>Mean log-probability of the correct answers.</summary>
    public static PruneMetric AnswerLogprob { get; } =
        new("answer-logprob", "Answer Logprob", "Answer Log Probability", true, true, false, 1e-6);

    /// <summary>Mean over prompts of (mean correct-answer logit - mean wrong-answer logit).</summary>
    public static PruneMetric LogitDiff { get; } =
        new("logit-diff", "Logit Diff", "Logit Difference", true, false, false, null);

    /// <summary>As <see cref="LogitDiff"/> on probabilities.</summary>
    public static PruneMetric ProbDiff { get; } =
        new("prob-diff", "Prob Diff", "Probability Difference", true, false, false, null);

    /// <summary>As <see cref="LogitDiff"/> on log-probabilities.</summary>
    public static PruneMetric LogprobDiff { get; } =
        new("logprob-diff", "Logprob Diff", "Log Probability Difference", true, true, false, 1e-6);

    /// <summary>The circuit's logit difference as a percentage of the full model's (difference of means).</summary>
    public static PruneMetric LogitDiffPercent { get; } =
        new("logit-diff-percent", "Logit Diff Percent", "Logit Difference Percent", true, false, false, null);

    /// <summary>As <see cref="LogitDiffPercent"/> on probabilities.</summary>
    public static PruneMetric ProbDiffPercent { get; } =
        new("prob-diff-percent", "Prob Diff Percent", "Probability Difference Percent", true, false, false, null);

    /// <summary>As <see cref="LogitDiffPercent"/> on log-probabilities.</summary>
    public static PruneMetric LogprobDiffPercent { get; } =
        new("logprob-diff-percent", "LogProb Diff Percent", "Log Probability Difference Percent", true, false, false, null);

    /// <summary>Percentage of prompts whose largest output is a correct answer.</summary>
    public static PruneMetric CorrectAnswerPercent { get; } =
        new("correct-answer-percent", "Correct Answer Percent", "Correct Answer Percent", true, false, false, null);

    /// <summary>Percentage of prompts whose correct answer scores at least as high as every wrong answer.</summary>
    public static PruneMetric CorrectAnswerGreaterThanIncorrectPercent { get; } =
        new(
            "correct-answer-greater-than-incorrect-percent",
            "Correct Answer Greater Than Incorrect Percent",
            "Correct Answer Greater Than Incorrect Percent",
            true,
            false,
            false,
            null);

    /// <summary>All fourteen, in auto-circuit's <c>PRUNE_METRICS</c> order.</summary>
    public static IReadOnlyList<PruneMetric> All { get; } =
    [
        CleanKlDiv, CorruptKlDiv, AnswerProb, AnswerLogit, WrongAnswerLogit, AnswerLogprob, LogitDiff, ProbDiff,
        LogprobDiff, LogitDiffPercent, ProbDiffPercent, LogprobDiffPercent, CorrectAnswerPercent,
        CorrectAnswerGreaterThanIncorrectPercent,
    ];

    /// <summary>A metric by its key.</summary>
    /// <exception cref="KeyNotFoundException">Unknown key (the known ones are listed).</exception>
    public static PruneMetric ByKey(string key) =>
        All.FirstOrDefault(m => m.Key == key)
        ?? throw new KeyNotFoundException($"Unknown metric '{key}'; known: {string.Join(", ", All.Select(m => m.Key))}.");
}
