using System.ComponentModel;

namespace AutoCircuit.Host.Outputs;

/// <summary>The overlap of two algorithms' top-k circuits in compare.json.</summary>
[Description("The overlap of two algorithms' top-k circuits.")]
internal sealed record CompareFileTopKOverlap
{
    [Description("The circuit size asked for.")]
    public required int K { get; init; }

    [Description("The first algorithm's circuit size (ties may admit more).")]
    public required int SizeA { get; init; }

    [Description("The second algorithm's circuit size.")]
    public required int SizeB { get; init; }

    [Description("Edges in both.")]
    public required int Shared { get; init; }

    [Description("Shared edges over edges in either.")]
    public required double Jaccard { get; init; }
}
