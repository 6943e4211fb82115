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
/// <param name="OptionIgnoreAttribute"><c>AutoCircuit.OptionIgnoreAttribute</c>.</param>
/// <param name="MemoryBudgetSupport"><c>AutoCircuit.MemoryBudgetSupport</c>.</param>
/// <param name="PatchableModelExtensions"><c>AutoCircuit.Patching.PatchableModelExtensions</c> (<c>RowChunks</c>).</param>
/// <param name="PatchMemoryBudget"><c>AutoCircuit.Patching.IPatchMemoryBudget</c>.</param>
/// <param name="ChunkedAblations"><c>AutoCircuit.Patching.ChunkedAblations</c>.</param>
internal sealed record KnownSymbols(
    INamedTypeSymbol? PruneAlgorithm,
    INamedTypeSymbol? PresetAttribute,
    INamedTypeSymbol? AlgorithmOptionsAttribute,
    INamedTypeSymbol? OptionAttribute,
    INamedTypeSymbol? ValidatableOptions,
    INamedTypeSymbol? OptionIgnoreAttribute,
    INamedTypeSymbol? MemoryBudgetSupport,
    INamedTypeSymbol? PatchableModelExtensions,
    INamedTypeSymbol? PatchMemoryBudget,
    INamedTypeSymbol? ChunkedAblations)
{
    public static KnownSymbols Create(Compilation compilation) => new(
        compilation.GetTypeByMetadataName("AutoCircuit.IPruneAlgorithm"),
        compilation.GetTypeByMetadataName("AutoCircuit.PruneAlgorithmPresetAttribute"),
        compilation.GetTypeByMetadataName("AutoCircuit.AlgorithmOptionsAttribute"),
        compilation.GetTypeByMetadataName("AutoCircuit.OptionAttribute"),
        compilation.GetTypeByMetadataName("AutoCircuit.IValidatableOptions"),
        compilation.GetTypeByMetadataName("AutoCircuit.OptionIgnoreAttribute"),
        compilation.GetTypeByMetadataName("AutoCircuit.MemoryBudgetSupport"),
        compilation.GetTypeByMetadataName("AutoCircuit.Patching.PatchableModelExtensions"),
        compilation.GetTypeByMetadataName("AutoCircuit.Patching.IPatchMemoryBudget"),
        compilation.GetTypeByMetadataName("AutoCircuit.Patching.ChunkedAblations"));

    /// <summary>Whether <paramref name="candidate"/> is <paramref name="known"/> (false when it is unresolved).</summary>
    public static bool Is(ITypeSymbol? candidate, INamedTypeSymbol? known) =>
        known is not null && SymbolEqualityComparer.Default.Equals(candidate, known);
}
