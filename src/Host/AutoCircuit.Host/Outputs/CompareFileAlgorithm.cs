using System.ComponentModel;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace AutoCircuit.Host.Outputs;

/// <summary>One entry of compare.json's <c>"algorithms"</c>.</summary>
[Description("An algorithm run here, or scores read from a file, and what its circuits measured.")]
internal sealed record CompareFileAlgorithm
{
    [Description("Unique label in the comparison (the key, the spec as written, or the scores file's algorithm).")]
    public required string Label { get; init; }

    [Description("The algorithm's key (run here) or the algorithm the scores file names.")]
    public required string? Key { get; init; }

    [Description("The algorithm's display name; null for scores read from a file.")]
    public required string? Name { get; init; }

    [Description("The spec as given to -a; null for scores read from a file.")]
    public required string? Spec { get; init; }

    [Description("'built-in', a plugin path, or the scores file.")]
    public required string? Origin { get; init; }

    [Description("The scores file, for scores read from a file.")]
    public required string? ScoresFile { get; init; }

    [Description("The format the scores file was read as.")]
    public required string? ScoresFormat { get; init; }

    [Description("Every option's effective value (kebab-case name to value).")]
    public required IReadOnlyDictionary<string, JsonNode?> Options { get; init; }

    [Description("ok or failed.")]
    public required AlgorithmStatus Status { get; init; }

    [Description("Why it failed, or null.")]
    public required string? Error { get; init; }

    [Description("Wall time of the algorithm, in seconds; null for scores read from a file.")]
    public required double? Seconds { get; init; }

    [Description("Growth of the peak resident memory while it ran, in bytes; null where unknown.")]
    public required long? PeakRssDeltaBytes { get; init; }

    [Description("Managed memory it allocated, in bytes; null for scores read from a file.")]
    public required long? ManagedAllocatedBytes { get; init; }

    [Description("Files written for it (relative to the results folder).")]
    public required IReadOnlyList<string> Files { get; init; }

    [Description("Its top edges by |score|; absent when it has no scores.")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<CompareFileTopEdge>? TopEdges { get; init; }

    [Description("Its circuits under edge patching; absent when not evaluated.")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public CompareFilePatchEvaluation? EdgePatch { get; init; }

    [Description("Its circuits under tree patching; absent when not evaluated.")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public CompareFilePatchEvaluation? TreePatch { get; init; }

    [Description("Its ROC curve against the known circuit; absent without one.")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public RocInfo? Roc { get; init; }
}
