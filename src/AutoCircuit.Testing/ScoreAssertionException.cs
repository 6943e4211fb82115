namespace AutoCircuit.Testing;

/// <summary>
/// Thrown by <see cref="ScoreAssert"/> when scores fail a check. Every test framework reports an exception thrown by
/// a test as its failure, with this message; the kit depends on none of them.
/// </summary>
public sealed class ScoreAssertionException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ScoreAssertionException()
    {
    }

    /// <summary>Creates the exception with the failure's explanation.</summary>
    public ScoreAssertionException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with the failure's explanation and its cause.</summary>
    public ScoreAssertionException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
