using AutoCircuit.Data;
using AutoCircuit.Tensors;
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
        if (answers.Ids.size(1) != 1)
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
        if (batch.Answers.Ids.size(1) != 1)
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
        if (!TensorSizes.SameSizes(inputLogprobs, targetLogprobs))
        {
            throw new ArgumentException(
                $"KL divergence inputs differ in shape: [{string.Join(", ", inputLogprobs.shape)}] vs [{string.Join(", ", targetLogprobs.shape)}].");
        }

        long n = 1;
        for (var i = 0; i < inputLogprobs.dim() - 1; i++)
        {
            n *= inputLogprobs.size(i);
        }

        using var sum = torch.nn.functional.kl_div(inputLogprobs, targetLogprobs, reduction: nn.Reduction.Sum, log_target: true);
        return sum / n;
    }

    /// <summary>
    /// Per prompt: whether the largest output (the first maximum, as <c>argmax</c> picks it) is one of the
    /// prompt's correct answers, <c>[batch]</c> bool. With one answer per prompt its mean is
    /// <see cref="CorrectAnswerProportion"/>; unlike it (and auto-circuit), any number of answers is allowed.
    /// </summary>
    public static Tensor TopIsAnswer(Tensor logits, PromptBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        Check2D(logits);
        using var top = logits.argmax(-1, keepdim: true); // [batch, 1]
        using var hit = top.eq(batch.Answers.Ids); // [batch, answers]
        using var real = batch.Answers.Mask is { } m ? hit.logical_and(m) : hit.alias();
        return real.any(-1);
    }

    /// <summary>
    /// Per prompt: whether the best correct answer scores at least as high as every wrong answer, <c>[batch]</c>
    /// bool (a tie counts as correct, as auto-circuit's argmax over <c>[answer, wrong answers...]</c> does). With
    /// one answer per prompt its mean is <see cref="CorrectAnswerGreaterThanIncorrectProportion"/>; any number of
    /// answers is allowed, and a prompt without wrong answers counts as correct.
    /// </summary>
    public static Tensor AnswerBeatsWrongAnswers(Tensor logits, PromptBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        Check2D(logits);
        using var best = MaxAtAnswers(logits, batch.Answers); // [batch]
        if (batch.WrongAnswers.Ids.size(1) == 0)
        {
            return torch.ones_like(best, dtype: ScalarType.Bool);
        }

        using var bestWrong = MaxAtAnswers(logits, batch.WrongAnswers);
        return best.ge(bestWrong);
    }

    /// <summary>
    /// Sum over every leading position of <c>KL(target || input)</c>, from log probabilities whose last axis is the
    /// class: the numerator of <see cref="MultibatchKlDiv"/>, for averaging over several batches.
    /// </summary>
    public static Tensor KlDivSum(Tensor inputLogprobs, Tensor targetLogprobs)
    {
        ArgumentNullException.ThrowIfNull(inputLogprobs);
        ArgumentNullException.ThrowIfNull(targetLogprobs);
        if (!TensorSizes.SameSizes(inputLogprobs, targetLogprobs))
        {
            throw new ArgumentException(
                $"KL divergence inputs differ in shape: [{string.Join(", ", inputLogprobs.shape)}] vs [{string.Join(", ", targetLogprobs.shape)}].");
        }

        return torch.nn.functional.kl_div(inputLogprobs, targetLogprobs, reduction: nn.Reduction.Sum, log_target: true);
    }

    private static Tensor MaxAtAnswers(Tensor logits, AnswerSet answers)
    {
        using var gathered = logits.gather(-1, answers.Ids);
        using var real = answers.Mask is { } m
            ? gathered.masked_fill(m.logical_not(), double.NegativeInfinity)
            : gathered.alias();
        var (values, indices) = real.max(-1);
        indices.Dispose();
        return values;
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
