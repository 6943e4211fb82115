namespace AutoCircuit.Algorithms.SubnetworkProbing;

/// <summary>Options of <see cref="SubnetworkProbing"/>.</summary>
[AlgorithmOptions]
public sealed record SubnetworkProbingOptions : ProbingOptionsBase
{
    /// <summary>Initial mask parameter (its sign is flipped unless tree-optimisation).</summary>
    [Option(
        "init-val",
        Description = "Initial mask parameter; the masks start at -init-val (edge patching) or init-val " +
            "(tree-optimisation). Default: Cao et al.'s log(p/(1-p)) for a keep probability of 0.9.")]
    public double InitVal { get; init; } = InitMaskValue;

    /// <summary>The faithfulness term.</summary>
    [Option("target", Description = "Faithfulness term of the loss.")]
    public ProbingTarget Target { get; init; } = ProbingTarget.KlDiv;

    /// <summary>
    /// Optimise which edges to ablate on the clean input, rather than which to restore on the corrupt input.
    /// </summary>
    [Option(
        "tree-optimisation",
        Description = "Run on the clean input and learn which edges to ablate (true), or on the corrupt input " +
            "and learn which edges to restore (false).")]
    public bool TreeOptimisation { get; init; }

    /// <summary>Target circuit size, or <c>null</c> to minimise the size.</summary>
    [Option(
        "circuit-size",
        Description = "Aim for this many edges: the regulariser becomes ReLU(edges - circuit-size) / " +
            "circuit-size. none: as few edges as possible.",
        Min = 1)]
    public int? CircuitSize { get; init; }
}
