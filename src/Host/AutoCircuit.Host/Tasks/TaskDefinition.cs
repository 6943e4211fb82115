using AutoCircuit.Host.Data;

namespace AutoCircuit.Host.Tasks;

/// <summary>An edge of a known circuit by name (<c>"src-&gt;dest"</c>), at one token position or (<c>null</c>) at every one.</summary>
/// <param name="Name">The edge name, e.g. <c>A1.0-&gt;Resid End</c>.</param>
/// <param name="Seq">A token position of a token-position graph, or <c>null</c> for every position.</param>
public sealed record CircuitEdge(string Name, int? Seq = null);

/// <summary>
/// A task (auto-circuit's <c>Task</c>): a model, a dataset (a file or a generator of ours), how to split
/// and batch it, whether edges are per token position, and optionally a known circuit. Selected with
/// <c>--task KEY</c>; every data option it sets can be overridden on the command line.
/// </summary>
public sealed record TaskDefinition
{
    /// <summary>The key given to <c>--task</c>.</summary>
    public required string Key { get; init; }

    /// <summary>One line for <c>list</c>.</summary>
    public required string Description { get; init; }

    /// <summary>The built-in model the task runs on when <c>--model</c> is not given, or <c>null</c> when
    /// <c>--model</c> is required (see <see cref="ModelHint"/>).</summary>
    public string? DefaultModel { get; init; }

    /// <summary>What the model must be, for messages, e.g. <c>GPT-2 small (a Hugging Face folder)</c>.</summary>
    public required string ModelHint { get; init; }

    /// <summary>Makes the dataset for the loaded model (generators may use its tokenizer).</summary>
    /// <exception cref="AutoCircuitException">The model does not fit the task (e.g. no or the wrong tokenizer).</exception>
    public required Func<LoadedModel, DatasetDocument> Dataset { get; init; }

    /// <summary>Prompts per batch.</summary>
    public int BatchSize { get; init; } = 8;

    /// <summary>Train prompts, or <c>null</c> for the default split (half of the prompts, at most 128).</summary>
    public int? TrainSize { get; init; }

    /// <summary>Test prompts, or <c>null</c> for the default split.</summary>
    public int? TestSize { get; init; }

    /// <summary>One edge per token position (the prompts have equal lengths).</summary>
    public bool TokenPositions { get; init; }

    /// <summary>Cache the shared prefix (auto-circuit's <c>tail_divergence</c>).</summary>
    public bool TailDivergence { get; init; }

    /// <summary>Text prompts start with BOS.</summary>
    public bool PrependBos { get; init; } = true;

    /// <summary>The known circuit for the loaded model; <c>null</c> (or a function returning <c>null</c> for a model it
    /// knows nothing about) when the task has none.</summary>
    public Func<LoadedModel, IReadOnlyList<CircuitEdge>?>? KnownCircuit { get; init; }
}
