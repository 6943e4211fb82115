using System.ComponentModel;

namespace AutoCircuit.Bench.Outputs;

/// <summary>One entry of a shape's <c>"src_buffer"</c> in <c>bench --json</c>.</summary>
[Description("Peak bytes of source-output-shaped buffers the engine held during one operation.")]
internal sealed record BenchSourceBuffer
{
    [Description("What ran, e.g. mask-gradient on 2 batches.")]
    public required string Operation { get; init; }

    [Description("Peak of the live source-output buffers, in bytes.")]
    public required long PeakBytes { get; init; }

    [Description("n_src x batch x seq x d_model x bytes per element.")]
    public required long MinimumBytes { get; init; }

    [Description("Peak over minimum.")]
    public required double? Ratio { get; init; }
}
