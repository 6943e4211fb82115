using System.Globalization;
using AutoCircuit.Engine;
using AutoCircuit.Host;
using AutoCircuit.Host.Progress;

namespace AutoCircuit.Tool.Cli;

/// <summary>
/// The one renderer that owns the terminal while a job runs. Progress and logs go to stderr: a live status (one
/// overall progress across the job's algorithms and circuit evaluations, with the time left) when stderr is a terminal,
/// else plain lines with counts and the time left at a slowing rate (also with <c>NO_COLOR</c> or
/// <c>--no-progress</c>). What the job writes to stdout is held back and written once the progress has ended,
/// after a one-line summary; the results folder and report path come last.
/// </summary>
internal static class ProgressDisplay
{
    /// <summary>
    /// Runs <paramref name="job"/>: progress and logs on <paramref name="error"/>, its tables on
    /// <paramref name="output"/> when it has finished, then the results lines.
    /// </summary>
    /// <param name="output">stdout.</param>
    /// <param name="error">stderr.</param>
    /// <param name="noProgress">Plain lines even on a terminal (<c>--no-progress</c>).</param>
    /// <param name="token">Cancellation.</param>
    /// <param name="job">The job, given its environment (whose <see cref="RunEnvironment.Out"/> is held back).</param>
    public static ExitCode Run(
        TextWriter output, TextWriter error, bool noProgress, CancellationToken token, Func<RunEnvironment, ExitCode> job)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        ArgumentNullException.ThrowIfNull(job);
        var progress = new JobProgress(cancellation: token);
        var tables = new StringWriter(CultureInfo.InvariantCulture);
        var results = new List<string>();
        var completed = false;
        ExitCode code;
        try
        {
            using (var renderer = CreateRenderer(error, noProgress, progress))
            {
                code = renderer.Run(log => job(new RunEnvironment(tables, log, progress, token)
                {
                    ResultsReady = (folder, report) => results.AddRange(RunEnvironment.ResultsLines(folder, report)),
                }));
            }

            completed = true;
        }
        finally
        {
            if (completed)
            {
                error.WriteLine(Summary(progress.Finished(), progress.Elapsed));
            }

            // stdout after the progress has ended, so that the two never interleave on one terminal; even after a
            // failure the tables of the algorithms that finished are printed.
            output.Write(tables.ToString());
            output.Flush();
            foreach (var line in results)
            {
                error.WriteLine(line);
            }

            error.Flush();
        }

        return code;
    }

    /// <summary>Runs a job with progress on <paramref name="error"/>; the job sets its own <see cref="RunEnvironment.Out"/>.</summary>
    /// <remarks>Prefer <see cref="Run(TextWriter, TextWriter, bool, CancellationToken, Func{RunEnvironment, ExitCode})"/>:
    /// a job that writes to stdout while the live progress runs garbles the terminal.</remarks>
    public static ExitCode Run(TextWriter error, CancellationToken token, Func<RunEnvironment, ExitCode> job)
    {
        ArgumentNullException.ThrowIfNull(job);
        return Run(TextWriter.Null, error, noProgress: false, token, job);
    }

    /// <summary>
    /// Whether stderr gets the live display: it is the process's stderr, a terminal, and neither <c>NO_COLOR</c> nor
    /// <c>TERM=dumb</c> is set.
    /// </summary>
    internal static bool IsInteractive(TextWriter error, bool noProgress) =>
        !noProgress && ReferenceEquals(error, Console.Error) && !Console.IsErrorRedirected &&
        string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NO_COLOR")) &&
        Environment.GetEnvironmentVariable("TERM") != "dumb";

    /// <summary>
    /// <c>done in 54 s: scoring 30 s (acdc 17 s, subnetwork-probing 7.5 s, …), circuit evaluation 24 s (6 sweeps)</c>.
    /// </summary>
    internal static string Summary(IReadOnlyList<FinishedStage> stages, TimeSpan elapsed)
    {
        ArgumentNullException.ThrowIfNull(stages);
        var parts = new List<string>();
        var scoring = stages.Where(s => s.Kind == StageKind.Score).ToList();
        if (scoring.Count > 0)
        {
            var slowest = scoring.OrderByDescending(s => s.Duration).ToList();
            var named = string.Join(", ", slowest.Take(3).Select(s => $"{s.Label} {ProgressText.Duration(s.Duration)}"));
            parts.Add($"scoring {ProgressText.Duration(Sum(scoring))} ({named}{(slowest.Count > 3 ? ", …" : string.Empty)})");
        }

        var sweeps = stages.Where(s => s.Kind == StageKind.Evaluate).ToList();
        if (sweeps.Count > 0)
        {
            parts.Add($"circuit evaluation {ProgressText.Duration(Sum(sweeps))} " +
                      $"({sweeps.Count} {(sweeps.Count == 1 ? "sweep" : "sweeps")}, " +
                      $"{sweeps.Sum(s => s.Steps).ToString("N0", CultureInfo.InvariantCulture)} forward passes)");
        }

        return $"done in {ProgressText.Duration(elapsed)}" + (parts.Count == 0 ? string.Empty : ": " + string.Join(", ", parts));

        static TimeSpan Sum(IEnumerable<FinishedStage> s) => TimeSpan.FromTicks(s.Sum(x => x.Duration.Ticks));
    }

    private static StatusRenderer CreateRenderer(TextWriter error, bool noProgress, JobProgress progress)
    {
        if (IsInteractive(error, noProgress) && LiveStatus.TryCreate(progress) is { } live)
        {
            return live;
        }

        return new LineStatus(error, progress);
    }
}
