using System.Globalization;
using System.Text;
using System.Text.Json;
using AutoCircuit.Evaluation;
using AutoCircuit.Patching;

namespace AutoCircuit.Host.IO;

/// <summary>
/// The <c>circuits/&lt;key&gt;.json</c> and <c>.csv</c> files: <c>{"algorithm": key, "patch_type": "edge",
/// "ablation": "resample", "reverse": false, "graph_edges": n, "results": [{"requested": 2, "edges": 2,
/// "metrics": {"logit-diff": ..., ...}}, ...], "auc": {"logit-diff": ..., ...}, "roc"?: {...}}</c>; the CSV has
/// one row per requested size and a column per metric. Undefined values are <c>null</c> in JSON, <c>nan</c>,
/// <c>inf</c> or <c>-inf</c> in CSV.
/// </summary>
public static class CircuitsFile
{
    /// <summary>A file name for an algorithm key (characters a file name cannot hold become <c>_</c>).</summary>
    public static string FileStem(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var invalid = Path.GetInvalidFileNameChars();
        var stem = new string(key.Select(c => invalid.Contains(c) || char.IsWhiteSpace(c) ? '_' : c).ToArray());
        return stem.Length == 0 || stem is "." or ".." ? "scores" : stem;
    }

    /// <summary>Writes the JSON file.</summary>
    public static void WriteJson(string path, string algorithm, CircuitEvaluation evaluation, IReadOnlyDictionary<string, object?>? extra = null)
    {
        ArgumentNullException.ThrowIfNull(evaluation);
        using var fs = File.Create(path);
        using var w = new Utf8JsonWriter(fs, new JsonWriterOptions { Indented = true });
        w.WriteStartObject();
        w.WriteString("algorithm", algorithm);
        w.WriteString("patch_type", EvaluationNames.PatchTypeName(evaluation.Options.PatchType));
        w.WriteString("ablation", evaluation.Options.Ablation.ToCliName());
        w.WriteBoolean("reverse", evaluation.Options.ReverseCleanCorrupt);
        w.WriteNumber("graph_edges", evaluation.GraphEdges);
        if (extra is not null)
        {
            foreach (var (k, v) in extra)
            {
                w.WritePropertyName(k);
                JsonSerializer.Serialize(w, v);
            }
        }

        w.WriteStartArray("results");
        foreach (var r in evaluation.Results)
        {
            w.WriteStartObject();
            w.WriteNumber("requested", r.Requested);
            w.WriteNumber("edges", r.Edges);
            w.WriteStartObject("metrics");
            foreach (var m in PruneMetric.All)
            {
                WriteNumber(w, m.Key, r.Metrics[m.Key]);
            }

            w.WriteEndObject();
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteStartObject("auc");
        foreach (var m in PruneMetric.All)
        {
            WriteNumber(w, m.Key, evaluation.Auc.TryGetValue(m.Key, out var a) ? a : null);
        }

        w.WriteEndObject();
        if (evaluation.Roc is { } roc)
        {
            w.WriteStartObject("roc");
            w.WriteNumber("auc", roc.Auc);
            w.WriteNumber("pessimistic_auc", roc.PessimisticAuc);
            w.WriteStartArray("edge_counts");
            foreach (var k in roc.EdgeCounts)
            {
                w.WriteNumberValue(k);
            }

            w.WriteEndArray();
            w.WriteStartArray("points");
            foreach (var (fpr, tpr) in roc.Points)
            {
                w.WriteStartArray();
                w.WriteNumberValue(fpr);
                w.WriteNumberValue(tpr);
                w.WriteEndArray();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteEndObject();
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

    private static void WriteNumber(Utf8JsonWriter w, string name, double? value)
    {
        if (value is double v && double.IsFinite(v))
        {
            w.WriteNumber(name, v);
        }
        else
        {
            w.WriteNull(name);
        }
    }

    private static string FormatCsv(double v) => v switch
    {
        double.PositiveInfinity => "inf",
        double.NegativeInfinity => "-inf",
        _ when double.IsNaN(v) => "nan",
        _ => v.ToString("R", CultureInfo.InvariantCulture),
    };
}
