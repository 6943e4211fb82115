using System.ComponentModel;

namespace AutoCircuit.Host.Sweeps.Outputs;

/// <summary><c>sweeps/&lt;plan id&gt;/index.json</c>: a plan's cells with their keys, and what was submitted for them.</summary>
[Description("sweeps/<plan id>/index.json in the cache: a plan's expansion (index -> key) and the scheduler jobs submitted for it.")]
internal sealed record SweepIndexFile
{
    [Description("The plan file (full path).")]
    public required string Plan { get; init; }

    [Description("SHA-256 of the plan file when the index was written.")]
    public required string PlanSha256 { get; init; }

    [Description("The tool version the keys were computed with.")]
    public required string Tool { get; init; }

    [Description("Every cell in index order.")]
    public required IReadOnlyList<SweepIndexCell> Cells { get; init; }

    [Description("Scheduler submissions, oldest first (Slurm array jobs, Kubernetes Jobs).")]
    public required IReadOnlyList<SweepSubmission> Submissions { get; init; }
}

/// <summary>One cell of an index.</summary>
[Description("One cell of a plan.")]
internal sealed record SweepIndexCell
{
    [Description("The cell's index (--cell I, Slurm array index, Kubernetes completion index).")]
    public required int Index { get; init; }

    [Description("The cell's key (its folder under cells/).")]
    public required string Key { get; init; }

    [Description("One line describing the cell.")]
    public required string Description { get; init; }
}

/// <summary>One submission to a scheduler.</summary>
[Description("One submission to a scheduler.")]
internal sealed record SweepSubmission
{
    [Description("slurm or k8s.")]
    public required string Backend { get; init; }

    [Description("The Slurm array job id, or the Kubernetes Job name.")]
    public required string Job { get; init; }

    [Description("The cell indices submitted.")]
    public required IReadOnlyList<int> Cells { get; init; }

    [Description("1 for the first submission of a sweep run, 2 for its first retry, ...")]
    public required int Attempt { get; init; }

    [Description("When it was submitted (ISO 8601, UTC).")]
    public required string SubmittedUtc { get; init; }
}
