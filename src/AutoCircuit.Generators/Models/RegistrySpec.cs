using AutoCircuit.Generators.Helpers;

namespace AutoCircuit.Generators.Models;

/// <summary>Everything the emitter needs for one assembly's <c>AutoCircuit.Registry.g.cs</c>.</summary>
/// <param name="Assembly">Namespace and SDK version.</param>
/// <param name="Algorithms">The valid algorithms, sorted by key (ordinal), keys unique.</param>
/// <remarks>Value equality is load-bearing (see <see cref="AlgorithmSpec"/>).</remarks>
internal sealed record RegistrySpec(AssemblySpec Assembly, EquatableArray<AlgorithmSpec> Algorithms);
