using System.ComponentModel;

namespace AutoCircuit.Host.Outputs;

/// <summary><c>evaluate.json</c>: what <c>dotnet autocircuit evaluate</c> was asked and what it ran on.</summary>
[Description("evaluate.json: what 'dotnet autocircuit evaluate' was asked, what it ran on, and the files it wrote.")]
internal sealed record EvaluateFile
{
    [Description("Always 'dotnet-autocircuit evaluate'.")]
    public required string Tool { get; init; }

    [Description("The command line as given (after the tool's name).")]
    public required IReadOnlyList<string> CommandLine { get; init; }

    [Description("When the job started (ISO 8601, UTC).")]
    public required string StartedUtc { get; init; }

    [Description("When the job finished (ISO 8601, UTC).")]
    public required string FinishedUtc { get; init; }

    [Description("The torch device (cpu, cuda:0, ...).")]
    public required string Device { get; init; }

    [Description("How the job used the machine.")]
    public required PerformanceInfo Performance { get; init; }

    [Description("Seed of torch (evaluation itself draws no random numbers).")]
    public required long Seed { get; init; }

    [Description("The model.")]
    public required ModelInfo Model { get; init; }

    [Description("The scores file evaluated (full path).")]
    public required string Scores { get; init; }

    [Description("The algorithm the scores file names.")]
    public required string Algorithm { get; init; }

    [Description("The known circuit of the ROC curve: a file (--circuit), 'task <key>', or null.")]
    public required string? Circuit { get; init; }

    [Description("The computational graph.")]
    public required EvaluateFileGraph Graph { get; init; }

    [Description("How the circuits were evaluated.")]
    public required EvaluateFileEvaluation Evaluation { get; init; }

    [Description("The data.")]
    public required DataInfo Data { get; init; }

    [Description("The circuit evaluation files written (relative to the results folder).")]
    public required IReadOnlyList<string> Files { get; init; }
}
