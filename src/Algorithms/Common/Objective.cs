using AutoCircuit.Data;
using AutoCircuit.Metrics;
using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Algorithms;

/// <summary>
/// What a gradient-based algorithm differentiates: a function of the output logits (auto-circuit's
/// <c>grad_function</c>).
/// </summary>
public enum GradFunction
{
    /// <summary>The logits themselves.</summary>
    Logit = 0,

    /// <summary>Probabilities: <c>softmax(logits)</c>.</summary>
    Prob = 1,

    /// <summary>Log-probabilities: <c>log_softmax(logits)</c>.</summary>
    Logprob = 2,

    /// <summary><c>exp(logits)</c> over the softmax denominator held constant (detached).</summary>
    LogitExp = 3,
}

/// <summary>How token values become the loss whose gradient is taken (auto-circuit's <c>answer_function</c>).</summary>
public enum AnswerFunction
{
    /// <summary>
    /// Minus the mean over prompts of (mean value at the answers − mean value at the wrong answers).
    /// </summary>
    AvgDiff = 0,

    /// <summary>Minus the mean value at the answers.</summary>
    AvgVal = 1,

    /// <summary>
    /// Mean squared error between the token values and the answer ids (broadcast, as auto-circuit does).
    /// </summary>
    Mse = 2,
}

/// <summary>The objectives shared by the gradient algorithms (auto-circuit's <c>mask_gradient.py</c>).</summary>
internal static class Objective
{
    /// <summary>Token values of sliced outputs <c>[batch, vocab]</c>.</summary>
    public static Tensor TokenValues(Tensor logits, GradFunction function) => function switch
    {
        GradFunction.Logit => logits.alias(),
        GradFunction.Prob => torch.softmax(logits, -1),
        GradFunction.Logprob => torch.nn.functional.log_softmax(logits, -1),
        GradFunction.LogitExp => LogitExp(logits),
        _ => throw new ArgumentOutOfRangeException(nameof(function), function, null),
    };

    /// <summary>The loss of token values for a batch.</summary>
    public static Tensor Loss(Tensor tokenValues, PromptBatch batch, AnswerFunction function)
    {
        switch (function)
        {
            case AnswerFunction.AvgDiff:
                {
                    using var diff = AnswerMath.AvgAnswerDiff(tokenValues, batch);
                    return diff.neg();
                }

            case AnswerFunction.AvgVal:
                {
                    using var val = AnswerMath.AvgAnswerValue(tokenValues, batch);
                    return val.neg();
                }

            case AnswerFunction.Mse:
                return AnswerMse(tokenValues, batch);
            default:
                throw new ArgumentOutOfRangeException(nameof(function), function, null);
        }
    }

    /// <summary>
    /// The loss of each prompt, <c>[batch]</c>, for outputs <c>[batch, vocab]</c> of prompts with these answers: the
    /// mean over prompts is <see cref="Loss"/> (so a batch repeated k times gives k groups of the same losses).
    /// </summary>
    public static Tensor PromptLosses(Tensor tokenValues, AnswerSet answers, AnswerSet wrongAnswers, AnswerFunction function)
    {
        ArgumentNullException.ThrowIfNull(answers);
        ArgumentNullException.ThrowIfNull(wrongAnswers);
        switch (function)
        {
            case AnswerFunction.AvgDiff:
                {
                    using var answer = answers.MeanPerPrompt(tokenValues);
                    using var wrong = wrongAnswers.MeanPerPrompt(tokenValues);
                    return wrong - answer;
                }

            case AnswerFunction.AvgVal:
                {
                    using var answer = answers.MeanPerPrompt(tokenValues);
                    return answer.neg();
                }

            case AnswerFunction.Mse:
                {
                    if (!answers.IsRectangular)
                    {
                        throw new ArgumentException("The mse objective needs the same number of answers for every prompt.");
                    }

                    using var target = answers.Ids.to_type(tokenValues.dtype);
                    var both = torch.broadcast_tensors(tokenValues, target);
                    using var diff = both[0] - both[1];
                    using var squared = diff.square();
                    foreach (var t in both)
                    {
                        t.Dispose();
                    }

                    return squared.mean([-1L]);
                }

            default:
                throw new ArgumentOutOfRangeException(nameof(function), function, null);
        }
    }

    /// <summary>
    /// <c>mse_loss(values, answers)</c> with the answer ids broadcast against the values, as auto-circuit
    /// writes it. auto-circuit passes the int64 ids, which PyTorch accepts in the forward pass but
    /// rejects in the backward pass ("Found dtype Long but expected Float"); we cast the ids to the
    /// values' dtype, which gives the same loss and a gradient.
    /// </summary>
    public static Tensor AnswerMse(Tensor values, PromptBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (!batch.Answers.IsRectangular)
        {
            throw new ArgumentException(
                "The mse objective needs the same number of answers for every prompt (auto-circuit broadcasts " +
                "one answer tensor).");
        }

        using var target = batch.Answers.Ids.to_type(values.dtype);
        var both = torch.broadcast_tensors(values, target);
        try
        {
            return torch.nn.functional.mse_loss(both[0], both[1]);
        }
        finally
        {
            foreach (var t in both)
            {
                t.Dispose();
            }
        }
    }

    private static Tensor LogitExp(Tensor logits)
    {
        using var numerator = logits.exp();
        using var sum = numerator.sum(-1, keepdim: true);
        using var denominator = sum.detach();
        return numerator / denominator;
    }
}
