using System.Globalization;
using Microsoft.CodeAnalysis.CSharp;

namespace AutoCircuit.Generators.Helpers;

/// <summary>C# literals for emitted code, always formatted with the invariant culture.</summary>
internal static class Literals
{
    /// <summary>A quoted, escaped string literal.</summary>
    public static string String(string value) => SymbolDisplay.FormatLiteral(value, quote: true);

    /// <summary><c>true</c> or <c>false</c>.</summary>
    public static string Bool(bool value) => value ? "true" : "false";

    /// <summary>A <c>double</c> literal that round-trips (infinities as named constants).</summary>
    public static string Double(double value)
    {
        if (double.IsNaN(value))
        {
            return "double.NaN";
        }

        if (double.IsPositiveInfinity(value))
        {
            return "double.PositiveInfinity";
        }

        if (double.IsNegativeInfinity(value))
        {
            return "double.NegativeInfinity";
        }

        return value.ToString("R", CultureInfo.InvariantCulture) + "d";
    }

    /// <summary>A <c>double?</c> argument: the literal, or <c>null</c>.</summary>
    public static string NullableDouble(double? value) => value is { } v ? Double(v) : "null";
}
