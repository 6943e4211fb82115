namespace AutoCircuit;

/// <summary>
/// Marks a record as the options of an algorithm. Its settable (<c>init</c>) properties marked with
/// <see cref="OptionAttribute"/> become options; their initial values are the defaults. The
/// generator emits the binder from spec strings (<c>key:name=value,...</c>), the JSON form written
/// to score files and the help text. Supported types: <c>bool</c>, <c>int</c>, <c>long</c>,
/// <c>double</c>, <c>float</c>, <c>string</c>, enums (values in kebab-case), arrays of those
/// (<c>;</c>-separated on the command line) and nullable forms (<c>none</c> for null).
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false, AllowMultiple = false)]
public sealed class AlgorithmOptionsAttribute : Attribute
{
}
