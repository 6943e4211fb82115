using McMaster.NETCore.Plugins;

namespace AutoCircuit.Host.Plugins;

/// <summary>A plugin whose registry was read: its algorithms can be listed and run.</summary>
internal sealed class LoadedPlugin
{
    // Kept so the plugin's load context lives as long as its algorithms may run.
    private readonly PluginLoader _loader;

    internal LoadedPlugin(PluginCandidate candidate, PluginLoader loader, Version sdkVersion, IReadOnlyList<AlgorithmDescriptor> algorithms)
    {
        Candidate = candidate;
        _loader = loader;
        SdkVersion = sdkVersion;
        Algorithms = algorithms;
    }

    /// <summary>Where the plugin was found.</summary>
    public PluginCandidate Candidate { get; }

    /// <summary>The AutoCircuit.Abstractions version the plugin was compiled against (from its registry).</summary>
    public Version SdkVersion { get; }

    /// <summary>The plugin's algorithms, as its generated registry lists them.</summary>
    public IReadOnlyList<AlgorithmDescriptor> Algorithms { get; }

    /// <inheritdoc />
    public override string ToString() => Candidate.ToString();
}
