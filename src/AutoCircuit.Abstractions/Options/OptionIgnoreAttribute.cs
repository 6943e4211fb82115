namespace AutoCircuit;

/// <summary>
/// Marks a settable property of an <see cref="AlgorithmOptionsAttribute"/> record that is deliberately not an option
/// (set only from code, e.g. a test hook or a value derived by the host). Without it, such a property gets generator
/// warning <c>ACG0013</c>: a property without <see cref="OptionAttribute"/> is never bound from the command line,
/// presets or score files, which is more often a forgotten attribute than a choice.
/// </summary>
[AttributeUsage(AttributeTargets.Property, Inherited = false, AllowMultiple = false)]
public sealed class OptionIgnoreAttribute : Attribute
{
}
