using System.ComponentModel;

namespace AutoCircuit.Host.Outputs;

/// <summary>The <c>"model"</c> object of run.json, compare.json and evaluate.json.</summary>
[Description("The model.")]
public sealed record ModelInfo
{
    [Description("The model as named on the command line (--model): a built-in name or a checkpoint path.")]
    public required string Spec { get; init; }

    [Description("The model's description: family, layers, heads, width, vocabulary.")]
    public required string Description { get; init; }
}
