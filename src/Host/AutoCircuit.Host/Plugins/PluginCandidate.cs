namespace AutoCircuit.Host.Plugins;

/// <summary>A plugin assembly found in a plugin folder: <c>&lt;folder&gt;/&lt;Name&gt;/&lt;Name&gt;.dll</c>.</summary>
/// <param name="Name">The subfolder's (and assembly file's) name.</param>
/// <param name="AssemblyPath">Full path of <c>&lt;Name&gt;.dll</c>.</param>
/// <param name="Directory">The plugin folder it was found in.</param>
public sealed record PluginCandidate(string Name, string AssemblyPath, PluginDirectory Directory)
{
    /// <inheritdoc />
    public override string ToString() => $"plugin {Name} ({AssemblyPath})";
}
