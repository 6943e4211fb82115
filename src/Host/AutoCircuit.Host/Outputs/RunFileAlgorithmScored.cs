using System.ComponentModel;
using System.Text.Json.Nodes;

namespace AutoCircuit.Host.Outputs;

/// <summary>An algorithm that produced scores, and the files written for it.</summary>
[Description("An algorithm of run.json that produced scores, with the files written for it.")]
internal sealed record RunFileAlgorithmScored : IRunFileAlgorithm
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

    [Description("The scores and exports written (relative to the results folder).")]
    public required IReadOnlyList<string> Files { get; init; }

    [Description("The circuit evaluation files (circuits/<key>.json and .csv), or null when the test split holds no complete batch.")]
    public required IReadOnlyList<string>? Circuits { get; init; }
}
