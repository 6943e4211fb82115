using System.ComponentModel;

namespace AutoCircuit.Host.Outputs;

/// <summary>One of an algorithm's top edges in compare.json.</summary>
[Description("An edge and its score.")]
internal sealed record CompareFileTopEdge
{
    [Description("1 for the highest |score|.")]
    public required int Rank { get; init; }

    [Description("The edge's name (src->dest).")]
    public required string Edge { get; init; }

    [Description("Its token position, or null for every position.")]
    public required int? Position { get; init; }

    [Description("Its score (signed).")]
    public required double Score { get; init; }
}
