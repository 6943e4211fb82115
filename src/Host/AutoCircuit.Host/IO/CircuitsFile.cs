using System.Globalization;
using System.Text;
using AutoCircuit.Evaluation;
using AutoCircuit.Graph;
using AutoCircuit.Host.Outputs;
using AutoCircuit.Patching;

namespace AutoCircuit.Host.IO;

/// <summary>
/// The <c>circuits/&lt;key&gt;.json</c> and <c>.csv</c> files: <c>{"algorithm": key, "patch_type": "edge",
/// "ablation": "resample", "reverse": false, "graph_edges": n, "results": [{"requested": 2, "edges": 2,
/// "metrics": {"logit-diff": ..., ...}}, ...], "auc": {"logit-diff": ..., ...}, "roc"?: {...}}</c>; the CSV has
/// one row per requested size and a column per metric. Undefined values are <c>null</c> in JSON, <c>nan</c>,
/// <c>inf</c> or <c>-inf</c> in CSV.
/// </summary>
internal static class CircuitsFile
{
    /// <summary>A file name for an algorithm key (characters a file name cannot hold become <c>_</c>).</summary>
    public static string FileStem(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var invalid = Path.GetInvalidFileNameChars();
        var stem = new string(key.Select(c => invalid.Contains(c) || char.IsWhiteSpace(c) ? '_' : c).ToArray());
        return stem.Length == 0 || stem is "." or ".." ? "scores" : stem;
    }

    /// <summary>The JSON file's content (non-finite metrics and areas become <c>null</c>).</summary>
    public static CircuitEvaluationFile ToJson(string algorithm, CircuitEvaluation evaluation)
    {
        ArgumentNullException.ThrowIfNull(algorithm);
        ArgumentNullException.ThrowIfNull(evaluation);
        return new CircuitEvaluationFile
        {
            Algorithm = algorithm,
            PatchType = EvaluationNames.PatchTypeName(evaluation.Options.PatchType),
            Ablation = evaluation.Options.Ablation.ToCliName(),
            Reverse = evaluation.Options.ReverseCleanCorrupt,
            GraphEdges = evaluation.GraphEdges,
            Results = evaluation.Results.Select(SizeResult).ToList(),
            Auc = Areas(evaluation.Auc),
            Roc = evaluation.Roc is { } roc ? Roc(roc) : null,
            Selection = evaluation.Selection is { } selection ? Selection(selection) : null,
            Mib = evaluation.Mib is { } mib ? Mib(mib) : null,
            Bootstrap = evaluation.Bootstrap is { } b ? Bootstrap(b) : null,
        };
    }

    /// <summary>Bootstrap intervals as written: <c>[low, high]</c> pairs, <c>null</c> where undefined.</summary>
    public static BootstrapInfo Bootstrap(BootstrapResult bootstrap)
    {
        ArgumentNullException.ThrowIfNull(bootstrap);
        static double[]? Pair(Interval? iv) =>
            iv is { } v && double.IsFinite(v.Low) && double.IsFinite(v.High) ? [v.Low, v.High] : null;
        return new BootstrapInfo
        {
            Resamples = bootstrap.Resamples,
            Seed = bootstrap.Seed,
            Level = bootstrap.Level,
            Metrics = bootstrap.Metrics
                .Select(m => (IReadOnlyDictionary<string, double[]>)PruneMetric.All
                    .Where(x => m.ContainsKey(x.Key) && Pair(m[x.Key]) is not null)
                    .ToDictionary(x => x.Key, x => Pair(m[x.Key])!, StringComparer.Ordinal))
                .ToList(),
            Auc = PruneMetric.All.ToDictionary(
                m => m.Key, m => bootstrap.Auc.TryGetValue(m.Key, out var iv) ? Pair(iv) : null, StringComparer.Ordinal),
            Mib = bootstrap.Mib is { } mib
                ? new MibBootstrapInfo { Faithfulness = mib.Faithfulness.Select(Pair).ToList(), Cpr = Pair(mib.Cpr), Cmd = Pair(mib.Cmd) }
                : null,
        };
    }

    /// <summary>A resolved selection as written.</summary>
    public static CircuitSelectionInfo Selection(CircuitSelection selection)
    {
        ArgumentNullException.ThrowIfNull(selection);
        return new CircuitSelectionInfo
        {
            Method = CircuitSelection.MethodName(selection.Method),
            Absolute = selection.Absolute ?? true,
            Prune = selection.Prune ?? false,
            Level = CircuitSelection.LevelName(selection.Level),
        };
    }

    /// <summary>The MIB measures as written (non-finite values become <c>null</c>).</summary>
    public static MibInfo Mib(MibResult mib)
    {
        ArgumentNullException.ThrowIfNull(mib);
        return new MibInfo
        {
            Metric = mib.Metric,
            Fractions = mib.Fractions,
            Requested = mib.Requested,
            Faithfulness = mib.Faithfulness.Select(f => Finite(f)).ToList(),
            Cpr = Finite(mib.Cpr),
            Cmd = Finite(mib.Cmd),
            WeightedEdgeCount = mib.WeightedEdgeCount.Select(c => (double)c).ToList(),
            Full = Finite(mib.Full),
            Empty = Finite(mib.Empty),
        };
    }

    /// <summary>
    /// Writes <c>circuits/&lt;stem&gt;.edges.json</c>: the edges of every circuit the selection stage chose. Returns
    /// <c>false</c> (and writes nothing) under auto-circuit's threshold selection, whose circuits the scores define.
    /// </summary>
    public static bool WriteEdges(string path, string algorithm, CircuitEvaluation evaluation, ModelGraph graph)
    {
        ArgumentNullException.ThrowIfNull(evaluation);
        ArgumentNullException.ThrowIfNull(graph);
        if (evaluation.Selected is not { } selected || evaluation.Selection is not { } selection)
        {
            return false;
        }

        var flat = graph.FlatEdges;
        var file = new CircuitEdgesFile
        {
            Algorithm = algorithm,
            PatchType = EvaluationNames.PatchTypeName(evaluation.Options.PatchType),
            Protocol = CircuitSelection.ProtocolName(evaluation.Protocol),
            Selection = Selection(selection),
            GraphEdges = evaluation.GraphEdges,
            Circuits = selected.Select(c => new CircuitEdgesEntry
            {
                Requested = c.Requested,
                Edges = c.Edges,
                Nodes = c.Nodes,
                EdgeNames = Enumerable.Range(0, c.InCircuit.Length).Where(i => c.InCircuit[i]).Select(i => flat[i].ToString()).ToList(),
            }).ToList(),
        };
        JsonOutput.Write(path, file, OutputJsonContext.Default.CircuitEdgesFile);
        return true;
    }

    /// <summary>Writes the JSON file (<see cref="ToJson"/>).</summary>
    public static void WriteJson(string path, string algorithm, CircuitEvaluation evaluation) =>
        JsonOutput.Write(path, ToJson(algorithm, evaluation), OutputJsonContext.Default.CircuitEvaluationFile);

    /// <summary>One circuit size's metrics, every metric in <see cref="PruneMetric.All"/>'s order.</summary>
    public static CircuitSizeResult SizeResult(CircuitResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return new CircuitSizeResult
        {
            Requested = result.Requested,
            Edges = result.Edges,
            Metrics = PruneMetric.All.ToDictionary(m => m.Key, m => Finite(result.Metrics[m.Key]), StringComparer.Ordinal),
        };
    }

    /// <summary>Every metric's area (<see cref="PruneMetric.All"/>'s order); missing or non-finite ones are <c>null</c>.</summary>
    public static IReadOnlyDictionary<string, double?> Areas(IReadOnlyDictionary<string, double?> auc)
    {
        ArgumentNullException.ThrowIfNull(auc);
        return PruneMetric.All.ToDictionary(m => m.Key, m => Finite(auc.TryGetValue(m.Key, out var a) ? a : null), StringComparer.Ordinal);
    }

    /// <summary>A ROC curve as written.</summary>
    public static RocInfo Roc(RocCurve roc)
    {
        ArgumentNullException.ThrowIfNull(roc);
        return new RocInfo
        {
            Auc = roc.Auc,
            PessimisticAuc = roc.PessimisticAuc,
            EdgeCounts = roc.EdgeCounts,
            Points = roc.Points.Select(p => new[] { p.Fpr, p.Tpr }).ToList(),
        };
    }

    /// <summary>The CSV text: header <c>requested,edges,&lt;metric keys&gt;</c>, one row per requested size.</summary>
    public static string ToCsv(CircuitEvaluation evaluation)
    {
        ArgumentNullException.ThrowIfNull(evaluation);
        var sb = new StringBuilder();
        sb.Append("requested,edges");
        foreach (var m in PruneMetric.All)
        {
            sb.Append(',').Append(m.Key);
        }

        sb.Append('\n');
        foreach (var r in evaluation.Results)
        {
            sb.Append(r.Requested.ToString(CultureInfo.InvariantCulture)).Append(',')
                .Append(r.Edges.ToString(CultureInfo.InvariantCulture));
            foreach (var m in PruneMetric.All)
            {
                sb.Append(',').Append(FormatCsv(r.Metrics[m.Key]));
            }

            sb.Append('\n');
        }

        return sb.ToString();
    }

    /// <summary>Writes the CSV file.</summary>
    public static void WriteCsv(string path, CircuitEvaluation evaluation) =>
        File.WriteAllText(path, ToCsv(evaluation), new UTF8Encoding(false));

    private static double? Finite(double? v) => v is double d && double.IsFinite(d) ? d : null;

    private static string FormatCsv(double v) => v switch
    {
        double.PositiveInfinity => "inf",
        double.NegativeInfinity => "-inf",
        _ when double.IsNaN(v) => "nan",
        _ => v.ToString("R", CultureInfo.InvariantCulture),
    };
}
