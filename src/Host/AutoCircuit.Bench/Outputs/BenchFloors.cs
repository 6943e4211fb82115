using System.ComponentModel;
using System.Text.Json.Serialization;

namespace AutoCircuit.Bench.Outputs;

/// <summary>The <c>"floors"</c> of a shape in <c>bench --json</c>: what the arithmetic alone allows for its ratios.</summary>
[Description("What the arithmetic alone allows for the ratios: the patch's matrix products added to the model's (memory traffic and per-operation costs are not counted).")]
internal sealed record BenchFloors
{
    [Description("Multiply-adds of one plain forward pass (projections, MLP, unembedding, attention scores and mix).")]
    public required double ModelMultiplyAdds { get; init; }

    [Description("Multiply-adds of the patch of one pass with every mask live (each destination's mask entries x tokens x d_model).")]
    public required double PatchMultiplyAdds { get; init; }

    [Description("Floor of patched forward / plain forward: 1 + patch / model.")]
    public required double? PatchedForwardOverForward { get; init; }

    [Description("Floor of mask-gradient / (2F + 1B): 1 + patch / (3 x model); the ablation pass, the zero-mask pass and its input-gradient backward, plus one patch-sized product.")]
    [JsonPropertyName("mask_gradient_over_2f1b")]
    public required double? MaskGradientOver2F1B { get; init; }
}
