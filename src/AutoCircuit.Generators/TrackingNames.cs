namespace AutoCircuit.Generators;

/// <summary>
/// Names of the pipeline steps, applied with <c>WithTrackingName</c>. Tests read this class by reflection and
/// check that every step named here is cached, so a new step is covered as soon as it gets a name.
/// </summary>
internal static class TrackingNames
{
    /// <summary>Per class: <c>Result&lt;ParsedAlgorithm?&gt;</c>.</summary>
    public const string Parse = nameof(Parse);

    /// <summary>Per class: the spec, or <c>null</c> when the class is invalid.</summary>
    public const string Specs = nameof(Specs);

    /// <summary>Per class: its diagnostics.</summary>
    public const string Diagnostics = nameof(Diagnostics);

    /// <summary>Per assembly: ACG0002 diagnostics.</summary>
    public const string DuplicateKeys = nameof(DuplicateKeys);

    /// <summary>Per assembly: namespace and SDK version.</summary>
    public const string Assembly = nameof(Assembly);

    /// <summary>Per assembly: the registry spec, or <c>null</c> when there is nothing to emit.</summary>
    public const string Registry = nameof(Registry);
}
