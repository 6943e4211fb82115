using System.ComponentModel;

namespace AutoCircuit.Host.Outputs;

/// <summary>An algorithm's circuits under one patch type, in compare.json.</summary>
[Description("An algorithm's circuits under one patch type.")]
internal sealed record CompareFilePatchEvaluation
{
    [Description("One entry per circuit size.")]
    public required IReadOnlyList<CircuitSizeResult> Results { get; init; }

    [Description("Area under each metric's curve, by metric key; null where undefined.")]
    public required IReadOnlyDictionary<string, double?> Auc { get; init; }

    [Description("Each area normalised by the random algorithm's (auto-circuit's normalisation); null without a random algorithm.")]
    public required IReadOnlyDictionary<string, double?>? AucVsRandom { get; init; }
}
