using Microsoft.CodeAnalysis;

namespace AutoCircuit.Generators.Helpers;

/// <summary>
/// The SDK types the parser compares against, resolved once per compilation. Holds symbols, so it must only be
/// used inside a transform and never end up in a model or a tracked step's output.
/// </summary>
/// <param name="PruneAlgorithm"><c>AutoCircuit.IPruneAlgorithm</c>.</param>
/// <param name="PresetAttribute"><c>AutoCircuit.PruneAlgorithmPresetAttribute</c>.</param>
/// <param name="AlgorithmOptionsAttribute"><c>AutoCircuit.AlgorithmOptionsAttribute</c>.</param>
/// <param name="OptionAttribute"><c>AutoCircuit.OptionAttribute</c>.</param>
/// <param name="ValidatableOptions"><c>AutoCircuit.IValidatableOptions</c>.</param>
internal sealed record KnownSymbols(
    INamedTypeSymbol? PruneAlgorithm,
    INamedTypeSymbol? PresetAttribute,
    INamedTypeSymbol? AlgorithmOptionsAttribute,
    INamedTypeSymbol? OptionAttribute,
    INamedTypeSymbol? ValidatableOptions)
{
    public static KnownSymbols Create(Compilation compilation) => new(
        compilation.GetTypeByMetadataName("AutoCircuit.IPruneAlgorithm"),
        compilation.GetTypeByMetadataName("AutoCircuit.PruneAlgorithmPresetAttribute"),
        compilation.GetTypeByMetadataName("AutoCircuit.AlgorithmOptionsAttribute"),
        compilation.GetTypeByMetadataName("AutoCircuit.OptionAttribute"),
        compilation.GetTypeByMetadataName("AutoCircuit.IValidatableOptions"));

    /// <summary>Whether <paramref name="candidate"/> is <paramref name="known"/> (false when it is unresolved).</summary>
    public static bool Is(ITypeSymbol? candidate, INamedTypeSymbol? known) =>
        known is not null && SymbolEqualityComparer.Default.Equals(candidate, known);
}
