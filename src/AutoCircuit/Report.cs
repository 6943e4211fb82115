using AutoCircuit.Engine;
using AutoCircuit.Engine.Patching;
using AutoCircuit.Evaluation;
using AutoCircuit.Host.Algorithms;
using AutoCircuit.Host.Comparison;
using AutoCircuit.Host.Reports;
using AutoCircuit.Patching;

namespace AutoCircuit;

/// <summary>
/// The report of <c>dotnet autocircuit run</c> and <c>compare</c> (<c>report.html</c>: one self-contained page, no
/// network) for circuits evaluated with <see cref="Circuits.Evaluate"/>: the ranking, the faithfulness curves, the
/// agreement between the algorithms, the circuit diagrams and the interactive circuit view.
/// </summary>
public static class Report
{
    /// <summary>The report as an HTML page.</summary>
    /// <param name="source">The model the circuits were found on.</param>
    /// <param name="model">The patchable model they were evaluated on.</param>
    /// <param name="sweeps">One or more algorithms' evaluated circuits (same patch type).</param>
    /// <param name="title">The page's title.</param>
    /// <exception cref="AutoCircuitException">No sweep, or sweeps of different patch types or graphs.</exception>
    public static string Html(Model source, PatchableModel model, IReadOnlyList<CircuitSweep> sweeps, string title = "notebook")
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sweeps);
        if (sweeps.Count == 0)
        {
            throw new AutoCircuitException("A report needs at least one evaluated algorithm (Circuits.Evaluate).");
        }

        var patchType = sweeps[0].Evaluation.Options.PatchType;
        if (sweeps.Any(s => s.Evaluation.Options.PatchType != patchType))
        {
            throw new AutoCircuitException("A report's circuits must all be evaluated with the same patch type.");
        }

        var data = source.Prompts;
        var known = source.KnownCircuit(model.Graph);
        var subject = new ComparisonSubject
        {
            ModelSpec = source.Name,
            ModelDescription = source.Description,
            Dataset = data.Dataset,
            Graph = model.Graph,
            SeqLabels = data.Data.SeqLabels,
            KnownEdges = known,
            KnownCircuitSource = known is null || source.Task is null ? null : $"task {source.Task}",
            TrainPrompts = data.Train.Count * data.BatchSize,
            TestPrompts = data.Test.Count * data.BatchSize,
            Device = source.Device.ToString(),
        };
        var settings = new ComparisonSettings
        {
            Evaluation = EvaluationSettings.Default with { Circuits = sweeps[0].Evaluation.Options },
            PatchTypes = [patchType],
        };
        var labels = new HashSet<string>(StringComparer.Ordinal);
        var algorithms = sweeps.Select(s =>
        {
            var label = s.Scores.Key;
            for (var i = 2; !labels.Add(label); i++)
            {
                label = $"{s.Scores.Key}-{i}";
            }

            return new ComparedAlgorithm
            {
                Label = label,
                FileStem = label,
                Key = s.Scores.Key,
                Name = s.Scores.Name,
                Spec = s.Scores.Spec,
                Origin = AlgorithmCatalog.BuiltInOrigin,
                Options = s.Scores.Options,
                Scores = s.Scores.Scores,
                Flat = FlatScores.From(s.Scores.Scores),
                Evaluations = new Dictionary<PatchType, CircuitEvaluation> { [patchType] = s.Evaluation },
                Roc = s.Evaluation.Roc,
            };
        }).ToList();

        // The result does not own the scores (the caller disposes them): it is not disposed here.
        var comparison = new ComparisonResult(subject, settings, algorithms);
        return HtmlReport.Render(comparison, title);
    }

    /// <summary>Writes <see cref="Html"/> to <paramref name="path"/> and returns the path.</summary>
    public static string Save(string path, Model source, PatchableModel model, IReadOnlyList<CircuitSweep> sweeps, string title = "notebook")
    {
        ArgumentNullException.ThrowIfNull(path);
        File.WriteAllText(path, Html(source, model, sweeps, title));
        return Path.GetFullPath(path);
    }
}
