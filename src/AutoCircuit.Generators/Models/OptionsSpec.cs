using AutoCircuit.Generators.Helpers;

namespace AutoCircuit.Generators.Models;

/// <summary>An <c>[AlgorithmOptions]</c> record.</summary>
/// <param name="TypeName">The record, <c>global::</c>-qualified.</param>
/// <param name="IsValidatable">Whether it implements <c>AutoCircuit.IValidatableOptions</c>.</param>
/// <param name="Options">Its <c>[Option]</c> properties in declaration order (base records first).</param>
/// <remarks>Value equality is load-bearing (see <see cref="AlgorithmSpec"/>).</remarks>
internal sealed record OptionsSpec(string TypeName, bool IsValidatable, EquatableArray<OptionSpec> Options);
