using AutoCircuit.Engine;
namespace AutoCircuit.Host.Plugins;

/// <summary>Where a plugin folder was named.</summary>
public enum PluginSource
{
    /// <summary><c>--plugins DIR</c> on the command line (or a library caller).</summary>
    CommandLine,

    /// <summary>The <c>AUTOCIRCUIT_PLUGINS</c> environment variable.</summary>
    Environment,

    /// <summary>The per-user folder, <c>~/.autocircuit/plugins</c>.</summary>
    UserFolder,
}

/// <summary>A folder holding plugins, each in its own subfolder <c>&lt;Name&gt;/&lt;Name&gt;.dll</c>.</summary>
/// <param name="Path">Full path of the folder.</param>
/// <param name="Source">Where it was named.</param>
public sealed record PluginDirectory(string Path, PluginSource Source);

/// <summary>
/// The plugin folders to search, in order (the first plugin to provide a key wins): <c>--plugins</c> folders as
/// given, then the folders of <c>AUTOCIRCUIT_PLUGINS</c>, then the per-user folder. A folder named twice is searched once.
/// </summary>
/// <param name="Directories">The folders, in search order.</param>
public sealed record PluginSearchPath(IReadOnlyList<PluginDirectory> Directories)
{
    /// <summary>The environment variable listing plugin folders (separated by <see cref="Path.PathSeparator"/>, ':' on Linux).</summary>
    public const string EnvironmentVariable = "AUTOCIRCUIT_PLUGINS";

    /// <summary>No plugin folders: built-in algorithms only.</summary>
    public static PluginSearchPath None { get; } = new([]);

    /// <summary>The per-user plugin folder: <c>~/.autocircuit/plugins</c>.</summary>
    public static string DefaultUserFolder =>
        Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".autocircuit", "plugins");

    /// <summary>
    /// The search path of the command line: <paramref name="commandLine"/> folders, then <c>AUTOCIRCUIT_PLUGINS</c>,
    /// then <see cref="DefaultUserFolder"/>.
    /// </summary>
    /// <exception cref="AutoCircuitException">A <c>--plugins</c> folder does not exist.</exception>
    public static PluginSearchPath FromEnvironment(IEnumerable<string> commandLine) =>
        Resolve(commandLine, Environment.GetEnvironmentVariable(EnvironmentVariable), DefaultUserFolder);

    /// <summary>
    /// Combines the three sources. <c>--plugins</c> folders must exist (an error otherwise); folders from the
    /// environment variable or the user folder that do not exist are left out (<see cref="Plugins.PluginLoading"/>
    /// warns about missing environment folders).
    /// </summary>
    /// <exception cref="AutoCircuitException">A <paramref name="commandLine"/> folder does not exist.</exception>
    public static PluginSearchPath Resolve(IEnumerable<string> commandLine, string? environmentValue, string? userFolder)
    {
        ArgumentNullException.ThrowIfNull(commandLine);
        var directories = new List<PluginDirectory>();
        var seen = new HashSet<string>(StringComparer.Ordinal);

        void Add(string path, PluginSource source)
        {
            var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
            if (seen.Add(full))
            {
                directories.Add(new PluginDirectory(full, source));
            }
        }

        foreach (var dir in commandLine)
        {
            if (!Directory.Exists(dir))
            {
                throw new AutoCircuitException($"--plugins {dir}: folder not found (it should hold one subfolder per plugin, <Name>/<Name>.dll).");
            }

            Add(dir, PluginSource.CommandLine);
        }

        foreach (var dir in (environmentValue ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            Add(dir, PluginSource.Environment);
        }

        if (!string.IsNullOrEmpty(userFolder) && Directory.Exists(userFolder))
        {
            Add(userFolder, PluginSource.UserFolder);
        }

        return new PluginSearchPath(directories);
    }
}
