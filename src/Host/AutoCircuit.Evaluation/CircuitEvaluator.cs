using AutoCircuit.Data;
using AutoCircuit.Graph;
using AutoCircuit.Patching;
using AutoCircuit.Scores;

namespace AutoCircuit.Evaluation;

/// <summary>One evaluated circuit.</summary>
/// <param name="Requested">The requested size k.</param>
/// <param name="Edges">The edges really patched: k, or more when scores tie at the threshold (auto-circuit keys its
/// results by this number).</param>
/// <param name="Metrics">Every prune metric (<see cref="PruneMetric.Key"/> → value; NaN/infinity where undefined).</param>
public sealed record CircuitResult(int Requested, int Edges, IReadOnlyDictionary<string, double> Metrics);

/// <summary>Everything the evaluation of one set of scores produced.</summary>
/// <param name="Options">How the circuits were patched.</param>
/// <param name="GraphEdges">Edges in the graph.</param>
/// <param name="Results">One entry per requested size, in increasing order.</param>
/// <param name="Auc">Area under each metric's curve (<see cref="AreaUnderCurve.ForMetric"/>) over the distinct real
/// edge counts, or <c>null</c> where undefined.</param>
/// <param name="Roc">The ROC curve against the known circuit, when one was given.</param>
public sealed record CircuitEvaluation(
    CircuitRunOptions Options,
    int GraphEdges,
    IReadOnlyList<CircuitResult> Results,
    IReadOnlyDictionary<string, double?> Auc,
    RocCurve? Roc)
{
    /// <summary>How the circuits were selected; <c>null</c>: auto-circuit's threshold selection.</summary>
    public CircuitSelection? Selection { get; init; }

    /// <summary>The protocol the circuits were evaluated under.</summary>
    public EvaluationProtocol Protocol { get; init; }

    /// <summary>The circuits the selection stage chose (one per result), or <c>null</c> under auto-circuit's threshold
    /// selection.</summary>
    public IReadOnlyList<SelectedCircuit>? Selected { get; init; }

    /// <summary>The MIB measures, under <see cref="EvaluationProtocol.Mib"/>.</summary>
    public MibResult? Mib { get; init; }

    /// <summary>Bootstrap intervals over prompts, when asked for.</summary>
    public BootstrapResult? Bootstrap { get; init; }

    /// <summary>The (real edge count, value) points of a metric, one per distinct real count (as auto-circuit keys them).</summary>
    public IReadOnlyList<(double X, double Y)> Curve(PruneMetric metric)
    {
        ArgumentNullException.ThrowIfNull(metric);
        var seen = new HashSet<int>();
        return Results.Where(r => seen.Add(r.Edges)).Select(r => ((double)r.Edges, r.Metrics[metric.Key])).ToList();
    }
}

/// <summary>
/// Evaluates a set of prune scores: auto-circuit's <c>run_circuits</c> followed by every prune metric, the area
/// under each metric's curve and, given a known circuit, the ROC curve.
/// </summary>
public static class CircuitEvaluator
{
    /// <summary>Evaluates the circuits of <paramref name="scores"/> of the sizes <paramref name="edgeCounts"/>.</summary>
    /// <param name="model">The patchable model (its masks are restored afterwards).</param>
    /// <param name="batches">The evaluation batches (auto-circuit uses the test split; dataset-mean ablations are
    /// computed over these batches).</param>
    /// <param name="scores">The scores that rank the edges.</param>
    /// <param name="edgeCounts">Circuit sizes, e.g. from <see cref="EdgeCountSweep.Compute"/>.</param>
    /// <param name="options">Patch type, ablation, reversal.</param>
    /// <param name="knownEdges">A known circuit for the ROC curve, or <c>null</c>.</param>
    /// <param name="progress">Progress (one step per circuit and batch).</param>
    /// <param name="cancellationToken">Checked once per batch.</param>
    /// <param name="selection">How circuits are selected; <c>null</c> or auto-circuit's threshold selection (for
    /// <paramref name="protocol"/>): every edge whose <c>|score|</c> reaches the k-th largest, as auto-circuit.</param>
    /// <param name="protocol">Under <see cref="EvaluationProtocol.Mib"/> the MIB measures are added; the sizes must then
    /// include <see cref="MibProtocol.Sizes"/>.</param>
    /// <param name="bootstrap">Resamples of the prompts for bootstrap intervals (<see cref="Evaluation.Bootstrap"/>); 0: none.</param>
    /// <param name="bootstrapSeed">Seed of the resampling.</param>
    public static CircuitEvaluation Evaluate(
        IPatchableModel model,
        IReadOnlyList<PromptBatch> batches,
        PruneScores scores,
        IReadOnlyList<int> edgeCounts,
        CircuitRunOptions? options = null,
        IReadOnlySet<Edge>? knownEdges = null,
        IProgressSink? progress = null,
        CancellationToken cancellationToken = default,
        CircuitSelection? selection = null,
        EvaluationProtocol protocol = EvaluationProtocol.AutoCircuit,
        int bootstrap = 0,
        long bootstrapSeed = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(scores);
        ArgumentNullException.ThrowIfNull(edgeCounts);
        options ??= new CircuitRunOptions();
        var sorted = edgeCounts.Order().ToList();
        ArgumentOutOfRangeException.ThrowIfNegative(bootstrap);
        using var sink = new PruneMetricsSink(model, perPrompt: bootstrap > 0);
        IReadOnlyList<int> real;
        IReadOnlyList<SelectedCircuit>? selected = null;
        CircuitSelection? resolved = null;
        if (selection is null || selection.IsThresholdSelection(protocol))
        {
            real = CircuitRunner.Run(model, batches, scores, sorted, options, sink, progress, cancellationToken);
        }
        else
        {
            resolved = selection.Resolve(protocol);
            selected = CircuitSelector.Select(FlatScores.From(scores), sorted, resolved);
            real = CircuitRunner.Run(model, batches, selected, options, sink, progress, cancellationToken);
        }

        var metrics = sink.Results();
        var results = sorted.Select((k, i) => new CircuitResult(k, real[i], metrics[i])).ToList();
        var roc = knownEdges is null ? null : Roc.Measure(scores, knownEdges);
        var evaluation = new CircuitEvaluation(options, model.Graph.EdgeCount, results, new Dictionary<string, double?>(), roc)
        {
            Selection = resolved,
            Protocol = protocol,
            Selected = selected,
        };
        var auc = PruneMetric.All.ToDictionary(
            m => m.Key,
            m => AreaUnderCurve.ForMetric(m, evaluation.Curve(m)),
            StringComparer.Ordinal);
        var mib = protocol == EvaluationProtocol.Mib && results.Count > 0
            ? MibProtocol.Measure(results, model.Graph.EdgeCount, sink.FullModel()[MibProtocol.Metric.Key])
            : null;
        var intervals = bootstrap > 0 && results.Count > 0
            ? Evaluation.Bootstrap.Compute(sink.PerPrompt(), results, model.Graph.EdgeCount, mib is not null, bootstrap, bootstrapSeed)
            : null;
        return evaluation with { Auc = auc, Mib = mib, Bootstrap = intervals };
    }
}
