using System.Globalization;
using AutoCircuit.Engine;
using AutoCircuit.Scores;
using TorchSharp;
using static TorchSharp.torch;

namespace AutoCircuit.Evaluation;

/// <summary>How the list of circuit sizes to test is chosen (auto-circuit's <c>TestEdges</c>).</summary>
public enum EdgeCountMode
{
    /// <summary>auto-circuit's default: <see cref="Groups"/> when the scores have few distinct values,
    /// else <see cref="Logarithmic"/> above 200 edges, else <see cref="All"/>.</summary>
    Default = 0,

    /// <summary><c>0, 1, 2, ..., n_edges</c>.</summary>
    All = 1,

    /// <summary><c>1..9, 10, 20, ..., 90, 100, 200, ...</c> below <c>n_edges</c>.</summary>
    Logarithmic = 2,

    /// <summary>Cumulative sizes of the groups of equal <c>|score|</c>, largest scores first.</summary>
    Groups = 3,

    /// <summary>An explicit list of counts and fractions of <c>n_edges</c>.</summary>
    List = 4,
}

/// <summary>One entry of an explicit edge-count list: a count, or a fraction of the graph's edges.</summary>
/// <param name="Value">The count, or the fraction.</param>
/// <param name="IsFraction">Whether <see cref="Value"/> is a fraction (auto-circuit: a Python float).</param>
public readonly record struct EdgeCountItem(double Value, bool IsFraction)
{
    /// <summary>An absolute number of edges.</summary>
    public static EdgeCountItem Count(int count) => new(count, false);

    /// <summary>A fraction of the graph's edges: <c>int(n_edges * fraction)</c>.</summary>
    public static EdgeCountItem Fraction(double fraction) => new(fraction, true);

    /// <summary>The number of edges this entry stands for in a graph of <paramref name="edgeCount"/> edges.</summary>
    public int Resolve(int edgeCount) => IsFraction ? (int)(edgeCount * Value) : (int)Value;

    /// <inheritdoc />
    public override string ToString() =>
        IsFraction ? Value.ToString("0.0###############", CultureInfo.InvariantCulture) : ((int)Value).ToString(CultureInfo.InvariantCulture);
}

/// <summary>
/// Which circuit sizes to evaluate: a mode, and the entries of an explicit list
/// (<see cref="EdgeCountMode.List"/>). Parse the CLI form with <see cref="Parse"/>.
/// </summary>
public sealed record EdgeCountRequest(EdgeCountMode Mode, IReadOnlyList<EdgeCountItem> Items)
{
    /// <summary>auto-circuit's default choice.</summary>
    public static EdgeCountRequest Default { get; } = new(EdgeCountMode.Default, []);

    /// <summary>Every size.</summary>
    public static EdgeCountRequest All { get; } = new(EdgeCountMode.All, []);

    /// <summary>Logarithmic sizes.</summary>
    public static EdgeCountRequest Logarithmic { get; } = new(EdgeCountMode.Logarithmic, []);

    /// <summary>Score groups.</summary>
    public static EdgeCountRequest Groups { get; } = new(EdgeCountMode.Groups, []);

    /// <summary>An explicit list.</summary>
    public static EdgeCountRequest Of(params EdgeCountItem[] items) => new(EdgeCountMode.List, items);

    /// <summary>An explicit list of counts.</summary>
    public static EdgeCountRequest Of(params int[] counts) =>
        new(EdgeCountMode.List, counts.Select(EdgeCountItem.Count).ToArray());

    /// <summary>
    /// Parses <c>--edges</c>: <c>default</c>, <c>all</c>, <c>logarithmic</c>, <c>groups</c>, or a comma-separated
    /// list where an entry with a decimal point or exponent is a fraction of the edges (<c>0.5</c>, <c>1.0</c>) and
    /// any other entry a count (<c>0,1,2,5</c>), as auto-circuit tells a Python float from an int.
    /// </summary>
    /// <exception cref="AutoCircuitException">Not one of those forms; a negative count; a fraction outside [0, 1].</exception>
    public static EdgeCountRequest Parse(string text, string option = "--edges")
    {
        ArgumentNullException.ThrowIfNull(text);
        var t = text.Trim();
        switch (t.ToLowerInvariant())
        {
            case "default":
                return Default;
            case "all":
                return All;
            case "logarithmic":
            case "log":
                return Logarithmic;
            case "groups":
                return Groups;
        }

        var parts = t.Split(',', StringSplitOptions.TrimEntries);
        var items = new List<EdgeCountItem>(parts.Length);
        foreach (var part in parts)
        {
            if (part.Length == 0)
            {
                throw new AutoCircuitException($"{option} {text}: empty entry; expected counts and fractions separated by commas.");
            }

            var isFraction = part.IndexOfAny(['.', 'e', 'E']) >= 0;
            if (isFraction)
            {
                if (!double.TryParse(part, NumberStyles.Float, CultureInfo.InvariantCulture, out var f) || !double.IsFinite(f))
                {
                    throw new AutoCircuitException($"{option} {text}: '{part}' is not a number.");
                }

                if (f is < 0 or > 1)
                {
                    throw new AutoCircuitException($"{option} {text}: fraction {part} is outside [0, 1].");
                }

                items.Add(EdgeCountItem.Fraction(f));
            }
            else
            {
                if (!int.TryParse(part, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n))
                {
                    throw new AutoCircuitException(
                        $"{option} {text}: '{part}' is not an edge count; expected all, logarithmic, groups, default, " +
                        "or counts/fractions separated by commas (e.g. 0,1,2,5 or 0.1,0.5).");
                }

                if (n < 0)
                {
                    throw new AutoCircuitException($"{option} {text}: edge count {n} is negative.");
                }

                items.Add(EdgeCountItem.Count(n));
            }
        }

        return new EdgeCountRequest(EdgeCountMode.List, items);
    }

    /// <summary>The CLI form (round-trips through <see cref="Parse"/>).</summary>
    public override string ToString() => Mode switch
    {
        EdgeCountMode.Default => "default",
        EdgeCountMode.All => "all",
        EdgeCountMode.Logarithmic => "logarithmic",
        EdgeCountMode.Groups => "groups",
        _ => string.Join(",", Items.Select(i => i.ToString())),
    };
}

/// <summary>
/// auto-circuit's <c>edge_counts_util</c>: the sorted list of circuit sizes to evaluate, with its default
/// choices and its rules for including <c>0</c> and <c>n_edges</c>.
/// </summary>
public static class EdgeCountSweep
{
    /// <summary>
    /// The circuit sizes to test, exactly as auto-circuit's <c>edge_counts_util</c> computes them for the same
    /// inputs; the one difference is that sizes outside <c>0..n_edges</c> are an error here (auto-circuit
    /// crashes later, or silently indexes from the end for negative counts).
    /// </summary>
    /// <param name="edgeCount">Number of edges in the graph (<c>n_edges</c>).</param>
    /// <param name="request">The mode (and list); <c>null</c> means <see cref="EdgeCountMode.Default"/>.</param>
    /// <param name="scores">Scores: needed for <see cref="EdgeCountMode.Groups"/>, and refine the default.</param>
    /// <param name="zeroEdges">Include 0; <c>null</c>: include it when the list has more than two entries.</param>
    /// <param name="allEdges">Include <c>n_edges</c>; <c>null</c>: include it when the list has more than two entries.</param>
    /// <param name="trueEdgeCount">An extra size to insert (e.g. the known circuit's size).</param>
    /// <exception cref="AutoCircuitException">Groups without scores, or a size outside <c>0..n_edges</c>.</exception>
    public static List<int> Compute(
        int edgeCount,
        EdgeCountRequest? request = null,
        PruneScores? scores = null,
        bool? zeroEdges = null,
        bool? allEdges = null,
        int? trueEdgeCount = null)
    {
        if (scores is null)
        {
            return Compute(edgeCount, request, (Tensor?)null, zeroEdges, allEdges, trueEdgeCount);
        }

        using var flat = scores.Flatten();
        return Compute(edgeCount, request, flat, zeroEdges, allEdges, trueEdgeCount);
    }

    /// <summary><see cref="Compute(int, EdgeCountRequest?, PruneScores?, bool?, bool?, int?)"/> with the scores
    /// given as one flat tensor (any order).</summary>
    public static List<int> Compute(
        int edgeCount,
        EdgeCountRequest? request,
        Tensor? scores,
        bool? zeroEdges = null,
        bool? allEdges = null,
        int? trueEdgeCount = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(edgeCount);
        var mode = request?.Mode ?? EdgeCountMode.Default;
        long[]? groupSizes = null;
        if (mode == EdgeCountMode.Default)
        {
            mode = edgeCount > 200 ? EdgeCountMode.Logarithmic : EdgeCountMode.All;
            if (scores is not null)
            {
                groupSizes = GroupSizesDescending(scores);
                if (groupSizes.Length < Math.Min(edgeCount / 2.0, 100))
                {
                    mode = EdgeCountMode.Groups;
                }
            }
        }

        List<int> counts;
        switch (mode)
        {
            case EdgeCountMode.All:
                counts = Enumerable.Range(0, edgeCount + 1).ToList();
                break;
            case EdgeCountMode.Logarithmic:
                counts = [];
                for (var n = 1; n < edgeCount; n++)
                {
                    var step = (int)Math.Pow(10, Math.Max(FloorLog10(n), 0));
                    if (n % step == 0)
                    {
                        counts.Add(n);
                    }
                }

                break;
            case EdgeCountMode.Groups:
                if (scores is null)
                {
                    throw new AutoCircuitException("--edges groups needs prune scores to group.");
                }

                groupSizes ??= GroupSizesDescending(scores);
                counts = new List<int>(groupSizes.Length);
                long acc = 0;
                foreach (var g in groupSizes)
                {
                    acc += g;
                    counts.Add((int)acc);
                }

                break;
            case EdgeCountMode.List:
                counts = request!.Items.Select(i => i.Resolve(edgeCount)).ToList();
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(request), mode, "Unknown edge-count mode.");
        }

        // auto-circuit: with at most two sizes the list is likely a binary circuit encoding, so 0 and
        // n_edges are not added by default.
        var includeZero = zeroEdges ?? counts.Count > 2;
        var includeAll = allEdges ?? counts.Count > 2;
        if (includeZero && !counts.Contains(0))
        {
            counts.Insert(0, 0);
        }

        if (includeAll && !counts.Contains(edgeCount))
        {
            counts.Add(edgeCount);
        }

        if (!includeZero)
        {
            counts.Remove(0); // the first occurrence, as Python's list.remove
        }

        if (!includeAll)
        {
            counts.Remove(edgeCount);
        }

        if (trueEdgeCount is int te && !counts.Contains(te))
        {
            counts.Add(te);
        }

        counts.Sort();
        var outside = counts.FindIndex(c => c < 0 || c > edgeCount);
        if (outside >= 0)
        {
            var bad = counts[outside];
            throw new AutoCircuitException(
                $"edge count {bad} is outside the graph's 0..{edgeCount} edges (requested: {request?.ToString() ?? "default"}).");
        }

        return counts;
    }

    /// <summary>
    /// Sizes of the groups of equal <c>|score|</c>, largest score first (auto-circuit: the counts of
    /// <c>unique(|scores|)</c>, reversed). Sorts on the scores' device and reads the group sizes once.
    /// </summary>
    public static long[] GroupSizesDescending(Tensor flatScores)
    {
        ArgumentNullException.ThrowIfNull(flatScores);
        using var scope = torch.NewDisposeScope();
        using var _ = torch.no_grad();
        var (desc, _) = flatScores.flatten().abs().sort(descending: true);
        if (desc.numel() == 0)
        {
            return [];
        }

        var (_, _, groupCounts) = torch.unique_consecutive(desc, return_counts: true);
        using var cpu = groupCounts!.to_type(ScalarType.Int64).cpu();
        return cpu.data<long>().ToArray();
    }

    // Python's math.floor(math.log10(n)) for a positive int, without floating-point edge cases.
    private static int FloorLog10(int n)
    {
        var d = 0;
        while (n >= 10)
        {
            n /= 10;
            d++;
        }

        return d;
    }
}
