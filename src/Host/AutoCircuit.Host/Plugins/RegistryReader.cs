using System.Reflection;

namespace AutoCircuit.Host.Plugins;

/// <summary>Reads the one assembly attribute the registry generator emits: the host never scans types.</summary>
internal static class RegistryReader
{
    /// <summary>The registry of an assembly (empty if it has none).</summary>
    public static AlgorithmRegistryAttribute? Read(Assembly assembly)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        return assembly.GetCustomAttributes(typeof(AlgorithmRegistryAttribute), inherit: false)
            .OfType<AlgorithmRegistryAttribute>().FirstOrDefault();
    }
}
