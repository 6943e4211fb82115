namespace AutoCircuit;

/// <summary>
/// One algorithm of a registry (emitted by the generator): identity, help, options and a factory.
/// </summary>
public sealed class AlgorithmDescriptor
{
    private readonly Func<IReadOnlyDictionary<string, string>, ConfiguredAlgorithm> _create;

    /// <summary>Creates a descriptor (called by generated code).</summary>
    public AlgorithmDescriptor(
        string key,
        string name,
        string shortName,
        string description,
        bool requiresKnownEdges,
        IReadOnlyList<OptionDescriptor> options,
        IReadOnlyList<AlgorithmPreset> presets,
        Func<IReadOnlyDictionary<string, string>, ConfiguredAlgorithm> create)
    {
        Key = key;
        Name = name;
        ShortName = shortName;
        Description = description;
        RequiresKnownEdges = requiresKnownEdges;
        Options = options;
        Presets = presets;
        _create = create;
    }

    /// <summary>Stable kebab-case key.</summary>
    public string Key { get; }

    /// <summary>Display name.</summary>
    public string Name { get; }

    /// <summary>Short display name.</summary>
    public string ShortName { get; }

    /// <summary>Description for help output.</summary>
    public string Description { get; }

    /// <summary>Whether the algorithm needs a known circuit.</summary>
    public bool RequiresKnownEdges { get; }

    /// <summary>The algorithm's options with defaults.</summary>
    public IReadOnlyList<OptionDescriptor> Options { get; }

    /// <summary>Named configurations.</summary>
    public IReadOnlyList<AlgorithmPreset> Presets { get; }

    /// <summary>Binds option values (kebab-case name → raw text) and creates the algorithm.</summary>
    /// <exception cref="OptionBindingException">An option is unknown or a value is invalid.</exception>
    public ConfiguredAlgorithm Create(IReadOnlyDictionary<string, string> options) => _create(options);

    /// <summary>
    /// Binds option values in their JSON form (the <c>options</c> object of <c>scores/&lt;key&gt;.json</c>, i.e.
    /// <see cref="ConfiguredAlgorithm.Options"/> serialised) and creates the algorithm: a score file's options
    /// recreate the algorithm that wrote it. Values are checked exactly as on the command line.
    /// </summary>
    /// <exception cref="OptionBindingException">An option is unknown or a value is invalid.</exception>
    public ConfiguredAlgorithm CreateFromJson(IReadOnlyDictionary<string, System.Text.Json.JsonElement> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return _create(options.ToDictionary(o => o.Key, o => OptionParsing.FromJsonValue(o.Key, o.Value), StringComparer.Ordinal));
    }

    /// <inheritdoc />
    public override string ToString() => Key;
}

/// <summary>A named configuration of an algorithm.</summary>
/// <param name="Name">Preset name, e.g. <c>EAP</c>.</param>
/// <param name="AlgorithmKey">The algorithm it configures.</param>
/// <param name="Options">Option assignments in spec syntax.</param>
public sealed record AlgorithmPreset(string Name, string AlgorithmKey, string Options);

/// <summary>An algorithm instance with the effective values of all its options.</summary>
/// <param name="Algorithm">The algorithm.</param>
/// <param name="Options">Every option's effective value in JSON form (kebab-case name → value), in declaration order.</param>
public sealed record ConfiguredAlgorithm(IPruneAlgorithm Algorithm, IReadOnlyList<KeyValuePair<string, object?>> Options);
