using System.Globalization;

namespace AutoCircuit.Host.Reports;

/// <summary>Edge scores for people, in the stdout tables and the report.</summary>
internal static class NumberText
{
    /// <summary>How a score at the largest float32 reads (ACDC's stand-in for +∞).</summary>
    public const string MaxFloat = "≥3.4e38 (max float)";

    /// <summary>Whether <paramref name="score"/> is the largest float32 or beyond: an algorithm's +∞.</summary>
    public static bool IsMaxFloat(double score) => Math.Abs(score) >= float.MaxValue;

    /// <summary>
    /// A score: six significant digits (<c>14.4495</c>, <c>0.00169798</c>), powers of ten outside 1e-4 … 1e6
    /// (<c>2.5e-07</c>, never <c>2.5E-07</c>), and <see cref="MaxFloat"/> for the largest float32.
    /// </summary>
    public static string Score(double score)
    {
        if (IsMaxFloat(score))
        {
            return score > 0 ? MaxFloat : "−" + MaxFloat;
        }

        var abs = Math.Abs(score);
        return abs == 0 || (abs >= 1e-4 && abs < 1e6)
            ? score.ToString("G6", CultureInfo.InvariantCulture)
            : score.ToString("0.#####e+00", CultureInfo.InvariantCulture);
    }

    /// <summary>What a max-float score means for <paramref name="algorithmKey"/>, as a footnote.</summary>
    public static string MaxFloatNote(string? algorithmKey) => algorithmKey == "acdc"
        ? $"{MaxFloat}: ACDC's +∞, stored as the largest float32: no threshold τ removed the edge, so it is in every " +
          "circuit ACDC found."
        : $"{MaxFloat}: the algorithm's +∞, stored as the largest float32 (the edge ranks above every finite score).";
}
