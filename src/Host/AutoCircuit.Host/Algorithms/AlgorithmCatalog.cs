using System.Reflection;
using AutoCircuit.Engine;
using AutoCircuit.Host.Plugins;

namespace AutoCircuit.Host.Algorithms;

/// <summary>An algorithm known to the host, and where it came from.</summary>
/// <param name="Descriptor">The generated descriptor.</param>
/// <param name="Origin">"built-in" or the plugin assembly's path.</param>
public sealed record CatalogEntry(AlgorithmDescriptor Descriptor, string Origin)
{
    /// <summary>The plugin's name (its folder's and assembly's name), or <c>null</c> for a built-in.</summary>
    public string? PluginName { get; init; }

    /// <summary>Whether the algorithm is one of the built-ins.</summary>
    public bool IsBuiltIn => Origin == AlgorithmCatalog.BuiltInOrigin;

    /// <summary>The origin as <c>list</c> shows it: <c>built-in</c> or <c>plugin NAME: PATH</c>.</summary>
    public string OriginText => PluginName is null ? Origin : $"plugin {PluginName}: {Origin}";
}

/// <summary>
/// The algorithms available to a run: the built-ins and those of loaded plugins. An assembly's
/// algorithms are read from its generated <see cref="AlgorithmRegistryAttribute"/> — the only
/// reflection the host does on algorithm assemblies; types are never scanned.
/// </summary>
public sealed class AlgorithmCatalog
{
    /// <summary>Name of the assembly holding the built-in algorithms.</summary>
    public const string BuiltInAssemblyName = "AutoCircuit.Algorithms";

    /// <summary>The <see cref="CatalogEntry.Origin"/> of built-in algorithms.</summary>
    public const string BuiltInOrigin = "built-in";

    private readonly Dictionary<string, CatalogEntry> _byKey = new(StringComparer.Ordinal);
    private readonly List<CatalogEntry> _entries = [];
    private readonly List<CatalogEntry> _loadOrder = [];
    private readonly List<string> _warnings = [];
    private readonly List<PluginFailure> _pluginFailures = [];

    /// <summary>All algorithms, sorted by key.</summary>
    public IReadOnlyList<CatalogEntry> Entries => _entries;

    /// <summary>
    /// The algorithms in the order <c>-a all</c> runs them: the built-ins (by key), then each plugin's algorithms in the
    /// order the plugins were found on the search path (<c>--plugins</c> folders, <c>AUTOCIRCUIT_PLUGINS</c>, the user
    /// folder), each plugin's in its registry's order.
    /// </summary>
    public IEnumerable<CatalogEntry> BuiltInsThenPlugins =>
        _entries.Where(e => e.IsBuiltIn).Concat(_loadOrder.Where(e => !e.IsBuiltIn));

    /// <summary>Problems found while loading (duplicate keys, skipped plugins, ...), for the log.</summary>
    public IReadOnlyList<string> Warnings => _warnings;

    /// <summary>Plugins that could not be loaded (each also has a line in <see cref="Warnings"/>).</summary>
    public IReadOnlyList<PluginFailure> PluginFailures => _pluginFailures;

    /// <summary>A catalog of the built-in algorithms.</summary>
    public static AlgorithmCatalog BuiltIn()
    {
        var catalog = new AlgorithmCatalog();
        catalog.AddAssembly(Assembly.Load(new AssemblyName(BuiltInAssemblyName)), BuiltInOrigin);
        return catalog;
    }

    /// <summary>
    /// The built-ins and the plugins on <paramref name="plugins"/> (see <see cref="PluginLoading"/>). Plugins that
    /// cannot be loaded are skipped with a warning; they become an error only when one of their algorithms is asked for.
    /// </summary>
    public static AlgorithmCatalog Load(PluginSearchPath plugins)
    {
        var catalog = BuiltIn();
        catalog.AddPlugins(PluginLoading.Load(plugins));
        return catalog;
    }

    /// <summary>Adds loaded plugins' algorithms (in report order) and records the failures and warnings.</summary>
    internal void AddPlugins(PluginLoadReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        _warnings.AddRange(report.Warnings);
        foreach (var failure in report.Failures)
        {
            _pluginFailures.Add(failure);
            _warnings.Add(failure.ToString());
        }

        foreach (var plugin in report.Loaded)
        {
            AddAlgorithms(plugin.Algorithms, plugin.Candidate.AssemblyPath, plugin.Candidate.Name);
        }
    }


    /// <summary>Adds an assembly's algorithms. A key already present is skipped with a warning.</summary>
    /// <returns>The number of algorithms added.</returns>
    public int AddAssembly(Assembly assembly, string origin)
    {
        var registry = RegistryReader.Read(assembly);
        return registry is null ? 0 : AddAlgorithms(registry.Algorithms, origin);
    }

    private int AddAlgorithms(IEnumerable<AlgorithmDescriptor> algorithms, string origin, string? pluginName = null)
    {
        var added = 0;
        foreach (var d in algorithms)
        {
            if (_byKey.TryGetValue(d.Key, out var existing))
            {
                _warnings.Add(
                    $"Algorithm key '{d.Key}' of {origin} is also provided by {existing.Origin}, whose algorithm is used " +
                    "(the first found wins: built-ins, then --plugins folders, AUTOCIRCUIT_PLUGINS, the user folder).");
                continue;
            }

            var entry = new CatalogEntry(d, origin) { PluginName = pluginName };
            _byKey[d.Key] = entry;
            _entries.Add(entry);
            _loadOrder.Add(entry);
            added++;
        }

        _entries.Sort((a, b) => string.CompareOrdinal(a.Descriptor.Key, b.Descriptor.Key));
        return added;
    }

    /// <summary>All presets of all algorithms.</summary>
    public IEnumerable<AlgorithmPreset> Presets => _entries.SelectMany(e => e.Descriptor.Presets);

    /// <summary>Finds an algorithm by key.</summary>
    public bool TryGet(string key, out CatalogEntry entry) => _byKey.TryGetValue(key, out entry!);

    /// <summary>
    /// Resolves a spec (a key with options, or a preset name) and creates the configured algorithm.
    /// </summary>
    /// <exception cref="AutoCircuitException">Unknown key/preset (the known ones are listed) or bad options.</exception>
    public (CatalogEntry Entry, ConfiguredAlgorithm Algorithm) Create(AlgorithmSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var key = spec.Key;
        var options = spec.Options.ToList();
        if (!_byKey.ContainsKey(key))
        {
            var preset = Presets.FirstOrDefault(p => string.Equals(p.Name, spec.Text.Trim(), StringComparison.OrdinalIgnoreCase))
                ?? Presets.FirstOrDefault(p => string.Equals(p.Name, key, StringComparison.OrdinalIgnoreCase));
            if (preset is null && _pluginFailures.Count > 0)
            {
                throw new AutoCircuitException(
                    $"Algorithm '{key}' is not available, and it may be in a plugin that could not be loaded: " +
                    string.Join("; ", _pluginFailures) +
                    $" Known algorithms: {string.Join(", ", _entries.Select(e => e.Descriptor.Key))}.",
                    ExitCode.PluginError);
            }

            if (preset is null && Spelling.Closest(key, _entries.Select(e => e.Descriptor.Key).Concat(Presets.Select(p => p.Name))) is { } meant)
            {
                throw new AutoCircuitException(
                    $"Unknown algorithm '{key}'; did you mean '{meant}'? ('dotnet autocircuit list' shows every algorithm and preset.)");
            }

            if (preset is null)
            {
                throw new AutoCircuitException(
                    $"Unknown algorithm '{key}'. Known algorithms: {string.Join(", ", _entries.Select(e => e.Descriptor.Key))}" +
                    (Presets.Any() ? $"; presets: {string.Join(", ", Presets.Select(p => $"\"{p.Name}\""))}." : "."));
            }

            key = preset.AlgorithmKey;
            var presetOptions = AlgorithmSpec.Parse($"{key}:{preset.Options}").Options;
            options = presetOptions.Where(p => options.All(o => o.Key != p.Key)).Concat(
                string.Equals(preset.Name, spec.Text.Trim(), StringComparison.OrdinalIgnoreCase) ? [] : options).ToList();
        }

        var entry = _byKey[key];
        try
        {
            var configured = entry.Descriptor.Create(options.ToDictionary(o => o.Key, o => o.Value, StringComparer.Ordinal));
            return (entry, configured);
        }
        catch (OptionBindingException e)
        {
            throw new AutoCircuitException($"Algorithm spec '{spec.Text}': {e.Message}", e);
        }
        catch (Exception e) when (entry.Origin != BuiltInOrigin && e is not OutOfMemoryException)
        {
            // A plugin asked for by name that cannot even be created (a dependency missing, a throwing constructor).
            throw new AutoCircuitException(
                $"Algorithm '{key}' of plugin {entry.Origin} could not be created: {PluginLoading.Describe(e)}", ExitCode.PluginError, e);
        }
    }
}
