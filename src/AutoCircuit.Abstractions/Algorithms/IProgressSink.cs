namespace AutoCircuit;

/// <summary>
/// Receives progress of long work (one task per loop). The host shows every algorithm's tasks in one overall progress
/// line with an estimate of the time left, so report the loops that take the time, and nest them (see
/// <see cref="Start(string, long, string?, IProgressTask?)"/>) when one loop runs inside another.
/// </summary>
public interface IProgressSink
{
    /// <summary>Starts a progress task of <paramref name="total"/> steps; dispose it when done.</summary>
    IProgressTask Start(string description, long total);

    /// <summary>
    /// Starts a progress task of <paramref name="total"/> steps that counts <paramref name="unit"/>s, optionally as the
    /// inner loop of one step of <paramref name="parent"/>: e.g. ACDC starts a task over its thresholds (unit
    /// <c>"τ"</c>) and, for each threshold, a task over the edges (unit <c>"edge"</c>) with the threshold task as
    /// parent, which the host shows as <c>τ 7/20, edge 812/2,113</c> and uses to estimate the time left. Dispose the
    /// child before advancing the parent by the step it belongs to.
    /// </summary>
    /// <param name="description">What the task does, e.g. <c>ACDC</c> or <c>τ=0.01</c>.</param>
    /// <param name="total">How many steps the task has.</param>
    /// <param name="unit">What one step is, singular (<c>"edge"</c>, <c>"epoch"</c>, <c>"τ"</c>), or <c>null</c>.</param>
    /// <param name="parent">The task this one is one step of, or <c>null</c> for a task of its own.</param>
    /// <remarks>Added in SDK 1.1 with a default implementation, so sinks written for 1.0 keep working: they show the
    /// task as one of its own and ignore <paramref name="unit"/> and <paramref name="parent"/>.</remarks>
    IProgressTask Start(string description, long total, string? unit, IProgressTask? parent = null) => Start(description, total);
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
