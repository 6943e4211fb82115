using AutoCircuit.Algorithms.SubnetworkProbing;

namespace AutoCircuit.Algorithms.CircuitProbing;

/// <summary>Options of <see cref="CircuitProbing"/>.</summary>
[AlgorithmOptions]
public sealed record CircuitProbingOptions : ProbingOptionsBase
{
    /// <summary>Initial mask parameter (its sign is flipped unless tree-optimisation).</summary>
    [Option(
        "init-val",
        Description = "Initial mask parameter; the masks start at -init-val (edge patching) or init-val " +
            "(tree-optimisation). Default: minus Cao et al.'s constant, as auto-circuit's circuit " +
            "probing.")]
    public double InitVal { get; init; } = -InitMaskValue;

    /// <summary>The faithfulness term.</summary>
    [Option("target", Description = "Faithfulness term of the loss.")]
    public ProbingTarget Target { get; init; } = ProbingTarget.KlDiv;

    /// <summary>
    /// Learn which edges to ablate on the clean input (true) or which to restore on the corrupt input.
    /// </summary>
    [Option(
        "tree-optimisation",
        Description = "Run on the clean input and learn which edges to ablate (true), or on the corrupt input " +
            "and learn which edges to restore (false).")]
    public bool TreeOptimisation { get; init; }

    /// <summary>Circuit sizes as written: positive integers or <c>true-size</c>.</summary>
    [Option(
        "circuit-sizes",
        Description = "Circuit sizes to probe: positive integers or true-size (the number of known edges). A size " +
            "at or above the graph's edge count is the whole graph.")]
    public string[] CircuitSizes { get; init; } = [CircuitSizeList.TrueSize];

    /// <inheritdoc />
    public override string? Validate() => base.Validate() ?? CircuitSizeList.Validate(CircuitSizes);
}

/// <summary>Options of <see cref="CircuitTreeProbing"/>.</summary>
[AlgorithmOptions]
public sealed record CircuitTreeProbingOptions : ProbingOptionsBase
{
    /// <summary>Initial mask parameter.</summary>
    [Option(
        "init-val",
        Description = "Initial mask parameter; the masks start at init-val. Default: minus Cao et al.'s " +
            "constant, as auto-circuit's circuit probing.")]
    public double InitVal { get; init; } = -InitMaskValue;

    /// <summary>The faithfulness term.</summary>
    [Option("target", Description = "Faithfulness term of the loss.")]
    public ProbingTarget Target { get; init; } = ProbingTarget.KlDiv;

    /// <summary>Circuit sizes as written: positive integers or <c>true-size</c>.</summary>
    [Option(
        "circuit-sizes",
        Description = "Circuit sizes to probe: positive integers or true-size (the number of known edges). A size " +
            "at or above the graph's edge count is the whole graph.")]
    public string[] CircuitSizes { get; init; } = [CircuitSizeList.TrueSize];

    /// <inheritdoc />
    public override string? Validate() => base.Validate() ?? CircuitSizeList.Validate(CircuitSizes);
}

/// <summary>Options of <see cref="OppositeTreeProbing"/>.</summary>
[AlgorithmOptions]
public sealed record OppositeTreeProbingOptions : ProbingOptionsBase
{
    /// <summary>Initial mask parameter.</summary>
    [Option(
        "init-val",
        Description = "Initial mask parameter; the masks start at init-val. Default: minus Cao et al.'s " +
            "constant, as auto-circuit's circuit probing.")]
    public double InitVal { get; init; } = -InitMaskValue;

    /// <summary>Circuit sizes as written: positive integers or <c>true-size</c>.</summary>
    [Option(
        "circuit-sizes",
        Description = "Circuit sizes to probe: positive integers or true-size (the number of known edges). A size " +
            "at or above the graph's edge count is the whole graph.")]
    public string[] CircuitSizes { get; init; } = [CircuitSizeList.TrueSize];

    /// <inheritdoc />
    public override string? Validate() => base.Validate() ?? CircuitSizeList.Validate(CircuitSizes);
}
