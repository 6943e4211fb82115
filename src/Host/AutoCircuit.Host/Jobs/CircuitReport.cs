using AutoCircuit.Data;
using AutoCircuit.Evaluation;
using AutoCircuit.Graph;
using AutoCircuit.Host.IO;
using AutoCircuit.Host.Outputs;
using AutoCircuit.Patching;
using AutoCircuit.Scores;

namespace AutoCircuit.Host.Jobs;

/// <summary>Evaluates one algorithm's scores and writes <c>circuits/&lt;stem&gt;.json|.csv</c> into a results folder.</summary>
internal static class CircuitReport
{
    /// <summary>Evaluates <paramref name="scores"/> on <paramref name="batches"/> and writes the two files.</summary>
    /// <param name="model">The patchable model.</param>
    /// <param name="batches">The evaluation batches.</param>
    /// <param name="scores">The scores.</param>
    /// <param name="algorithm">The algorithm's key or label, written into the circuits file.</param>
    /// <param name="fileStem">The circuits files' stem.</param>
    /// <param name="settings">Circuit sizes, patch type, ablation.</param>
    /// <param name="results">The results folder.</param>
    /// <param name="knownEdges">The known circuit (ROC), or <c>null</c>.</param>
    /// <param name="progress">Progress (the job's stage names the algorithm).</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <param name="withEnds">Evaluate 0 and every edge even when the sweep has one or two sizes (auto-circuit leaves
    /// them out then, e.g. for ground-truth's two score groups), so that every curve runs from the baseline to the
    /// full model and has an area: what <c>run</c> and <c>compare</c> do for their reports.</param>
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
        CancellationToken cancellationToken,
        bool withEnds = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(results);
        var counts = settings.Sizes(model.Graph.EdgeCount, scores, withEnds, knownEdges?.Count);
        var evaluation = CircuitEvaluator.Evaluate(
            model, batches, scores, counts, settings.Circuits, knownEdges, progress, cancellationToken, settings.Selection,
            settings.Protocol, settings.BootstrapResamples, settings.BootstrapSeed);

        var json = Path.Combine("circuits", fileStem + ".json");
        var csv = Path.Combine("circuits", fileStem + ".csv");
        var file = CircuitsFile.ToJson(algorithm, evaluation) with
        {
            EdgeCounts = settings.Edges.ToString(),
            Batches = batches.Count,
            Prompts = batches.Sum(b => b.Size),
        };
        JsonOutput.Write(results.PathFor(json), file, OutputJsonContext.Default.CircuitEvaluationFile);
        CircuitsFile.WriteCsv(results.PathFor(csv), evaluation);
        var edges = Path.Combine("circuits", fileStem + ".edges.json");
        return CircuitsFile.WriteEdges(results.PathFor(edges), algorithm, evaluation, model.Graph)
            ? (evaluation, [json, csv, edges])
            : (evaluation, [json, csv]);
    }
}
