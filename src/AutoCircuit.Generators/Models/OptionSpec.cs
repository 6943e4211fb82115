using AutoCircuit.Generators.Helpers;

namespace AutoCircuit.Generators.Models;

/// <summary>One <c>[Option]</c> property.</summary>
/// <param name="Name">The kebab-case option name.</param>
/// <param name="PropertyName">The C# property.</param>
/// <param name="Kind">The scalar kind (of the items, for lists).</param>
/// <param name="IsList">Whether the property is an array of <paramref name="Kind"/>.</param>
/// <param name="IsNullable">Whether <c>none</c> is accepted (a nullable value type or annotated reference type).</param>
/// <param name="EnumTypeName">For enums: the enum, <c>global::</c>-qualified; else <c>null</c>.</param>
/// <param name="EnumMembers">For enums: the members in declaration order; else empty.</param>
/// <param name="Description">Help text.</param>
/// <param name="AllowedValues">For strings: the only accepted values; else empty (no restriction).</param>
/// <param name="Min">Inclusive lower bound of a numeric option, or <c>null</c>.</param>
/// <param name="Max">Inclusive upper bound of a numeric option, or <c>null</c>.</param>
/// <remarks>Value equality is load-bearing (see <see cref="AlgorithmSpec"/>).</remarks>
internal sealed record OptionSpec(
    string Name,
    string PropertyName,
    OptionKind Kind,
    bool IsList,
    bool IsNullable,
    string? EnumTypeName,
    EquatableArray<EnumMemberSpec> EnumMembers,
    string Description,
    EquatableArray<string> AllowedValues,
    double? Min,
    double? Max);
