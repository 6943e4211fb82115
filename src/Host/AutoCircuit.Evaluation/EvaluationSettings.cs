using AutoCircuit.Engine;
using AutoCircuit.Patching;

namespace AutoCircuit.Evaluation;

/// <summary>What <c>run</c> and <c>evaluate</c> are asked to evaluate: <c>--edges</c>, <c>--patch-type</c>,
/// <c>--ablation</c>, <c>--reverse</c>.</summary>
/// <param name="Edges">Which circuit sizes.</param>
/// <param name="Circuits">How circuits are patched.</param>
public sealed record EvaluationSettings(EdgeCountRequest Edges, CircuitRunOptions Circuits)
{
    /// <summary>auto-circuit's defaults: its default sizes, edge patch, resample ablation, not reversed.</summary>
    public static EvaluationSettings Default { get; } = new(EdgeCountRequest.Default, new CircuitRunOptions());

    /// <summary>Parses the CLI values.</summary>
    /// <exception cref="AutoCircuitException">A malformed value.</exception>
    public static EvaluationSettings Parse(string? edges, string? patchType, string? ablation, bool reverse) =>
        new(
            edges is null ? EdgeCountRequest.Default : EdgeCountRequest.Parse(edges),
            new CircuitRunOptions(
                patchType is null ? PatchType.EdgePatch : EvaluationNames.ParsePatchType(patchType),
                ablation is null ? AblationType.Resample : EvaluationNames.ParseAblation(ablation),
                reverse));

    /// <summary>Checks, before any work, that an explicit list of sizes fits a graph of <paramref name="edgeCount"/> edges
    /// (the other modes always fit).</summary>
    /// <exception cref="AutoCircuitException">A size outside <c>0..n_edges</c>.</exception>
    public void Validate(int edgeCount)
    {
        if (Edges.Mode == EdgeCountMode.List)
        {
            EdgeCountSweep.Compute(edgeCount, Edges);
        }
    }
}
