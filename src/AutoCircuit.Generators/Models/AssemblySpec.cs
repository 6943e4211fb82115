namespace AutoCircuit.Generators.Models;

/// <summary>What the registry needs to know about the assembly being compiled.</summary>
/// <param name="Namespace">The registry's namespace, <c>AutoCircuit.Generated.&lt;assembly as identifier&gt;</c>.</param>
/// <param name="SdkVersion">The referenced AutoCircuit.Abstractions assembly version, e.g. <c>1.0.0.0</c>.</param>
/// <remarks>Value equality is load-bearing (see <see cref="AlgorithmSpec"/>).</remarks>
internal sealed record AssemblySpec(string Namespace, string SdkVersion);
