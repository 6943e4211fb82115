using AutoCircuit.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Metrics;

/// <summary>
/// Answer and divergence math on task outputs (auto-circuit's <c>utils/tensor_ops.py</c>).
/// Every function takes outputs at the task's slice, <c>[batch, vocab]</c>, and is differentiable
/// where auto-circuit's is.
/// </summary>
public static class AnswerMath
{
    /// <summary>
    /// Mean over prompts of each prompt's mean value at its answers (<c>batch_avg_answer_val</c>).
    /// </summary>
    public static Tensor AvgAnswerValue(Tensor values, PromptBatch batch, bool wrongAnswers = false)
    {
        ArgumentNullException.ThrowIfNull(batch);
        Check2D(values);
        using var perPrompt = (wrongAnswers ? batch.WrongAnswers : batch.Answers).MeanPerPrompt(values);
        return perPrompt.mean();
    }

    /// <summary>
    /// Per prompt: mean value at the correct answers minus mean value at the wrong answers,
    /// <c>[batch]</c> (<c>batch_answer_diffs</c>).
    /// </summary>
    public static Tensor AnswerDiffs(Tensor values, PromptBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        Check2D(values);
        using var ans = batch.Answers.MeanPerPrompt(values);
        using var wrong = batch.WrongAnswers.MeanPerPrompt(values);
        return ans - wrong;
    }

    /// <summary>Mean of <see cref="AnswerDiffs"/> (<c>batch_avg_answer_diff</c>).</summary>
    public static Tensor AvgAnswerDiff(Tensor values, PromptBatch batch)
    {
        using var diffs = AnswerDiffs(values, batch);
        return diffs.mean();
    }

    /// <summary>
    /// Per prompt: answer difference of <paramref name="predicted"/> as a percentage of that of
    /// <paramref name="target"/>, <c>[batch]</c> (<c>batch_answer_diff_percents</c>).
    /// </summary>
    public static Tensor AnswerDiffPercents(Tensor predicted, Tensor target, PromptBatch batch)
    {
        using var t = AnswerDiffs(target, batch);
        using var p = AnswerDiffs(predicted, batch);
        using var ratio = p / t;
        return ratio * 100;
    }

    /// <summary>
    /// Fraction of prompts whose largest output is the (single) correct answer (<c>correct_answer_proportion</c>).
    /// </summary>
    /// <exception cref="ArgumentException">A prompt has more than one answer.</exception>
    public static Tensor CorrectAnswerProportion(Tensor logits, PromptBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        Check2D(logits);
        var answers = batch.Answers;
        if (answers.Ids.shape[1] != 1)
        {
            throw new ArgumentException("Correct-answer percent needs exactly one answer per prompt.");
        }

        using var max = logits.argmax(-1, keepdim: true);
        using var eq = max.eq(answers.Ids);
        using var f = eq.to_type(logits.dtype);
        return f.mean();
    }

    /// <summary>
    /// Fraction of prompts whose correct answer scores higher than every wrong answer; a tie counts
    /// as correct, as in auto-circuit (argmax returns the first maximum).
    /// </summary>
    public static Tensor CorrectAnswerGreaterThanIncorrectProportion(Tensor logits, PromptBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        Check2D(logits);
        if (batch.Answers.Ids.shape[1] != 1)
        {
            throw new ArgumentException("Correct > incorrect percent needs exactly one answer per prompt.");
        }

        using var ans = logits.gather(-1, batch.Answers.Ids);
        using var wrongRaw = logits.gather(-1, batch.WrongAnswers.Ids);
        using var wrong = batch.WrongAnswers.Mask is { } m
            ? wrongRaw.masked_fill(m.logical_not(), double.NegativeInfinity)
            : wrongRaw.alias();
        using var combined = torch.cat([ans, wrong], -1);
        using var idx = combined.argmax(-1);
        using var eq = idx.eq(0);
        using var f = eq.to_type(logits.dtype);
        return f.mean();
    }

    /// <summary>
    /// Average KL divergence <c>KL(target || input)</c> over all leading positions, from log
    /// probabilities whose last axis is the class (<c>multibatch_kl_div</c>).
    /// </summary>
    public static Tensor MultibatchKlDiv(Tensor inputLogprobs, Tensor targetLogprobs)
    {
        ArgumentNullException.ThrowIfNull(inputLogprobs);
        ArgumentNullException.ThrowIfNull(targetLogprobs);
        if (!inputLogprobs.shape.SequenceEqual(targetLogprobs.shape))
        {
            throw new ArgumentException(
                $"KL divergence inputs differ in shape: [{string.Join(", ", inputLogprobs.shape)}] vs [{string.Join(", ", targetLogprobs.shape)}].");
        }

        long n = 1;
        for (var i = 0; i < inputLogprobs.dim() - 1; i++)
        {
            n *= inputLogprobs.shape[i];
        }

        using var sum = torch.nn.functional.kl_div(inputLogprobs, targetLogprobs, reduction: nn.Reduction.Sum, log_target: true);
        return sum / n;
    }

    private static void Check2D(Tensor values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.dim() != 2)
        {
            throw new ArgumentException(
                $"Answer math needs outputs of shape [batch, vocab] (use the last-token slice); got [{string.Join(", ", values.shape)}].");
        }
    }
}
