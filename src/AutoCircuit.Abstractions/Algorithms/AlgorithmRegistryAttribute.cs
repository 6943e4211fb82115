namespace AutoCircuit;

/// <summary>
/// Base of the assembly attribute the generator emits into every assembly with prune algorithms.
/// The host reads this one attribute (and nothing else by reflection) to find an assembly's algorithms.
/// </summary>
[AttributeUsage(AttributeTargets.Assembly, Inherited = true, AllowMultiple = false)]
public abstract class AlgorithmRegistryAttribute : Attribute
{
    /// <summary>The assembly's algorithms, sorted by key.</summary>
    public abstract IReadOnlyList<AlgorithmDescriptor> Algorithms { get; }

    /// <summary>The version of AutoCircuit.Abstractions the assembly was compiled against (e.g. <c>1.0.0.0</c>).</summary>
    public abstract string SdkVersion { get; }
}
