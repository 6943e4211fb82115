using AutoCircuit.Generators.Helpers;

namespace AutoCircuit.Generators.Models;

/// <summary>One registered algorithm.</summary>
/// <param name="Key">The kebab-case key.</param>
/// <param name="TypeName">The class, <c>global::</c>-qualified.</param>
/// <param name="Name">Display name.</param>
/// <param name="ShortName">Short display name.</param>
/// <param name="Description">Help text.</param>
/// <param name="RequiresKnownEdges">Whether the algorithm needs the task's known circuit.</param>
/// <param name="Options">The options record the constructor takes, or <c>null</c> for a parameterless constructor.</param>
/// <param name="Presets">Named configurations, in attribute order.</param>
/// <param name="RuntimeTypeName">The class's <c>Type.FullName</c> (<c>Ns.Outer+Inner</c>).</param>
/// <param name="MemoryBudget">The <c>AutoCircuit.MemoryBudgetSupport</c> member to record (declared, or inferred).</param>
/// <remarks>
/// Immutable with structural equality, and that is load-bearing: the generator compares specs between runs to
/// skip re-emitting. New members must keep it (strings, enums, records, <see cref="EquatableArray{T}"/>), otherwise
/// we risk breaking incremental caching; never store an <c>ISymbol</c>, <c>SyntaxNode</c>, <c>Location</c> or <c>Compilation</c>.
/// </remarks>
internal sealed record AlgorithmSpec(
    string Key,
    string TypeName,
    string Name,
    string ShortName,
    string Description,
    bool RequiresKnownEdges,
    OptionsSpec? Options,
    EquatableArray<PresetSpec> Presets,
    string RuntimeTypeName,
    string MemoryBudget);
