using System.ComponentModel;

namespace AutoCircuit.Host.Outputs;

/// <summary><c>run.json</c>: what <c>dotnet autocircuit run</c> was asked, what it ran on, and each algorithm's outcome.</summary>
[Description("run.json: what 'dotnet autocircuit run' was asked, what it ran on, and each algorithm's outcome.")]
internal sealed record RunFile
{
    [Description("Always 'dotnet-autocircuit'.")]
    public required string Tool { get; init; }

    [Description("Versions of the tool and of what it ran on.")]
    public required ToolVersions Versions { get; init; }

    [Description("The command line as given (after the tool's name).")]
    public required IReadOnlyList<string> CommandLine { get; init; }

    [Description("When the job started (ISO 8601, UTC).")]
    public required string StartedUtc { get; init; }

    [Description("When the job finished (ISO 8601, UTC); while 'status' is 'incomplete', when the last algorithm listed finished.")]
    public required string FinishedUtc { get; init; }

    [Description("'complete': every algorithm ran and the report was written. 'incomplete': written after each algorithm, " +
                 "so a run that was cancelled, killed or crashed later keeps the results of the algorithms listed (their " +
                 "files are whole); the algorithms after them did not run.")]
    public required string Status { get; init; }

    [Description("The torch device (cpu, cuda:0, ...).")]
    public required string Device { get; init; }

    [Description("How the job used the machine.")]
    public required PerformanceInfo Performance { get; init; }

    [Description("Seed of the algorithms (torch.manual_seed).")]
    public required long Seed { get; init; }

    [Description("The model.")]
    public required ModelInfo Model { get; init; }

    [Description("The computational graph.")]
    public required RunFileGraph Graph { get; init; }

    [Description("The data.")]
    public required DataInfo Data { get; init; }

    [Description("The task's known circuit as edge names (sorted), or null.")]
    public required IReadOnlyList<string>? KnownCircuit { get; init; }

    [Description("How each algorithm's circuits were evaluated.")]
    public required RunFileEvaluation Evaluation { get; init; }

    [Description("Each algorithm run, in the order given.")]
    public required IReadOnlyList<IRunFileAlgorithm> Algorithms { get; init; }
}
