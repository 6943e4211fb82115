using System.Globalization;
using System.Text;

namespace AutoCircuit.Host.Progress;

/// <summary>One level of the running tasks, outermost first: <c>τ 7/20</c>, then <c>edge 812/2,113</c>.</summary>
/// <param name="Label">The unit (<c>τ</c>, <c>edge</c>), else the task's description.</param>
/// <param name="Current">The step in progress (a task with a running inner task) or the steps done (innermost).</param>
/// <param name="Total">The task's steps.</param>
/// <param name="Note">What the task last said about itself (<see cref="IProgressTask.Describe"/>), or <c>null</c>.</param>
internal sealed record ProgressLevel(string Label, long Current, long Total, string? Note);

/// <summary>A snapshot of a job's progress, for one status line.</summary>
/// <param name="Stage">The running stage's label (an algorithm), or <c>null</c> before the first.</param>
/// <param name="Kind">What the stage does.</param>
/// <param name="Number">The stage's algorithm among the job's (1-based), or 0 when there is no plan.</param>
/// <param name="Count">How many algorithms the job plans.</param>
/// <param name="Levels">The running tasks, outermost first.</param>
/// <param name="Elapsed">Time since the job started.</param>
/// <param name="Remaining">Estimated time left, or <c>null</c> when nothing can be estimated yet.</param>
/// <param name="RemainingIsPartial">Some stages still to come could not be estimated: the job takes at least
/// <see cref="Remaining"/>.</param>
internal sealed record ProgressStatus(
    string? Stage,
    StageKind Kind,
    int Number,
    int Count,
    IReadOnlyList<ProgressLevel> Levels,
    TimeSpan Elapsed,
    TimeSpan? Remaining,
    bool RemainingIsPartial)
{
    /// <summary>The estimated fraction done (elapsed over elapsed plus remaining), or <c>null</c>.</summary>
    public double? Fraction => Remaining is { } r && Elapsed + r > TimeSpan.Zero ? Elapsed / (Elapsed + r) : null;

    /// <summary><c>[3/6] acdc · τ 7/20 · edge 812/2,113</c>.</summary>
    public string Where()
    {
        var sb = new StringBuilder();
        if (Number > 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $"[{Number}/{Count}] ");
        }

        sb.Append(Stage ?? "starting");
        if (Kind == StageKind.Evaluate && Levels.Count == 0)
        {
            sb.Append(" circuits");
        }

        foreach (var level in Levels)
        {
            sb.Append(CultureInfo.InvariantCulture, $" · {level.Label} {Count0(level.Current)}/{Count0(level.Total)}");
            if (level.Note is not null)
            {
                sb.Append(CultureInfo.InvariantCulture, $" ({level.Note})");
            }
        }

        return sb.ToString();
    }

    /// <summary><c>4 min 12 s elapsed · ETA ~3 min</c>.</summary>
    public string When() =>
        $"{ProgressText.Duration(Elapsed)} elapsed" + (Remaining, RemainingIsPartial) switch
        {
            ({ } r, false) when r == TimeSpan.Zero => string.Empty,
            ({ } r, false) when r < TimeSpan.FromSeconds(10) => " · ETA <10 s",
            ({ } r, var partial) when r >= TimeSpan.FromSeconds(10) =>
                " · ETA " + (partial ? "≥ " : "~") + ProgressText.Duration(r, coarse: true),
            _ => " · ETA …",
        };

    /// <summary>The whole status on one line.</summary>
    public override string ToString() => $"{Where()} · {When()}";

    private static string Count0(long n) => n.ToString("N0", CultureInfo.InvariantCulture);
}

/// <summary>Durations for people.</summary>
internal static class ProgressText
{
    /// <summary>
    /// <c>0.4 s</c>, <c>12 s</c>, <c>4 min 12 s</c>, <c>1 h 3 min</c>; <paramref name="coarse"/> (estimates): <c>&lt;10 s</c>, <c>40 s</c>
    /// (5 s steps), <c>3 min</c>, <c>1 h 5 min</c>.
    /// </summary>
    public static string Duration(TimeSpan t, bool coarse = false)
    {
        var s = Math.Max(0, t.TotalSeconds);
        if (coarse)
        {
            return s switch
            {
                < 10 => "<10 s",
                < 60 => $"{(int)(Math.Ceiling(s / 5) * 5)} s",
                < 90 => "1 min",
                < 3600 => $"{(int)Math.Round(s / 60)} min",
                _ => $"{(int)(s / 3600)} h {(int)Math.Round(s % 3600 / 60)} min",
            };
        }

        return s switch
        {
            < 10 => string.Create(CultureInfo.InvariantCulture, $"{s:0.0} s"),
            < 60 => $"{(int)s} s",
            < 3600 => $"{(int)(s / 60)} min {(int)(s % 60)} s",
            _ => $"{(int)(s / 3600)} h {(int)(s % 3600 / 60)} min",
        };
    }
}
