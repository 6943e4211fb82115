using AutoCircuit.Evaluation;
using AutoCircuit.Graph;
using AutoCircuit.Host.IO;
using AutoCircuit.Patching;
using AutoCircuit.Scores;

namespace AutoCircuit.Host.Comparison;

/// <summary>How algorithms are compared.</summary>
public sealed record ComparisonSettings
{
    /// <summary>Circuit sizes, ablation and reversal (the patch type is taken from <see cref="PatchTypes"/>).</summary>
    public EvaluationSettings Evaluation { get; init; } = EvaluationSettings.Default;

    /// <summary>Which circuits are evaluated: edge patch and tree patch by default.</summary>
    public IReadOnlyList<PatchType> PatchTypes { get; init; } = [PatchType.EdgePatch, PatchType.TreePatch];

    /// <summary>The metrics curves and summaries show (every metric is measured and written to the JSON).</summary>
    public IReadOnlyList<PruneMetric> Metrics { get; init; } = [PruneMetric.LogitDiffPercent];

    /// <summary>Circuit sizes for top-k agreement; <c>null</c> for <see cref="Agreement.DefaultKs"/>.</summary>
    public IReadOnlyList<int>? AgreementKs { get; init; }

    /// <summary>How many of each algorithm's top edges the circuit diagram draws.</summary>
    public int DiagramEdges { get; init; } = 30;

    /// <summary>How many top edges the tables list.</summary>
    public int TopEdges { get; init; } = 10;
}

/// <summary>What was compared on: model, data, graph and known circuit.</summary>
public sealed record ComparisonSubject
{
    /// <summary>The model as named (<c>--model</c>).</summary>
    public required string ModelSpec { get; init; }

    /// <summary>The model's description.</summary>
    public required string ModelDescription { get; init; }

    /// <summary>The dataset (path or generated description).</summary>
    public required string Dataset { get; init; }

    /// <summary>The graph.</summary>
    public required ModelGraph Graph { get; init; }

    /// <summary>Labels of the token positions (<c>seq_labels</c>), when the dataset has them.</summary>
    public IReadOnlyList<string>? SeqLabels { get; init; }

    /// <summary>The known circuit, or <c>null</c>.</summary>
    public IReadOnlySet<Edge>? KnownEdges { get; init; }

    /// <summary>Where the known circuit came from (a file, or the task).</summary>
    public string? KnownCircuitSource { get; init; }

    /// <summary>Train prompts (algorithms).</summary>
    public int TrainPrompts { get; init; }

    /// <summary>Test prompts (evaluation).</summary>
    public int TestPrompts { get; init; }

    /// <summary>The seed.</summary>
    public long Seed { get; init; }

    /// <summary>The device.</summary>
    public string Device { get; init; } = "cpu";
}

/// <summary>One compared algorithm (run here, or scores read from a file) and what it measured.</summary>
public sealed class ComparedAlgorithm : IDisposable
{
    /// <summary>Unique label in the comparison (the key, or the spec as written, or the scores file's name).</summary>
    public required string Label { get; init; }

    /// <summary>A file-name-safe form of <see cref="Label"/>, unique in the comparison.</summary>
    public required string FileStem { get; init; }

    /// <summary>The algorithm's key (run here) or the algorithm the file names (read).</summary>
    public string? Key { get; init; }

    /// <summary>The algorithm's display name.</summary>
    public string? Name { get; init; }

    /// <summary>The spec as given to <c>-a</c>, or <c>null</c> for scores read from a file.</summary>
    public string? Spec { get; init; }

    /// <summary>"built-in", a plugin path, or the scores file.</summary>
    public string? Origin { get; init; }

    /// <summary>The scores file and its format, for scores read from a file.</summary>
    public string? ScoresPath { get; init; }

    /// <summary>The format the scores file was read as.</summary>
    public ScoresFormat? ScoresFormat { get; init; }

    /// <summary>Every option's effective value in JSON form (see <see cref="ConfiguredAlgorithm.Options"/>), in declaration
    /// order; for scores read from a file, the <see cref="System.Text.Json.JsonElement"/>s it held.</summary>
    public IReadOnlyList<KeyValuePair<string, object?>> Options { get; init; } = [];

    /// <summary>The scores (CPU, float32), or <c>null</c> when the algorithm failed.</summary>
    public PruneScores? Scores { get; init; }

    /// <summary>The scores read once, ranked.</summary>
    public FlatScores? Flat { get; init; }

    /// <summary>Why the algorithm failed, or <c>null</c>.</summary>
    public string? Error { get; init; }

    /// <summary>Time and memory, for algorithms run here.</summary>
    public ResourceUsage? Usage { get; init; }

    /// <summary>The circuit evaluations, per patch type.</summary>
    public IReadOnlyDictionary<PatchType, CircuitEvaluation> Evaluations { get; init; } =
        new Dictionary<PatchType, CircuitEvaluation>();

    /// <summary>The ROC curve against the known circuit, when there is one.</summary>
    public RocCurve? Roc { get; init; }

    /// <summary>Files written for this algorithm (relative to the results folder).</summary>
    public List<string> Files { get; } = [];

    /// <summary>Whether the algorithm produced scores.</summary>
    public bool Succeeded => Scores is not null;

    /// <inheritdoc />
    public void Dispose() => Scores?.Dispose();
}

/// <summary>The comparison of several algorithms on one task.</summary>
public sealed class ComparisonResult : IDisposable
{
    /// <summary>Creates the result and measures the agreement of the algorithms that produced scores.</summary>
    public ComparisonResult(ComparisonSubject subject, ComparisonSettings settings, IReadOnlyList<ComparedAlgorithm> algorithms)
    {
        ArgumentNullException.ThrowIfNull(subject);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(algorithms);
        Subject = subject;
        Settings = settings;
        Algorithms = algorithms;
        var n = subject.Graph.EdgeCount;
        var ks = (settings.AgreementKs ?? AutoCircuit.Evaluation.Agreement.DefaultKs(n, subject.KnownEdges?.Count)).Where(k => k >= 1 && k <= n).Distinct().Order().ToList();
        Agreement = AutoCircuit.Evaluation.Agreement.Measure(
            algorithms.Where(a => a.Flat is not null).Select(a => (a.Label, a.Flat!)).ToList(), ks);
    }

    /// <summary>What was compared on.</summary>
    public ComparisonSubject Subject { get; }

    /// <summary>How.</summary>
    public ComparisonSettings Settings { get; }

    /// <summary>The algorithms, in the order given.</summary>
    public IReadOnlyList<ComparedAlgorithm> Algorithms { get; }

    /// <summary>Pairwise agreement of the algorithms with scores.</summary>
    public AgreementResult Agreement { get; }

    /// <summary>The area under a metric's curve for one algorithm and patch type, or <c>null</c>.</summary>
    public static double? Auc(ComparedAlgorithm algorithm, PatchType patchType, PruneMetric metric)
    {
        ArgumentNullException.ThrowIfNull(algorithm);
        ArgumentNullException.ThrowIfNull(metric);
        return algorithm.Evaluations.TryGetValue(patchType, out var e) && e.Auc.TryGetValue(metric.Key, out var a) ? a : null;
    }

    /// <summary>
    /// auto-circuit's normalisation of an area by the <c>random</c> algorithm's (see
    /// <see cref="AreaUnderCurve.NormalizedByRandom"/>), when a <c>random</c> algorithm was compared.
    /// </summary>
    public double? AucVersusRandom(ComparedAlgorithm algorithm, PatchType patchType, PruneMetric metric)
    {
        ArgumentNullException.ThrowIfNull(metric);
        var random = Algorithms.FirstOrDefault(a => a.Key == "random" && a.Succeeded);
        if (random is null || Auc(algorithm, patchType, metric) is not double area || Auc(random, patchType, metric) is not double r || r == 0)
        {
            return null;
        }

        return AreaUnderCurve.NormalizedByRandom(area, r, 1, metric.LowerBetter);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var a in Algorithms)
        {
            a.Dispose();
        }
    }
}
