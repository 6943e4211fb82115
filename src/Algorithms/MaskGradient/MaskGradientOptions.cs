using AutoCircuit.Patching;

namespace AutoCircuit.Algorithms.MaskGradient;

/// <summary>Which input of each prompt pair the batch-wise ablations are computed from.</summary>
public enum AblationSource
{
    /// <summary>The clean prompts.</summary>
    Clean = 0,

    /// <summary>The corrupt prompts (auto-circuit's default).</summary>
    Corrupt = 1,
}

/// <summary>
/// Options of <see cref="MaskGradient"/> (auto-circuit's <c>mask_gradient_prune_scores</c> arguments).
/// </summary>
[AlgorithmOptions]
public sealed record MaskGradientOptions : IValidatableOptions
{
    /// <summary>Function of the logits that is differentiated.</summary>
    [Option(
        "grad-function",
        Description = "Function of the output logits that is differentiated: logit, prob (softmax), logprob " +
            "(log-softmax), logit-exp (exp(logits) over a constant softmax denominator).")]
    public GradFunction GradFunction { get; init; } = GradFunction.Logit;

    /// <summary>How token values become the loss.</summary>
    [Option(
        "answer-function",
        Description = "Loss of the token values: avg-diff (minus answer minus wrong-answer value), avg-val " +
            "(minus answer value), mse (against the answer ids).")]
    public AnswerFunction AnswerFunction { get; init; } = AnswerFunction.AvgDiff;

    /// <summary>
    /// The mask value at which gradients are taken; <c>null</c> means 0 unless integrated gradients are used.
    /// </summary>
    [Option(
        "mask-value",
        Description = "Mask value at which the gradient is taken (0 = clean run, 1 = fully ablated). Default 0 " +
            "when integrated-gradients is not given; do not give both.")]
    public double? MaskValue { get; init; }

    /// <summary>Integrated-gradient samples (Sundararajan et al., 2017); <c>null</c> for a single gradient.</summary>
    [Option(
        "integrated-gradients",
        Description = "Approximate integrated gradients with N+1 mask values 0, 1/N, ..., 1, summing the " +
            "gradients. Do not combine with mask-value.",
        Min = 1)]
    public int? IntegratedGradients { get; init; }

    /// <summary>What the masks interpolate towards.</summary>
    [Option("ablation", Description = "Activations the masks interpolate towards.")]
    public AblationType Ablation { get; init; } = AblationType.Resample;

    /// <summary>Source of the batch-wise ablations.</summary>
    [Option(
        "ablation-source",
        Description = "Prompts the batch-wise ablations (resample, batch means) are computed from; ignored by " +
            "zero and dataset means.")]
    public AblationSource AblationSource { get; init; } = AblationSource.Corrupt;

    /// <summary>The mask value of the single-gradient mode.</summary>
    public double EffectiveMaskValue => MaskValue ?? 0.0;

    /// <inheritdoc />
    public string? Validate() =>
        MaskValue is not null && IntegratedGradients is not null
            ? "Give either mask-value or integrated-gradients, not both (mask-value defaults to 0 without " +
              "integrated-gradients)."
            : null;
}
