using System.Globalization;
using System.Net;
using System.Text;

namespace AutoCircuit.Host.Reports;

/// <summary>Small helpers for writing SVG by hand: escaping, invariant numbers, nice axis ticks, a palette.</summary>
internal static class Svg
{
    /// <summary>A palette (Tableau 10, then darker variants): distinct, and none is the pure blue or red of an edge's
    /// sign. Reports colour algorithms by key with <see cref="AlgorithmColors"/>, the same in every report.</summary>
    public static IReadOnlyList<string> Palette { get; } =
    [
        "#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#e15759", "#76b7b2", "#edc948", "#9c755f", "#ff9da7", "#bab0ac",
        "#1f4e79", "#a0522d", "#2e7d32", "#6a1b9a", "#00838f", "#5d4037",
    ];

    /// <summary>The colour of a positive edge score (auto-circuit: blue).</summary>
    public const string Positive = "#1f4fd8";

    /// <summary>The colour of a negative edge score (auto-circuit: red).</summary>
    public const string Negative = "#d62728";

    /// <summary>The colour of a zero edge score.</summary>
    public const string Zero = "#9e9e9e";

    /// <summary>Escapes text for SVG/HTML content and attributes.</summary>
    public static string Escape(string? text) => WebUtility.HtmlEncode(text ?? string.Empty);

    /// <summary>A coordinate (two decimals, invariant culture).</summary>
    public static string N(double value) => Math.Round(value, 2).ToString("0.##", CultureInfo.InvariantCulture);

    /// <summary>A number for people: up to <paramref name="digits"/> significant digits, thousands compact.</summary>
    public static string Format(double value, int digits = 4)
    {
        if (double.IsNaN(value))
        {
            return "–";
        }

        if (double.IsInfinity(value))
        {
            return value > 0 ? "∞" : "−∞";
        }

        var abs = Math.Abs(value);
        if (abs != 0 && (abs >= 1e6 || abs < 1e-3))
        {
            return value.ToString("0.##e+0", CultureInfo.InvariantCulture);
        }

        var rounded = Math.Round(value, Math.Max(0, digits - 1 - (abs == 0 ? 0 : (int)Math.Floor(Math.Log10(abs)))));
        return rounded.ToString("#,0.######", CultureInfo.InvariantCulture);
    }

    /// <summary>A compact tick label: 0, 5, 1k, 20k, 1.5M.</summary>
    public static string Tick(double value)
    {
        var abs = Math.Abs(value);
        return abs switch
        {
            >= 1e6 => (value / 1e6).ToString("0.#", CultureInfo.InvariantCulture) + "M",
            >= 1e4 => (value / 1e3).ToString("0.#", CultureInfo.InvariantCulture) + "k",
            _ => value.ToString("0.###", CultureInfo.InvariantCulture),
        };
    }

    /// <summary>Round-numbered ticks (steps of 1, 2 or 5 × 10^n) covering [lo, hi], about <paramref name="target"/> of them.</summary>
    public static List<double> NiceTicks(double lo, double hi, int target = 6)
    {
        if (!(hi > lo))
        {
            return [lo];
        }

        var raw = (hi - lo) / Math.Max(1, target - 1);
        var mag = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        var step = new[] { 1.0, 2, 5, 10 }.Select(m => m * mag).First(s => s >= raw);
        var first = Math.Ceiling((lo / step) - 1e-9) * step;
        var ticks = new List<double>();
        for (var v = first; v <= hi + (step * 1e-9); v += step)
        {
            ticks.Add(Math.Abs(v) < step * 1e-9 ? 0 : v);
        }

        return ticks;
    }

    /// <summary>A deterministic element id from text (FNV-1a), so the same report renders the same bytes.</summary>
    public static string Id(string prefix, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var hash = 2166136261u;
        foreach (var c in text)
        {
            hash = unchecked((hash ^ c) * 16777619u);
        }

        return prefix + hash.ToString("x8", CultureInfo.InvariantCulture);
    }

    /// <summary>Appends an element with text content.</summary>
    public static void Text(StringBuilder sb, double x, double y, string text, string attributes = "")
    {
        ArgumentNullException.ThrowIfNull(sb);
        sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{N(x)}\" y=\"{N(y)}\" {attributes}>{Escape(text)}</text>");
    }

    /// <summary>The approximate width of text in the report's sans-serif font at <paramref name="fontSize"/> px.</summary>
    public static double TextWidth(string text, double fontSize) => (text?.Length ?? 0) * fontSize * 0.58;
}
