using System.ComponentModel;

namespace AutoCircuit.Bench.Outputs;

/// <summary>The <c>"times_ms"</c> of a shape in <c>bench --json</c>.</summary>
[Description("The timings of a shape in milliseconds, each over repetitions.")]
internal sealed record BenchTimes
{
    [Description("Plain forward pass.")]
    public required BenchStat Forward { get; init; }

    [Description("Patched forward pass (every mask live, all 0).")]
    public required BenchStat PatchedForward { get; init; }

    [Description("Forward with gradients and backward to the first residual stream.")]
    public required BenchStat ForwardBackward { get; init; }

    [Description("mask-gradient (EAP) per batch.")]
    public required BenchStat MaskGradientBatch { get; init; }

    [Description("Circuit evaluation per circuit size (one batch).")]
    public required BenchStat EvaluatePerSize { get; init; }

    [Description("ACDC cost per tested edge.")]
    public required BenchStat AcdcEdge { get; init; }
}
