using System.ComponentModel;

namespace AutoCircuit.Host.Sweeps.Outputs;

/// <summary><c>cell.json</c> of a finished cell in the cache (beside the run's own files).</summary>
[Description("cell.json: a finished sweep cell in the cache: its key, what determined it, its axes, where and how long it ran.")]
internal sealed record SweepCellFile
{
    [Description("The cell's key (the name of its folder).")]
    public required string Key { get; init; }

    [Description("What the key hashes.")]
    public required CellIdentity Identity { get; init; }

    [Description("The cell's axes as written in the plan.")]
    public required SweepCellAxes Axes { get; init; }

    [Description("The host the cell was computed on.")]
    public required string Host { get; init; }

    [Description("The Slurm job (array job _ index) or Kubernetes pod that computed the cell, or null.")]
    public required string? Job { get; init; }

    [Description("Wall time of the cell's run, seconds.")]
    public required double Seconds { get; init; }

    [Description("When the cell was committed (ISO 8601, UTC).")]
    public required string FinishedUtc { get; init; }
}

/// <summary>A cell's axes as the plan names them.</summary>
[Description("A cell's axes as the plan names them.")]
internal sealed record SweepCellAxes
{
    [Description("The model (a built-in name, a path, or default).")]
    public required string Model { get; init; }

    [Description("The task, or null.")]
    public required string? Task { get; init; }

    [Description("The dataset file, or null.")]
    public required string? Dataset { get; init; }

    [Description("The algorithm spec as in -a.")]
    public required string Algorithm { get; init; }

    [Description("The algorithm key.")]
    public required string AlgorithmKey { get; init; }

    [Description("The evaluation's ablation.")]
    public required string Ablation { get; init; }

    [Description("edge or tree.")]
    public required string PatchType { get; init; }

    [Description("The seed.")]
    public required long Seed { get; init; }
}
