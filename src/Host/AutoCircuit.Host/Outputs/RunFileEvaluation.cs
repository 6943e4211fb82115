using System.ComponentModel;

namespace AutoCircuit.Host.Outputs;

/// <summary>The <c>"evaluation"</c> object of run.json.</summary>
[Description("How each algorithm's circuits were evaluated.")]
internal sealed record RunFileEvaluation
{
    [Description("The split the circuits were evaluated on: always 'test'.")]
    public required string Split { get; init; }

    [Description("The circuit sizes (--edges), e.g. 'default', 'all', '0,1,2,5'.")]
    public required string Edges { get; init; }

    [Description("edge or tree.")]
    public required string PatchType { get; init; }

    [Description("The ablation (--ablation), e.g. resample.")]
    public required string Ablation { get; init; }

    [Description("Whether clean and corrupt prompts were swapped.")]
    public required bool Reverse { get; init; }
}
