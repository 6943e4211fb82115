namespace AutoCircuit.Algorithms.Acdc;

/// <summary>What ACDC keeps faithful to the clean run.</summary>
public enum AcdcTarget
{
    /// <summary>KL divergence of the output distribution from the clean one.</summary>
    KlDiv = 0,

    /// <summary>Mean squared error of the outputs against the clean outputs.</summary>
    Mse = 1,
}

/// <summary>Options of <see cref="Acdc"/> (auto-circuit's <c>acdc_prune_scores</c> arguments).</summary>
[AlgorithmOptions]
public sealed record AcdcOptions : IValidatableOptions
{
    /// <summary>Exponents of the thresholds.</summary>
    [Option(
        "tau-exps",
        Description = "Exponents of the thresholds tau = base * 10^exp; every base is combined with every exponent.")]
    public int[] TauExps { get; init; } = [-5, -4, -3, -2];

    /// <summary>Bases of the thresholds.</summary>
    [Option("tau-bases", Description = "Bases of the thresholds tau = base * 10^exp.")]
    public int[] TauBases { get; init; } = [1, 3, 5, 7, 9];

    /// <summary>The faithfulness metric.</summary>
    [Option(
        "target",
        Description = "Faithfulness metric an edge may change by less than tau to be removed: kl-div or mse " +
            "against the clean output.")]
    public AcdcTarget Target { get; init; } = AcdcTarget.KlDiv;

    /// <summary>
    /// The thresholds in the order they are run: for each base, each exponent (auto-circuit's <c>product(tao_bases,
    /// tao_exps)</c>).
    /// </summary>
    public IReadOnlyList<double> Taus()
    {
        var taus = new double[TauBases.Length * TauExps.Length];
        var i = 0;
        foreach (var b in TauBases)
        {
            foreach (var e in TauExps)
            {
                taus[i++] = b * Math.Pow(10, e);
            }
        }

        return taus;
    }

    /// <inheritdoc />
    public string? Validate() =>
        TauExps.Length == 0 || TauBases.Length == 0
            ? "ACDC needs at least one tau exponent and one tau base (tau = base * 10^exp)."
            : null;
}
