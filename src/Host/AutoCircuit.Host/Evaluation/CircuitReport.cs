using AutoCircuit.Data;
using AutoCircuit.Graph;
using AutoCircuit.Host.IO;
using AutoCircuit.Patching;
using AutoCircuit.Scores;

namespace AutoCircuit.Host.Evaluation;

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
                patchType is null ? PatchType.EdgePatch : CircuitsFile.ParsePatchType(patchType),
                ablation is null ? AblationType.Resample : CircuitsFile.ParseAblation(ablation),
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

/// <summary>Evaluates one algorithm's scores and writes <c>circuits/&lt;stem&gt;.json|.csv</c> into a results folder.</summary>
public static class CircuitReport
{
    /// <summary>Evaluates <paramref name="scores"/> on <paramref name="batches"/> and writes the two files.</summary>
    /// <returns>The evaluation and the files written (relative to the results folder).</returns>
    /// <exception cref="AutoCircuitException">A size outside the graph; outputs that metrics cannot measure.</exception>
    public static (CircuitEvaluation Evaluation, string[] Files) EvaluateAndWrite(
        IPatchableModel model,
        IReadOnlyList<PromptBatch> batches,
        PruneScores scores,
        string algorithm,
        string fileStem,
        EvaluationSettings settings,
        ResultsDirectory results,
        IReadOnlySet<Edge>? knownEdges,
        IProgressSink progress,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(results);
        var counts = EdgeCountSweep.Compute(model.Graph.EdgeCount, settings.Edges, scores, trueEdgeCount: knownEdges?.Count);
        var evaluation = CircuitEvaluator.Evaluate(
            model, batches, scores, counts, settings.Circuits, knownEdges, new LabelledProgress(progress, algorithm), cancellationToken);

        var json = Path.Combine("circuits", fileStem + ".json");
        var csv = Path.Combine("circuits", fileStem + ".csv");
        var extra = new Dictionary<string, object?>
        {
            ["edge_counts"] = settings.Edges.ToString(),
            ["batches"] = batches.Count,
            ["prompts"] = batches.Sum(b => b.Size),
        };
        CircuitsFile.WriteJson(results.PathFor(json), algorithm, evaluation, extra);
        CircuitsFile.WriteCsv(results.PathFor(csv), evaluation);
        return (evaluation, [json, csv]);
    }

    /// <summary>Names the algorithm in progress lines (several are evaluated in one run).</summary>
    private sealed class LabelledProgress(IProgressSink inner, string label) : IProgressSink
    {
        public IProgressTask Start(string description, long total) => inner.Start($"{label}: {description}", total);
    }
}
