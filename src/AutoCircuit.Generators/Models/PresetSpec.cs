namespace AutoCircuit.Generators.Models;

/// <summary>One <c>[PruneAlgorithmPreset]</c>.</summary>
/// <param name="Name">Preset name.</param>
/// <param name="Options">Option assignments in spec syntax (<c>name=value,...</c>).</param>
/// <remarks>Value equality is load-bearing (see <see cref="AlgorithmSpec"/>).</remarks>
internal sealed record PresetSpec(string Name, string Options);
