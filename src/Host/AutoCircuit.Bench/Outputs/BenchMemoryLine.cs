using System.ComponentModel;

namespace AutoCircuit.Bench.Outputs;

/// <summary>One line of <c>bench --memory-only --json</c>: the peak memory of one mask-gradient batch on a shape.</summary>
[Description("One line of 'dotnet autocircuit bench --memory-only --json': the peak memory of one mask-gradient batch on a shape.")]
internal sealed record BenchMemoryLine
{
    [Description("The shape's name.")]
    public required string Shape { get; init; }

    [Description("Transformer layers.")]
    public required int Layers { get; init; }

    [Description("Attention heads per layer.")]
    public required int Heads { get; init; }

    [Description("Model width.")]
    public required int DModel { get; init; }

    [Description("Vocabulary size.")]
    public required int Vocab { get; init; }

    [Description("Prompts per batch.")]
    public required int Batch { get; init; }

    [Description("Tokens per prompt.")]
    public required int Seq { get; init; }

    [Description("Model parameters.")]
    public required long Parameters { get; init; }

    [Description("Resident memory after building the model and data, before the batch, in bytes.")]
    public required long BaselineRssBytes { get; init; }

    [Description("Peak resident memory during the batch (Linux VmHWM), in bytes; -1 where unknown.")]
    public required long PeakRssBytes { get; init; }

    [Description("Peak minus baseline: what the batch itself needs, in bytes; -1 where unknown.")]
    public required long MaskGradientBatchBytes { get; init; }

    [Description("Peak of the engine's source-output buffers during the batch, in bytes.")]
    public required long SrcBufferPeakBytes { get; init; }

    [Description("n_src x batch x seq x d_model x bytes per element.")]
    public required long SrcBufferMinimumBytes { get; init; }

    [Description("The --max-patch-memory budget the batch ran under, in bytes, or null.")]
    public required long? MaxPatchMemoryBytes { get; init; }

    [Description("Wall time of the batch, in seconds.")]
    public required double Seconds { get; init; }
}
