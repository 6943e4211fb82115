using System.Globalization;
using System.Text;
using AutoCircuit.Engine;
using AutoCircuit.Engine.Patching;
using AutoCircuit.Evaluation;
using AutoCircuit.Host.Reports;

namespace AutoCircuit;

/// <summary>
/// How circuits are evaluated: the command line's <c>--edges</c>, <c>--patch-type</c>, <c>--ablation</c>,
/// <c>--reverse</c>, <c>--protocol</c>, <c>--bootstrap</c> and selection options, as the same strings. Unset values
/// take auto-circuit's defaults (its edge-count sweep, edge patching, resample ablation).
/// </summary>
public sealed record CircuitOptions
{
    /// <summary>Circuit sizes (<c>--edges</c>): <c>default</c>, <c>all</c>, a list <c>0,10,100</c>, a range, ...</summary>
    public string? Edges { get; init; }

    /// <summary><c>edge</c> (the circuit's edges are kept) or <c>tree</c> (<c>--patch-type</c>).</summary>
    public string? PatchType { get; init; }

    /// <summary><c>resample</c>, <c>zero</c> or <c>tokenwise-mean</c>... (<c>--ablation</c>).</summary>
    public string? Ablation { get; init; }

    /// <summary>Swap clean and corrupt (<c>--reverse</c>).</summary>
    public bool Reverse { get; init; }

    /// <summary><c>auto-circuit</c> (default) or <c>mib</c> (<c>--protocol</c>).</summary>
    public string? Protocol { get; init; }

    /// <summary>Bootstrap resamples of the test prompts (<c>--bootstrap</c>); <c>null</c>: 0, or 1000 under MIB.</summary>
    public int? Bootstrap { get; init; }

    /// <summary>How circuits are selected from the scores (<c>--select</c>).</summary>
    public string? Select { get; init; }

    /// <summary>Rank by |score| (<c>--absolute</c>).</summary>
    public bool Absolute { get; init; }

    /// <summary>Rank by signed score (<c>--signed</c>).</summary>
    public bool Signed { get; init; }

    /// <summary>Prune dangling nodes (<c>--prune</c>).</summary>
    public bool? Prune { get; init; }

    /// <summary>Selection level (<c>--level</c>).</summary>
    public string? Level { get; init; }

    /// <summary>The seed of the bootstrap (the job's <c>--seed</c>).</summary>
    public long Seed { get; init; } = 42;

    internal EvaluationSettings Settings()
    {
        var protocol = CircuitSelection.ParseProtocol(Protocol);
        if (protocol == EvaluationProtocol.Mib && Edges is not null)
        {
            throw new AutoCircuitException("Edges does not apply with the mib protocol (its sizes are fractions of the edges).");
        }

        var resamples = Bootstrap ?? (protocol == EvaluationProtocol.Mib ? 1000 : 0);
        if (resamples < 0)
        {
            throw new AutoCircuitException($"Bootstrap {resamples}: expected a number of resamples, 0 or more.");
        }

        return EvaluationSettings.Parse(Edges, PatchType, Ablation, Reverse) with
        {
            Protocol = protocol,
            BootstrapResamples = resamples,
            BootstrapSeed = Seed,
            Selection = CircuitSelection.Parse(Select, Absolute, Signed, Prune, Level),
        };
    }
}

/// <summary>
/// Evaluates an algorithm's circuits on the test prompts, as <c>dotnet autocircuit run</c> does after each algorithm:
/// auto-circuit's edge-count sweep (plus 0 and every edge), each circuit patched and measured with the fourteen prune
/// metrics, their areas under the curve and, when the task has a known circuit, the ROC curve.
/// </summary>
public static class Circuits
{
    /// <summary>Evaluates the circuits of <paramref name="scores"/>.</summary>
    /// <param name="scores">What <see cref="Algorithm.Run"/> returned.</param>
    /// <param name="model">The patchable model the scores are for (its masks are restored afterwards).</param>
    /// <param name="source">The model whose task's test prompts and known circuit are used.</param>
    /// <param name="options">Sizes, patch type, ablation, ...; <c>null</c> for auto-circuit's defaults.</param>
    /// <exception cref="AutoCircuitException">A bad option, a size outside the graph, no complete test batch.</exception>
    public static CircuitSweep Evaluate(AlgorithmScores scores, PatchableModel model, Model source, CircuitOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(scores);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(source);
        if (!ReferenceEquals(scores.Graph, model.Graph) && scores.Graph.EdgeCount != model.Graph.EdgeCount)
        {
            throw new AutoCircuitException(
                $"The scores of '{scores.Key}' are for a graph of {scores.Graph.EdgeCount} edges, the model's has {model.Graph.EdgeCount}.");
        }

        if (source.Prompts.Test.Count == 0)
        {
            throw new AutoCircuitException("The test split holds no complete batch: there is nothing to evaluate circuits on.");
        }

        var settings = (options ?? new CircuitOptions()).Settings();
        settings.Validate(model.Graph.EdgeCount);
        var known = source.KnownCircuit(model.Graph);
        var sizes = settings.Sizes(model.Graph.EdgeCount, scores.Scores, withEnds: true, known?.Count);
        var evaluation = CircuitEvaluator.Evaluate(
            model, source.Prompts.Test, scores.Scores, sizes, settings.Circuits, known, selection: settings.Selection,
            protocol: settings.Protocol, bootstrap: settings.BootstrapResamples, bootstrapSeed: settings.BootstrapSeed);
        return new CircuitSweep(scores, evaluation);
    }
}

/// <summary>
/// The evaluated circuits of one algorithm's scores (<see cref="Circuits.Evaluate"/>): one result per circuit size
/// with every prune metric, the areas under the curves and the ROC curve. In a notebook (after
/// <see cref="Notebook.Register"/>) it shows as a chart of the faithfulness curve and a table.
/// </summary>
public sealed class CircuitSweep
{
    internal CircuitSweep(AlgorithmScores scores, CircuitEvaluation evaluation)
    {
        Scores = scores;
        Evaluation = evaluation;
    }

    /// <summary>The metric shown by default: the circuit's logit difference as a percentage of the full model's.</summary>
    public const string DefaultMetric = "logit-diff-percent";

    /// <summary>The scores that ranked the edges.</summary>
    public AlgorithmScores Scores { get; }

    /// <summary>The engine's evaluation: results per size, areas, ROC, selection, bootstrap.</summary>
    public CircuitEvaluation Evaluation { get; }

    /// <summary>One result per requested size, in increasing order.</summary>
    public IReadOnlyList<CircuitResult> Results => Evaluation.Results;

    /// <summary>The metric keys (auto-circuit's fourteen prune metrics, kebab-case).</summary>
    public static IReadOnlyList<string> Metrics => [.. PruneMetric.All.Select(m => m.Key)];

    /// <summary>The (edges, value) points of a metric, one per distinct real edge count.</summary>
    /// <exception cref="KeyNotFoundException">An unknown metric (the known ones are listed).</exception>
    public IReadOnlyList<(double Edges, double Value)> Curve(string metric = DefaultMetric) =>
        Evaluation.Curve(PruneMetric.ByKey(metric));

    /// <summary>The area under a metric's curve, or <c>null</c> where undefined.</summary>
    public double? Auc(string metric = DefaultMetric) =>
        Evaluation.Auc.TryGetValue(PruneMetric.ByKey(metric).Key, out var auc) ? auc : null;

    /// <summary>An HTML fragment: an SVG chart of <paramref name="metric"/> against the circuit size and a table of the
    /// sizes (what a notebook shows).</summary>
    public string ToHtml(string metric = DefaultMetric)
    {
        var m = PruneMetric.ByKey(metric);
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<div class=\"autocircuit-circuits\"><p><b>{Html.Text(Scores.Key)}</b>: {Results.Count} circuits of ");
        sb.Append(CultureInfo.InvariantCulture, $"{Evaluation.GraphEdges} edges evaluated; {Html.Text(m.Key)} area under the curve ");
        sb.Append(Auc(metric) is double auc ? Html.Number(auc) : "undefined");
        sb.Append("</p>");
        var points = Curve(metric);
        if (points.Count > 0)
        {
            sb.Append(LineChart.Render(
                new ChartOptions
                {
                    Title = $"{Scores.Key}: {m.Name}",
                    XLabel = "edges in the circuit",
                    YLabel = m.Name,
                    XScale = m.LogX ? AxisScale.Log1p : AxisScale.Linear,
                },
                [new ChartSeries(Scores.Key, Svg.Palette[0], points)]));
        }

        sb.Append(CultureInfo.InvariantCulture, $"<table><thead><tr><th>requested</th><th>edges</th><th>{Html.Text(m.Key)}</th></tr></thead><tbody>");
        foreach (var r in Results)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<tr><td>{r.Requested}</td><td>{r.Edges}</td><td>{Html.Number(r.Metrics[m.Key])}</td></tr>");
        }

        sb.Append("</tbody></table></div>");
        return sb.ToString();
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"{Scores.Key}: {Results.Count} circuits; {DefaultMetric} AUC {(Auc() is double a ? a.ToString("G6", CultureInfo.InvariantCulture) : "undefined")}";
}
