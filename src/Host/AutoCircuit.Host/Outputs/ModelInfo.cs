using System.ComponentModel;
using System.Text.Json.Serialization;

namespace AutoCircuit.Host.Outputs;

/// <summary>The <c>"model"</c> object of run.json, compare.json and evaluate.json.</summary>
[Description("The model.")]
internal sealed record ModelInfo
{
    [Description("The model as named on the command line (--model): a built-in name, a checkpoint path or a Hugging Face model name.")]
    public required string Spec { get; init; }

    [Description("The model's description: family, layers, heads, width, vocabulary.")]
    public required string Description { get; init; }

    [Description("For a model given by Hugging Face name (org/name[@revision]): the commit of the hub snapshot it was loaded from.")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? HubCommit { get; init; }
}
