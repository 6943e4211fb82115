using System.ComponentModel;

namespace AutoCircuit.Host.Sweeps.Outputs;

/// <summary><c>owner.json</c> of a claim or a work folder: enough to prove, on the same machine, that its process is gone.</summary>
[Description("owner.json of a claim (claims/<key>/) or work folder (tmp/<key>.<token>/): the process that holds it.")]
internal sealed record ClaimOwner
{
    [Description("Random token of this claim.")]
    public required string Token { get; init; }

    [Description("Host name.")]
    public required string Host { get; init; }

    [Description("/proc/sys/kernel/random/boot_id of the host when the claim was made (empty where unknown).")]
    public required string BootId { get; init; }

    [Description("Process id.")]
    public required int Pid { get; init; }

    [Description("The process's start time in clock ticks since boot (/proc/<pid>/stat field 22), so a reused pid is told apart.")]
    public required long StartTicks { get; init; }

    [Description("The Slurm job (array job _ index) or Kubernetes pod, or null.")]
    public required string? Job { get; init; }

    [Description("When the claim was made (ISO 8601, UTC); the file's modification time is the heartbeat.")]
    public required string StartedUtc { get; init; }
}
