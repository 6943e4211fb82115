using AutoCircuit.Generators.Helpers;

namespace AutoCircuit.Generators.Models;

/// <summary>A value (or <c>null</c> when invalid) with the diagnostics found while producing it.</summary>
/// <param name="Value">The value.</param>
/// <param name="Diagnostics">Errors and warnings, in source order.</param>
/// <remarks>Value equality is load-bearing (see <see cref="DiagnosticInfo"/>).</remarks>
internal sealed record Result<T>(T Value, EquatableArray<DiagnosticInfo> Diagnostics);
