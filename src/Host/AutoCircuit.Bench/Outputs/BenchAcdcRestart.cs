using System.ComponentModel;

namespace AutoCircuit.Bench.Outputs;

/// <summary>The <c>"acdc_restart"</c> of a shape in <c>bench --json</c>.</summary>
[Description("ACDC per tested edge with the destination-block restart and with full forward passes.")]
internal sealed record BenchAcdcRestart
{
    [Description("Which steps were timed.")]
    public required string Steps { get; init; }

    [Description("Milliseconds per edge, restarting at the destination's block.")]
    public required BenchStat MsPerEdgeWithRestart { get; init; }

    [Description("Milliseconds per edge, full forward passes.")]
    public required BenchStat MsPerEdgeFullForward { get; init; }

    [Description("Full forward / restart (medians).")]
    public required double? Speedup { get; init; }
}
