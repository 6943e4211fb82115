namespace AutoCircuit.Host;

/// <summary>Where a job writes: data to <see cref="Out"/>, logs and progress to <see cref="Error"/>.</summary>
/// <param name="Out">Data (tables, JSON): stdout in the CLI.</param>
/// <param name="Error">Logs and warnings: stderr in the CLI.</param>
/// <param name="Progress">Progress display (stderr).</param>
/// <param name="CancellationToken">Cancelled on Ctrl+C.</param>
public sealed record RunEnvironment(TextWriter Out, TextWriter Error, IProgressSink Progress, CancellationToken CancellationToken)
{
    /// <summary>An environment writing to the given writers without progress bars.</summary>
    public static RunEnvironment Plain(TextWriter output, TextWriter error, CancellationToken token = default) =>
        new(output, error, NullProgressSink.Instance, token);
}
