namespace AutoCircuit.Host;

/// <summary>Where a job writes: data to <see cref="Out"/>, logs and progress to <see cref="Error"/>.</summary>
/// <param name="Out">Data (tables, JSON): stdout in the CLI.</param>
/// <param name="Error">Logs and warnings: stderr in the CLI.</param>
/// <param name="Progress">Progress display (stderr).</param>
/// <param name="CancellationToken">Cancelled on Ctrl+C.</param>
public sealed record RunEnvironment(TextWriter Out, TextWriter Error, IProgressSink Progress, CancellationToken CancellationToken)
{
    /// <summary>
    /// Receives the committed results folder and, when the job wrote one, its report's path, instead of the
    /// <see cref="ResultsLines"/> written to <see cref="Error"/>: the CLI prints them last, after the tables on stdout.
    /// </summary>
    public Action<string, string?>? ResultsReady { get; init; }

    /// <summary>An environment writing to the given writers without progress bars.</summary>
    public static RunEnvironment Plain(TextWriter output, TextWriter error, CancellationToken token = default) =>
        new(output, error, NullProgressSink.Instance, token);

    /// <summary>Announces a job's committed results folder and its report (a file in it), if it wrote one.</summary>
    public void AnnounceResults(string folder, string? report = null)
    {
        ArgumentNullException.ThrowIfNull(folder);
        if (ResultsReady is { } ready)
        {
            ready(folder, report);
            return;
        }

        foreach (var line in ResultsLines(folder, report))
        {
            Error.WriteLine(line);
        }
    }

    /// <summary><c>results: DIR</c> and, with a report, <c>report: DIR/report.html</c>.</summary>
    public static IReadOnlyList<string> ResultsLines(string folder, string? report) =>
        report is null ? [$"results: {folder}"] : [$"results: {folder}", $"report:  {report}"];
}
