using System.ComponentModel;

namespace AutoCircuit.Host.Outputs;

/// <summary>The <c>"performance"</c> object of run.json and evaluate.json.</summary>
[Description("How the job used the machine (--threads, --max-patch-memory, --patch-buffer-dtype).")]
internal sealed record PerformanceInfo
{
    [Description("libtorch intra-op threads in use.")]
    public required int Threads { get; init; }

    [Description("Budget for the source-output buffers of one batch, in bytes; null for none.")]
    public required long? MaxPatchMemoryBytes { get; init; }

    [Description("Element type of the source-output buffers (e.g. bfloat16); null for the model's.")]
    public required string? PatchBufferDtype { get; init; }
}
