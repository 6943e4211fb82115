using System.ComponentModel;

namespace AutoCircuit.Host.Outputs;

/// <summary><c>compare.json</c>: everything <c>dotnet autocircuit compare</c> measured, for programs.</summary>
[Description("compare.json: what 'dotnet autocircuit compare' measured for each algorithm, and how the algorithms agree.")]
internal sealed record CompareFile
{
    [Description("Always 'dotnet-autocircuit compare'.")]
    public required string Tool { get; init; }

    [Description("Versions of the tool and of what it ran on.")]
    public required ToolVersions Versions { get; init; }

    [Description("The command line as given (after the tool's name).")]
    public required IReadOnlyList<string> CommandLine { get; init; }

    [Description("When the job started (ISO 8601, UTC).")]
    public required string StartedUtc { get; init; }

    [Description("When the job finished (ISO 8601, UTC).")]
    public required string FinishedUtc { get; init; }

    [Description("The torch device (cpu, cuda:0, ...).")]
    public required string Device { get; init; }

    [Description("Seed of the algorithms (torch.manual_seed).")]
    public required long Seed { get; init; }

    [Description("The model.")]
    public required ModelInfo Model { get; init; }

    [Description("The data.")]
    public required DataInfo Data { get; init; }

    [Description("How the circuits were evaluated.")]
    public required CompareFileEvaluation Evaluation { get; init; }

    [Description("The interchange files written per algorithm (--export), e.g. 'AutoCircuit, Csv, Mib'.")]
    public required string Exports { get; init; }

    [Description("The computational graph.")]
    public required CompareFileGraph Graph { get; init; }

    [Description("The known circuit, or null.")]
    public required CompareFileKnownCircuit? KnownCircuit { get; init; }

    [Description("The metrics the curves and summaries show (every metric is in the results).")]
    public required IReadOnlyList<string> Metrics { get; init; }

    [Description("The patch types evaluated: edge and/or tree.")]
    public required IReadOnlyList<string> PatchTypes { get; init; }

    [Description("What peak_rss_delta_bytes and managed_allocated_bytes measure.")]
    public required string MemoryMeasure { get; init; }

    [Description("Each compared algorithm, in report order.")]
    public required IReadOnlyList<CompareFileAlgorithm> Algorithms { get; init; }

    [Description("Pairwise agreement of the algorithms that produced scores.")]
    public required CompareFileAgreement Agreement { get; init; }
}
