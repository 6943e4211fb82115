using System.Reflection;

namespace AutoCircuit.Host.Runtime;

/// <summary>An algorithm known to the host, and where it came from.</summary>
/// <param name="Descriptor">The generated descriptor.</param>
/// <param name="Origin">"built-in" or the plugin assembly's path.</param>
public sealed record CatalogEntry(AlgorithmDescriptor Descriptor, string Origin);

/// <summary>
/// The algorithms available to a run: the built-ins and those of loaded plugins. An assembly's
/// algorithms are read from its generated <see cref="AlgorithmRegistryAttribute"/> — the only
/// reflection the host does on algorithm assemblies; types are never scanned.
/// </summary>
public sealed class AlgorithmCatalog
{
    /// <summary>Name of the assembly holding the built-in algorithms.</summary>
    public const string BuiltInAssemblyName = "AutoCircuit.Algorithms";

    private readonly Dictionary<string, CatalogEntry> _byKey = new(StringComparer.Ordinal);
    private readonly List<CatalogEntry> _entries = [];
    private readonly List<string> _warnings = [];

    /// <summary>All algorithms, sorted by key.</summary>
    public IReadOnlyList<CatalogEntry> Entries => _entries;

    /// <summary>Problems found while loading (duplicate keys, ...), for the log.</summary>
    public IReadOnlyList<string> Warnings => _warnings;

    /// <summary>A catalog of the built-in algorithms.</summary>
    public static AlgorithmCatalog BuiltIn()
    {
        var catalog = new AlgorithmCatalog();
        catalog.AddAssembly(Assembly.Load(new AssemblyName(BuiltInAssemblyName)), "built-in");
        return catalog;
    }

    /// <summary>The registry of an assembly (empty if it has none).</summary>
    public static AlgorithmRegistryAttribute? ReadRegistry(Assembly assembly)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        return assembly.GetCustomAttributes(typeof(AlgorithmRegistryAttribute), inherit: false)
            .OfType<AlgorithmRegistryAttribute>().FirstOrDefault();
    }

    /// <summary>Adds an assembly's algorithms. A key already present is skipped with a warning.</summary>
    /// <returns>The number of algorithms added.</returns>
    public int AddAssembly(Assembly assembly, string origin)
    {
        var registry = ReadRegistry(assembly);
        if (registry is null)
        {
            return 0;
        }

        var added = 0;
        foreach (var d in registry.Algorithms)
        {
            if (_byKey.TryGetValue(d.Key, out var existing))
            {
                _warnings.Add($"Algorithm key '{d.Key}' from {origin} is already provided by {existing.Origin}; the first one is kept.");
                continue;
            }

            var entry = new CatalogEntry(d, origin);
            _byKey[d.Key] = entry;
            _entries.Add(entry);
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
    }
}
