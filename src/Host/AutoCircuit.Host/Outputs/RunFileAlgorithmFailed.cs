using System.ComponentModel;
using System.Text.Json.Nodes;

namespace AutoCircuit.Host.Outputs;

/// <summary>An algorithm that failed (or could not run): no files.</summary>
[Description("An algorithm of run.json that produced no scores.")]
internal sealed record RunFileAlgorithmFailed : IRunFileAlgorithm
{
    [Description("The algorithm's key.")]
    public required string Key { get; init; }

    [Description("The algorithm's display name.")]
    public required string Name { get; init; }

    [Description("'built-in' or the plugin assembly's path.")]
    public required string Origin { get; init; }

    [Description("The spec as given to -a.")]
    public required string Spec { get; init; }

    [Description("Every option's effective value (kebab-case name to value).")]
    public required IReadOnlyDictionary<string, JsonNode?> Options { get; init; }

    [Description("Wall time of the algorithm, in seconds.")]
    public required double Seconds { get; init; }

    [Description("Growth of the peak resident memory while it ran, in bytes; null where unknown.")]
    public required long? PeakRssDeltaBytes { get; init; }

    [Description("Managed memory it allocated, in bytes; null when it did not run.")]
    public required long? ManagedAllocatedBytes { get; init; }

    [Description("ok or failed.")]
    public required AlgorithmStatus Status { get; init; }

    [Description("Why it failed, or null.")]
    public required string? Error { get; init; }
}
