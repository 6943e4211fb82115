namespace AutoCircuit.Generators.Models;

/// <summary>The scalar types an option (or an option list's items) may have.</summary>
internal enum OptionKind
{
    Boolean,
    Int32,
    Int64,
    Double,
    Single,
    String,
    Enum,
}
