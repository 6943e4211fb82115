namespace AutoCircuit.Host.Plugins;

/// <summary>A plugin that could not be loaded, and why (one line).</summary>
/// <param name="Candidate">The plugin.</param>
/// <param name="Reason">What went wrong and, where we know, what to change.</param>
public sealed record PluginFailure(PluginCandidate Candidate, string Reason)
{
    /// <inheritdoc />
    public override string ToString() => $"{Candidate} was skipped: {Reason}";
}
