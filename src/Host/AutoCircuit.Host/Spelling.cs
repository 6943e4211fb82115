namespace AutoCircuit.Host;

/// <summary>"Did you mean": the known word closest to a misspelt one.</summary>
internal static class Spelling
{
    /// <summary>
    /// The candidate nearest to <paramref name="word"/> by edit distance (case-insensitive; insertions, deletions,
    /// substitutions and swaps of neighbours), when it is near enough to be a typo of it: at most a third of the word's
    /// length, and at least one edit. <c>null</c> when none is; ties go to the first candidate.
    /// </summary>
    public static string? Closest(string word, IEnumerable<string> candidates)
    {
        ArgumentNullException.ThrowIfNull(word);
        ArgumentNullException.ThrowIfNull(candidates);
        var limit = Math.Max(1, word.TrimStart('-').Length / 3);
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in candidates)
        {
            var d = Distance(word.ToLowerInvariant(), candidate.ToLowerInvariant());
            if (d <= limit && d < bestDistance)
            {
                (best, bestDistance) = (candidate, d);
            }
        }

        return best;
    }

    /// <summary>Optimal string alignment distance (Damerau-Levenshtein without repeated edits of a substring).</summary>
    public static int Distance(string a, string b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (var j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                }
            }
        }

        return d[a.Length, b.Length];
    }
}
