using System.ComponentModel;
using System.Text.Json.Serialization;

namespace AutoCircuit.Bench.Outputs;

/// <summary>What <c>bench --json</c> prints: the headline ratios, the machine, and every shape in detail.</summary>
[Description("The output of 'dotnet autocircuit bench --json': the headline ratios (medians of the reference shape), the machine, and every shape in detail.")]
internal sealed record BenchFile
{
    [Description("The shape whose ratios are the headline numbers: the last (largest) one measured.")]
    public required string ReferenceShape { get; init; }

    [Description("Patched forward / plain forward (median).")]
    public required double? PatchedForwardOverForward { get; init; }

    [Description("mask-gradient per batch / (plain forward + forward with backward) (median).")]
    [JsonPropertyName("mask_gradient_over_2f1b")]
    public required double? MaskGradientOver2F1B { get; init; }

    [Description("ACDC cost per tested edge / plain forward (median).")]
    public required double? AcdcEdgeOverForward { get; init; }

    [Description("Circuit evaluation per size / plain forward (median).")]
    public required double? EvaluateCountOverForward { get; init; }

    [Description("Peak source-buffer bytes during mask-gradient / the minimum; null when not measured.")]
    public required double? SrcBufferBytesOverMinimum { get; init; }

    [Description("The arithmetic floor of patched_forward_over_forward: 1 + the patch's multiply-adds / the model's (reference shape); null when not computed.")]
    public required double? PatchedForwardFloor { get; init; }

    [Description("The arithmetic floor of mask_gradient_over_2f1b: 1 + the patch's multiply-adds / 3 forward passes' (reference shape); null when not computed.")]
    public required double? MaskGradientFloor { get; init; }

    [Description("The machine.")]
    public required BenchMachine Machine { get; init; }

    [Description("Timed repetitions per operation.")]
    public required int Repetitions { get; init; }

    [Description("Element type of the source-output buffers, or 'model' for the model's.")]
    public required string PatchBufferDtype { get; init; }

    [Description("Whether the graphs had separate Q/K/V destinations per head.")]
    public required bool SeparateQkv { get; init; }

    [Description("Per-shape results, in the order run.")]
    public required IReadOnlyList<BenchShapeResult> Shapes { get; init; }
}
