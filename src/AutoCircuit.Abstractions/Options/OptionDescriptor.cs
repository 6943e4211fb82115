namespace AutoCircuit;

/// <summary>Describes one option of an algorithm (emitted by the generator).</summary>
/// <param name="Name">Kebab-case name.</param>
/// <param name="TypeName">Display type: <c>int</c>, <c>double</c>, <c>bool</c>, <c>string</c>, <c>enum</c>, <c>int list</c>, ...</param>
/// <param name="DefaultValue">The default, formatted as it would be written in a spec.</param>
/// <param name="Description">Help text.</param>
/// <param name="AllowedValues">Accepted values for enums and restricted strings, else <c>null</c>.</param>
/// <param name="Min">Inclusive lower bound of a numeric option, else <c>null</c>.</param>
/// <param name="Max">Inclusive upper bound of a numeric option, else <c>null</c>.</param>
public sealed record OptionDescriptor(
    string Name,
    string TypeName,
    string DefaultValue,
    string Description,
    IReadOnlyList<string>? AllowedValues = null,
    double? Min = null,
    double? Max = null);
