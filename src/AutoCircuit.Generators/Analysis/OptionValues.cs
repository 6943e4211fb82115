using System;
using System.Globalization;
using System.Linq;
using AutoCircuit.Generators.Models;

namespace AutoCircuit.Generators.Analysis;

/// <summary>
/// Checks an option value written as text (in a preset) by the rules the generated binder applies at run time
/// (<c>AutoCircuit.OptionParsing</c>: invariant culture, <c>none</c>/<c>null</c> for nullable options, <c>;</c>
/// between list items, case-insensitive enum names, inclusive Min/Max). Must stay in step with that class; the
/// diagnostic tests pair each rejected value with one the binder accepts.
/// </summary>
internal static class OptionValues
{
    /// <summary>Why the binder would reject <paramref name="value"/> for <paramref name="option"/>, or <c>null</c>.</summary>
    public static string? Check(OptionSpec option, string value)
    {
        if (option.IsNullable && IsNone(value))
        {
            return null;
        }

        if (!option.IsList)
        {
            return CheckScalar(option, value.Trim());
        }

        var text = value.Trim();
        if (text.Length == 0)
        {
            return null;
        }

        foreach (var item in text.Split(';').Select(i => i.Trim()))
        {
            if (CheckScalar(option, item) is { } problem)
            {
                return $"contains '{item}', which {problem}";
            }
        }

        return null;
    }

    private static string? CheckScalar(OptionSpec option, string text)
    {
        switch (option.Kind)
        {
            case OptionKind.Boolean:
                return text.ToUpperInvariant() is "TRUE" or "YES" or "1" or "ON" or "FALSE" or "NO" or "0" or "OFF"
                    ? null
                    : "is not true or false (nor yes/no, on/off, 1/0)";
            case OptionKind.Int32:
                return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i)
                    ? CheckRange(option, i)
                    : NotA(option, text, "an integer");
            case OptionKind.Int64:
                return long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var l)
                    ? CheckRange(option, l)
                    : NotA(option, text, "an integer");
            case OptionKind.Double or OptionKind.Single:
                double d;
                if (text.Equals("inf", StringComparison.OrdinalIgnoreCase))
                {
                    d = double.PositiveInfinity;
                }
                else if (text.Equals("-inf", StringComparison.OrdinalIgnoreCase))
                {
                    d = double.NegativeInfinity;
                }
                else if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out d) || double.IsNaN(d))
                {
                    return NotA(option, text, "a number");
                }

                return CheckRange(option, d);
            case OptionKind.String:
                return option.AllowedValues.IsEmpty || option.AllowedValues.Contains(text)
                    ? null
                    : $"is not one of its AllowedValues ({string.Join(", ", option.AllowedValues)})";
            case OptionKind.Enum:
                return option.EnumMembers.Any(m => string.Equals(m.KebabName, text, StringComparison.OrdinalIgnoreCase))
                    ? null
                    : $"is not one of {string.Join(", ", option.EnumMembers.Select(m => m.KebabName))}";
            default:
                return null;
        }
    }

    private static string NotA(OptionSpec option, string text, string what) =>
        IsNone(text) && !option.IsList ? $"is none, but the option is not nullable (it needs {what})" : $"is not {what}";

    private static string? CheckRange(OptionSpec option, double value)
    {
        if (option.Min is { } min && value < min)
        {
            return $"is below its Min of {Format(min)}";
        }

        return option.Max is { } max && value > max ? $"is above its Max of {Format(max)}" : null;
    }

    private static bool IsNone(string value) =>
        string.Equals(value.Trim(), "none", StringComparison.OrdinalIgnoreCase) ||
        string.Equals(value.Trim(), "null", StringComparison.OrdinalIgnoreCase);

    private static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
