using System.ComponentModel;
using System.Text.Json.Nodes;

namespace AutoCircuit.Host.Sweeps.Outputs;

/// <summary>What determines a cell's result; its canonical JSON is hashed into the cell's key (see <see cref="CellKey"/>).
/// Members are serialized in declaration order: reordering them changes every key (then bump <see cref="CellKey.Format"/>).</summary>
[Description("What determines a cell's result; the SHA-256 of its compact JSON is the cell's key.")]
internal sealed record CellIdentity
{
    [Description("Version of the key's recipe.")]
    public required string Format { get; init; }

    [Description("The tool's informational version and the TorchSharp version.")]
    public required string Tool { get; init; }

    [Description("The model.")]
    public required CellIdentityModel Model { get; init; }

    [Description("The data and how it is split, batched and encoded.")]
    public required CellIdentityData Data { get; init; }

    [Description("The algorithm.")]
    public required CellIdentityAlgorithm Algorithm { get; init; }

    [Description("Factorized or residual graph, separate Q/K/V.")]
    public required CellIdentityGraph Graph { get; init; }

    [Description("How the circuits are evaluated.")]
    public required CellIdentityEvaluation Evaluation { get; init; }

    [Description("Seed of the data shuffle and the algorithm.")]
    public required long Seed { get; init; }

    [Description("The device asked for (cpu, cuda, auto).")]
    public required string Device { get; init; }
}

[Description("The model of a cell.")]
internal sealed record CellIdentityModel
{
    [Description("The model spec (a built-in name or a path).")]
    public required string Spec { get; init; }

    [Description("The model's content: sha256 of its files, or builtin:<name> for weights defined in code.")]
    public required string Content { get; init; }
}

[Description("The data of a cell.")]
internal sealed record CellIdentityData
{
    [Description("The built-in task, or null.")]
    public required string? Task { get; init; }

    [Description("sha256 of the dataset file, or null for a task's generated data.")]
    public required string? Dataset { get; init; }

    [Description("Prompts per batch, or null for the task's.")]
    public required int? BatchSize { get; init; }

    [Description("Train prompts, or null for the default.")]
    public required int? TrainSize { get; init; }

    [Description("Test prompts, or null for the default.")]
    public required int? TestSize { get; init; }

    [Description("Whether the prompts are shuffled (with the seed).")]
    public required bool Shuffle { get; init; }

    [Description("One edge per token position, or null for the task's.")]
    public required bool? TokenPositions { get; init; }

    [Description("Text prompts start with BOS, or null for the task's.")]
    public required bool? PrependBos { get; init; }

    [Description("The shared prefix is cached, or null for the task's.")]
    public required bool? TailDivergence { get; init; }
}

[Description("The algorithm of a cell.")]
internal sealed record CellIdentityAlgorithm
{
    [Description("The algorithm key.")]
    public required string Key { get; init; }

    [Description("built-in, or the plugin it came from.")]
    public required string Origin { get; init; }

    [Description("Every option with its bound value (defaults filled in), sorted by name.")]
    public required IReadOnlyDictionary<string, JsonNode?> Options { get; init; }
}

[Description("The graph of a cell.")]
internal sealed record CellIdentityGraph
{
    [Description("Factorized (true) or residual graph.")]
    public required bool Factorized { get; init; }

    [Description("Separate Q/K/V destinations.")]
    public required bool SeparateQkv { get; init; }
}

[Description("How a cell's circuits are evaluated.")]
internal sealed record CellIdentityEvaluation
{
    [Description("The circuit sizes asked for (--edges).")]
    public required string Edges { get; init; }

    [Description("edge or tree.")]
    public required string PatchType { get; init; }

    [Description("The ablation, e.g. resample.")]
    public required string Ablation { get; init; }

    [Description("Whether clean and corrupt prompts are swapped.")]
    public required bool Reverse { get; init; }
}
