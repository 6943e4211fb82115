namespace AutoCircuit;

/// <summary>Declares one algorithm option on a property of an <see cref="AlgorithmOptionsAttribute"/> record.</summary>
/// <param name="name">Kebab-case option name used in specs and score files, e.g. <c>grad-function</c>.</param>
[AttributeUsage(AttributeTargets.Property, Inherited = false, AllowMultiple = false)]
public sealed class OptionAttribute(string name) : Attribute
{
    /// <summary>The option's name.</summary>
    public string Name { get; } = name;

    /// <summary>Help text.</summary>
    public string? Description { get; set; }

    /// <summary>For string options: the only accepted values. (Enum options list their members automatically.)</summary>
    public string[]? AllowedValues { get; set; }

    /// <summary>Smallest accepted value of a numeric option (inclusive); NaN for none.</summary>
    public double Min { get; set; } = double.NaN;

    /// <summary>Largest accepted value of a numeric option (inclusive); NaN for none.</summary>
    public double Max { get; set; } = double.NaN;
}
