using System.ComponentModel;
using System.Text.Json.Serialization;

namespace AutoCircuit.Bench.Outputs;

/// <summary>The <c>"ratios"</c> of a shape in <c>bench --json</c>.</summary>
[Description("The ratios of a shape, each over repetitions.")]
internal sealed record BenchRatios
{
    [Description("Patched forward / plain forward.")]
    public required BenchStat PatchedForwardOverForward { get; init; }

    [Description("mask-gradient per batch / (plain forward + forward with backward).")]
    [JsonPropertyName("mask_gradient_over_2f1b")]
    public required BenchStat MaskGradientOver2F1B { get; init; }

    [Description("ACDC cost per tested edge / plain forward.")]
    public required BenchStat AcdcEdgeOverForward { get; init; }

    [Description("Circuit evaluation per size / plain forward.")]
    public required BenchStat EvaluateCountOverForward { get; init; }

    [Description("Peak source-buffer bytes during mask-gradient / the minimum; null when not measured.")]
    public required double? SrcBufferBytesOverMinimum { get; init; }
}
