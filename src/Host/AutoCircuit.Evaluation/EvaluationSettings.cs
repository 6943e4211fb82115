using AutoCircuit.Engine;
using AutoCircuit.Patching;
using AutoCircuit.Scores;

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

    /// <summary>How circuits are selected from the scores (<c>--select</c>, <c>--absolute</c>/<c>--signed</c>,
    /// <c>--prune</c>, <c>--level</c>).</summary>
    public CircuitSelection Selection { get; init; } = CircuitSelection.Default;

    /// <summary>The evaluation protocol (<c>--protocol</c>).</summary>
    public EvaluationProtocol Protocol { get; init; } = EvaluationProtocol.AutoCircuit;

    /// <summary>Resamples of the test prompts for bootstrap intervals (<c>--bootstrap</c>); 0: none.</summary>
    public int BootstrapResamples { get; init; }

    /// <summary>Seed of the bootstrap resampling (the job's <c>--seed</c>).</summary>
    public long BootstrapSeed { get; init; }

    /// <summary>
    /// The circuit sizes to evaluate in a graph of <paramref name="edgeCount"/> edges: MIB's fractions (and 0) under
    /// <see cref="EvaluationProtocol.Mib"/>, else <see cref="EdgeCountSweep.Compute(int, EdgeCountRequest?, PruneScores?, bool?, bool?, int?)"/>
    /// of <see cref="Edges"/>.
    /// </summary>
    /// <param name="edgeCount">Edges in the graph.</param>
    /// <param name="scores">The scores (groups, and the default choice).</param>
    /// <param name="withEnds">Always evaluate 0 and every edge.</param>
    /// <param name="trueEdgeCount">The known circuit's size, added to auto-circuit's sweep.</param>
    public List<int> Sizes(int edgeCount, PruneScores? scores, bool withEnds, int? trueEdgeCount) =>
        Protocol == EvaluationProtocol.Mib
            ? MibProtocol.Sizes(edgeCount)
            : EdgeCountSweep.Compute(
                edgeCount, Edges, scores, zeroEdges: withEnds ? true : null, allEdges: withEnds ? true : null, trueEdgeCount: trueEdgeCount);

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
