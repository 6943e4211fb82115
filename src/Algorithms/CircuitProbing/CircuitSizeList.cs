using System.Globalization;
using AutoCircuit.Graph;

namespace AutoCircuit.Algorithms.CircuitProbing;

/// <summary>Parsing and resolution of circuit-size lists (<c>100;true-size;1000</c>).</summary>
internal static class CircuitSizeList
{
    /// <summary>The item that stands for the number of known edges (auto-circuit's <c>"true_size"</c>).</summary>
    public const string TrueSize = "true-size";

    /// <summary>The problem with a written list, or <c>null</c>.</summary>
    public static string? Validate(string[] sizes)
    {
        if (sizes.Length == 0)
        {
            return "circuit-sizes needs at least one size.";
        }

        foreach (var s in sizes)
        {
            var isPositive = int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n > 0;
            if (!IsTrueSize(s) && !isPositive)
            {
                return $"circuit-sizes items must be positive integers or {TrueSize}; got '{s}'.";
            }
        }

        return sizes.GroupBy(s => IsTrueSize(s) ? TrueSize : s.Trim()).FirstOrDefault(g => g.Count() > 1) is { } dup
            ? $"circuit-sizes lists '{dup.Key}' twice."
            : null;
    }

    /// <summary>
    /// The sizes to probe, ascending, with <c>true-size</c> replaced by the number of known edges.
    /// </summary>
    /// <exception cref="InvalidOperationException"><c>true-size</c> without a known circuit, a size that
    /// resolves to 0, or two items that resolve to the same size (auto-circuit asserts unique sizes).</exception>
    public static IReadOnlyList<int> Resolve(string[] sizes, IReadOnlySet<Edge>? knownEdges)
    {
        var resolved = new List<int>(sizes.Length);
        foreach (var s in sizes)
        {
            if (IsTrueSize(s))
            {
                if (knownEdges is null)
                {
                    throw new InvalidOperationException(
                        $"circuit-sizes includes {TrueSize}, the number of known edges, but this task has no " +
                        "known circuit; give sizes as numbers.");
                }

                resolved.Add(knownEdges.Count);
            }
            else
            {
                resolved.Add(int.Parse(s, NumberStyles.Integer, CultureInfo.InvariantCulture));
            }
        }

        if (resolved.Any(n => n <= 0))
        {
            throw new InvalidOperationException(
                $"circuit-sizes must be positive; {TrueSize} is 0 (the known circuit is empty).");
        }

        if (resolved.Distinct().Count() != resolved.Count)
        {
            throw new InvalidOperationException(
                $"circuit-sizes resolve to a repeated size ({string.Join(", ", resolved)}).");
        }

        return [.. resolved.Order()];
    }

    private static bool IsTrueSize(string s) => string.Equals(s.Trim(), TrueSize, StringComparison.OrdinalIgnoreCase);
}
