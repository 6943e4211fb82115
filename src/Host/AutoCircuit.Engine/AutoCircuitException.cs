namespace AutoCircuit.Engine;

/// <summary>
/// A failure we anticipated (bad input, missing file, unavailable device): the CLI prints its
/// message as one line on stderr, without a stack trace, and exits with <see cref="ExitCode"/>.
/// Unanticipated errors must not be wrapped in it.
/// </summary>
public class AutoCircuitException : Exception
{
    /// <summary>Creates the exception.</summary>
    public AutoCircuitException(string message, ExitCode exitCode = ExitCode.UsageError, Exception? innerException = null)
        : base(message, innerException)
    {
        ExitCode = exitCode;
    }

    /// <summary>Creates the exception.</summary>
    public AutoCircuitException()
        : this("AutoCircuit failed.")
    {
    }

    /// <summary>Creates the exception.</summary>
    public AutoCircuitException(string message)
        : this(message, ExitCode.UsageError)
    {
    }

    /// <summary>Creates the exception.</summary>
    public AutoCircuitException(string message, Exception innerException)
        : this(message, ExitCode.UsageError, innerException)
    {
    }

    /// <summary>The process exit code for this failure.</summary>
    public ExitCode ExitCode { get; }
}
