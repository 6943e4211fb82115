using System.ComponentModel;
using System.Text.Json.Serialization;

namespace AutoCircuit.Host.Sweeps.Outputs;

/// <summary>The last stdout line of <c>sweep PLAN --json</c>.</summary>
[Description("The last stdout line of 'dotnet autocircuit sweep PLAN --json'.")]
internal sealed record SweepSummary
{
    [Description("Cells in the plan.")]
    public required int Cells { get; init; }

    [Description("Cells computed by this sweep.")]
    public required int Computed { get; init; }

    [Description("Cells found complete in the cache before the sweep started.")]
    public required int Cached { get; init; }

    [Description("Cells still without a result after the sweep (failed or cancelled); 0 with --no-wait (see submitted).")]
    public required int Failed { get; init; }

    [Description("Slurm: the array job ids submitted (retries add one each); absent for other backends.")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? Jobs { get; init; }

    [Description("slurm --no-wait: the cells submitted; k8s: the manifest written. Absent otherwise.")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Submitted { get; init; }

    [Description("k8s: the Job manifest written; absent otherwise.")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Manifest { get; init; }
}
