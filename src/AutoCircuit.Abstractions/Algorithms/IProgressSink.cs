namespace AutoCircuit;

/// <summary>Receives progress of long work (one task per loop).</summary>
public interface IProgressSink
{
    /// <summary>Starts a progress task of <paramref name="total"/> steps; dispose it when done.</summary>
    IProgressTask Start(string description, long total);
}

/// <summary>One running progress task.</summary>
public interface IProgressTask : IDisposable
{
    /// <summary>Advances by <paramref name="steps"/>.</summary>
    void Advance(long steps = 1);

    /// <summary>Replaces the description (e.g. with the current loss).</summary>
    void Describe(string description);
}

/// <summary>A progress sink that shows nothing.</summary>
public sealed class NullProgressSink : IProgressSink, IProgressTask
{
    /// <summary>The shared instance.</summary>
    public static readonly NullProgressSink Instance = new();

    private NullProgressSink()
    {
    }

    /// <inheritdoc />
    public IProgressTask Start(string description, long total) => this;

    /// <inheritdoc />
    public void Advance(long steps = 1)
    {
    }

    /// <inheritdoc />
    public void Describe(string description)
    {
    }

    /// <inheritdoc />
    public void Dispose()
    {
    }
}
