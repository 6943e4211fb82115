using AutoCircuit.Data;
using AutoCircuit.Evaluation;
using AutoCircuit.Graph;
using AutoCircuit.Host.IO;
using AutoCircuit.Host.Outputs;
using AutoCircuit.Patching;
using AutoCircuit.Scores;

namespace AutoCircuit.Host.Jobs;

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
        var file = CircuitsFile.ToJson(algorithm, evaluation) with
        {
            EdgeCounts = settings.Edges.ToString(),
            Batches = batches.Count,
            Prompts = batches.Sum(b => b.Size),
        };
        JsonOutput.Write(results.PathFor(json), file, OutputJsonContext.Default.CircuitEvaluationFile);
        CircuitsFile.WriteCsv(results.PathFor(csv), evaluation);
        return (evaluation, [json, csv]);
    }

    /// <summary>Names the algorithm in progress lines (several are evaluated in one run).</summary>
    private sealed class LabelledProgress(IProgressSink inner, string label) : IProgressSink
    {
        public IProgressTask Start(string description, long total) => inner.Start($"{label}: {description}", total);
    }
}
