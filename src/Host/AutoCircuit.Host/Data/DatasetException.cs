using AutoCircuit.Engine;
namespace AutoCircuit.Host.Data;

/// <summary>A dataset file is malformed or does not fit the model; the message names the file and the place.</summary>
public sealed class DatasetException : AutoCircuitException
{
    /// <summary>Creates the exception.</summary>
    public DatasetException(string message, Exception? innerException = null)
        : base(message, ExitCode.UsageError, innerException)
    {
    }

    /// <summary>Creates the exception.</summary>
    public DatasetException()
        : this("The dataset is invalid.")
    {
    }

    /// <summary>Creates the exception.</summary>
    public DatasetException(string message)
        : this(message, null)
    {
    }
}
