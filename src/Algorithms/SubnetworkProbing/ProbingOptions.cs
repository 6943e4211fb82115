using AutoCircuit.Metrics;
using AutoCircuit.Patching;

namespace AutoCircuit.Algorithms.SubnetworkProbing;

/// <summary>
/// The faithfulness term subnetwork probing minimises (auto-circuit's <c>SP_FAITHFULNESS_TARGET</c>).
/// </summary>
public enum ProbingTarget
{
    /// <summary>KL divergence of the output from the clean output.</summary>
    KlDiv = 0,

    /// <summary>Mean squared error of the output against the answer ids (as auto-circuit writes it).</summary>
    Mse = 1,

    /// <summary>Minus the mean answer logit.</summary>
    Answer = 2,

    /// <summary>Minus the mean wrong-answer logit.</summary>
    WrongAnswer = 3,

    /// <summary>
    /// The fraction of prompts whose top output is the answer (not differentiable: only the regulariser trains).
    /// </summary>
    CorrectPercent = 4,

    /// <summary><c>mean |100 − logit difference as a percent of the clean one|</c>.</summary>
    LogitDiffPercent = 5,
}

/// <summary>
/// Options every subnetwork-probing algorithm has (auto-circuit's <c>subnetwork_probing_prune_scores</c> arguments).
/// </summary>
public abstract record ProbingOptionsBase : IValidatableOptions
{
    /// <summary>
    /// The HardConcrete mask value whose keep probability is 0.9 (Cao et al.'s <c>mask_p</c>): <c>log(p / (1 - p))</c>
    /// with <c>p = (0.9 + 0.1) / 1.2</c>.
    /// </summary>
    public static readonly double InitMaskValue = ComputeInitMaskValue();

    /// <summary>Adam's learning rate.</summary>
    [Option("learning-rate", Description = "Learning rate of Adam (betas 0.9, 0.999; eps 1e-8).", Min = 0)]
    public double LearningRate { get; init; } = 0.1;

    /// <summary>Passes over the train batches (one optimiser step per batch).</summary>
    [Option("epochs", Description = "Passes over the train batches (one Adam step per batch).", Min = 1)]
    public int Epochs { get; init; } = 20;

    /// <summary>Weight of the size regulariser.</summary>
    [Option(
        "regularize-lambda",
        Description = "Weight of the regulariser that pushes the circuit towards fewer edges (or towards " +
            "circuit-size).",
        Min = 0)]
    public double RegularizeLambda { get; init; } = 10;

    /// <summary>How mask parameters become interpolation weights.</summary>
    [Option(
        "mask-fn",
        Description = "How mask parameters become interpolation weights: hard-concrete (sampled per prompt), " +
            "sigmoid, or none (the raw value).")]
    public MaskFunction MaskFn { get; init; } = MaskFunction.HardConcrete;

    /// <summary>Dropout on the mask weights while training.</summary>
    [Option("dropout", Description = "Dropout probability on the mask weights while training, in [0, 1).", Min = 0)]
    public double Dropout { get; init; }

    /// <summary>Edges penalised for being in the circuit.</summary>
    [Option(
        "avoid-edges",
        Description = "Edges to keep out of the circuit, by name (src->dest, every token position) or " +
            "name@position; each adds avoid-lambda/count times its mask weight to the loss.")]
    public string[] AvoidEdges { get; init; } = [];

    /// <summary>Weight of the avoid-edges penalty.</summary>
    [Option("avoid-lambda", Description = "Total weight of the avoid-edges penalty.", Min = 0)]
    public double AvoidLambda { get; init; } = 1.0;

    /// <inheritdoc />
    public virtual string? Validate() =>
        Dropout >= 1 ? $"dropout must be below 1; got {OptionParsing.Format(Dropout)}." : null;

    private static double ComputeInitMaskValue()
    {
        const double maskP = 0.9;
        var p = (maskP - HardConcrete.Left) / (HardConcrete.Right - HardConcrete.Left);
        return Math.Log(p / (1 - p));
    }
}
