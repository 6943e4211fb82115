using System.Globalization;
using System.Text;
using System.Text.Json;

namespace AutoCircuit;

/// <summary>
/// Parsing and formatting of option values, called by the generated binders. Values are parsed with
/// the invariant culture; list items are separated by <c>;</c>; <c>none</c> means null for nullable options.
/// </summary>
public static class OptionParsing
{
    /// <summary>The token that stands for "no value" in nullable options.</summary>
    public const string NoneToken = "none";

    /// <summary>Whether a raw value means null.</summary>
    public static bool IsNone(string value) =>
        string.Equals(value?.Trim(), NoneToken, StringComparison.OrdinalIgnoreCase) ||
        string.Equals(value?.Trim(), "null", StringComparison.OrdinalIgnoreCase);

    /// <summary>Parses an <c>int</c>.</summary>
    public static int ParseInt32(string option, string value, double min = double.NaN, double max = double.NaN)
    {
        if (!int.TryParse(value?.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v))
        {
            throw new OptionBindingException($"Option '{option}' expects an integer; got '{value}'.", option);
        }

        CheckRange(option, v, min, max);
        return v;
    }

    /// <summary>Parses a <c>long</c>.</summary>
    public static long ParseInt64(string option, string value, double min = double.NaN, double max = double.NaN)
    {
        if (!long.TryParse(value?.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v))
        {
            throw new OptionBindingException($"Option '{option}' expects an integer; got '{value}'.", option);
        }

        CheckRange(option, v, min, max);
        return v;
    }

    /// <summary>Parses a <c>double</c> (also <c>inf</c>, <c>-inf</c>).</summary>
    public static double ParseDouble(string option, string value, double min = double.NaN, double max = double.NaN)
    {
        var text = value?.Trim() ?? string.Empty;
        double v;
        if (text.Equals("inf", StringComparison.OrdinalIgnoreCase))
        {
            v = double.PositiveInfinity;
        }
        else if (text.Equals("-inf", StringComparison.OrdinalIgnoreCase))
        {
            v = double.NegativeInfinity;
        }
        else if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out v) || double.IsNaN(v))
        {
            throw new OptionBindingException($"Option '{option}' expects a number; got '{value}'.", option);
        }

        CheckRange(option, v, min, max);
        return v;
    }

    /// <summary>Parses a <c>float</c>.</summary>
    public static float ParseSingle(string option, string value, double min = double.NaN, double max = double.NaN) =>
        (float)ParseDouble(option, value, min, max);

    /// <summary>Parses a <c>bool</c>: true/false, yes/no, 1/0.</summary>
    public static bool ParseBoolean(string option, string value)
    {
        switch (value?.Trim().ToUpperInvariant())
        {
            case "TRUE" or "YES" or "1" or "ON":
                return true;
            case "FALSE" or "NO" or "0" or "OFF":
                return false;
            default:
                throw new OptionBindingException($"Option '{option}' expects true or false; got '{value}'.", option);
        }
    }

    /// <summary>Parses a string, checking it against <paramref name="allowed"/> when given.</summary>
    public static string ParseString(string option, string value, IReadOnlyList<string>? allowed = null)
    {
        var v = value ?? string.Empty;
        if (allowed is { Count: > 0 } && !allowed.Contains(v, StringComparer.Ordinal))
        {
            throw new OptionBindingException(
                $"Option '{option}' must be one of {string.Join(", ", allowed)}; got '{value}'.", option);
        }

        return v;
    }

    /// <summary>Parses an enum value from its kebab-case name.</summary>
    public static T ParseEnum<T>(string option, string value, IReadOnlyList<KeyValuePair<string, T>> names)
        where T : struct, Enum
    {
        ArgumentNullException.ThrowIfNull(names);
        var text = value?.Trim() ?? string.Empty;
        foreach (var (name, v) in names)
        {
            if (string.Equals(name, text, StringComparison.OrdinalIgnoreCase))
            {
                return v;
            }
        }

        throw new OptionBindingException(
            $"Option '{option}' must be one of {string.Join(", ", names.Select(n => n.Key))}; got '{value}'.", option);
    }

    /// <summary>Parses a <c>;</c>-separated list with an item parser.</summary>
    public static T[] ParseList<T>(string option, string value, Func<string, string, T> parseItem)
    {
        ArgumentNullException.ThrowIfNull(parseItem);
        var text = value?.Trim() ?? string.Empty;
        if (text.Length == 0)
        {
            return [];
        }

        return text.Split(';').Select(item => parseItem(option, item.Trim())).ToArray();
    }

    /// <summary>The kebab-case form of a PascalCase identifier: <c>AvgDiff</c> → <c>avg-diff</c>.</summary>
    public static string ToKebabCase(string identifier)
    {
        ArgumentNullException.ThrowIfNull(identifier);
        var sb = new StringBuilder(identifier.Length + 4);
        for (var i = 0; i < identifier.Length; i++)
        {
            var c = identifier[i];
            if (char.IsUpper(c))
            {
                var prevLowerOrDigit = i > 0 && (char.IsLower(identifier[i - 1]) || char.IsDigit(identifier[i - 1]));
                var nextLower = i + 1 < identifier.Length && char.IsLower(identifier[i + 1]) && i > 0 && char.IsUpper(identifier[i - 1]);
                if (prevLowerOrDigit || nextLower)
                {
                    sb.Append('-');
                }

                sb.Append(char.ToLowerInvariant(c));
            }
            else if (c == '_')
            {
                sb.Append('-');
            }
            else
            {
                sb.Append(c);
            }
        }

        return sb.ToString();
    }

    /// <summary>Formats a value as it would be written in a spec (invariant culture, lists with <c>;</c>).</summary>
    public static string Format(object? value) => value switch
    {
        null => NoneToken,
        bool b => b ? "true" : "false",
        string s => s,
        double d => FormatDouble(d),
        float f => FormatSingle(f),
        Enum e => ToKebabCase(e.ToString()),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        System.Collections.IEnumerable list => string.Join(";", list.Cast<object?>().Select(Format)),
        _ => value.ToString() ?? string.Empty,
    };

    /// <summary>
    /// The JSON-friendly form of a value for score files: numbers, booleans, strings, arrays or null;
    /// enums become their kebab-case names and infinite numbers the strings <c>inf</c> / <c>-inf</c> (JSON has no
    /// infinity). <see cref="FromJsonValue"/> turns each form back into the text the binder parses.
    /// </summary>
    public static object? ToJsonValue(object? value) => value switch
    {
        null => null,
        Enum e => ToKebabCase(e.ToString()),
        string s => s,
        double d when double.IsInfinity(d) => FormatDouble(d),
        float f when float.IsInfinity(f) => FormatSingle(f),
        System.Collections.IEnumerable list => list.Cast<object?>().Select(ToJsonValue).ToArray(),
        _ => value,
    };

    /// <summary>
    /// The spec text of an option value read from JSON (the <c>options</c> of a score file): strings as they are,
    /// numbers as written, <c>true</c>/<c>false</c>, <c>null</c> as <see cref="NoneToken"/>, arrays as
    /// <c>;</c>-separated items. The generated binder then parses and checks it like a command-line value.
    /// </summary>
    /// <exception cref="OptionBindingException">An object, a nested array, or a list item containing <c>;</c>.</exception>
    public static string FromJsonValue(string option, JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Array:
                var items = new List<string>();
                foreach (var item in value.EnumerateArray())
                {
                    var text = item.ValueKind is JsonValueKind.Array or JsonValueKind.Null
                        ? throw new OptionBindingException($"Option '{option}' expects a flat list; got {value.GetRawText()}.", option)
                        : FromJsonValue(option, item);
                    if (text.Contains(';', StringComparison.Ordinal))
                    {
                        throw new OptionBindingException($"Option '{option}': list item '{text}' contains ';', the list separator.", option);
                    }

                    items.Add(text);
                }

                return string.Join(";", items);
            case JsonValueKind.String:
                return value.GetString() ?? string.Empty;
            case JsonValueKind.Number:
                return value.GetRawText();
            case JsonValueKind.True:
                return "true";
            case JsonValueKind.False:
                return "false";
            case JsonValueKind.Null:
                return NoneToken;
            default:
                throw new OptionBindingException(
                    $"Option '{option}' expects a number, string, boolean, list or null; got {value.GetRawText()}.", option);
        }
    }

    private static string FormatDouble(double d) =>
        double.IsPositiveInfinity(d) ? "inf" : double.IsNegativeInfinity(d) ? "-inf" : d.ToString("R", CultureInfo.InvariantCulture);

    // Formatting a float as float keeps 0.1f as "0.1" (widened to double it would print 0.10000000149011612).
    private static string FormatSingle(float f) =>
        float.IsPositiveInfinity(f) ? "inf" : float.IsNegativeInfinity(f) ? "-inf" : f.ToString("R", CultureInfo.InvariantCulture);

    private static void CheckRange(string option, double v, double min, double max)
    {
        if (!double.IsNaN(min) && v < min)
        {
            throw new OptionBindingException(
                $"Option '{option}' must be at least {Format(min)}{(double.IsNaN(max) ? string.Empty : $" and at most {Format(max)}")}; got {Format(v)}.",
                option);
        }

        if (!double.IsNaN(max) && v > max)
        {
            throw new OptionBindingException(
                $"Option '{option}' must be at most {Format(max)}{(double.IsNaN(min) ? string.Empty : $" and at least {Format(min)}")}; got {Format(v)}.",
                option);
        }
    }
}
