namespace AutoCircuit.Host.Plugins;

/// <summary>The outcome of loading every plugin on a search path.</summary>
/// <param name="Loaded">Plugins whose registries were read, in search order.</param>
/// <param name="Failures">Plugins that were skipped, with the reason.</param>
/// <param name="Warnings">Other problems (missing folders, folders without a plugin assembly), one line each.</param>
/// <param name="Elapsed">Wall time of discovery and loading.</param>
internal sealed record PluginLoadReport(
    IReadOnlyList<LoadedPlugin> Loaded,
    IReadOnlyList<PluginFailure> Failures,
    IReadOnlyList<string> Warnings,
    TimeSpan Elapsed)
{
    /// <summary>Nothing loaded, nothing failed.</summary>
    public static PluginLoadReport Empty { get; } = new([], [], [], TimeSpan.Zero);
}
