using System.ComponentModel;

namespace AutoCircuit.Host.Outputs;

/// <summary>The <c>"data"</c> object of run.json, compare.json and evaluate.json.</summary>
[Description("The task, the dataset, how it was split, batched and encoded, and which prompts went where.")]
internal sealed record DataInfo
{
    [Description("The built-in task (--task); null when the data came from --dataset.")]
    public required string? Task { get; init; }

    [Description("The dataset: a file path, or a generated dataset's description.")]
    public required string Dataset { get; init; }

    [Description("Prompts in the dataset.")]
    public required int PromptsInFile { get; init; }

    [Description("Prompts per batch.")]
    public required int BatchSize { get; init; }

    [Description("Prompts in the train split (used by the algorithms).")]
    public required int TrainSize { get; init; }

    [Description("Prompts in the test split (used for evaluation).")]
    public required int TestSize { get; init; }

    [Description("Complete train batches.")]
    public required int TrainBatches { get; init; }

    [Description("Complete test batches.")]
    public required int TestBatches { get; init; }

    [Description("Whether the prompts were shuffled once before the split.")]
    public required bool Shuffle { get; init; }

    [Description("The shuffle seed.")]
    public required long ShuffleSeed { get; init; }

    [Description("Whether the graph has one edge per token position.")]
    public required bool TokenPositions { get; init; }

    [Description("Whether text prompts start with BOS; null for prompts that are not text.")]
    public required bool? PrependBos { get; init; }

    [Description("Whether the prefix every prompt shares ran once into a key/value cache.")]
    public required bool TailDivergence { get; init; }

    [Description("Tokens of the shared prefix cut off by tail divergence (0 without it).")]
    public required int DivergeIndex { get; init; }

    [Description("Labels of the token positions, when the dataset has them.")]
    public required IReadOnlyList<string>? SeqLabels { get; init; }

    [Description("Indices (in the file) of the train prompts, in batch order.")]
    public required IReadOnlyList<int> TrainPrompts { get; init; }

    [Description("Indices (in the file) of the test prompts, in batch order.")]
    public required IReadOnlyList<int> TestPrompts { get; init; }
}
