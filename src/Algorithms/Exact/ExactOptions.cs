using AutoCircuit.Patching;

namespace AutoCircuit.Algorithms.Exact;

/// <summary>Options of <see cref="ExactPatching"/>.</summary>
[AlgorithmOptions]
public sealed record ExactOptions
{
    /// <summary>Function of the logits whose loss is measured.</summary>
    [Option(
        "grad-function",
        Description = "Function of the output logits the loss is taken of (as the gradient methods' grad-function).")]
    public GradFunction GradFunction { get; init; } = GradFunction.Logit;

    /// <summary>How token values become the loss.</summary>
    [Option(
        "answer-function",
        Description = "Loss of the token values (as the gradient methods'); avg-diff is minus the logit difference.")]
    public AnswerFunction AnswerFunction { get; init; } = AnswerFunction.AvgDiff;

    /// <summary>What a patched edge carries.</summary>
    [Option("ablation", Description = "Activations a patched edge carries (as circuit evaluation's --ablation).")]
    public AblationType Ablation { get; init; } = AblationType.Resample;

    /// <summary>Which single-edge change is measured.</summary>
    [Option(
        "patch-type",
        Description = "tree-patch: on the clean input, the loss increase when only this edge is ablated (EAP-IG's " +
            "exact; the circuit of every other edge). edge-patch: on the corrupt input, the loss decrease when only this " +
            "edge is restored (the one-edge circuit).")]
    public PatchType PatchType { get; init; } = PatchType.TreePatch;

    /// <summary>Candidate edges per forward pass.</summary>
    [Option(
        "edges-per-pass",
        Description = "Edges tested in one forward pass: the batch is repeated once per edge, each copy with its own " +
            "edge patched (memory grows with edges x batch size); at most this many, fewer under --max-patch-memory.",
        Min = 1)]
    public int EdgesPerPass { get; init; } = 32;
}
