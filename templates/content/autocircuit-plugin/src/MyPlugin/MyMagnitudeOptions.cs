using AutoCircuit;

namespace MyPlugin;

/// <summary>
/// The options of <see cref="MyMagnitude"/>, bound from <c>-a my-magnitude:power=2</c> and from score files. Every
/// property needs an <c>[Option]</c> (or <c>[OptionIgnore]</c>): the generator reports one without.
/// </summary>
[AlgorithmOptions]
public sealed record MyMagnitudeOptions
{
    /// <summary>The exponent applied to each |mean activation| (1: the plain magnitude).</summary>
    [Option("power", Description = "Exponent applied to each |mean activation|.", Min = 0.25, Max = 4)]
    public double Power { get; init; } = 1;
}
