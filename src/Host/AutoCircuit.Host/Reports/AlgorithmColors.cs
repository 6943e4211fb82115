using System.Globalization;

namespace AutoCircuit.Host.Reports;

/// <summary>
/// One colour per algorithm key in every report (run and compare alike): the built-ins have fixed colours; any other
/// key (a plugin's, a scores file's) a colour chosen by a hash of the key, so it too is the same in every report. A
/// second algorithm of the same key in one report (<c>acdc</c> and <c>acdc #2</c>) gets a darker shade of it.
/// </summary>
internal static class AlgorithmColors
{
    private static readonly Dictionary<string, string> BuiltIn = new(StringComparer.Ordinal)
    {
        ["activation-magnitude"] = "#4e79a7",
        ["mask-gradient"] = "#f28e2b",
        ["eap"] = "#e15759",
        ["acdc"] = "#59a14f",
        ["subnetwork-probing"] = "#b07aa1",
        ["circuit-probing"] = "#76b7b2",
        ["circuit-tree-probing"] = "#edc948",
        ["opposite-tree-probing"] = "#9c755f",
        ["random"] = "#8c8c8c",
        ["ground-truth"] = "#222222",
    };

    /// <summary>Colours for keys without a fixed one (none of the built-ins' colours, nor the sign colours).</summary>
    private static readonly string[] Others =
        ["#ff9da7", "#1f4e79", "#a0522d", "#2e7d32", "#6a1b9a", "#00838f", "#5d4037", "#c2185b", "#827717", "#0277bd"];

    /// <summary>The colour of <paramref name="key"/> (a label stands in when the key is unknown).</summary>
    public static string For(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (BuiltIn.TryGetValue(key, out var color))
        {
            return color;
        }

        var hash = 2166136261u;
        foreach (var c in key)
        {
            hash = unchecked((hash ^ c) * 16777619u);
        }

        return Others[hash % (uint)Others.Length];
    }

    /// <summary>The colours of a report's algorithms, by label, in order.</summary>
    public static Dictionary<string, string> Assign(IEnumerable<(string Label, string? Key)> algorithms)
    {
        ArgumentNullException.ThrowIfNull(algorithms);
        var colors = new Dictionary<string, string>(StringComparer.Ordinal);
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (label, key) in algorithms)
        {
            var k = key ?? label;
            var repeat = seen[k] = seen.GetValueOrDefault(k) + 1;
            colors[label] = Darker(For(k), repeat - 1);
        }

        return colors;
    }

    /// <summary><paramref name="color"/> darkened by a quarter per <paramref name="steps"/> (0: itself).</summary>
    private static string Darker(string color, int steps)
    {
        if (steps == 0)
        {
            return color;
        }

        var factor = Math.Pow(0.72, steps);
        var rgb = Enumerable.Range(0, 3)
            .Select(i => (int)(int.Parse(color.AsSpan(1 + (2 * i), 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture) * factor));
        return "#" + string.Concat(rgb.Select(v => v.ToString("x2", CultureInfo.InvariantCulture)));
    }
}
