using System.ComponentModel;

namespace AutoCircuit.Host.Outputs;

/// <summary>The <c>"evaluation"</c> object of evaluate.json.</summary>
[Description("How the circuits were evaluated (on the test split).")]
internal sealed record EvaluateFileEvaluation
{
    [Description("The circuit sizes (--edges), e.g. 'default', 'all', '0,1,2,5'.")]
    public required string Edges { get; init; }

    [Description("edge or tree.")]
    public required string PatchType { get; init; }

    [Description("The ablation (--ablation), e.g. resample.")]
    public required string Ablation { get; init; }

    [Description("Whether clean and corrupt prompts were swapped.")]
    public required bool Reverse { get; init; }
}
