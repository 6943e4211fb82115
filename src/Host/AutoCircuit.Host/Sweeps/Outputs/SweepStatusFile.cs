using System.ComponentModel;
using System.Text.Json.Serialization;

namespace AutoCircuit.Host.Sweeps.Outputs;

/// <summary><c>sweep status PLAN --json</c>.</summary>
[Description("dotnet autocircuit sweep status PLAN --json: each cell's state from the cache and, for submitted cells, the scheduler.")]
internal sealed record SweepStatusFile
{
    [Description("The plan file.")]
    public required string Plan { get; init; }

    [Description("The cache folder.")]
    public required string Cache { get; init; }

    [Description("Cells in the plan.")]
    public required int Cells { get; init; }

    [Description("Cells complete in the cache.")]
    public required int Done { get; init; }

    [Description("Cells claimed by a live worker.")]
    public required int Running { get; init; }

    [Description("Cells without a result.")]
    public required int Missing { get; init; }

    [Description("Cells whose folder failed verification (redone on the next run).")]
    public required int Corrupt { get; init; }

    [Description("Where the scheduler states came from: squeue, sacct, jobcomp, none.")]
    public required string Scheduler { get; init; }

    [Description("Every cell.")]
    public required IReadOnlyList<SweepStatusCell> CellStates { get; init; }
}

/// <summary>One cell's state.</summary>
[Description("One cell's state.")]
internal sealed record SweepStatusCell
{
    [Description("The cell's index.")]
    public required int Index { get; init; }

    [Description("The cell's key.")]
    public required string Key { get; init; }

    [Description("One line describing the cell.")]
    public required string Description { get; init; }

    [Description("done, running (claimed by a live worker), stale (claimed by a dead one), corrupt, or missing.")]
    public required string State { get; init; }

    [Description("Why a cell is corrupt, or who holds its claim; null otherwise.")]
    public required string? Detail { get; init; }

    [Description("The latest scheduler task of the cell, e.g. 14_3, or absent.")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Job { get; init; }

    [Description("The scheduler's state of that task (PENDING, RUNNING, COMPLETED, FAILED, ...), or absent.")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? SchedulerState { get; init; }

    [Description("Scheduler attempts of this cell recorded in the index.")]
    public required int Attempts { get; init; }
}
