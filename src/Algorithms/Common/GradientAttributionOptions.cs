using AutoCircuit.Patching;

namespace AutoCircuit.Algorithms;

/// <summary>
/// Options of the EAP-IG gradient attributions (<c>eap-ig-inputs</c>, <c>eap-ig-activations</c>,
/// <c>clean-corrupted</c>): the objective, the ablation and the aggregation.
/// </summary>
public abstract record GradientAttributionOptions
{
    /// <summary>Function of the logits that is differentiated.</summary>
    [Option(
        "grad-function",
        Description = "Function of the output logits that is differentiated (as mask-gradient's).")]
    public GradFunction GradFunction { get; init; } = GradFunction.Logit;

    /// <summary>How token values become the loss.</summary>
    [Option(
        "answer-function",
        Description = "Loss of the token values (as mask-gradient's); avg-diff is EAP-IG's logit-difference loss.")]
    public AnswerFunction AnswerFunction { get; init; } = AnswerFunction.AvgDiff;

    /// <summary>What an ablated edge carries: the end of the interpolation opposite the clean run.</summary>
    [Option(
        "ablation",
        Description = "Activations an ablated edge carries (resample: the corrupt prompts', EAP-IG's patching); the " +
            "interpolations run from them to the clean activations and every edge scores grad . (ablation - clean).")]
    public AblationType Ablation { get; init; } = AblationType.Resample;

    /// <summary>Sum or mean over the hidden axis.</summary>
    [Option(
        "aggregation",
        Description = "Reduction of each edge's score over the hidden axis: sum, or mean (the sum / d_model).")]
    public Aggregation Aggregation { get; init; } = Aggregation.Sum;
}
