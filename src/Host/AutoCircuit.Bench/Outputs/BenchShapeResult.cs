using System.ComponentModel;

namespace AutoCircuit.Bench.Outputs;

/// <summary>One shape of <c>bench --json</c>.</summary>
[Description("The measurements of one model shape.")]
internal sealed record BenchShapeResult
{
    [Description("The shape's name (small, gpt2, or LAYERSxHEADSxDMODEL).")]
    public required string Name { get; init; }

    [Description("Transformer layers.")]
    public required int Layers { get; init; }

    [Description("Attention heads per layer.")]
    public required int Heads { get; init; }

    [Description("Model width.")]
    public required int DModel { get; init; }

    [Description("MLP width (4 x d_model).")]
    public required int DMlp { get; init; }

    [Description("Vocabulary size.")]
    public required int Vocab { get; init; }

    [Description("Prompts per batch.")]
    public required int Batch { get; init; }

    [Description("Tokens per prompt.")]
    public required int Seq { get; init; }

    [Description("Model parameters.")]
    public required long Parameters { get; init; }

    [Description("Source nodes of the factorized graph.")]
    public required int Srcs { get; init; }

    [Description("Destination modules (hook points with a mask).")]
    public required int DestModules { get; init; }

    [Description("Edges.")]
    public required int Edges { get; init; }

    [Description("Circuit sizes of the evaluation benchmark.")]
    public required IReadOnlyList<int> EvaluatedSizes { get; init; }

    [Description("The ratios, each over repetitions.")]
    public required BenchRatios Ratios { get; init; }

    [Description("The timings in milliseconds, each over repetitions.")]
    public required BenchTimes TimesMs { get; init; }

    [Description("What the arithmetic alone allows for the first two ratios; null when not computed.")]
    public required BenchFloors? Floors { get; init; }

    [Description("How the ACDC cost was obtained.")]
    public required string AcdcMethod { get; init; }

    [Description("ACDC per tested edge with and without the destination-block restart.")]
    public required BenchAcdcRestart AcdcRestart { get; init; }

    [Description("Peak source-buffer bytes during mask-gradient, circuit evaluation (several sizes, one size) and ACDC (those measured).")]
    public required IReadOnlyList<BenchSourceBuffer> SrcBuffer { get; init; }
}
